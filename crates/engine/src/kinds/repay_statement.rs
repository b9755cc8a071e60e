//! `RepayStatement`: pays the bill — everything billed, or the rest of the minimum.

use super::{Call, Handler, Parties, Step};
use crate::apply::Engine;
use credit::servicing::{self, Repayment};
use ledger::Ledger;
use ledger::idempotency::{Tag, hash_words};
use model::{Accepted, CommandKind, Rejection, kind};

impl Handler for kind::RepayStatement {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::RepayStatement as u64, self.user.0, self.source as u64, u64::from(self.in_full)])
    }

    /// The repayment and what was due.
    type Plan = (Repayment, u64);

    fn check(&self, engine: &Engine, call: Call) -> Result<(Repayment, u64), Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        let line = (&engine.ledger, &engine.lines[slot]);
        servicing::check_repay_statement(line, slot, (self.source, self.in_full), engine.overpayment())
    }

    fn commit(&self, (repayment, due): (Repayment, u64), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        super::repay(engine, repayment, step);
        Accepted::Repaid { amount_minor: due }
    }
}
