//! `ConvertStatementToInstalments`: the latest statement's billed principal becomes an instalment
//! plan (账单分期) named by the command's id.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use credit::instalments::NewPlan;
use model::{Accepted, Rejection, kind};

impl Handler for kind::ConvertStatementToInstalments {
    /// The user's slot and the plan to open.
    type Plan = (usize, NewPlan);

    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, NewPlan), Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        let plan = engine.new_plan(call.id, self.periods)?;
        engine.lines[slot].billing.check_convert_statement()?;
        Ok((slot, plan))
    }

    fn commit(&self, (slot, plan): (usize, NewPlan), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.lines[slot].billing.convert_statement(plan);
        Accepted::Done
    }
}
