//! `TopUp`: money from the user's bank into the balance.

use super::{Call, Handler, Parties, Step};
use crate::apply::Engine;
use ledger::Ledger;
use ledger::idempotency::{Tag, hash_words};
use model::{Accepted, CommandKind, Rejection, kind};

impl Handler for kind::TopUp {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::TopUp as u64, self.user.0, self.amount.minor()])
    }

    /// The user's slot.
    type Plan = usize;

    #[inline]
    fn check(&self, engine: &Engine, call: Call) -> Result<usize, Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        engine.ledger.check_top_up(slot, self.amount)?;
        Ok(slot)
    }

    #[inline]
    fn commit(&self, slot: usize, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.top_up(slot, self.amount, step.postings);
        Accepted::Done
    }
}
