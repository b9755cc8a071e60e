//! `PayOffInstalments`: a plan's unbilled principal paid off early from balance or bank; its
//! unbilled fees lapse.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Amount, Outcome, Rejection, kind};

impl Handler for kind::PayOffInstalments {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let (index, principal) = engine.lines[slot].billing.plan_principal(self.plan)?;
        let amount = Amount::new(principal).ok_or(Rejection::NothingToConvert)?;
        engine.ledger.repay(slot, amount, self.source, step.postings)?;
        engine.lines[slot].billing.pay_off(index);
        Ok(Accepted::Done)
    }
}
