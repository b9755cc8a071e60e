//! `MerchantToMerchant`: one merchant's settlement account to another's; for the payer's risk
//! features it is money paid out, and it is scored as such (`payout_merchant`).

use super::{Call, Handler, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::Wallet;
use model::risk::EventKind;
use model::{Accepted, Rejection, kind};
use risk::ScoredEvent;

impl Handler for kind::MerchantToMerchant {
    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let merchant = hint.merchant(&engine.ledger, self.merchant)?;
        Some(event(EventKind::PayoutMerchant, (None, Some(merchant)), from_balance(self.amount), None))
    }

    /// The payer's and the payee's slots.
    type Plan = (usize, usize);

    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, usize), Rejection> {
        if self.merchant == self.to {
            return Err(Rejection::SelfTransfer);
        }
        let from_slot = call.merchant(&engine.ledger, self.merchant)?;
        let to_slot = call.merchant(&engine.ledger, self.to)?;
        engine.ledger.check_move(Wallet::Merchant(from_slot), Wallet::Merchant(to_slot), self.amount)?;
        Ok((from_slot, to_slot))
    }

    fn commit(&self, (from, to): (usize, usize), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        super::commit_move(engine, (Wallet::Merchant(from), Wallet::Merchant(to)), self.amount, step);
        engine.risk.on_merchant_payout(from, self.amount.minor(), engine.now_ms);
        Accepted::Done
    }
}
