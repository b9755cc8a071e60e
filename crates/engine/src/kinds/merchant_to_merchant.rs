//! `MerchantToMerchant`: one merchant's settlement account to another's; for the payer's risk
//! features it is money paid out, and it is scored as such (`payout_merchant`).

use super::{Handler, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::Wallet;
use model::risk::EventKind;
use model::{Accepted, Outcome, Rejection, kind};
use risk::ScoredEvent;

impl Handler for kind::MerchantToMerchant {
    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let merchant = hint.merchant(&engine.ledger, self.merchant)?;
        Some(event(EventKind::PayoutMerchant, (None, Some(merchant)), from_balance(self.amount), None))
    }

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        if self.merchant == self.to {
            return Err(Rejection::SelfTransfer);
        }
        let from_slot = step.merchant(&engine.ledger, self.merchant)?;
        let to_slot = step.merchant(&engine.ledger, self.to)?;
        engine.ledger.move_between(
            Wallet::Merchant(from_slot),
            Wallet::Merchant(to_slot),
            self.amount,
            step.postings,
        )?;
        engine.risk.on_merchant_payout(from_slot, self.amount.minor(), engine.now_ms);
        Ok(Accepted::Done)
    }
}
