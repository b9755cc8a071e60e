//! The instalment commands: the engine resolves the user and the payment, the credit line
//! keeps the plans (`credit::instalments`).

use crate::apply::{Engine, Postings};
use credit::instalments::NewPlan;
use model::Amount;
use model::{Accepted, Outcome, Rejection};
use model::{CommandId, RepaySource, UserId};

impl Engine {
    fn new_plan(&self, id: CommandId, periods: u8) -> Result<NewPlan, Rejection> {
        Ok(NewPlan { id, periods, fee_ppm: self.calendar.instalment_fee_ppm(self.now_ms, periods)? })
    }

    /// Converts an unbilled credit purchase into an instalment plan.
    pub(crate) fn convert_to_instalments(
        &mut self,
        id: CommandId,
        user: UserId,
        payment_id: CommandId,
        periods: u8,
    ) -> Outcome {
        let slot = self.user_slot(user)?;
        let plan = self.new_plan(id, periods)?;
        let payment =
            self.ledger.payment(payment_id).filter(|payment| payment.user == user).ok_or(Rejection::UnknownPayment)?;
        let credit_minor = payment.captured.credit_minor - self.ledger.refunded(payment_id).credit_minor;
        let captured_at_ms = payment.captured_at_ms;
        self.lines[slot].billing.convert_purchase(plan, payment_id, captured_at_ms, credit_minor)?;
        Ok(Accepted::Done)
    }

    /// Converts the latest statement's billed principal into an instalment plan (账单分期).
    pub(crate) fn convert_statement(&mut self, id: CommandId, user: UserId, periods: u8) -> Outcome {
        let slot = self.user_slot(user)?;
        let plan = self.new_plan(id, periods)?;
        self.lines[slot].billing.convert_statement(plan)?;
        Ok(Accepted::Done)
    }

    /// Pays a plan's unbilled principal off early from balance or bank; its unbilled fees lapse.
    pub(crate) fn pay_off_instalments(
        &mut self,
        user: UserId,
        plan: CommandId,
        source: RepaySource,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let slot = self.user_slot(user)?;
        let (index, principal) = self.lines[slot].billing.plan_principal(plan)?;
        let amount = Amount::new(principal).ok_or(Rejection::NothingToConvert)?;
        self.ledger.repay(slot, amount, source, ledger)?;
        self.lines[slot].billing.pay_off(index);
        Ok(Accepted::Done)
    }
}
