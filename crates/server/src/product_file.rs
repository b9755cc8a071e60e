//! Product files: TOML in, a validated [`Product`] out, or an error that says where and why.

use model::product::Product;
use std::path::Path;

/// Why a product file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProductFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML, or not the product shape (unknown or missing fields, wrong types).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Well-formed but breaks a product rule.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// Which field and why.
        message: String,
    },
}

/// Parses and validates product TOML; `origin` names the source in errors.
pub fn parse(text: &str, origin: &str) -> Result<Product, ProductFileError> {
    let product: Product = toml::from_str(text).map_err(|error| ProductFileError::Syntax {
        path: origin.into(),
        message: error.to_string().trim_end().into(),
    })?;
    product.validate().map_err(|message| ProductFileError::Invalid { path: origin.into(), message })?;
    Ok(product)
}

/// Reads, parses and validates a product file.
pub fn load(path: &Path) -> Result<Product, ProductFileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ProductFileError::Io { path: origin.clone(), source })?;
    parse(&text, &origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = include_str!("../../../products/huabei.toml");

    #[test]
    fn the_shipped_default_is_valid_and_modelled_on_huabei() {
        let product = parse(DEFAULT, "huabei.toml").expect("the default product is valid");
        assert_eq!((product.billing.statement_day, product.billing.due_day), (1, 10));
        assert_eq!(product.billing.overdue_penalty_ppm_per_day, 500, "0.05 % a day");
        let fees: Vec<(u8, u32)> = product.instalments.iter().map(|plan| (plan.periods, plan.total_fee_ppm)).collect();
        assert_eq!(fees, vec![(3, 23_000), (6, 45_000), (9, 65_000), (12, 88_000)]);
        assert_eq!(product.band(0).name, "poor");
        assert_eq!(product.band(649).name, "fair");
        assert_eq!(product.band(650).name, "good");
        assert_eq!(product.band(950).name, "excellent");
    }

    /// Each broken file is refused with a message naming the place and the rule.
    #[test]
    fn bad_files_are_refused_precisely() {
        let cases = [
            ("statement_day = 1", "statement_day = 31", "billing.statement_day must be 1 to 28"),
            ("periods = 9", "periods = 4", "instalments[2].periods must be 3, 6, 9 or 12, got 4"),
            ("periods = 12", "periods = 6", "instalments[3]: a 6-period plan is defined twice"),
            (
                "total_fee_ppm = 88000",
                "total_fee_ppm = 880000",
                "instalments[3].total_fee_ppm is 880000 ppm; at most 300000 (30.0000 %)",
            ),
            ("max_per_day_minor = 1000000", "max_per_day_minor = 100", "max_per_transaction_minor must not exceed"),
            ("min_score = 550", "min_score = 0", "score_bands[1].min_score must be above score_bands[0].min_score"),
            ("overpayment = \"refuse\"", "overpayment = \"keep\"", "unknown variant `keep`"),
            ("due_day = 10", "due_day = 10\ngrace_days = 3", "unknown field `grace_days`"),
            ("version = 1", "version = \"one\"", "line 4, column 11"),
        ];
        for (from, to, expected) in cases {
            assert!(DEFAULT.contains(from), "fixture lost {from:?}");
            let broken = DEFAULT.replacen(from, to, 1);
            let error = parse(&broken, "broken.toml").expect_err(expected).to_string();
            assert!(error.contains(expected), "expected {expected:?} in {error:?}");
            assert!(error.starts_with("broken.toml: "), "{error}");
        }
    }
}
