//! The credit score (信用分): a behavioural score per user, 0 to 950, with the reasons that moved it.
//!
//! Recomputed when a statement closes, from repayment history (statements paid on time, the worst
//! lateness in the last twelve months), utilisation, tenure and flags, plus the adjustments risk
//! actions and analysts made. A frozen score keeps its value until unfrozen; adjustments still apply.

use crate::CreditLine;
use ledger::UserAccount;
use model::product::SCORE_MAX;
use serde::{Deserialize, Serialize};

/// What moved a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreReason {
    /// The starting point every user gets.
    Base,
    /// Months with an account (+5 a month, at most +60).
    Tenure,
    /// Statements whose minimum was paid on time (+10 each, at most +100).
    OnTimeHistory,
    /// The worst days past due in the last twelve months (−4 a day, at most −300).
    Lateness,
    /// Credit used over half (−20) or over 80 % (−40) of the limit.
    Utilisation,
    /// The credit line is frozen (−100).
    CreditFrozen,
    /// The sum of adjustments by risk actions and analysts.
    Adjustment,
}

/// One recorded change of a score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreChange {
    /// When it changed.
    pub at_ms: u64,
    /// The new score.
    pub score: u16,
    /// Each reason with the points it contributed.
    pub reasons: Vec<(ScoreReason, i32)>,
}

/// A user's score and its history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditScore {
    /// The current score.
    pub score: u16,
    /// Whether automatic rescoring is suspended.
    pub frozen: bool,
    /// Total points added (or, when negative, removed) by adjustments.
    pub adjustment: i32,
    /// The latest changes, oldest first (at most [`SCORE_HISTORY_MAX`]).
    pub history: Vec<ScoreChange>,
}

/// How many score changes are kept per user.
pub const SCORE_HISTORY_MAX: usize = 24;
/// The score every user starts from.
pub const SCORE_BASE: i32 = 600;
const DAY_MS: u64 = 86_400_000;

/// The behavioural score of a user now, with its reasons.
pub fn behavioural(user: &UserAccount, line: &CreditLine, now_ms: u64, month: i64) -> (u16, Vec<(ScoreReason, i32)>) {
    let months = (now_ms.saturating_sub(user.opened_at_ms) / (30 * DAY_MS)) as i32;
    let on_time = line.billing.on_time_statements.min(10) as i32;
    let late_days = line.billing.worst_days_past_due_last_year(month).min(75) as i32;
    let used_percent = match user.limit_minor {
        0 => 0,
        limit => (user.credit_used_minor.max(0) as u128 * 100 / u128::from(limit)) as i32,
    };
    let utilisation = match used_percent {
        81.. => -40,
        51..=80 => -20,
        _ => 0,
    };
    let reasons = vec![
        (ScoreReason::Base, SCORE_BASE),
        (ScoreReason::Tenure, (months * 5).min(60)),
        (ScoreReason::OnTimeHistory, on_time * 10),
        (ScoreReason::Lateness, -4 * late_days),
        (ScoreReason::Utilisation, utilisation),
        (ScoreReason::CreditFrozen, if user.credit_frozen { -100 } else { 0 }),
        (ScoreReason::Adjustment, line.score.adjustment),
    ];
    let total: i32 = reasons.iter().map(|(_, points)| points).sum();
    (total.clamp(0, i32::from(SCORE_MAX)) as u16, reasons.into_iter().filter(|(_, points)| *points != 0).collect())
}

/// Recomputes a user's score (unless frozen and not `forced`) and records the change.
pub fn rescore(user: &UserAccount, line: &mut CreditLine, now_ms: u64, month: i64, forced: bool) {
    if line.score.frozen && !forced {
        return;
    }
    let (score, reasons) = behavioural(user, line, now_ms, month);
    let history = &mut line.score.history;
    if history.last().is_some_and(|last| last.score == score && last.reasons == reasons) {
        return;
    }
    line.score.score = score;
    history.push(ScoreChange { at_ms: now_ms, score, reasons });
    let keep_from = history.len().saturating_sub(SCORE_HISTORY_MAX);
    history.drain(..keep_from);
}

/// The limit a line review sets: cut to the band's maximum (never below what is used and held),
/// or raised by the policy's share up to it when the record earns it.
pub fn reviewed_limit(user: &UserAccount, line: &CreditLine, product: &model::product::Product, month: i64) -> u64 {
    let band_max = product.band(line.score.score).max_limit_minor;
    let committed = crate::committed_minor(user, line).max(0) as u64;
    let policy = &product.line_policy;
    if user.limit_minor > band_max {
        return band_max.max(committed);
    }
    let earned = line.billing.on_time_statements >= policy.min_on_time_statements
        && line.billing.worst_days_past_due_last_year(month) <= policy.max_days_past_due_last_year
        && line.billing.days_past_due == 0
        && !user.credit_frozen;
    match earned {
        true => (user.limit_minor + crate::billing::apply_ppm(user.limit_minor, policy.increase_ppm)).min(band_max),
        false => user.limit_minor,
    }
}
