//! `ProposeRules` and `ApproveRules`: activation of a rules file under four-eyes. A proposal
//! waits under its command's id; another key's approval installs it, if it is still newer than
//! the rules in force (`InstallRules` stays the one-key path).

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::risk::CompiledRules;
use model::{Accepted, Rejection, kind};

impl Handler for kind::ProposeRules {
    type Plan = ();

    fn check(&self, engine: &Engine, call: Call) -> Result<(), Rejection> {
        engine.risk.check_proposal(call.id, &self.rules)
    }

    fn commit(&self, (): (), engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted {
        engine.risk.propose_rules(step.id, (*self.rules).clone(), (engine.now_ms, engine.actor));
        Accepted::Done
    }
}

impl Handler for kind::ApproveRules {
    type Plan = CompiledRules;

    fn check(&self, engine: &Engine, _call: Call) -> Result<CompiledRules, Rejection> {
        engine.risk.check_approval(self.proposal, engine.actor)
    }

    fn commit(&self, rules: CompiledRules, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.risk.approve_rules(self.proposal, rules);
        Accepted::Done
    }
}
