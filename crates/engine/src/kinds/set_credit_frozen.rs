//! `SetCreditFrozen`: freezes or unfreezes the use of a user's credit line.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::SetCreditFrozen {
    /// The user's slot.
    type Plan = usize;

    fn check(&self, engine: &Engine, call: Call) -> Result<usize, Rejection> {
        call.user(&engine.ledger, self.user)
    }

    fn commit(&self, slot: usize, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.set_credit_frozen(slot, self.frozen);
        Accepted::Done
    }
}
