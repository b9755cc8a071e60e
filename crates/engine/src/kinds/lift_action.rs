//! `LiftAction`: an analyst reverses a risk account action in force.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::LiftAction {
    /// The user's slot.
    type Plan = usize;

    fn check(&self, engine: &Engine, call: Call) -> Result<usize, Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        match risk::in_force(&engine.risk.users()[slot], self.action) {
            true => Ok(slot),
            false => Err(Rejection::ActionNotInForce),
        }
    }

    fn commit(&self, slot: usize, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        let (risk, mut accounts) = engine.accounts();
        let lifted = risk.lift_in_force(&mut accounts, slot, self.action);
        assert!(lifted, "checked: the action is in force");
        Accepted::Done
    }
}
