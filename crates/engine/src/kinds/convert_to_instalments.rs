//! `ConvertToInstalments`: an unbilled credit purchase becomes an instalment plan (分期) named by
//! the command's id; the credit line keeps the plans (`credit::instalments`).

use super::{Handler, Parties, Step};
use crate::apply::Engine;
use ledger::Ledger;
use model::{Accepted, Outcome, Rejection, kind};

impl Handler for kind::ConvertToInstalments {
    #[inline]
    fn parties(&self, _ledger: &Ledger) -> Parties {
        ([Some(self.user), None], None)
    }

    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let slot = step.user(&engine.ledger, self.user)?;
        let plan = engine.new_plan(step.id, self.periods)?;
        let payment = engine.ledger.payment(self.payment).filter(|payment| payment.user == self.user);
        let payment = payment.ok_or(Rejection::UnknownPayment)?;
        let credit_minor = payment.captured.credit_minor - engine.ledger.refunded(self.payment).credit_minor;
        let captured_at_ms = payment.captured_at_ms;
        engine.lines[slot].billing.convert_purchase(plan, self.payment, captured_at_ms, credit_minor)?;
        Ok(Accepted::Done)
    }
}
