//! `TopUp`: money from the user's bank into the balance.

use super::{Handler, Parties, Step};
use crate::apply::Engine;
use ledger::Ledger;
use ledger::idempotency::{Tag, hash_words};
use model::{Accepted, CommandKind, Outcome, kind};

impl Handler for kind::TopUp {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::TopUp as u64, self.user.0, self.amount.minor()])
    }

    #[inline]
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        engine.ledger.top_up(slot, self.amount, step.postings)?;
        Ok(Accepted::Done)
    }
}
