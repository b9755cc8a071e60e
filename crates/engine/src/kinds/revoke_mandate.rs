//! `RevokeMandate`: the user takes a mandate back; taking back one not in force changes nothing
//! and is no error (the user's wish holds either way).

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Outcome, kind};

impl Handler for kind::RevokeMandate {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        step.user(&engine.ledger, self.user)?;
        step.merchant(&engine.ledger, self.merchant)?;
        engine.mandates.remove(&(self.user, self.merchant));
        Ok(Accepted::Done)
    }
}
