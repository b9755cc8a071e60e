//! The instalment handlers: converting a purchase or a statement into a plan, and paying a plan
//! off early (the plans themselves are `credit::instalments`').

use crate::apply::{Engine, Postings};
use credit::instalments::InstalmentPlanState;
use model::Amount;
use model::{Accepted, Outcome, Rejection};
use model::{CommandId, RepaySource, UserId};

impl Engine {
    /// Converts an unbilled credit purchase into an instalment plan.
    pub(crate) fn convert_to_instalments(
        &mut self,
        id: CommandId,
        user: UserId,
        payment_id: CommandId,
        periods: u8,
    ) -> Outcome {
        let slot = self.user_slot(user)?;
        let fee_ppm = self.instalment_fee_ppm(periods)?;
        let payment =
            self.ledger.payment(payment_id).filter(|payment| payment.user == user).ok_or(Rejection::UnknownPayment)?;
        let credit_minor = payment.captured.credit_minor - self.refunded(payment_id).credit_minor;
        let billing = &self.lines[slot].billing;
        let last_close = billing.statements.last().map_or(0, |statement| statement.closed_at_ms);
        if payment.captured_at_ms < last_close {
            return Err(Rejection::PaymentAlreadyBilled);
        }
        if billing.plans.iter().any(|plan| plan.payment == Some(payment_id)) {
            return Err(Rejection::AlreadyInstalment);
        }
        if credit_minor == 0 || billing.unbilled_principal_minor < credit_minor as i64 {
            return Err(Rejection::NothingToConvert);
        }
        let billing = &mut self.lines[slot].billing;
        billing.unbilled_principal_minor -= credit_minor as i64;
        billing.activity.purchases_minor -= credit_minor.min(billing.activity.purchases_minor);
        let plan = InstalmentPlanState {
            id,
            payment: Some(payment_id),
            periods,
            billed_periods: 0,
            fee_ppm,
            remaining_principal_minor: credit_minor,
        };
        billing.plans.push(plan);
        Ok(Accepted::Done)
    }

    /// The total fee rate of the product's plan with this many periods.
    fn instalment_fee_ppm(&self, periods: u8) -> Result<u32, Rejection> {
        let product = self.product_at(self.now_ms).ok_or(Rejection::NoProduct)?;
        let plan = product.instalments.iter().find(|plan| plan.periods == periods);
        plan.map(|plan| plan.total_fee_ppm).ok_or(Rejection::InstalmentPlanNotOffered)
    }

    /// Converts the latest statement's billed principal, before its due date, into an
    /// instalment plan (账单分期); its first period comes on the next statement.
    pub(crate) fn convert_statement(&mut self, id: CommandId, user: UserId, periods: u8) -> Outcome {
        let slot = self.user_slot(user)?;
        let fee_ppm = self.instalment_fee_ppm(periods)?;
        let billing = &mut self.lines[slot].billing;
        if billing.statements.is_empty() || billing.due_passed {
            return Err(Rejection::NothingToConvert);
        }
        let principal = std::mem::take(&mut billing.current_principal_minor);
        if principal == 0 {
            return Err(Rejection::NothingToConvert);
        }
        let plan = InstalmentPlanState {
            id,
            payment: None,
            periods,
            billed_periods: 0,
            fee_ppm,
            remaining_principal_minor: principal,
        };
        billing.plans.push(plan);
        Ok(Accepted::Done)
    }

    /// Pays a plan's unbilled principal off early from balance or bank; its unbilled fees lapse.
    pub(crate) fn pay_off_instalments(
        &mut self,
        user: UserId,
        plan_id: CommandId,
        source: RepaySource,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let slot = self.user_slot(user)?;
        let billing = &self.lines[slot].billing;
        let index = billing.plans.iter().position(|plan| plan.id == plan_id).ok_or(Rejection::UnknownInstalmentPlan)?;
        let principal = billing.plans[index].remaining_principal_minor;
        let amount = Amount::new(principal).ok_or(Rejection::NothingToConvert)?;
        self.ledger.repay(slot, amount, source, ledger)?;
        let billing = &mut self.lines[slot].billing;
        billing.plans.remove(index);
        billing.activity.repayments_minor += principal;
        Ok(Accepted::Done)
    }
}
