//! `VerifyChallenge`: the user passed the step-up verification of a command the rules
//! challenged; the parked command runs now, past the screen. A parked command its own checks
//! now refuse stays parked until it lapses, like every refusal changing nothing.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::VerifyChallenge {
    type Plan = ();

    fn check(&self, engine: &Engine, call: Call) -> Result<(), Rejection> {
        let parked = engine.risk.check_unpark(self.user, self.challenge, engine.now_ms)?;
        super::check(&parked.kind, engine, Call { id: self.challenge, hint: call.hint, unparked: true })
    }

    fn commit(&self, (): (), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        let parked = engine.risk.unpark(&mut engine.ledger, self.challenge);
        let mut parked_step = Step { id: self.challenge, hint: step.hint, postings: step.postings };
        let outcome = super::run(&parked.kind, engine, &mut parked_step);
        outcome.expect("checked: the parked command passes its checks")
    }
}
