//! `OpenUser`: a user with an empty credit line and balance, scored once at opening.

use super::{Handler, Step};
use crate::apply::Engine;
use credit::CreditLine;
use model::{Accepted, Outcome, kind};

impl Handler for kind::OpenUser {
    fn run(&self, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Outcome {
        let slot = engine.ledger.open_user(self.user, self.currency, self.identity, engine.now_ms)?;
        engine.lines.push(CreditLine::default());
        engine.risk.open_user();
        let (_, month) = engine.local_today();
        credit::score::rescore(&engine.ledger.users()[slot], &mut engine.lines[slot], engine.now_ms, month, true);
        Ok(Accepted::Done)
    }
}
