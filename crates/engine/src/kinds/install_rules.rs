//! `InstallRules`: a rules file that compiles and carries a higher version than the one in force.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::risk::CompiledRules;
use model::{Accepted, Rejection, kind};

impl Handler for kind::InstallRules {
    type Plan = CompiledRules;

    fn check(&self, engine: &Engine, _call: Call) -> Result<CompiledRules, Rejection> {
        engine.risk.check_rules(&self.rules)
    }

    fn commit(&self, rules: CompiledRules, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.risk.install_rules(rules);
        Accepted::Done
    }
}
