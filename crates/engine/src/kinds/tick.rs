//! `Tick`: time advances. Holds, pending withdrawals and parked commands whose expiry has come
//! are dropped, lapsed risk actions lifted, and the product calendar runs its days (statement
//! close, daily penalties). Ticks come from the server's clock: never retried, never remembered.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection};

/// The handler of the one command kind without a body.
pub(crate) struct Tick;

impl Handler for Tick {
    /// Time cannot be refused.
    type Plan = ();

    fn check(&self, _engine: &Engine, _call: Call) -> Result<(), Rejection> {
        Ok(())
    }

    fn commit(&self, (): (), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        let authorizations = expire_holds(engine);
        engine.lapse_actions();
        let statements = engine.calendar.run_days(engine.now_ms, &mut engine.lines, &mut engine.ledger, step.postings);
        Accepted::Ticked { authorizations, statements }
    }
}

/// Drops every hold, pending withdrawal and parked command whose expiry has come; how many.
fn expire_holds(engine: &mut Engine) -> u32 {
    let mut released = 0u32;
    while let Some(&(expires_at_ms, id)) = engine.ledger.expiries().first() {
        if expires_at_ms > engine.now_ms {
            break;
        }
        if !engine.ledger.drop_authorization(id)
            && !engine.challenges.drop_expired(&mut engine.ledger, &mut engine.lines, id)
        {
            engine.risk.drop_parked(&mut engine.ledger, id);
        }
        released = released.saturating_add(1);
    }
    released
}
