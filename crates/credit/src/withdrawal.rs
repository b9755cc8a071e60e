//! The official credit withdrawal's records (取现 / 转至余额): a withdrawal waiting for its
//! step-up challenge, and the day's and month's totals the caps count.

use model::{CommandId, UserId, WithdrawalPurpose};
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
    pub fn on(&self, day: i64, month: i64) -> (u64, u64) {
        (if self.day == day { self.day_minor } else { 0 }, if self.month == month { self.month_minor } else { 0 })
    }

    /// Counts a completed withdrawal on `day` of `month`.
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
