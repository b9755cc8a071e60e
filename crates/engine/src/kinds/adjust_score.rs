//! `AdjustScore`: an analyst's or a risk action's points on the credit score, rescored at once.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::AdjustScore {
    /// The user's slot.
    type Plan = usize;

    fn check(&self, engine: &Engine, call: Call) -> Result<usize, Rejection> {
        call.user(&engine.ledger, self.user)
    }

    fn commit(&self, slot: usize, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        let (_, month) = engine.local_today();
        let at = (engine.now_ms, month);
        credit::servicing::adjust_score(&engine.ledger, &mut engine.lines[slot], slot, self.points, at);
        Accepted::Done
    }
}
