//! `SetScoreFrozen`: freezes or unfreezes automatic rescoring of a user's credit score.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::SetScoreFrozen {
    /// The user's slot.
    type Plan = usize;

    fn check(&self, engine: &Engine, call: Call) -> Result<usize, Rejection> {
        call.user(&engine.ledger, self.user)
    }

    fn commit(&self, slot: usize, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.lines[slot].score.frozen = self.frozen;
        Accepted::Done
    }
}
