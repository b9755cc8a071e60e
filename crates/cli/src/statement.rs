//! `creditline statement`: a user's statements, rebuilt read-only from the data directory.

use model::UserId;
use server::store::{self, DataDir};
use server::wire::StatementView;
use std::process::ExitCode;

fn yuan(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}¥{}.{:02}", minor.unsigned_abs() / 100, minor.unsigned_abs() % 100)
}

fn text(statement: &StatementView) -> String {
    let line = |label: &str, minor: i64| format!("  {label:<18}{:>16}\n", yuan(minor));
    let mut out = format!(
        "Statement {} of user {} (product version {})\n  closed at {} ms, pay before {} ms\n",
        statement.number, statement.user_id, statement.product_version, statement.closed_at_ms, statement.due_before_ms
    );
    out += &line("opening balance", statement.opening_balance_minor);
    out += &line("purchases", statement.purchases_minor as i64);
    out += &line("refunds", -(statement.refunds_minor as i64));
    out += &line("instalments", statement.instalments_minor as i64);
    out += &line("fees", statement.fees_minor as i64);
    out += &line("penalties", statement.penalties_minor as i64);
    out += &line("repayments", -(statement.repayments_minor as i64));
    out += &line("closing balance", statement.closing_balance_minor);
    out += &line("minimum due", statement.minimum_due_minor as i64);
    out
}

/// Prints the statements; fails if the user or the statement number does not exist.
pub fn print(data_dir: &DataDir, user: u64, cycle: Option<u32>, json: bool) -> anyhow::Result<ExitCode> {
    let journal_dir = data_dir.journal();
    anyhow::ensure!(journal_dir.is_dir(), "no journal at {}; is --data-dir right?", journal_dir.display());
    let (_, end) = store::verify(data_dir)?;
    let (engine, _, _) = store::rebuild(data_dir, end, end, false, &mut |_| {})?;
    let id = UserId(user);
    let account = engine.user(id).ok_or_else(|| anyhow::anyhow!("no user {user} in {}", data_dir.root().display()))?;
    let statements: Vec<StatementView> = account
        .credit
        .billing
        .statements
        .iter()
        .filter(|statement| cycle.is_none_or(|number| statement.number == number))
        .map(|statement| StatementView::new(id, statement))
        .collect();
    if let Some(number) = cycle {
        anyhow::ensure!(
            !statements.is_empty(),
            "user {user} has no statement {number} (it has {})",
            account.credit.billing.statements.len()
        );
    }
    match json {
        true => println!("{}", serde_json::to_string_pretty(&statements)?),
        false if statements.is_empty() => println!("user {user} has no statements yet"),
        false => statements.iter().for_each(|statement| print!("{}", text(statement))),
    }
    Ok(ExitCode::SUCCESS)
}
