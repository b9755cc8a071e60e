//! What the credit product keeps on each user, above the ledger and below risk: what is owed by
//! bucket and the statements (`billing`), instalment plans (`instalments`), the credit score and
//! line reviews (`score`), the official withdrawal's pending challenge and cap totals
//! (`withdrawal`), and the installed product versions with the calendar they run (`calendar`:
//! statement close and daily penalties, posted through the ledger), and what commands do to a
//! line (`servicing`: limits, reviews, score adjustments, repayments; `withdrawal::Challenges`:
//! the official withdrawal). The engine keeps one [`CreditLine`] per user slot beside the
//! ledger's account and resolves the accounts a command names.
//!
//! No I/O, no clock (times arrive as arguments), nothing of risk; money moves only through the
//! ledger's operations.

#![warn(missing_docs)]

pub mod billing;
pub mod calendar;
pub mod instalments;
pub mod score;
pub mod servicing;
pub mod withdrawal;

use ledger::UserAccount;
use serde::{Deserialize, Serialize};

/// What the credit product keeps on a user, by the user's slot: billing, score and the
/// withdrawal caps' totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLine {
    /// What is owed by bucket, the open cycle and the statements.
    pub billing: billing::Billing,
    /// The credit score and its history.
    pub score: score::CreditScore,
    /// Withdrawals completed today and this month, for the caps.
    pub withdrawals: withdrawal::WithdrawalTotals,
}

/// Credit committed against a limit: principal used (fees and penalties aside) plus held. A
/// limit may never be below it.
#[inline]
pub fn committed_minor(account: &UserAccount, line: &CreditLine) -> i128 {
    account.credit_used_minor as i128 - line.billing.charges_minor() as i128 + account.credit_held_minor as i128
}
