//! `InstallRules`: a rules file that compiles and carries a higher version than the one in force.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Outcome, kind};

impl Handler for kind::InstallRules {
    fn run(&self, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Outcome {
        engine.risk.install_rules(&self.rules)
    }
}
