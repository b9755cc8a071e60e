//! `Repay`: repays used credit from the balance or the bank, under the product's overpayment
//! rule (`credit::servicing::repay`).

use super::{Handler, Parties, Step};
use crate::apply::Engine;
use ledger::Ledger;
use ledger::idempotency::{Tag, hash_words};
use model::{CommandKind, Outcome, kind};

impl Handler for kind::Repay {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    #[inline]
    fn fingerprint(&self, _: &CommandKind, _: &mut Vec<u8>) -> u64 {
        hash_words([Tag::Repay as u64, self.user.0, self.amount.minor(), self.source as u64])
    }

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let rule = engine.overpayment();
        let line = (&mut engine.ledger, &mut engine.lines[slot]);
        credit::servicing::repay(line, slot, (self.amount, self.source), rule, step.postings)
    }
}
