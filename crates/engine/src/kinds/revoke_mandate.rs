//! `RevokeMandate`: the user takes a mandate back; taking back one not in force changes nothing
//! and is no error (the user's wish holds either way).

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::RevokeMandate {
    type Plan = ();

    fn check(&self, engine: &Engine, call: Call) -> Result<(), Rejection> {
        call.user(&engine.ledger, self.user)?;
        call.merchant(&engine.ledger, self.merchant).map(drop)
    }

    fn commit(&self, (): (), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.mandates.remove(&(self.user, self.merchant));
        Accepted::Done
    }
}
