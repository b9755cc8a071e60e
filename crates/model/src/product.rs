//! Credit product rules: the data a product file (TOML, parsed at the edge) turns into.
//!
//! Rates are integers in parts per million (ppm) — 0.05 % a day is `500`, 2.3 % is `23_000` —
//! so no float ever reaches money. [`Product::validate`] checks every field once, with a message
//! naming the field, so a bad file is refused before it can apply to anyone.

use crate::command::IdentityLevel;
use crate::money::Currency;
use serde::{Deserialize, Serialize};

/// One part per million: rates are `ppm / 1_000_000`.
pub const PPM: u64 = 1_000_000;

/// The rules of one credit product, at one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// A short name, e.g. `huabei`.
    pub name: String,
    /// The version; a new file must carry a higher one.
    pub version: u32,
    /// Currency of every amount in the product.
    pub currency: Currency,
    /// Billing: statement and due days, minimum payment, penalties.
    pub billing: Billing,
    /// Instalment plans offered.
    pub instalments: Vec<InstalmentPlan>,
    /// The official credit withdrawal (取现).
    pub withdrawal: WithdrawalPolicy,
    /// Credit score bands, from the lowest.
    pub score_bands: Vec<ScoreBand>,
    /// How line reviews raise and cut credit lines.
    pub line_policy: LinePolicy,
}

/// How a cycle closes and is repaid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Billing {
    /// The product's time zone as minutes east of UTC (China: 480); days and months are counted
    /// in it.
    pub utc_offset_minutes: i16,
    /// Day of the month a cycle closes into a statement (1 to 28).
    pub statement_day: u8,
    /// Day of the month the statement is due (1 to 28; in the month after the statement when it
    /// is not after the statement day).
    pub due_day: u8,
    /// Share of the statement balance that must be paid by the due day, in ppm.
    pub minimum_payment_ppm: u32,
    /// The minimum payment is at least this, or the whole balance if smaller.
    pub minimum_payment_floor_minor: u64,
    /// Penalty per day on the overdue amount, in ppm (0.05 % a day is 500).
    pub overdue_penalty_ppm_per_day: u32,
    /// What happens to a repayment larger than what is owed.
    pub overpayment: Overpayment,
}

/// What a repayment beyond the debt does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overpayment {
    /// Refused: nobody can park money on a credit line.
    Refuse,
    /// The excess goes back to the user's balance.
    ReturnToBalance,
    /// The excess stays on the line as a credit balance that only purchases can use.
    KeepAsCredit,
}

/// One instalment (分期) plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalmentPlan {
    /// Number of monthly periods: 3, 6, 9 or 12.
    pub periods: u8,
    /// Total fee over the plan, in ppm of the converted amount (2.3 % is 23000).
    pub total_fee_ppm: u32,
}

/// Who may withdraw credit to their balance, how much, at what price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalPolicy {
    /// Whether the product offers withdrawal at all.
    pub enabled: bool,
    /// Lowest credit score allowed.
    pub min_score: u16,
    /// Lowest identity verification level allowed.
    pub min_identity: IdentityLevel,
    /// Days since the user was opened, at least.
    pub min_account_age_days: u32,
    /// At most this many days past due on any statement in the last 12 months.
    pub max_days_past_due_last_year: u32,
    /// Largest single withdrawal.
    pub max_per_transaction_minor: u64,
    /// Most per calendar day.
    pub max_per_day_minor: u64,
    /// Most per calendar month.
    pub max_per_month_minor: u64,
    /// A calendar month's withdrawals at most this share of the limit, in ppm.
    pub max_share_of_limit_ppm: u32,
    /// Fee charged on each withdrawal, in ppm of the amount.
    pub fee_ppm: u32,
    /// Withdrawals at or above this amount need a step-up verification.
    pub step_up_from_minor: u64,
    /// How long a step-up challenge waits for verification, in milliseconds.
    pub challenge_ttl_ms: u64,
}

/// A named credit score band.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreBand {
    /// The band's name, e.g. `good`.
    pub name: String,
    /// Lowest score in the band.
    pub min_score: u16,
    /// The largest credit line a line review grants in this band; lines above it are cut to it
    /// (never below what is used and held).
    pub max_limit_minor: u64,
    /// The band's withdrawal caps as a share of the policy's per-withdrawal, daily and monthly
    /// caps, in ppm (1000000 = the policy's caps, 1500000 = half as much again).
    pub withdrawal_caps_ppm: u32,
}

/// How line reviews (`ReviewCreditLine`) move a credit line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinePolicy {
    /// An eligible review raises the line by this share, in ppm (200000 = +20 %), up to the
    /// band's `max_limit_minor`.
    pub increase_ppm: u32,
    /// Statements paid on time needed before any increase.
    pub min_on_time_statements: u32,
    /// At most this many days past due in the last 12 months for an increase.
    pub max_days_past_due_last_year: u32,
}

/// The highest credit score.
pub const SCORE_MAX: u16 = 950;

/// The widest change one score adjustment may make, either way: the whole score range, so one
/// adjustment can take any score to any other. The API refuses a wider one before it is journaled.
pub const SCORE_ADJUSTMENT_MAX: i32 = SCORE_MAX as i32;

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

fn check_ppm(field: &str, value: u32, max: u32) -> Result<(), String> {
    check(value <= max, || format!("{field} is {value} ppm; at most {max} ({}.{:04} %)", max / 10_000, max % 10_000))
}

impl Product {
    /// Checks every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), String> {
        check(!self.name.is_empty() && self.name.len() <= 64, || "name must be 1 to 64 characters".into())?;
        check(self.version > 0, || "version must be at least 1".into())?;
        self.billing.validate()?;
        check(!self.instalments.is_empty(), || "instalments: offer at least one plan".into())?;
        for (index, plan) in self.instalments.iter().enumerate() {
            check(matches!(plan.periods, 3 | 6 | 9 | 12), || {
                format!("instalments[{index}].periods must be 3, 6, 9 or 12, got {}", plan.periods)
            })?;
            check_ppm(&format!("instalments[{index}].total_fee_ppm"), plan.total_fee_ppm, 300_000)?;
            let repeated = self.instalments[..index].iter().any(|earlier| earlier.periods == plan.periods);
            check(!repeated, || format!("instalments[{index}]: a {}-period plan is defined twice", plan.periods))?;
        }
        self.withdrawal.validate()?;
        self.validate_bands()
    }

    fn validate_bands(&self) -> Result<(), String> {
        check(!self.score_bands.is_empty(), || "score_bands: define at least one band".into())?;
        check(self.score_bands[0].min_score == 0, || {
            "score_bands[0].min_score must be 0 so every score has a band".into()
        })?;
        for (index, pair) in self.score_bands.windows(2).enumerate() {
            check(pair[1].min_score > pair[0].min_score, || {
                format!("score_bands[{}].min_score must be above score_bands[{index}].min_score", index + 1)
            })?;
        }
        let last = self.score_bands.last().expect("checked non-empty above");
        check(last.min_score <= SCORE_MAX, || format!("score_bands: min_score at most {SCORE_MAX}"))?;
        for (index, band) in self.score_bands.iter().enumerate() {
            check(band.max_limit_minor <= crate::Amount::MAX, || {
                format!("score_bands[{index}].max_limit_minor is too large")
            })?;
        }
        check_ppm("line_policy.increase_ppm", self.line_policy.increase_ppm, PPM as u32)
    }

    /// The band a score falls in.
    pub fn band(&self, score: u16) -> &ScoreBand {
        let index = self.score_bands.partition_point(|band| band.min_score <= score);
        // Validation guarantees a first band starting at 0, so every score has one.
        &self.score_bands[index.saturating_sub(1)]
    }
}

impl Billing {
    fn validate(&self) -> Result<(), String> {
        for (field, day) in [("billing.statement_day", self.statement_day), ("billing.due_day", self.due_day)] {
            check((1..=28).contains(&day), || format!("{field} must be 1 to 28 (every month has it), got {day}"))?;
        }
        check(self.due_day != self.statement_day, || "billing.due_day must differ from billing.statement_day".into())?;
        check((-720..=840).contains(&self.utc_offset_minutes), || {
            format!("billing.utc_offset_minutes must be -720 to 840, got {}", self.utc_offset_minutes)
        })?;
        check_ppm("billing.minimum_payment_ppm", self.minimum_payment_ppm, PPM as u32)?;
        check(self.minimum_payment_ppm > 0, || "billing.minimum_payment_ppm must be above 0".into())?;
        check_ppm("billing.overdue_penalty_ppm_per_day", self.overdue_penalty_ppm_per_day, 10_000)
    }
}

impl WithdrawalPolicy {
    fn validate(&self) -> Result<(), String> {
        check(self.min_score <= SCORE_MAX, || format!("withdrawal.min_score must be at most {SCORE_MAX}"))?;
        check(self.max_per_transaction_minor <= self.max_per_day_minor, || {
            "withdrawal.max_per_transaction_minor must not exceed withdrawal.max_per_day_minor".into()
        })?;
        check(self.max_per_day_minor <= self.max_per_month_minor, || {
            "withdrawal.max_per_day_minor must not exceed withdrawal.max_per_month_minor".into()
        })?;
        check(self.max_per_month_minor <= crate::Amount::MAX, || "withdrawal.max_per_month_minor is too large".into())?;
        check_ppm("withdrawal.max_share_of_limit_ppm", self.max_share_of_limit_ppm, PPM as u32)?;
        check_ppm("withdrawal.fee_ppm", self.fee_ppm, 100_000)?;
        check((60_000..=3_600_000).contains(&self.challenge_ttl_ms), || {
            "withdrawal.challenge_ttl_ms must be 60000 (1 min) to 3600000 (1 h)".into()
        })
    }
}
