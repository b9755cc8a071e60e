//! `SetScoreFrozen`: freezes or unfreezes automatic rescoring of a user's credit score.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Outcome, kind};

impl Handler for kind::SetScoreFrozen {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        engine.lines[slot].score.frozen = self.frozen;
        Ok(Accepted::Done)
    }
}
