//! `Capture`: captures up to the authorized amount (credit part first); the rest is released.

use super::{Handler, Step};
use crate::apply::Engine;
use ledger::idempotency::{Tag, hash_words};
use model::{CommandId, CommandKind, MerchantId, Outcome, kind};

impl Handler for kind::Capture {
    #[inline]
    fn moves_hold(&self) -> Option<(CommandId, MerchantId)> {
        Some((self.authorization, self.merchant))
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::Capture as u64, self.authorization.0, self.merchant.0, self.amount.minor()])
    }

    #[inline]
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let captured =
            engine.ledger.capture(self.authorization, self.merchant, self.amount, engine.now_ms, step.postings)?;
        Ok(engine.on_captured(captured))
    }
}
