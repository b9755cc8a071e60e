//! `GrantMandate`: the user lets a merchant charge them without asking each time (免密支付),
//! within caps per payment and per month; granting again replaces the caps (see `mandates`).

use super::{Call, Handler, Step};
use crate::apply::Engine;
use crate::mandates::Mandate;
use model::{Accepted, Amount, Rejection, kind};

impl Handler for kind::GrantMandate {
    /// The mandate, counting what this month's predecessor let through.
    type Plan = Mandate;

    fn check(&self, engine: &Engine, call: Call) -> Result<Mandate, Rejection> {
        call.user(&engine.ledger, self.user)?;
        call.merchant(&engine.ledger, self.merchant)?;
        let (per_payment, per_month) = (self.per_payment_max_minor, self.per_month_max_minor);
        if per_payment == 0 || per_month < per_payment || per_month > Amount::MAX {
            return Err(Rejection::InvalidAmount);
        }
        let (_, month) = engine.local_today();
        let key = (self.user, self.merchant);
        let spent_minor = engine.mandates.get(&key).filter(|old| old.month == month).map_or(0, |old| old.spent_minor);
        Ok(Mandate { per_payment_max_minor: per_payment, per_month_max_minor: per_month, month, spent_minor })
    }

    fn commit(&self, mandate: Mandate, engine: &mut Engine, _step: &mut Step<'_, '_>) -> Accepted {
        engine.mandates.insert((self.user, self.merchant), mandate);
        Accepted::Done
    }
}
