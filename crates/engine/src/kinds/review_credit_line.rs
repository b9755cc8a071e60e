//! `ReviewCreditLine`: the line policy of the product in force raises or cuts the limit.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Outcome, Rejection, kind};

impl Handler for kind::ReviewCreditLine {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let product = engine.calendar.product_at(engine.now_ms).ok_or(Rejection::NoProduct)?;
        let (_, month) = engine.calendar.local_today(engine.now_ms);
        credit::servicing::review(&mut engine.ledger, &engine.lines[slot], slot, product, month)
    }
}
