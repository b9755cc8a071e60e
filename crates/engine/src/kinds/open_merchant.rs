//! `OpenMerchant`: a merchant with an empty settlement account.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use ledger::MerchantAccount;
use ledger::provenance::Origins;
use model::{Accepted, Rejection, kind};

impl Handler for kind::OpenMerchant {
    type Plan = ();

    fn check(&self, engine: &Engine, _call: Call) -> Result<(), Rejection> {
        engine.ledger.check_open_merchant(self.merchant)
    }

    fn commit(&self, (): (), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.open_merchant(MerchantAccount {
            id: self.merchant,
            currency: self.currency,
            category: self.category,
            verification: self.verification,
            partner: self.partner,
            settlement_minor: 0,
            opened_at_ms: engine.now_ms,
            provenance: Origins::default(),
        });
        engine.risk.open_merchant();
        Accepted::Done
    }
}
