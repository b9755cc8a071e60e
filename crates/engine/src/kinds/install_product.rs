//! `InstallProduct`: a credit product version, applying from its effective time.

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Outcome, kind};

impl Handler for kind::InstallProduct {
    fn run(&self, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Outcome {
        engine.calendar.install(&self.product, self.effective_at_ms, engine.now_ms)?;
        Ok(Accepted::Done)
    }
}
