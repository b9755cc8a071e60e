//! `LinkTie`: a device, phone, identity, bank card or payout account linked to a user or
//! merchant; accounts sharing one become tied (`risk::ties`).

use super::{Call, Handler, Step};
use crate::apply::Engine;
use model::{Accepted, Rejection, kind};
use risk::Risk;

impl Handler for kind::LinkTie {
    type Plan = ();

    fn check(&self, engine: &Engine, _call: Call) -> Result<(), Rejection> {
        Risk::check_tie(&engine.ledger, self.party)
    }

    fn commit(&self, (): (), engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.risk.link_tie(&engine.ledger, engine.now_ms, self.party, self.tie);
        Accepted::Done
    }
}
