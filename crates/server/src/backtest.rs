//! A backtest (`creditline replay --rules`, the console's rules page): runs a data directory's
//! journal through two fresh engines — one exactly as journaled, one with a candidate rules file
//! in place of every rules file the journal installed — and reports how the decisions change,
//! how each side scores against the labels analysts gave the journaled cases, and the money the
//! changed decisions move. The data directory is only read.

use crate::store::DataDir;
use engine::Engine;
use journal::Journal;
use model::kind;
use model::risk::{Decision, DecisionKind, Label, RuleSet};
use model::{Command, CommandId, CommandKind, codec};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Decisions of one side: counts by decision and by rule, and against the labels.
#[derive(Debug, Default, Serialize)]
pub struct Side {
    /// Scored events by decision (`allow`, `challenge`, `review`, `deny`).
    pub decisions: BTreeMap<&'static str, u64>,
    /// Firings by rule id (shadow firings included).
    pub rule_hits: BTreeMap<String, u64>,
    /// Labelled events (a decided case's) this side flagged (any decision but allow) that
    /// analysts labelled fraud.
    pub flagged_fraud: u64,
    /// Labelled events this side flagged that analysts labelled not fraud.
    pub flagged_honest: u64,
    /// Labelled fraud this side let through.
    pub missed_fraud: u64,
    /// flagged_fraud / (flagged_fraud + flagged_honest); absent without labelled flags.
    pub precision: Option<f64>,
    /// flagged_fraud / (flagged_fraud + missed_fraud); absent without labelled fraud.
    pub recall: Option<f64>,
}

impl Side {
    /// Counts one labelled event and recomputes the ratios.
    fn label(&mut self, flagged: bool, fraud: bool) {
        match (flagged, fraud) {
            (true, true) => self.flagged_fraud += 1,
            (true, false) => self.flagged_honest += 1,
            (false, true) => self.missed_fraud += 1,
            (false, false) => {}
        }
        let ratio = |hits: u64, of: u64| (of > 0).then(|| hits as f64 / of as f64);
        self.precision = ratio(self.flagged_fraud, self.flagged_fraud + self.flagged_honest);
        self.recall = ratio(self.flagged_fraud, self.flagged_fraud + self.missed_fraud);
    }
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
    /// What the command moves, in minor units, when it names an amount.
    pub amount_minor: Option<u64>,
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
    /// What the changed events move, in minor units (those that name an amount).
    pub changed_minor: u64,
    /// The first changed events, at most `changes_max`.
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

/// Replays `data_dir`'s journal up to sequence `end` (exclusive) with `candidate` in place of
/// the journaled rules, telling `progress` (commands done, commands in all) after each record.
pub fn run(
    data_dir: &DataDir,
    end: u64,
    candidate: RuleSet,
    changes_max: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<ReplayReport> {
    let journal_dir = data_dir.journal();
    anyhow::ensure!(journal_dir.is_dir(), "no journal at {}; is --data-dir right?", journal_dir.display());
    let total = end.saturating_sub(1);
    let (mut journaled, mut trial) = (Engine::default(), Engine::default());
    let (mut before, mut after) = (Side::default(), Side::default());
    let (mut changed, mut changed_minor, mut changes, mut events) = (0u64, 0u64, Vec::new(), 0u64);
    // Whether each side flagged an event either side flagged, for the labels found at the end.
    let mut flagged: HashMap<CommandId, (bool, bool)> = HashMap::new();
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
            let flags =
                |decision: Option<&Decision>| decision.is_some_and(|decision| decision.kind != DecisionKind::Allow);
            if flags(was) || flags(now) {
                flagged.insert(command.id, (flags(was), flags(now)));
            }
            if differs {
                changed += 1;
                let amount_minor = crate::named::amount_minor(&command.kind);
                changed_minor = changed_minor.saturating_add(amount_minor.unwrap_or(0));
                if changes.len() < changes_max {
                    changes.push(Change {
                        sequence: record.first_sequence + index as u64,
                        command_id: command.id.0,
                        kind: command.kind.name(),
                        before: describe(was),
                        after: describe(now),
                        amount_minor,
                    });
                }
            }
            events += 1;
        }
        progress(events, total);
    }
    for (id, case) in journaled.cases_after(CommandId(0)) {
        let Some(label) = case.label else { continue };
        let (was, now) = flagged.get(&id).copied().unwrap_or_default();
        let fraud = matches!(label, Label::Fraud(_));
        before.label(was, fraud);
        after.label(now, fraud);
    }
    let events_per_sec = events as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let candidate = after;
    Ok(ReplayReport { events, events_per_sec, journaled: before, candidate, changed, changed_minor, changes })
}
