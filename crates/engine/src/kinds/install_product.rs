//! `InstallProduct`: a credit product version, applying from its effective time.

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};

impl Handler for kind::InstallProduct {
    /// When the version takes effect.
    type Plan = u64;

    fn check(&self, engine: &Engine, _call: Call) -> Result<u64, Rejection> {
        engine.calendar.check_install(&self.product, self.effective_at_ms, engine.now_ms)
    }

    fn commit(&self, effective_at_ms: u64, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.calendar.install(&self.product, effective_at_ms);
        Accepted::Done
    }
}
