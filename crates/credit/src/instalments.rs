//! Instalments (分期): a purchase split into 3, 6, 9 or 12 monthly periods with a fee.
//!
//! A plan keeps its unbilled principal. At each statement close one period is billed: the
//! remaining principal split evenly over the periods left (the last takes the remainder), and
//! its fee — the plan's total fee rate applied to that period's principal, so a refund that
//! lowers the principal lowers the fees still to come. Paying a plan off early pays its unbilled
//! principal and waives its unbilled fees.

use crate::billing::{Billing, apply_ppm};
use model::{CommandId, Rejection};
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
    pub fn bill_instalment_periods(&mut self) -> (u64, u64) {
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
    #[inline]
    pub fn refund_plan(&mut self, payment: CommandId, credit_minor: u64) -> u64 {
        let Some(plan) = self.plans.iter_mut().find(|plan| plan.payment == Some(payment)) else { return credit_minor };
        let taken = plan.remaining_principal_minor.min(credit_minor);
        plan.remaining_principal_minor -= taken;
        self.plans.retain(|plan| plan.remaining_principal_minor > 0);
        self.activity.refunds_minor += taken;
        credit_minor - taken
    }
}

/// A plan to open: which command opens it, over how many periods, at what total fee rate.
#[derive(Clone, Copy, Debug)]
pub struct NewPlan {
    /// The command that opens the plan (its id names the plan).
    pub id: CommandId,
    /// Number of periods.
    pub periods: u8,
    /// The product's total fee rate for that many periods, ppm of the principal.
    pub fee_ppm: u32,
}

impl Billing {
    /// Refuses to convert what is left on credit of a purchase (`credit_minor`, captured at
    /// `captured_at_ms`) into a plan once a statement has billed it, when a plan has it already,
    /// or when nothing of it is left unbilled.
    pub fn check_convert_purchase(
        &self,
        payment: CommandId,
        captured_at_ms: u64,
        credit_minor: u64,
    ) -> Result<(), Rejection> {
        let last_close = self.statements.last().map_or(0, |statement| statement.closed_at_ms);
        if captured_at_ms < last_close {
            return Err(Rejection::PaymentAlreadyBilled);
        }
        if self.plans.iter().any(|existing| existing.payment == Some(payment)) {
            return Err(Rejection::AlreadyInstalment);
        }
        if credit_minor == 0 || self.unbilled_principal_minor < credit_minor as i64 {
            return Err(Rejection::NothingToConvert);
        }
        Ok(())
    }

    /// Converts `credit_minor` of an unbilled purchase into a plan
    /// ([`Billing::check_convert_purchase`] passed).
    pub fn convert_purchase(&mut self, plan: NewPlan, payment: CommandId, credit_minor: u64) {
        assert!(self.unbilled_principal_minor >= credit_minor as i64, "checked: the purchase is unbilled");
        self.unbilled_principal_minor -= credit_minor as i64;
        self.activity.purchases_minor -= credit_minor.min(self.activity.purchases_minor);
        self.plans.push(InstalmentPlanState::new(plan, Some(payment), credit_minor));
    }

    /// Refuses to convert the latest statement's billed principal (账单分期) without one, after
    /// its due date, or with nothing billed.
    pub fn check_convert_statement(&self) -> Result<(), Rejection> {
        match self.statements.is_empty() || self.due_passed || self.current_principal_minor == 0 {
            true => Err(Rejection::NothingToConvert),
            false => Ok(()),
        }
    }

    /// Converts the latest statement's billed principal into a plan
    /// ([`Billing::check_convert_statement`] passed); its first period comes on the next
    /// statement.
    pub fn convert_statement(&mut self, plan: NewPlan) {
        let principal = std::mem::take(&mut self.current_principal_minor);
        assert!(principal > 0, "checked: a statement billed principal");
        self.plans.push(InstalmentPlanState::new(plan, None, principal));
    }

    /// A plan's place and the principal it has left unbilled.
    pub fn plan_principal(&self, plan: CommandId) -> Result<(usize, u64), Rejection> {
        let index = self.plans.iter().position(|state| state.id == plan).ok_or(Rejection::UnknownInstalmentPlan)?;
        Ok((index, self.plans[index].remaining_principal_minor))
    }

    /// Closes the plan at `index`, paid off early (its unbilled fees lapse); the caller has
    /// moved its principal through the ledger.
    pub fn pay_off(&mut self, index: usize) {
        let plan = self.plans.remove(index);
        self.activity.repayments_minor += plan.remaining_principal_minor;
    }
}

impl InstalmentPlanState {
    fn new(plan: NewPlan, payment: Option<CommandId>, principal_minor: u64) -> InstalmentPlanState {
        InstalmentPlanState {
            id: plan.id,
            payment,
            periods: plan.periods,
            billed_periods: 0,
            fee_ppm: plan.fee_ppm,
            remaining_principal_minor: principal_minor,
        }
    }
}
