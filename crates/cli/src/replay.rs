//! `creditline replay`: a backtest. Runs a data directory's journal through two fresh engines —
//! one exactly as journaled, one with a candidate rules file in place of every rules file the
//! journal installed — and reports how the decisions change. The data directory is only read.

use engine::Engine;
use indicatif::{ProgressBar, ProgressStyle};
use journal::Journal;
use model::kind;
use model::risk::{Decision, DecisionKind, RuleSet};
use model::{Command, CommandId, CommandKind, codec};
use serde::Serialize;
use server::store::DataDir;
use std::collections::BTreeMap;
use std::time::Instant;

/// Decisions of one side: counts by decision and by rule.
#[derive(Debug, Default, Serialize)]
pub struct Side {
    /// Scored events by decision (`allow`, `challenge`, `review`, `deny`).
    pub decisions: BTreeMap<&'static str, u64>,
    /// Firings by rule id (shadow firings included).
    pub rule_hits: BTreeMap<String, u64>,
}

/// One event whose decision changed.
#[derive(Debug, Serialize)]
pub struct Change {
    /// Journal sequence.
    pub sequence: u64,
    /// The command id.
    pub command_id: u64,
    /// The command kind.
    pub kind: &'static str,
    /// Decision and reasons as journaled.
    pub before: String,
    /// Decision and reasons with the candidate rules.
    pub after: String,
}

/// The backtest report.
#[derive(Debug, Serialize)]
pub struct ReplayReport {
    /// Commands replayed.
    pub events: u64,
    /// Commands per second through both engines.
    pub events_per_sec: f64,
    /// The rules as journaled.
    pub journaled: Side,
    /// The candidate rules.
    pub candidate: Side,
    /// Events whose decision (kind or active reasons) changed.
    pub changed: u64,
    /// The first changed events, at most `--changes-max`.
    pub changes: Vec<Change>,
}

fn describe(decision: Option<&Decision>) -> String {
    match decision {
        None => "allow".to_owned(),
        Some(decision) if decision.reasons.is_empty() => decision.kind.name().to_owned(),
        Some(decision) => format!("{} ({})", decision.kind.name(), decision.reasons.join(", ")),
    }
}

fn tally(side: &mut Side, decision: Option<&Decision>) {
    let kind = decision.map_or(DecisionKind::Allow, |decision| decision.kind);
    *side.decisions.entry(kind.name()).or_default() += 1;
    for fired in decision.iter().flat_map(|decision| &decision.fired) {
        *side.rule_hits.entry(fired.rule.clone()).or_default() += 1;
    }
}

/// Replays `data_dir` with `candidate` in place of the journaled rules.
pub fn run(data_dir: &DataDir, candidate: RuleSet, changes_max: usize, progress: bool) -> anyhow::Result<ReplayReport> {
    let journal_dir = data_dir.journal();
    anyhow::ensure!(journal_dir.is_dir(), "no journal at {}; is --data-dir right?", journal_dir.display());
    let (_, end) = server::store::verify(data_dir)?;
    let bar = if progress { ProgressBar::new(end - 1) } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("replay [{bar:40}] {pos}/{len} {per_sec}")?.progress_chars("=> "));
    let (mut journaled, mut trial) = (Engine::default(), Engine::default());
    let (mut before, mut after) = (Side::default(), Side::default());
    let (mut changed, mut changes, mut events) = (0u64, Vec::new(), 0u64);
    let mut installed = false;
    let mut reader = Journal::read_from(data_dir.storage(), &journal_dir, 1)?;
    let started = Instant::now();
    while let Some(record) = reader.next_before(end)? {
        let commands = codec::decode_batch(&record.payload).map_err(|reason| {
            anyhow::anyhow!("journal record at {} does not decode: {reason}", record.first_sequence)
        })?;
        for (index, command) in commands.iter().enumerate() {
            if !installed {
                // The candidate is in force from the first command on.
                let install = CommandKind::InstallRules(kind::InstallRules { rules: Box::new(candidate.clone()) });
                let first = Command {
                    actor: model::ActorId::SERVER,
                    initiator: model::Initiator::Platform,
                    id: CommandId(u64::MAX),
                    time_ms: command.time_ms,
                    kind: install,
                };
                anyhow::ensure!(trial.apply(&first, 0, &mut Vec::new()).is_ok(), "the candidate rules do not install");
                installed = true;
            }
            let trial_command = match &command.kind {
                // A rules file from the journal gives way to the candidate: the candidate again,
                // which the engine refuses as not newer, changing nothing.
                CommandKind::InstallRules(kind::InstallRules { .. }) => {
                    let kind = CommandKind::InstallRules(kind::InstallRules { rules: Box::new(candidate.clone()) });
                    Command { kind, ..command.clone() }
                }
                _ => command.clone(),
            };
            let _journaled_outcome = journaled.apply(command, index as u32, &mut Vec::new());
            let _trial_outcome = trial.apply(&trial_command, index as u32, &mut Vec::new());
            let (was, now) = (journaled.last_decision(), trial.last_decision());
            tally(&mut before, was);
            tally(&mut after, now);
            let key = |decision: Option<&Decision>| decision.map(|d| (d.kind, d.reasons.clone()));
            let differs = key(was).filter(|(kind, _)| *kind != DecisionKind::Allow)
                != key(now).filter(|(kind, _)| *kind != DecisionKind::Allow);
            if differs {
                changed += 1;
                if changes.len() < changes_max {
                    changes.push(Change {
                        sequence: record.first_sequence + index as u64,
                        command_id: command.id.0,
                        kind: command.kind.name(),
                        before: describe(was),
                        after: describe(now),
                    });
                }
            }
            events += 1;
        }
        bar.inc(commands.len() as u64);
    }
    bar.finish_and_clear();
    let events_per_sec = events as f64 / started.elapsed().as_secs_f64().max(1e-9);
    Ok(ReplayReport { events, events_per_sec, journaled: before, candidate: after, changed, changes })
}
