//! `Capture`: captures up to the authorized amount (credit part first); the rest is released.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use ledger::Capture;
use ledger::idempotency::{Tag, hash_words};
use model::{Accepted, CommandId, CommandKind, MerchantId, Rejection, kind};

impl Handler for kind::Capture {
    #[inline]
    fn moves_hold(&self) -> Option<(CommandId, MerchantId)> {
        Some((self.authorization, self.merchant))
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::Capture as u64, self.authorization.0, self.merchant.0, self.amount.minor()])
    }

    type Plan = Capture;

    #[inline]
    fn check(&self, engine: &Engine, _call: Call) -> Result<Capture, Rejection> {
        engine.ledger.check_capture(self.authorization, self.merchant, self.amount, engine.now_ms)
    }

    #[inline]
    fn commit(&self, capture: Capture, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        let captured = engine.ledger.capture(capture, engine.now_ms, step.postings);
        engine.on_captured(captured)
    }
}
