//! `AdjustScore`: an analyst's or a risk action's points on the credit score, rescored at once.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Outcome, kind};

impl Handler for kind::AdjustScore {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let (_, month) = engine.local_today();
        let at = (engine.now_ms, month);
        credit::servicing::adjust_score(&engine.ledger, &mut engine.lines[slot], slot, self.points, at);
        Ok(Accepted::Done)
    }
}
