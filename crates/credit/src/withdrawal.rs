//! The official credit withdrawal (取现 / 转至余额): its eligibility rules and caps (`check`;
//! every refusal names the rule that refused it), a withdrawal waiting for its step-up challenge,
//! and the day's and month's totals the caps count.

use crate::CreditLine;
use crate::billing::apply_ppm;
use ledger::UserAccount;
use model::product::Product;
use model::{Amount, CommandId, Rejection, UserId, WithdrawalPurpose};
use serde::{Deserialize, Serialize};

/// A withdrawal waiting for its step-up verification; its amount and fee are held on the line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The user.
    pub user: UserId,
    /// The amount to land in the balance.
    pub amount_minor: u64,
    /// The fee to charge.
    pub fee_minor: u64,
    /// The declared purpose.
    pub purpose: WithdrawalPurpose,
    /// When the challenge lapses.
    pub expires_at_ms: u64,
}

/// Withdrawals completed in the current local day and month, for the caps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalTotals {
    /// The local day of `day_minor`.
    pub day: i64,
    /// Withdrawn that day.
    pub day_minor: u64,
    /// The month key of `month_minor`.
    pub month: i64,
    /// Withdrawn that month.
    pub month_minor: u64,
    /// The withdrawal waiting for verification, if any (at most one per user).
    pub pending: Option<CommandId>,
}

impl WithdrawalTotals {
    /// Withdrawn on local `day` and in month `month` (zero for a day or month not recorded).
    #[inline]
    pub fn on(&self, day: i64, month: i64) -> (u64, u64) {
        (if self.day == day { self.day_minor } else { 0 }, if self.month == month { self.month_minor } else { 0 })
    }

    /// Counts a completed withdrawal on `day` of `month`.
    #[inline]
    pub fn add(&mut self, day: i64, month: i64, amount_minor: u64) {
        let (day_minor, month_minor) = self.on(day, month);
        let pending = self.pending;
        *self = WithdrawalTotals {
            day,
            day_minor: day_minor + amount_minor,
            month,
            month_minor: month_minor + amount_minor,
            pending,
        };
    }
}

fn refuse_unless(condition: bool, rejection: Rejection) -> Result<(), Rejection> {
    if condition { Ok(()) } else { Err(rejection) }
}

/// Checks every eligibility rule and cap of a withdrawal of `amount` at `now_ms`, local
/// `day` of `month`, in their fixed order (offered, a frozen line, identity, account age,
/// score, lateness, the per-transaction, daily, monthly and share-of-line caps, then
/// available credit); returns the fee.
pub fn check(
    user: &UserAccount,
    line: &CreditLine,
    amount: Amount,
    product: &Product,
    (now_ms, day, month): (u64, i64, i64),
) -> Result<u64, Rejection> {
    let policy = &product.withdrawal;
    refuse_unless(policy.enabled, Rejection::WithdrawalNotOffered)?;
    refuse_unless(!user.credit_frozen, Rejection::CreditFrozen)?;
    refuse_unless(user.identity >= policy.min_identity, Rejection::WithdrawalIdentity)?;
    let age_days = now_ms.saturating_sub(user.opened_at_ms) / 86_400_000;
    refuse_unless(age_days >= u64::from(policy.min_account_age_days), Rejection::WithdrawalAccountTooNew)?;
    refuse_unless(line.score.score >= policy.min_score, Rejection::WithdrawalScoreTooLow)?;
    let late = line.billing.worst_days_past_due_last_year(month).max(line.billing.days_past_due);
    refuse_unless(late <= policy.max_days_past_due_last_year, Rejection::WithdrawalPastDue)?;
    // The score band scales the caps.
    let band_ppm = product.band(line.score.score).withdrawal_caps_ppm;
    let cap = |policy_cap: u64| apply_ppm(policy_cap, band_ppm);
    refuse_unless(amount.minor() <= cap(policy.max_per_transaction_minor), Rejection::WithdrawalTransactionCap)?;
    let (day_minor, month_minor) = line.withdrawals.on(day, month);
    refuse_unless(day_minor + amount.minor() <= cap(policy.max_per_day_minor), Rejection::WithdrawalDailyCap)?;
    refuse_unless(month_minor + amount.minor() <= cap(policy.max_per_month_minor), Rejection::WithdrawalMonthlyCap)?;
    let share_minor = apply_ppm(user.limit_minor, policy.max_share_of_limit_ppm);
    refuse_unless(month_minor + amount.minor() <= share_minor, Rejection::WithdrawalShareCap)?;
    let fee = apply_ppm(amount.minor(), policy.fee_ppm);
    refuse_unless(i128::from(amount.minor() + fee) <= user.credit_available_minor(), Rejection::InsufficientCredit)?;
    Ok(fee)
}
