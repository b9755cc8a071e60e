//! `PayoutMerchant`: a merchant's settlement account out to its bank; scored as money leaving
//! the merchant.

use super::{Handler, Parties, Step, event, from_balance};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::idempotency::{Tag, hash_words};
use ledger::{Ledger, Wallet};
use model::risk::EventKind;
use model::{Accepted, CommandKind, Outcome, kind};
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

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.merchant(&engine.ledger, self.merchant)?;
        engine.ledger.pay_out(Wallet::Merchant(slot), self.amount, step.postings)?;
        engine.risk.on_merchant_payout(slot, self.amount.minor(), engine.now_ms);
        Ok(Accepted::Done)
    }
}
