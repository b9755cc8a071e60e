//! Billing: cycles close into statements, repayments are allocated in a fixed order, and
//! overdue balances accrue a daily penalty — all on ticks, in command time.
//!
//! Per user, what is owed on the credit line is split into buckets whose sum is always the
//! credit account's debit balance (`check_invariants` verifies it):
//!
//! - unbilled principal (may be negative: a credit balance left by refunds) and unbilled fees;
//! - the latest statement's *current* principal and fees (billed, not yet due);
//! - *past-due* principal and fees (billed, due date passed, unpaid);
//! - penalties.
//!
//! Repayments go: penalties → past-due fees → current fees → unbilled fees → past-due principal
//! → current principal → unbilled principal. Refunds reduce principal only, oldest first.

use crate::instalments::InstalmentPlanState;
use model::Rejection;
use model::calendar;
use model::product::{Overpayment, PPM, Product};
use serde::{Deserialize, Serialize};

/// What happened on the credit line during a cycle: the lines of its statement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleActivity {
    /// Credit-funded purchases and captures.
    pub purchases_minor: u64,
    /// Credit-funded refunds.
    pub refunds_minor: u64,
    /// Fees charged.
    pub fees_minor: u64,
    /// Penalties charged.
    pub penalties_minor: u64,
    /// Repayments received.
    pub repayments_minor: u64,
    /// Instalment principal billed (one period of each plan).
    pub instalments_minor: u64,
    /// Official credit withdrawals to the balance.
    pub withdrawals_minor: u64,
}

/// A closed cycle (账单).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// 1 for the user's first statement, then 2, 3, …
    pub number: u32,
    /// When the cycle closed.
    pub closed_at_ms: u64,
    /// The due date's last millisecond + 1: paying before this is on time.
    pub due_before_ms: u64,
    /// The product version that billed it.
    pub product_version: u32,
    /// What was owed at the previous close, still unpaid at this one.
    pub opening_balance_minor: i64,
    /// The cycle's activity.
    pub activity: CycleActivity,
    /// Everything owed at close (negative: a credit balance).
    pub closing_balance_minor: i64,
    /// The least to pay by the due date to stay current.
    pub minimum_due_minor: u64,
}

/// What is owed, by bucket, and the latest statement's repayment status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billing {
    /// Principal of the open cycle; negative is a credit balance.
    pub unbilled_principal_minor: i64,
    /// Fees of the open cycle.
    pub unbilled_fees_minor: u64,
    /// Billed on the latest statement, not yet due.
    pub current_principal_minor: u64,
    /// Fees billed on the latest statement, not yet due.
    pub current_fees_minor: u64,
    /// Billed, due date passed, unpaid.
    pub past_due_principal_minor: u64,
    /// Fees billed, due date passed, unpaid.
    pub past_due_fees_minor: u64,
    /// Penalties charged and unpaid.
    pub penalties_minor: u64,
    /// Instalment periods billed on the latest statement, not yet due.
    pub current_instalments_minor: u64,
    /// Instalment periods past their due date, unpaid.
    pub past_due_instalments_minor: u64,
    /// Live instalment plans (分期), oldest first; their unbilled principal is still owed.
    pub plans: Vec<InstalmentPlanState>,
    /// The open cycle's activity so far.
    pub activity: CycleActivity,
    /// Statements, oldest first.
    pub statements: Vec<Statement>,
    /// Repaid since the latest statement closed.
    pub repaid_since_statement_minor: u64,
    /// Whether the latest statement's due date has passed.
    pub due_passed: bool,
    /// Minimum payments whose due date passed and that are still unpaid: while above zero the
    /// account is delinquent and its days past due grow.
    pub overdue_minimum_minor: u64,
    /// Days the account has been past due (0 when current).
    pub days_past_due: u32,
    /// The most days past due ever reached.
    pub worst_days_past_due: u32,
    /// The worst days past due per calendar month (`year × 12 + month − 1`), the last twelve
    /// months with any lateness.
    pub lateness_by_month: Vec<(i64, u32)>,
    /// Statements whose minimum was paid by the due date.
    pub on_time_statements: u32,
}

/// Rounds `amount × ppm / 1,000,000` half up, to the minor unit.
pub fn apply_ppm(amount_minor: u64, ppm: u32) -> u64 {
    ((u128::from(amount_minor) * u128::from(ppm) + u128::from(PPM / 2)) / u128::from(PPM)) as u64
}

/// Takes up to `want` from `bucket`, returning what was taken.
fn take(bucket: &mut u64, want: &mut u64) -> u64 {
    let taken = (*bucket).min(*want);
    *bucket -= taken;
    *want -= taken;
    taken
}

impl Billing {
    /// The delinquency bucket reporting uses for the days past due now: `current`, `1-30`,
    /// `31-60`, `61-90` or `90+`.
    pub fn delinquency_bucket(&self) -> &'static str {
        match self.days_past_due {
            0 => "current",
            1..=30 => "1-30",
            31..=60 => "31-60",
            61..=90 => "61-90",
            _ => "90+",
        }
    }

    /// Everything owed (the credit account's debit balance).
    #[inline]
    pub fn owed_minor(&self) -> i64 {
        self.unbilled_principal_minor + (self.billed_minor() + self.unbilled_fees_minor + self.plans_minor()) as i64
    }

    /// Instalment principal not yet billed.
    #[inline]
    pub fn plans_minor(&self) -> u64 {
        self.plans.iter().map(|plan| plan.remaining_principal_minor).sum()
    }

    /// Billed and unpaid: current, past due and penalties.
    pub fn billed_minor(&self) -> u64 {
        self.current_principal_minor
            + self.current_fees_minor
            + self.current_instalments_minor
            + self.past_due_principal_minor
            + self.past_due_fees_minor
            + self.past_due_instalments_minor
            + self.penalties_minor
    }

    /// Fees and penalties outstanding: they may take the line above its limit.
    #[inline]
    pub fn charges_minor(&self) -> u64 {
        self.unbilled_fees_minor + self.current_fees_minor + self.past_due_fees_minor + self.penalties_minor
    }

    /// Records credit spent (a purchase or capture).
    #[inline]
    pub fn spend(&mut self, credit_minor: u64) {
        self.unbilled_principal_minor += credit_minor as i64;
        self.activity.purchases_minor += credit_minor;
    }

    /// What the bill asks for now: everything billed and unpaid, or the rest of the minimum.
    #[inline]
    pub fn statement_due_minor(&self, in_full: bool) -> u64 {
        match in_full {
            true => self.billed_minor(),
            false => {
                let minimum = self.statements.last().map_or(0, |statement| statement.minimum_due_minor);
                minimum
                    .saturating_sub(self.repaid_since_statement_minor)
                    .max(self.overdue_minimum_minor)
                    .min(self.billed_minor())
            }
        }
    }

    /// Records an official withdrawal: its amount is principal, its fee an unbilled fee.
    #[inline]
    pub fn withdraw(&mut self, amount_minor: u64, fee_minor: u64) {
        self.unbilled_principal_minor += amount_minor as i64;
        self.unbilled_fees_minor += fee_minor;
        self.activity.withdrawals_minor += amount_minor;
        self.activity.fees_minor += fee_minor;
    }

    /// Records a credit refund: principal only, oldest first (past-due, then current, then
    /// unbilled); the rest becomes a credit balance.
    #[inline]
    pub fn refund(&mut self, credit_minor: u64) {
        let mut left = credit_minor;
        take(&mut self.past_due_principal_minor, &mut left);
        take(&mut self.current_principal_minor, &mut left);
        self.unbilled_principal_minor -= left as i64;
        self.activity.refunds_minor += credit_minor;
    }

    /// How much of a repayment of `amount_minor` the line takes, when `credit_used_minor` is
    /// owed: all of it up to what is owed outside instalment plans (those are paid period by
    /// period, or off early); past that, what the product's overpayment rule says — all of it
    /// kept as a credit balance, only what is owed (the rest goes back), or a refusal.
    #[inline]
    pub fn applied_repayment(
        &self,
        credit_used_minor: i64,
        amount_minor: u64,
        rule: Overpayment,
    ) -> Result<u64, Rejection> {
        let owed = (credit_used_minor - self.plans_minor() as i64).max(0) as u64;
        match (amount_minor > owed, rule) {
            (false, _) | (true, Overpayment::KeepAsCredit) => Ok(amount_minor),
            (true, Overpayment::Refuse) => Err(Rejection::Overpayment),
            (true, Overpayment::ReturnToBalance) => Ok(owed),
        }
    }

    /// Allocates a repayment (the caller checked it does not exceed what is owed).
    #[inline]
    pub fn repay(&mut self, amount_minor: u64) {
        let mut left = amount_minor;
        take(&mut self.penalties_minor, &mut left);
        take(&mut self.past_due_fees_minor, &mut left);
        take(&mut self.current_fees_minor, &mut left);
        take(&mut self.unbilled_fees_minor, &mut left);
        take(&mut self.past_due_instalments_minor, &mut left);
        take(&mut self.current_instalments_minor, &mut left);
        take(&mut self.past_due_principal_minor, &mut left);
        take(&mut self.current_principal_minor, &mut left);
        self.unbilled_principal_minor -= left as i64;
        self.activity.repayments_minor += amount_minor;
        self.repaid_since_statement_minor += amount_minor;
        self.overdue_minimum_minor = self.overdue_minimum_minor.saturating_sub(amount_minor);
        if self.overdue_minimum_minor == 0 {
            self.days_past_due = 0;
        }
    }

    /// Closes the open cycle into a statement, if there is anything to state, billing one
    /// period of each instalment plan. Returns the instalment fees charged, for the caller to
    /// post (they are already in the buckets).
    pub fn close_cycle(&mut self, closed_at_ms: u64, due_before_ms: u64, product: &Product) -> u64 {
        let opening = self.billed_minor() as i64;
        if self.activity == CycleActivity::default() && opening == 0 && self.owed_minor() == 0 {
            return 0;
        }
        self.past_due_principal_minor += std::mem::take(&mut self.current_principal_minor);
        self.past_due_fees_minor += std::mem::take(&mut self.current_fees_minor);
        self.past_due_instalments_minor += std::mem::take(&mut self.current_instalments_minor);
        let (principal, fees) = self.bill_instalment_periods();
        self.activity.instalments_minor += principal;
        self.activity.fees_minor += fees;
        self.current_instalments_minor = principal;
        self.unbilled_fees_minor += fees;
        self.current_principal_minor = self.unbilled_principal_minor.max(0) as u64;
        self.unbilled_principal_minor = self.unbilled_principal_minor.min(0);
        self.current_fees_minor = std::mem::take(&mut self.unbilled_fees_minor);
        let due = self.billed_minor();
        let share = apply_ppm(due, product.billing.minimum_payment_ppm);
        let minimum = share.max(product.billing.minimum_payment_floor_minor) + self.overdue_minimum_minor;
        let minimum_due_minor = due.min(minimum);
        self.statements.push(Statement {
            number: self.statements.len() as u32 + 1,
            closed_at_ms,
            due_before_ms,
            product_version: product.version,
            opening_balance_minor: opening,
            activity: std::mem::take(&mut self.activity),
            closing_balance_minor: self.owed_minor(),
            minimum_due_minor,
        });
        self.repaid_since_statement_minor = 0;
        self.due_passed = false;
        fees
    }

    /// Whether every day's end has work: something is past due (it accrues the penalty) or a
    /// minimum is overdue (days past due count).
    #[inline]
    pub fn has_past_due_work(&self) -> bool {
        let past_due = self.past_due_principal_minor + self.past_due_fees_minor + self.past_due_instalments_minor;
        past_due > 0 || self.overdue_minimum_minor > 0
    }

    /// The latest statement's due date, while it is still ahead.
    pub fn awaiting_due_before_ms(&self) -> Option<u64> {
        self.statements.last().filter(|_| !self.due_passed).map(|statement| statement.due_before_ms)
    }

    /// Runs at the end of a day (`next_day_start_ms` is when the next one starts). Once the
    /// latest due date has passed, the unpaid current balance becomes past due and any unpaid
    /// minimum becomes overdue; every day, the past-due balance accrues the daily penalty and a
    /// delinquent account counts a day past due. Returns the penalty to post.
    pub fn end_of_day(&mut self, next_day_start_ms: u64, month: i64, product: &Product) -> u64 {
        let Some(statement) = self.statements.last() else { return 0 };
        if !self.due_passed && next_day_start_ms > statement.due_before_ms {
            self.due_passed = true;
            let unpaid_minimum = statement.minimum_due_minor.saturating_sub(self.repaid_since_statement_minor);
            self.overdue_minimum_minor = unpaid_minimum.min(self.billed_minor());
            self.on_time_statements += u32::from(self.overdue_minimum_minor == 0);
            self.past_due_principal_minor += std::mem::take(&mut self.current_principal_minor);
            self.past_due_fees_minor += std::mem::take(&mut self.current_fees_minor);
            self.past_due_instalments_minor += std::mem::take(&mut self.current_instalments_minor);
        }
        let overdue = self.past_due_principal_minor + self.past_due_fees_minor + self.past_due_instalments_minor;
        let penalty = apply_ppm(overdue, product.billing.overdue_penalty_ppm_per_day);
        self.penalties_minor += penalty;
        self.activity.penalties_minor += penalty;
        if self.overdue_minimum_minor > 0 {
            self.days_past_due += 1;
            self.worst_days_past_due = self.worst_days_past_due.max(self.days_past_due);
            self.record_lateness(month);
        }
        penalty
    }
}

impl Billing {
    fn record_lateness(&mut self, month: i64) {
        match self.lateness_by_month.last_mut() {
            Some((last, worst)) if *last == month => *worst = (*worst).max(self.days_past_due),
            _ => self.lateness_by_month.push((month, self.days_past_due)),
        }
        let keep_from = self.lateness_by_month.len().saturating_sub(12);
        self.lateness_by_month.drain(..keep_from);
    }

    /// The most days past due in the twelve months up to `month`.
    pub fn worst_days_past_due_last_year(&self, month: i64) -> u32 {
        let recent = self.lateness_by_month.iter().filter(|(lateness_month, _)| *lateness_month > month - 12);
        recent.map(|(_, worst)| *worst).max().unwrap_or(0)
    }
}

/// The local day a statement closed on `statement_day` falls due, exclusive: the first day
/// after the due day.
pub fn due_before_day(statement_local_day: i64, product: &Product) -> i64 {
    let (_, _, day_of_month) = calendar::civil(statement_local_day);
    let due_day = i64::from(product.billing.due_day);
    let offset = match due_day > i64::from(day_of_month) {
        true => due_day - i64::from(day_of_month),
        false => {
            // The due day is in the next month: count the days left in this month.
            let mut next = statement_local_day;
            while calendar::civil(next).2 != 1 {
                next += 1;
            }
            next - statement_local_day + due_day - 1
        }
    };
    statement_local_day + offset + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppm_rounds_half_up_to_the_fen() {
        assert_eq!(apply_ppm(123_456, 500), 62, "61.728 fen rounds to 62");
        assert_eq!(apply_ppm(1_000, 500), 1, "0.5 fen rounds up");
        assert_eq!(apply_ppm(999, 500), 0, "0.4995 fen rounds down");
        assert_eq!(apply_ppm(u64::MAX, 1_000_000), u64::MAX);
    }
}
