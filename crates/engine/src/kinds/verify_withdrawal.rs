//! `VerifyWithdrawal`: the user passed the step-up verification of a challenged withdrawal.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Outcome, kind};

impl Handler for kind::VerifyWithdrawal {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let today = engine.today();
        let line = (&mut engine.ledger, &mut engine.lines[slot]);
        engine.challenges.verify(line, (slot, self.withdrawal), today, step.postings)
    }
}
