//! `Pay` and `PayFor`: a purchase captured at once from credit, balance or both. `PayFor` is a
//! `Pay` for a beneficiary: whom an order is for matters to the risk features only (noted when it
//! is scored).

use super::{Call, Handler, Review, Step, event};
use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::idempotency::{Tag, hash_words};
use model::risk::{EventKind, Held};
use model::{Accepted, CommandKind, Funding, MerchantId, Rejection, UserId, kind};
use risk::{CASE_HOLD_MS, ScoredEvent};

impl Handler for kind::Pay {
    #[inline]
    fn charge(&self) -> Option<(UserId, MerchantId, Funding)> {
        Some((self.user, self.merchant, self.funding))
    }

    #[inline]
    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let user = hint.user(&engine.ledger, self.user)?;
        let merchant = hint.merchant(&engine.ledger, self.merchant)?;
        Some(event(EventKind::Pay, (Some(user), Some(merchant)), self.funding, None))
    }

    /// A purchase held for review becomes a hold for the case's life, captured on approval.
    fn hold_for_review(&self, engine: &mut Engine, _: &CommandKind, step: &mut Step<'_, '_>) -> Review {
        let hold =
            kind::Authorize { user: self.user, merchant: self.merchant, funding: self.funding, hold_ms: CASE_HOLD_MS };
        hold.run(engine, step)?;
        Ok(Held::Payment { merchant: self.merchant })
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        let Funding { credit_minor, balance_minor } = self.funding;
        hash_words([Tag::Pay as u64, self.user.0, self.merchant.0, credit_minor, balance_minor])
    }

    /// The user's and the merchant's slots.
    type Plan = (usize, usize);

    #[inline]
    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, usize), Rejection> {
        engine.check_new_payment_id(call)?;
        let (user_slot, merchant_slot, total) = engine.check_spend(call, (self.user, self.merchant), self.funding)?;
        engine.ledger.check_settle(merchant_slot, total)?;
        Ok((user_slot, merchant_slot))
    }

    #[inline]
    fn commit(&self, slots: (usize, usize), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        let captured = engine.ledger.capture_payment(step.id, slots, self.funding, engine.now_ms, step.postings);
        engine.on_captured(captured)
    }
}

/// The `Pay` a `PayFor` is.
fn as_pay(order: &kind::PayFor) -> kind::Pay {
    kind::Pay { user: order.user, merchant: order.merchant, funding: order.funding }
}

impl Handler for kind::PayFor {
    fn charge(&self) -> Option<(UserId, MerchantId, Funding)> {
        as_pay(self).charge()
    }

    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let event = as_pay(self).scored(engine, hint)?;
        Some(ScoredEvent { beneficiary: Some(self.beneficiary), ..event })
    }

    fn hold_for_review(&self, engine: &mut Engine, kind: &CommandKind, step: &mut Step<'_, '_>) -> Review {
        as_pay(self).hold_for_review(engine, kind, step)
    }

    type Plan = (usize, usize);

    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, usize), Rejection> {
        as_pay(self).check(engine, call)
    }

    fn commit(&self, slots: (usize, usize), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        as_pay(self).commit(slots, engine, step)
    }
}
