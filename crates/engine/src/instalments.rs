//! Instalments (分期): a purchase split into 3, 6, 9 or 12 monthly periods with a fee.
//!
//! A plan keeps its unbilled principal. At each statement close one period is billed: the
//! remaining principal split evenly over the periods left (the last takes the remainder), and
//! its fee — the plan's total fee rate applied to that period's principal, so a refund that
//! lowers the principal lowers the fees still to come. Paying a plan off early pays its unbilled
//! principal and waives its unbilled fees.

use crate::apply::{Engine, Postings};
use crate::billing::{Billing, apply_ppm};
use model::Amount;
use model::{Accepted, Outcome, Rejection};
use model::{CommandId, RepaySource, UserId};
use serde::{Deserialize, Serialize};

/// A live instalment plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalmentPlanState {
    /// The command that created the plan (its id names the plan).
    pub id: CommandId,
    /// The purchase converted; `None` for a converted statement.
    pub payment: Option<CommandId>,
    /// Number of periods.
    pub periods: u8,
    /// Periods billed so far.
    pub billed_periods: u8,
    /// The plan's total fee rate, in ppm of principal.
    pub fee_ppm: u32,
    /// Principal not yet billed.
    pub remaining_principal_minor: u64,
}

/// One future period of a plan, for the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduledPeriod {
    /// 1-based period number.
    pub period: u8,
    /// Principal billed in that period.
    pub principal_minor: u64,
    /// Fee billed in that period.
    pub fee_minor: u64,
}

impl InstalmentPlanState {
    /// The next period's principal and fee, if any period is left.
    fn next_period(&self) -> Option<(u64, u64)> {
        let left = u64::from(self.periods.checked_sub(self.billed_periods).filter(|left| *left > 0)?);
        let principal = match left {
            1 => self.remaining_principal_minor,
            _ => self.remaining_principal_minor / left,
        };
        Some((principal, apply_ppm(principal, self.fee_ppm)))
    }

    /// The periods still to bill, as they stand now.
    pub fn schedule(&self) -> Vec<ScheduledPeriod> {
        let mut plan = self.clone();
        let mut periods = Vec::new();
        while let Some((principal_minor, fee_minor)) = plan.next_period() {
            plan.billed_periods += 1;
            plan.remaining_principal_minor -= principal_minor;
            periods.push(ScheduledPeriod { period: plan.billed_periods, principal_minor, fee_minor });
        }
        periods
    }
}

impl Billing {
    /// Bills one period of every plan; returns (principal, fees) billed. Finished plans end.
    pub(crate) fn bill_instalment_periods(&mut self) -> (u64, u64) {
        let (mut principal, mut fees) = (0, 0);
        for plan in &mut self.plans {
            if let Some((period_principal, period_fee)) = plan.next_period() {
                plan.billed_periods += 1;
                plan.remaining_principal_minor -= period_principal;
                principal += period_principal;
                fees += period_fee;
            }
        }
        self.plans.retain(|plan| plan.billed_periods < plan.periods);
        (principal, fees)
    }

    /// Applies a credit refund of an instalment purchase to its plan's unbilled principal first;
    /// returns what is left for the ordinary refund path. A plan refunded to zero ends.
    pub(crate) fn refund_plan(&mut self, payment: CommandId, credit_minor: u64) -> u64 {
        let Some(plan) = self.plans.iter_mut().find(|plan| plan.payment == Some(payment)) else { return credit_minor };
        let taken = plan.remaining_principal_minor.min(credit_minor);
        plan.remaining_principal_minor -= taken;
        self.plans.retain(|plan| plan.remaining_principal_minor > 0);
        self.activity.refunds_minor += taken;
        credit_minor - taken
    }
}

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
