//! `creditline check`: verifies a data directory without changing it.

use engine::Engine;
use serde::Serialize;
use server::store::{self, DataDir};
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Serialize)]
struct CheckReport {
    records: u64,
    commands: u64,
    torn_tail_bytes: u64,
    users: usize,
    merchants: usize,
    accounts: usize,
    state_hash: String,
    snapshot_sequence: Option<u64>,
    snapshot_matches: Option<bool>,
}

/// Runs the check and prints the report; an error names exactly what is wrong.
pub fn run(data_dir: &DataDir, thorough: bool, json: bool) -> anyhow::Result<ExitCode> {
    let journal_dir = data_dir.journal();
    anyhow::ensure!(journal_dir.is_dir(), "no journal at {}; is --data-dir right?", journal_dir.display());
    let (found, end) = store::verify(data_dir).map_err(|error| anyhow::anyhow!("{}", error.with_hint()))?;
    let mut unbalanced: Option<String> = None;
    let (engine, _, _) = store::rebuild(data_dir, 0, end, thorough, &mut |batch| {
        let mut sums: BTreeMap<(u32, model::Currency), i128> = BTreeMap::new();
        for posting in batch.postings {
            *sums.entry((posting.command_index, posting.account.currency)).or_default() += posting.amount_minor as i128;
        }
        if let Some(((index, currency), sum)) = sums.into_iter().find(|(_, sum)| *sum != 0) {
            let sequence = batch.first_sequence + u64::from(index);
            unbalanced.get_or_insert(format!("command at sequence {sequence} posts {sum} {currency}, not zero"));
        }
    })?;
    if let Some(problem) = unbalanced {
        anyhow::bail!("unbalanced postings: {problem}");
    }
    engine.check_invariants().map_err(|reason| anyhow::anyhow!("ledger invariant broken: {reason}"))?;
    let (snapshot_sequence, snapshot_matches) = compare_snapshot(data_dir, end, &engine)?;
    if snapshot_matches == Some(false) {
        anyhow::bail!(
            "the snapshot at sequence {snapshot_sequence:?} plus the journal tail does not rebuild the same state as a full replay"
        );
    }
    let counts = engine.counts();
    let report = CheckReport {
        records: found.records,
        commands: end - 1,
        torn_tail_bytes: found.truncated_bytes,
        users: counts.users,
        merchants: counts.merchants,
        accounts: counts.accounts,
        state_hash: format!("{:016x}", engine.state_hash()),
        snapshot_sequence,
        snapshot_matches,
    };
    if found.truncated_bytes > 0 {
        eprintln!(
            "warning: the journal ends in a torn record of {} bytes (an interrupted write that was never acknowledged); `serve` moves it to journal/quarantine/ on start",
            found.truncated_bytes
        );
    }
    match json {
        true => println!("{}", serde_json::to_string(&report)?),
        false => println!(
            "ok: {} records, {} commands, {} users, {} merchants, {} accounts, state hash {}{}",
            report.records,
            report.commands,
            report.users,
            report.merchants,
            report.accounts,
            report.state_hash,
            snapshot_sequence.map(|sequence| format!(", snapshot at {sequence} matches")).unwrap_or_default()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn compare_snapshot(data_dir: &DataDir, end: u64, full: &Engine) -> anyhow::Result<(Option<u64>, Option<bool>)> {
    let (from_snapshot, _, sequence) = store::rebuild(data_dir, end, end, false, &mut |_| {})?;
    Ok(match sequence {
        Some(sequence) => (Some(sequence), Some(from_snapshot.state_hash() == full.state_hash())),
        None => (None, None),
    })
}

/// `creditline repair`: the operator's step after a refusal; prints what moved where.
pub fn repair(data_dir: &DataDir) -> anyhow::Result<ExitCode> {
    let journal_dir = data_dir.journal();
    anyhow::ensure!(journal_dir.is_dir(), "no journal at {}; is --data-dir right?", journal_dir.display());
    let report = store::repair(data_dir)?;
    let journal = &report.journal;
    match &journal.damage {
        Some(damage) => println!("repaired damage: {damage}"),
        None => println!("no damaged record"),
    }
    if journal.previous_high_water > journal.end_sequence {
        println!(
            "lost from the journal: commands {} to {} ({} commands were acknowledged once)",
            journal.end_sequence,
            journal.previous_high_water - 1,
            journal.previous_high_water - journal.end_sequence
        );
    }
    for path in journal.moved.iter().chain(&report.set_aside) {
        println!("moved aside: {}", path.display());
    }
    println!("the journal now ends at sequence {}; `serve` starts from there", journal.end_sequence);
    Ok(ExitCode::SUCCESS)
}
