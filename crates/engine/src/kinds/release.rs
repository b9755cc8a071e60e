//! `Release`: drops a live authorization without capturing it.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use ledger::idempotency::{Tag, hash_words};
use model::{Accepted, CommandId, CommandKind, MerchantId, Rejection, kind};

impl Handler for kind::Release {
    #[inline]
    fn moves_hold(&self) -> Option<(CommandId, MerchantId)> {
        Some((self.authorization, self.merchant))
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::Release as u64, self.authorization.0, self.merchant.0])
    }

    type Plan = ();

    fn check(&self, engine: &Engine, _call: Call) -> Result<(), Rejection> {
        engine.ledger.live_authorization(self.authorization, self.merchant, engine.now_ms).map(drop)
    }

    fn commit(&self, (): (), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        let dropped = engine.ledger.drop_authorization(self.authorization);
        assert!(dropped, "checked: the hold is live");
        Accepted::Done
    }
}
