//! `GrantMandate`: the user lets a merchant charge them without asking each time (免密支付),
//! within caps per payment and per month; granting again replaces the caps (see `mandates`).

use super::{Handler, Step};
use crate::apply::Engine;
use crate::mandates::Mandate;
use model::{Accepted, Amount, Outcome, Rejection, kind};

impl Handler for kind::GrantMandate {
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        step.user(&engine.ledger, self.user)?;
        step.merchant(&engine.ledger, self.merchant)?;
        let (per_payment, per_month) = (self.per_payment_max_minor, self.per_month_max_minor);
        if per_payment == 0 || per_month < per_payment || per_month > Amount::MAX {
            return Err(Rejection::InvalidAmount);
        }
        let (_, month) = engine.local_today();
        let key = (self.user, self.merchant);
        let spent_minor = engine.mandates.get(&key).filter(|old| old.month == month).map_or(0, |old| old.spent_minor);
        let mandate =
            Mandate { per_payment_max_minor: per_payment, per_month_max_minor: per_month, month, spent_minor };
        engine.mandates.insert(key, mandate);
        Ok(Accepted::Done)
    }
}
