//! `SetCreditFrozen`: freezes or unfreezes the use of a user's credit line.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Outcome, kind};

impl Handler for kind::SetCreditFrozen {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        engine.ledger.set_credit_frozen(slot, self.frozen);
        Ok(Accepted::Done)
    }
}
