//! `Release`: drops a live authorization without capturing it.

use super::{Handler, Step};
use crate::apply::Engine;
use ledger::idempotency::{Tag, hash_words};
use model::{Accepted, CommandId, CommandKind, MerchantId, Outcome, kind};

impl Handler for kind::Release {
    #[inline]
    fn moves_hold(&self) -> Option<(CommandId, MerchantId)> {
        Some((self.authorization, self.merchant))
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::Release as u64, self.authorization.0, self.merchant.0])
    }

    fn run(&self, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Outcome {
        engine.ledger.live_authorization(self.authorization, self.merchant, engine.now_ms)?;
        engine.ledger.drop_authorization(self.authorization);
        Ok(Accepted::Done)
    }
}
