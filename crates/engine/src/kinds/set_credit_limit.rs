//! `SetCreditLimit`: grants or changes a line; never below what is committed against it.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::SetCreditLimit {
    /// The user's slot.
    type Plan = usize;

    fn check(&self, engine: &Engine, call: Call) -> Result<usize, Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        credit::servicing::check_limit(&engine.ledger, &engine.lines[slot], slot, self.limit_minor)?;
        Ok(slot)
    }

    fn commit(&self, slot: usize, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.set_limit(slot, self.limit_minor);
        Accepted::Done
    }
}
