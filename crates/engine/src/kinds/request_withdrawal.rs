//! `RequestWithdrawal`: the official credit withdrawal (取现 / 转至余额). The engine resolves the
//! user and checks the id is new; `credit::withdrawal::Challenges` completes it at once below the
//! step-up threshold or holds it as a challenge until verified or expired.

use super::{Handler, Parties, Step, event};
use crate::apply::Engine;
use crate::prefetch::Hint;
use credit::withdrawal::Request;
use ledger::Ledger;
use ledger::idempotency::{Tag, hash_words};
use model::risk::EventKind;
use model::{CommandKind, Funding, Outcome, kind};
use risk::ScoredEvent;

impl Handler for kind::RequestWithdrawal {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    fn scored(&self, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
        let user = hint.user(&engine.ledger, self.user)?;
        let funding = Funding { credit_minor: self.amount.minor(), balance_minor: 0 };
        Some(event(EventKind::RequestWithdrawal, (Some(user), None), funding, None))
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::RequestWithdrawal as u64, self.user.0, self.amount.minor(), self.purpose as u64])
    }

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        engine.check_new_payment_id(step.id)?;
        let today = engine.today();
        let product = engine.calendar.product_at(engine.now_ms);
        let request = Request { id: step.id, slot, amount: self.amount, purpose: self.purpose };
        let line = (&mut engine.ledger, &mut engine.lines[slot]);
        engine.challenges.request(line, request, product, today, step.postings)
    }
}
