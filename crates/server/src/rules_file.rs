//! Rules files: TOML in, a validated [`RuleSet`] out, or an error naming the line and the reason.

use model::risk::RuleSet;
use serde::Deserialize;
use std::path::Path;

/// Why a rules file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RulesFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML, not the rules shape, or a rule that does not compile.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The 1-based line in the file.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Where each rule's id and expression sit in the file, to place errors on lines.
#[derive(Deserialize)]
struct Locations {
    #[serde(default)]
    rules: Vec<RuleLocation>,
}

#[derive(Deserialize)]
struct RuleLocation {
    id: Option<toml::Spanned<String>>,
    expression: Option<toml::Spanned<String>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses and validates rules TOML; `origin` names the source in errors.
pub fn parse(text: &str, origin: &str) -> Result<RuleSet, RulesFileError> {
    let invalid = |line, message| RulesFileError::Invalid { path: origin.into(), line, message };
    let rules: RuleSet = toml::from_str(text).map_err(|error| {
        let line = error.span().map_or(1, |span| line_of(text, span.start));
        invalid(line, error.message().trim_end().to_owned())
    })?;
    rules.validate().map_err(|error| {
        let locations: Option<Locations> = toml::from_str(text).ok();
        let location = error
            .rule
            .zip(locations)
            .and_then(|(index, mut found)| (index < found.rules.len()).then(|| found.rules.swap_remove(index)));
        let line = match (location, error.expression_line) {
            (Some(RuleLocation { expression: Some(expression), .. }), Some(expression_line)) => {
                let start = expression.span().start;
                // A multi-line string's first newline is not part of the value.
                let opens_block = text[start..].starts_with("'''\n") || text[start..].starts_with("\"\"\"\n");
                line_of(text, start) + usize::from(opens_block) + expression_line as usize - 1
            }
            (Some(RuleLocation { id: Some(id), .. }), _) => line_of(text, id.span().start),
            _ => 1,
        };
        invalid(line, error.message)
    })?;
    Ok(rules)
}

/// Reads, parses and validates a rules file.
pub fn load(path: &Path) -> Result<RuleSet, RulesFileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RulesFileError::Io { path: origin.clone(), source })?;
    parse(&text, &origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = include_str!("../../../rules/default.toml");

    #[test]
    fn the_default_rule_pack_is_valid() {
        let rules = parse(DEFAULT, "default.toml").expect("the default rules are valid");
        assert_eq!(rules.version, 4);
        assert!(rules.rules.len() >= 7, "a rule per typology at least");
    }

    /// Each broken file is refused with the line and the reason.
    #[test]
    fn bad_files_are_refused_with_the_line_and_the_reason() {
        let line = |needle: &str| DEFAULT.lines().position(|line| line.contains(needle)).expect(needle) + 1;
        let cases = [
            (
                "user.liquid_refunds_30d >= 2",
                "user.liquid_refund_30d >= 2",
                line("user.liquid_refunds_30d >= 2"),
                "rule `a_refund_cycling`: expression 3:6: unknown feature `user.liquid_refund_30d`",
            ),
            (
                "expression = \"event.loopback_minor > 0\"",
                "expression = \"event.loopback_minor > 'much'\"",
                line("expression = \"event.loopback_minor > 0\""),
                "rule `b_payout_to_payers`: expression 1:24: a string compares only with a named feature, not int",
            ),
            (
                "merchant.category == \"recharge\"",
                "merchant.category == \"top_up\"",
                line("merchant.category == \"recharge\""),
                "unknown name \"top_up\"; expected one of none, physical_goods",
            ),
            ("status = \"shadow\"", "status = \"maybe\"", line("status = \"shadow\""), "unknown variant `maybe`"),
            ("id = \"f_ring_payout\"", "id = \"f_ring_payment\"", line("id = \"f_ring_payout\""), "appears twice"),
            ("review_at = 70", "review_at = 700", 1, "thresholds must satisfy"),
            ("score = 30", "score = 30\nweight = 2", line("score = 30") + 1, "unknown field `weight`"),
        ];
        for (from, to, expected_line, expected) in cases {
            assert!(DEFAULT.contains(from), "fixture lost {from:?}");
            let broken = DEFAULT.replacen(from, to, 1);
            let error = parse(&broken, "broken.toml").expect_err(expected).to_string();
            assert!(error.contains(expected), "expected {expected:?} in {error:?}");
            assert!(error.starts_with(&format!("broken.toml:{expected_line}: ")), "line {expected_line}: {error}");
        }
    }
}
