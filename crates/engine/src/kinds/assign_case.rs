//! `AssignCase`: an open case is claimed by or assigned to an analyst, or given back.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::AssignCase {
    type Plan = ();

    fn check(&self, engine: &Engine, _call: Call) -> Result<(), Rejection> {
        engine.risk.check_assignment(self.case)
    }

    fn commit(&self, (): (), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.risk.assign_case(self.case, self.to);
        Accepted::Done
    }
}
