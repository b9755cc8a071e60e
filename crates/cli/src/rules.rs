//! `creditline rules`: check a rules file, install it on a running server, list the features
//! rules can read.

use model::risk::catalog::Feature;
use server::rules_file;
use std::path::Path;
use std::process::ExitCode;

/// Validates a rules file; prints a summary, or the line and the reason (exit 2).
pub fn check(file: &Path) -> anyhow::Result<ExitCode> {
    match rules_file::load(file) {
        Ok(rules) => {
            let count = |status| rules.rules.iter().filter(|rule| rule.status == status).count();
            use model::risk::RuleStatus::{Active, Off, Shadow};
            println!(
                "ok: version {} with {} rules ({} active, {} shadow, {} off)",
                rules.version,
                rules.rules.len(),
                count(Active),
                count(Shadow),
                count(Off)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Installs a rules file on a running server through `POST /v1/rules` (an admin key).
pub fn install(file: &Path, url: &str, key: &str, command_id: u64) -> anyhow::Result<ExitCode> {
    let origin = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|error| anyhow::anyhow!("cannot read {origin}: {error}"))?;
    let rules = rules_file::parse(&text, &origin)?;
    crate::client::install(url, key, "/v1/rules", command_id, &text, &format!("rules version {}", rules.version))
}

/// The feature catalog as a Markdown table (docs/rules.md embeds it).
pub fn features_table() -> String {
    let mut table = String::from("| Feature | Type | What it measures |\n|---|---|---|\n");
    for feature in Feature::ALL {
        let ty = match feature.ty() {
            rules::Type::Bool => "bool".to_owned(),
            rules::Type::Int => "int".to_owned(),
            rules::Type::Double => "double".to_owned(),
            rules::Type::Symbol(names) => format!("string: {}", names.join(", ")),
        };
        table.push_str(&format!("| `{}` | {} | {} |\n", feature.name(), ty, feature.doc()));
    }
    table
}
