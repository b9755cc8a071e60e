//! `AppealCase`: a user's evidence and words attached to a case, which reopens if decided.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::AppealCase {
    type Plan = ();

    fn check(&self, engine: &Engine, _call: Call) -> Result<(), Rejection> {
        engine.risk.check_appeal(self.case, (&self.evidence, &self.text))
    }

    fn commit(&self, (): (), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.risk.appeal_case(self.case, (&self.evidence, &self.text), (engine.now_ms, engine.actor));
        Accepted::Done
    }
}
