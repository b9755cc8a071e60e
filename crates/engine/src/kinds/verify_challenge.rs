//! `VerifyChallenge`: the user passed the step-up verification of a command the rules
//! challenged; the parked command runs now, past the screen.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Outcome, kind};

impl Handler for kind::VerifyChallenge {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let parked = engine.risk.unpark(&mut engine.ledger, self.user, self.challenge, engine.now_ms)?;
        let mut parked_step = Step { id: self.challenge, hint: step.hint, postings: step.postings };
        super::run(&parked.kind, engine, &mut parked_step)
    }
}
