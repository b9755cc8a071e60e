//! `Repay`: repays used credit from the balance or the bank, under the product's overpayment
//! rule (`credit::servicing::repay`).

use super::{Call, Handler, Parties, Step};
use crate::apply::Engine;
use credit::servicing::{self, Repayment};
use ledger::Ledger;
use ledger::idempotency::{Tag, hash_words};
use model::{Accepted, CommandKind, Rejection, kind};

impl Handler for kind::Repay {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::Repay as u64, self.user.0, self.amount.minor(), self.source as u64])
    }

    type Plan = Repayment;

    fn check(&self, engine: &Engine, call: Call) -> Result<Repayment, Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        let line = (&engine.ledger, &engine.lines[slot]);
        servicing::check_repay(line, slot, (self.amount, self.source), engine.overpayment())
    }

    fn commit(&self, repayment: Repayment, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        super::repay(engine, repayment, step);
        Accepted::Repaid { amount_minor: repayment.applied_minor() }
    }
}
