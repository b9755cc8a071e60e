//! `Authorize`: holds funds for a merchant until captured, released or expired.

use super::{Call, Handler, Review, Step, event};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::Authorization;
use ledger::idempotency::{Tag, hash_words};
use model::risk::{EventKind, Held};
use model::{Accepted, CommandKind, Funding, MerchantId, Rejection, UserId, kind};
use risk::ScoredEvent;

impl Handler for kind::Authorize {
    #[inline]
    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let user = hint.user(&engine.ledger, self.user)?;
        let merchant = hint.merchant(&engine.ledger, self.merchant)?;
        Some(event(EventKind::Authorize, (Some(user), Some(merchant)), self.funding, None))
    }

    fn charge(&self) -> Option<(UserId, MerchantId, Funding)> {
        Some((self.user, self.merchant, self.funding))
    }

    /// The hold is placed as asked; the case decides whether the merchant may capture it.
    fn hold_for_review(&self, engine: &mut Engine, _: &CommandKind, step: &mut Step<'_, '_>) -> Review {
        self.run(engine, step)?;
        Ok(Held::Authorization { merchant: self.merchant })
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        let Funding { credit_minor, balance_minor } = self.funding;
        hash_words([Tag::Authorize as u64, self.user.0, self.merchant.0, credit_minor, balance_minor, self.hold_ms])
    }

    /// The user's slot and the hold.
    type Plan = (usize, Authorization);

    #[inline]
    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, Authorization), Rejection> {
        let expires_at_ms = engine.now_ms.saturating_add(self.hold_ms);
        let hold = Authorization { user: self.user, merchant: self.merchant, funding: self.funding, expires_at_ms };
        Ok((engine.check_hold(call, &hold)?, hold))
    }

    #[inline]
    fn commit(&self, (slot, hold): (usize, Authorization), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.authorize(step.id, slot, hold);
        Accepted::Done
    }
}
