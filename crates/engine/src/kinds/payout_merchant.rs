//! `PayoutMerchant`: a merchant's settlement account out to its bank; scored as money leaving
//! the merchant.

use super::{Call, Handler, Parties, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::idempotency::{Tag, hash_words};
use ledger::{Ledger, Wallet};
use model::risk::EventKind;
use model::{Accepted, CommandKind, Rejection, kind};
use risk::ScoredEvent;

impl Handler for kind::PayoutMerchant {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([None, None], Some(self.merchant))
    }

    #[inline]
    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let merchant = hint.merchant(&engine.ledger, self.merchant)?;
        Some(event(EventKind::PayoutMerchant, (None, Some(merchant)), from_balance(self.amount), None))
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::PayoutMerchant as u64, self.merchant.0, self.amount.minor()])
    }

    /// The merchant's slot.
    type Plan = usize;

    fn check(&self, engine: &Engine, call: Call) -> Result<usize, Rejection> {
        let slot = call.merchant(&engine.ledger, self.merchant)?;
        engine.ledger.check_pay_out(Wallet::Merchant(slot), self.amount)?;
        Ok(slot)
    }

    fn commit(&self, slot: usize, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.pay_out(Wallet::Merchant(slot), self.amount, step.postings);
        engine.risk.on_merchant_payout(slot, self.amount.minor(), engine.now_ms);
        Accepted::Done
    }
}
