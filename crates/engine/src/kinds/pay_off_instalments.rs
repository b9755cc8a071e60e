//! `PayOffInstalments`: a plan's unbilled principal paid off early from balance or bank; its
//! unbilled fees lapse.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Amount, Rejection, kind};

impl Handler for kind::PayOffInstalments {
    /// The user's slot, the plan's place and its principal.
    type Plan = (usize, usize, Amount);

    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, usize, Amount), Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        let (index, principal) = engine.lines[slot].billing.plan_principal(self.plan)?;
        let amount = Amount::new(principal).ok_or(Rejection::NothingToConvert)?;
        engine.ledger.check_repay(slot, amount, self.source)?;
        Ok((slot, index, amount))
    }

    fn commit(&self, (slot, index, amount): Self::Plan, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        engine.ledger.repay(slot, amount, self.source, step.postings);
        engine.lines[slot].billing.pay_off(index);
        Accepted::Done
    }
}
