//! `LinkTie`: a device, phone, identity, bank card or payout account linked to a user or
//! merchant; accounts sharing one become tied (`risk::ties`).

use super::{Handler, Step};
use crate::apply::Engine;
use model::{Outcome, kind};

impl Handler for kind::LinkTie {
    fn run(&self, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Outcome {
        engine.risk.link_tie(&engine.ledger, engine.now_ms, self.party, self.tie)
    }
}
