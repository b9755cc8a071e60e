//! `RecordRefusedAttempt`: another system refused a user's attempt to move money; nothing
//! moves, but the risk features see when.

use super::{Call, Handler, Parties, Step};
use crate::apply::Engine;
use ledger::Ledger;
use model::{Accepted, Rejection, kind};

impl Handler for kind::RecordRefusedAttempt {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    /// The user's slot.
    type Plan = usize;

    fn check(&self, engine: &Engine, call: Call) -> Result<usize, Rejection> {
        call.user(&engine.ledger, self.user)
    }

    fn commit(&self, slot: usize, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.risk.note_refused(slot, engine.now_ms);
        Accepted::Done
    }
}
