//! `RequestWithdrawal`: the official credit withdrawal (取现 / 转至余额). The engine resolves the
//! user and checks the id is new; `credit::withdrawal::Challenges` completes it at once below the
//! step-up threshold or holds it as a challenge until verified or expired.

use super::{Call, Handler, Parties, Step, event};
use crate::apply::Engine;
use crate::prefetch::Hint;
use credit::withdrawal::{self, Request, Withdrawal};
use ledger::Ledger;
use ledger::idempotency::{Tag, hash_words};
use model::risk::EventKind;
use model::{Accepted, CommandKind, Funding, Rejection, kind};
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

    type Plan = (Request, Withdrawal);

    fn check(&self, engine: &Engine, call: Call) -> Result<(Request, Withdrawal), Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        engine.check_new_payment_id(call)?;
        let product = engine.calendar.product_at(engine.now_ms);
        let request = Request { id: call.id, slot, amount: self.amount, purpose: self.purpose };
        let line = (&engine.ledger, &engine.lines[slot]);
        Ok((request, withdrawal::check_request(line, &request, product, engine.today())?))
    }

    fn commit(&self, (request, plan): Self::Plan, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        let today = engine.today();
        let line = (&mut engine.ledger, &mut engine.lines[request.slot]);
        engine.challenges.request(line, request, plan, today, step.postings)
    }
}
