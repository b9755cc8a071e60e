//! `AppealCase`: a user's evidence and words attached to a case, which reopens if decided.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Outcome, kind};

impl Handler for kind::AppealCase {
    fn run(&self, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Outcome {
        engine.risk.appeal_case(self.case, (&self.evidence, &self.text), (engine.now_ms, engine.actor))
    }
}
