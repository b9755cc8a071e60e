//! `MerchantTransfer`: a merchant's settlement to a user's balance (cashback, a disbursement —
//! or a colluding merchant's money back, which is why it is scored, the user its payee).

use super::{Handler, Parties, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::{Ledger, Wallet};
use model::risk::EventKind;
use model::{Accepted, Outcome, kind};
use risk::ScoredEvent;

impl Handler for kind::MerchantTransfer {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.to), None], Some(self.merchant))
    }

    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let payee = hint.user(&engine.ledger, self.to)?;
        let merchant = hint.merchant(&engine.ledger, self.merchant)?;
        let event = event(EventKind::MerchantTransfer, (None, Some(merchant)), from_balance(self.amount), None);
        Some(ScoredEvent { payee: Some(payee), ..event })
    }

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let from = Wallet::Merchant(step.merchant(&engine.ledger, self.merchant)?);
        let to = Wallet::User(step.user(&engine.ledger, self.to)?);
        engine.ledger.move_between(from, to, self.amount, step.postings)?;
        Ok(Accepted::Done)
    }
}
