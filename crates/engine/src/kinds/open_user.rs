//! `OpenUser`: a user with an empty credit line and balance, scored once at opening.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use credit::CreditLine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::OpenUser {
    type Plan = ();

    fn check(&self, engine: &Engine, _call: Call) -> Result<(), Rejection> {
        engine.ledger.check_open_user(self.user)
    }

    fn commit(&self, (): (), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        let slot = engine.ledger.open_user(self.user, self.currency, self.identity, engine.now_ms);
        engine.lines.push(CreditLine::default());
        engine.risk.open_user();
        let (_, month) = engine.local_today();
        credit::score::rescore(&engine.ledger.users()[slot], &mut engine.lines[slot], engine.now_ms, month, true);
        Accepted::Done
    }
}
