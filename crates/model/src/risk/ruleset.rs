//! The rules file as journaled ([`RuleSet`]) and its compiled form ([`CompiledRules`]): installing
//! validates and compiles in one step, so a rule set in force always compiled.

use super::catalog::CATALOG;
use super::{AccountAction, DecisionKind, EventKind};
use serde::{Deserialize, Serialize};

/// Whether a rule is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Evaluated and enforced.
    Active,
    /// Evaluated and recorded, never enforced.
    Shadow,
    /// Not evaluated.
    Off,
}

/// One rule as written in the rules file (`[[rules]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSource {
    /// A stable id (`a1_refund_cycling_virtual`).
    pub id: String,
    /// What behaviour it targets, for analysts.
    pub description: String,
    /// The CEL expression; the rule fires when it is true.
    pub expression: String,
    /// The event kinds it scores.
    pub applies_to: Vec<EventKind>,
    /// Points added to the event's score when it fires.
    #[serde(default)]
    pub score: i32,
    /// A decision it forces at least, whatever the score.
    #[serde(default)]
    pub action: Option<DecisionKind>,
    /// Account actions it takes on the event's user when it fires.
    #[serde(default)]
    pub account_actions: Vec<AccountAction>,
    /// Account actions it takes on the payee of a transfer (money sent back to a cash-out's
    /// beneficiary freezes the beneficiary, not only the sender).
    #[serde(default)]
    pub counterparty_actions: Vec<AccountAction>,
    /// The reason code it reports.
    pub reason: String,
    /// Active, shadow or off.
    pub status: RuleStatus,
}

/// The decision ladder's score thresholds (`[decision]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// A score at or above this challenges.
    pub challenge_at: i32,
    /// A score at or above this holds for review.
    pub review_at: i32,
    /// A score at or above this denies.
    pub deny_at: i32,
    /// How long a challenged command waits for its verification.
    pub challenge_ttl_ms: u64,
}

/// A versioned rules file: thresholds and rules. Its serde shape is the TOML file's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// The version; each installed file needs a higher one.
    pub version: u32,
    /// The score thresholds.
    pub decision: Thresholds,
    /// The rules, evaluated in order.
    pub rules: Vec<RuleSource>,
}

/// The most rules a file may hold.
pub const RULES_MAX: usize = 256;
// Every rule of a file fits one batch (`CompiledRules::batches`).
const _: () = assert!(RULES_MAX <= rules::BATCH_MAX);
/// The longest rule expression, in bytes.
pub const EXPRESSION_MAX_BYTES: usize = 4096;
/// The longest challenge a rules file may set: one day.
pub const CHALLENGE_TTL_MAX_MS: u64 = 24 * 60 * 60 * 1000;

/// Why a rules file was refused; `rule` is the index of the offending rule, if one is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesError {
    /// The offending rule's index in the file.
    pub rule: Option<usize>,
    /// The line inside the rule's expression, for a compile error (1-based).
    pub expression_line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RulesError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for RulesError {}

/// A compiled rule.
pub struct CompiledRule {
    /// The rule's position in [`RuleSet::rules`].
    pub index: usize,
    /// Its expression, compiled against the feature catalog.
    pub program: rules::Program,
}

/// A rule set in force: its source and, per event kind, the compiled rules that apply.
pub struct CompiledRules {
    /// The rule set as journaled.
    pub source: RuleSet,
    /// Per event kind (by [`EventKind`] position), the rules not off that apply to it.
    pub by_kind: [Vec<CompiledRule>; EventKind::ALL.len()],
    /// The same programs per event kind, evaluated together (shared first tests once).
    pub batches: [rules::Batch; EventKind::ALL.len()],
}

fn refuse(rule: Option<usize>, message: String) -> RulesError {
    RulesError { rule, expression_line: None, message }
}

impl RuleSet {
    /// Checks the thresholds, ids, sizes and every expression, as installing would.
    pub fn validate(&self) -> Result<(), RulesError> {
        self.clone().compile().map(drop)
    }

    /// Checks the thresholds, ids, sizes and every expression; returns the compiled rules.
    pub fn compile(self) -> Result<CompiledRules, RulesError> {
        let decision = &self.decision;
        if !(0 < decision.challenge_at
            && decision.challenge_at <= decision.review_at
            && decision.review_at <= decision.deny_at)
        {
            return Err(refuse(
                None,
                "decision: thresholds must satisfy 0 < challenge_at <= review_at <= deny_at".into(),
            ));
        }
        if decision.challenge_ttl_ms == 0 || decision.challenge_ttl_ms > CHALLENGE_TTL_MAX_MS {
            return Err(refuse(None, format!("decision.challenge_ttl_ms must be 1..={CHALLENGE_TTL_MAX_MS}")));
        }
        if self.rules.len() > RULES_MAX {
            return Err(refuse(None, format!("at most {RULES_MAX} rules, this file has {}", self.rules.len())));
        }
        let mut by_kind: [Vec<CompiledRule>; EventKind::ALL.len()] = Default::default();
        for (index, rule) in self.rules.iter().enumerate() {
            let valid_id = !rule.id.is_empty()
                && rule.id.len() <= 64
                && rule.id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
            if !valid_id {
                return Err(refuse(Some(index), "a rule id is 1-64 letters, digits and underscores".into()));
            }
            if self.rules[..index].iter().any(|earlier| earlier.id == rule.id) {
                return Err(refuse(Some(index), format!("rule id `{}` appears twice", rule.id)));
            }
            if rule.reason.is_empty() || rule.reason.len() > 64 {
                return Err(refuse(Some(index), "a reason code is 1-64 characters".into()));
            }
            if rule.applies_to.is_empty() {
                return Err(refuse(Some(index), "applies_to names no event kind".into()));
            }
            if rule.expression.len() > EXPRESSION_MAX_BYTES || rule.description.len() > EXPRESSION_MAX_BYTES {
                return Err(refuse(
                    Some(index),
                    format!("expression and description are at most {EXPRESSION_MAX_BYTES} bytes"),
                ));
            }
            if rule.score < 0 || rule.score > 1000 {
                return Err(refuse(Some(index), "score must be 0..=1000".into()));
            }
            let program = rules::compile(&rule.expression, &CATALOG).map_err(|error| RulesError {
                rule: Some(index),
                expression_line: Some(error.line),
                message: format!("rule `{}`: expression {}:{}: {}", rule.id, error.line, error.column, error.message),
            })?;
            if rule.status == RuleStatus::Off {
                continue;
            }
            for kind in &rule.applies_to {
                by_kind[*kind as usize].push(CompiledRule { index, program: program.clone() });
            }
        }
        let batches = by_kind.each_ref().map(|list| rules::Batch::new(list.iter().map(|rule| &rule.program)));
        Ok(CompiledRules { source: self, by_kind, batches })
    }
}
