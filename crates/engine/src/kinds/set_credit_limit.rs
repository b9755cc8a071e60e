//! `SetCreditLimit`: grants or changes a line; never below what is committed against it.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Outcome, kind};

impl Handler for kind::SetCreditLimit {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        credit::servicing::set_limit(&mut engine.ledger, &engine.lines[slot], slot, self.limit_minor)
    }
}
