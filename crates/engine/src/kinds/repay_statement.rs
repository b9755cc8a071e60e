//! `RepayStatement`: pays the bill — everything billed, or the rest of the minimum.

use super::{Handler, Parties, Step};
use crate::apply::Engine;
use ledger::Ledger;
use ledger::idempotency::{Tag, hash_words};
use model::{CommandKind, Outcome, kind};

impl Handler for kind::RepayStatement {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::RepayStatement as u64, self.user.0, self.source as u64, u64::from(self.in_full)])
    }

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let rule = engine.overpayment();
        let line = (&mut engine.ledger, &mut engine.lines[slot]);
        credit::servicing::repay_statement(line, slot, (self.source, self.in_full), rule, step.postings)
    }
}
