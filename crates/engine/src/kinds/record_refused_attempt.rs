//! `RecordRefusedAttempt`: another system refused a user's attempt to move money; nothing
//! moves, but the risk features see when.

use super::{Handler, Parties, Step};
use crate::apply::Engine;
use ledger::Ledger;
use model::{Accepted, Outcome, kind};

impl Handler for kind::RecordRefusedAttempt {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        engine.risk.note_refused(slot, engine.now_ms);
        Ok(Accepted::Done)
    }
}
