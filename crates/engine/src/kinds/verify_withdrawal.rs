//! `VerifyWithdrawal`: the user passed the step-up verification of a challenged withdrawal.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use credit::withdrawal::Draw;
use model::{Accepted, Rejection, kind};

impl Handler for kind::VerifyWithdrawal {
    /// The user's slot and what the withdrawal draws.
    type Plan = (usize, Draw);

    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, Draw), Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        Ok((slot, engine.challenges.check_verify(&engine.ledger, (slot, self.withdrawal), engine.now_ms)?))
    }

    fn commit(&self, (slot, draw): (usize, Draw), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        let today = engine.today();
        let line = (&mut engine.ledger, &mut engine.lines[slot]);
        engine.challenges.verify(line, (slot, self.withdrawal), draw, today, step.postings)
    }
}
