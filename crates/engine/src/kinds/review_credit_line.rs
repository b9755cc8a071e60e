//! `ReviewCreditLine`: the line policy of the product in force raises or cuts the limit.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::ReviewCreditLine {
    /// The user's slot and the limit the review earned.
    type Plan = (usize, u64);

    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, u64), Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        let product = engine.calendar.product_at(engine.now_ms).ok_or(Rejection::NoProduct)?;
        let (_, month) = engine.calendar.local_today(engine.now_ms);
        Ok((slot, credit::servicing::reviewed_limit(&engine.ledger, &engine.lines[slot], slot, product, month)))
    }

    fn commit(&self, (slot, to_minor): (usize, u64), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        let from_minor = engine.ledger.set_limit(slot, to_minor);
        Accepted::LineReviewed { from_minor, to_minor }
    }
}
