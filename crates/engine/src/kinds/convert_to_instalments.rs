//! `ConvertToInstalments`: an unbilled credit purchase becomes an instalment plan (分期) named by
//! the command's id; the credit line keeps the plans (`credit::instalments`).

use super::{Call, Handler, Parties, Step};
use crate::apply::Engine;
use credit::instalments::NewPlan;
use ledger::Ledger;
use model::{Accepted, Rejection, kind};

impl Handler for kind::ConvertToInstalments {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    /// The user's slot, the plan to open and the purchase's credit left to convert.
    type Plan = (usize, NewPlan, u64);

    fn check(&self, engine: &Engine, call: Call) -> Result<(usize, NewPlan, u64), Rejection> {
        let slot = call.user(&engine.ledger, self.user)?;
        let plan = engine.new_plan(call.id, self.periods)?;
        let payment = engine.ledger.payment(self.payment).filter(|payment| payment.user == self.user);
        let payment = payment.ok_or(Rejection::UnknownPayment)?;
        let credit_minor = payment.captured.credit_minor - engine.ledger.refunded(self.payment).credit_minor;
        engine.lines[slot].billing.check_convert_purchase(self.payment, payment.captured_at_ms, credit_minor)?;
        Ok((slot, plan, credit_minor))
    }

    fn commit(&self, (slot, plan, credit_minor): Self::Plan, engine: &mut Engine, _: &mut Step<'_, '_>) -> Accepted {
        engine.lines[slot].billing.convert_purchase(plan, self.payment, credit_minor);
        Accepted::Done
    }
}
