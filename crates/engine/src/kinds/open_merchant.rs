//! `OpenMerchant`: a merchant with an empty settlement account.

use super::{Handler, Step};
use crate::apply::Engine;
use ledger::MerchantAccount;
use ledger::provenance::Origins;
use model::{Accepted, Outcome, kind};

impl Handler for kind::OpenMerchant {
    fn run(&self, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Outcome {
        engine.ledger.open_merchant(MerchantAccount {
            id: self.merchant,
            currency: self.currency,
            category: self.category,
            verification: self.verification,
            partner: self.partner,
            settlement_minor: 0,
            opened_at_ms: engine.now_ms,
            provenance: Origins::default(),
        })?;
        engine.risk.open_merchant();
        Ok(Accepted::Done)
    }
}
