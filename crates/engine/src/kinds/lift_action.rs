//! `LiftAction`: an analyst reverses a risk account action in force.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Outcome, Rejection, kind};

impl Handler for kind::LiftAction {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let (risk, mut accounts) = engine.accounts();
        match risk.lift_in_force(&mut accounts, slot, self.action) {
            true => Ok(Accepted::Done),
            false => Err(Rejection::ActionNotInForce),
        }
    }
}
