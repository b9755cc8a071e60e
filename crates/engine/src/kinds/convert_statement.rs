//! `ConvertStatementToInstalments`: the latest statement's billed principal becomes an instalment
//! plan (账单分期) named by the command's id.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Outcome, kind};

impl Handler for kind::ConvertStatementToInstalments {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let plan = engine.new_plan(step.id, self.periods)?;
        engine.lines[slot].billing.convert_statement(plan)?;
        Ok(Accepted::Done)
    }
}
