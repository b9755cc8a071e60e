//! `creditline bench`: the engine alone, then engine + journal with one fsync per batch, over
//! the same seeded workload, in one process — each with the default risk rules on and off — and
//! the engine-side latency of single scored events.

use crate::workload::{Population, Workload};
use engine::Engine;
use indicatif::{ProgressBar, ProgressStyle};
use journal::{Journal, JournalOptions};
use model::risk::RuleSet;
use model::{Command, codec};
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// Bench settings.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The population and seed.
    pub population: Population,
    /// The rules of the rules-on passes.
    pub rules: RuleSet,
    /// Mixed events to run after set-up.
    pub events: u64,
    /// Commands per batch (per fsync in the durable run).
    pub batch_size: usize,
    /// Rounds of the engine alone, each a rules-off then a rules-on pass (at least one).
    pub passes: usize,
    /// Whether to draw progress bars.
    pub progress: bool,
}

/// The figures, printed as one JSON object.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Events per second through the engine alone, in memory, with the risk rules (`--rules`,
    /// default rules/default.toml): the median of the rules-on passes.
    pub engine_events_per_sec: f64,
    /// Each rules-on pass, in the order run.
    pub engine_passes_events_per_sec: Vec<f64>,
    /// The same without rules (features are still maintained): the median of the rules-off passes.
    pub engine_risk_off_events_per_sec: f64,
    /// Each rules-off pass, in the order run (each just before the rules-on pass of its round).
    pub engine_risk_off_passes_events_per_sec: Vec<f64>,
    /// Risk on over risk off (the medians).
    pub risk_on_over_off: f64,
    /// Events per second with the rules on the first pass of the process, while its memory
    /// comes fresh from the OS.
    pub engine_cold_events_per_sec: f64,
    /// Events per second through engine + journal with one fsync per batch, rules on.
    pub durable_events_per_sec: f64,
    /// The same without rules.
    pub durable_risk_off_events_per_sec: f64,
    /// Median engine-side time to apply one scored event (payment, hold, transfer, withdrawal,
    /// payout) with the default rules, microseconds.
    pub decision_p50_us: f64,
    /// 99th percentile of the same.
    pub decision_p99_us: f64,
    /// 99th percentile of the time one batch takes in `apply_batch`, rules on, over every
    /// rules-on pass, µs: the stall a writer's queue sees.
    pub batch_apply_p99_us: f64,
    /// The longest batch of the rules-on passes, µs.
    pub batch_apply_max_us: f64,
    /// Scored events, and how many the rules did not simply allow, by decision.
    pub decisions: Decisions,
    /// Commands per batch.
    pub batch_size: usize,
    /// Rounds of the engine alone (each a rules-off and a rules-on pass).
    pub passes: usize,
    /// Mixed events measured (set-up commands excluded).
    pub events: u64,
    /// Ledger accounts at the end.
    pub accounts: usize,
    /// Users.
    pub users: u64,
    /// Merchants.
    pub merchants: u64,
    /// Share of events the engine rejected with rules on (insufficient funds and the like are part of the mix).
    pub rejected_share: f64,
    /// Statements closed under the default product during the run.
    pub statements: usize,
    /// Fees and penalties earned, in minor units.
    pub fee_income_minor: i64,
    /// Median journal append (write + fsync) time per batch, microseconds.
    pub fsync_p50_us: u64,
    /// 99th percentile of the same.
    pub fsync_p99_us: u64,
    /// Journal bytes per event.
    pub journal_bytes_per_event: f64,
    /// Peak resident memory of the process, bytes.
    pub peak_rss_bytes: u64,
    /// The seed.
    pub seed: u64,
    /// How the workload's ids were numbered (`--id-shape`).
    pub id_shape: crate::workload::IdShape,
    /// The rules-on run's [`engine::Engine::state_hash`], in hex: the same workload and build
    /// give the same hash, so a change that must not alter behaviour can be shown not to.
    pub state_hash: String,
}

/// Counts of notable decisions in the rules-on run.
#[derive(Debug, Default, Serialize)]
pub struct Decisions {
    /// Events scored.
    pub scored: u64,
    /// Challenged.
    pub challenge: u64,
    /// Held for review.
    pub review: u64,
    /// Denied.
    pub deny: u64,
}

fn bar(config: &BenchConfig, label: &'static str) -> ProgressBar {
    if !config.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(config.events);
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:40}] {pos}/{len} {per_sec}")
        .expect("the template is valid")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label);
    bar
}

/// What [`drive`] measured: the time spent inside `apply`, each batch's share of it, and the
/// rejections (set-up excluded).
struct Driven {
    busy: Duration,
    batches: Vec<Duration>,
    rejected: u64,
}

/// Runs `apply` over the workload in batches.
fn drive(
    config: &BenchConfig,
    rules: bool,
    label: &'static str,
    mut apply: impl FnMut(&[Command]) -> (Duration, u64),
) -> Driven {
    let mut workload = Workload::new(config.population, rules.then(|| config.rules.clone()));
    let setup = workload.setup();
    for chunk in setup.chunks(config.batch_size) {
        apply(chunk);
    }
    let progress = bar(config, label);
    let (mut busy, mut rejected, mut done) = (Duration::ZERO, 0u64, 0u64);
    let mut batches = Vec::with_capacity(config.events.div_ceil(config.batch_size as u64) as usize);
    let mut batch = Vec::with_capacity(config.batch_size);
    while done < config.events {
        batch.clear();
        let size = (config.events - done).min(config.batch_size as u64);
        batch.extend((0..size).map(|_| workload.next_event()));
        let (elapsed, batch_rejected) = apply(&batch);
        busy += elapsed;
        batches.push(elapsed);
        rejected += batch_rejected;
        done += size;
        progress.inc(size);
    }
    progress.finish_and_clear();
    Driven { busy, batches, rejected }
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).and_then(|kilobytes| kilobytes.parse::<u64>().ok()).unwrap_or(0) * 1024
}

fn percentile<T: Copy + Default>(sorted: &[T], share: f64) -> T {
    let index = ((sorted.len() as f64 * share) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default()
}

/// An in-memory pass: what it measured inside `apply_batch`, and the final engine.
fn engine_pass(config: &BenchConfig, rules: bool, label: &'static str) -> (Driven, Engine) {
    let (mut outcomes, mut postings) = (Vec::with_capacity(config.batch_size), Vec::new());
    let mut engine = Engine::default();
    let driven = drive(config, rules, label, |batch| {
        outcomes.clear();
        postings.clear();
        let started = Instant::now();
        engine.apply_batch(batch, &mut outcomes, &mut postings);
        (started.elapsed(), outcomes.iter().filter(|outcome| outcome.is_err()).count() as u64)
    });
    (driven, engine)
}

/// Applies every event on its own, timing each scored one; also counts the decisions.
fn latency_pass(config: &BenchConfig) -> (Vec<Duration>, Decisions) {
    let mut engine = Engine::default();
    let mut postings = Vec::new();
    let mut latencies = Vec::with_capacity(config.events as usize);
    let mut decisions = Decisions::default();
    drive(config, true, "latency", |batch| {
        for (index, command) in batch.iter().enumerate() {
            postings.clear();
            let started = Instant::now();
            let _outcome = engine.apply(command, index as u32, &mut postings);
            let elapsed = started.elapsed();
            // The engine says which commands its rules scored: those with a decision.
            let Some(decision) = engine.last_decision() else { continue };
            latencies.push(elapsed);
            decisions.scored += 1;
            match decision.kind {
                model::risk::DecisionKind::Challenge => decisions.challenge += 1,
                model::risk::DecisionKind::Review => decisions.review += 1,
                model::risk::DecisionKind::Deny => decisions.deny += 1,
                model::risk::DecisionKind::Allow => {}
            }
        }
        (Duration::ZERO, 0)
    });
    latencies.sort_unstable();
    (latencies, decisions)
}

/// What a durable pass measured.
struct Durable {
    busy: Duration,
    appends: Vec<Duration>,
    bytes_per_event: f64,
    hash: u64,
}

/// Engine + journal with one fsync per batch, into `journal_dir`.
fn durable_pass(config: &BenchConfig, rules: bool, label: &'static str, journal_dir: &Path) -> anyhow::Result<Durable> {
    let (mut journal, _) = Journal::open(journal::FileStorage::shared(), journal_dir, JournalOptions::default(), &[])?;
    let mut engine = Engine::default();
    let (mut outcomes, mut postings, mut payload) = (Vec::new(), Vec::new(), Vec::new());
    let mut appends = Vec::new();
    let mut failure = None;
    let busy = drive(config, rules, label, |batch| {
        outcomes.clear();
        postings.clear();
        payload.clear();
        let started = Instant::now();
        engine.apply_batch(batch, &mut outcomes, &mut postings);
        codec::encode_batch(batch, &mut payload);
        let appending = Instant::now();
        if let Err(error) = journal.append(&payload, batch.len() as u32) {
            failure.get_or_insert(error);
        }
        appends.push(appending.elapsed());
        (started.elapsed(), 0)
    })
    .busy;
    if let Some(error) = failure {
        return Err(error.into());
    }
    appends.sort_unstable();
    // Every command written, set-up included, is one journal sequence.
    let bytes_per_event = journal.size_bytes() as f64 / (journal.next_sequence() - 1) as f64;
    Ok(Durable { busy, appends, bytes_per_event, hash: engine.state_hash() })
}

/// The median of pass times (of an even count, the slower of the middle two).
fn median(passes: &[Duration]) -> Duration {
    let mut sorted = passes.to_vec();
    sorted.sort_unstable();
    percentile(&sorted, 0.5)
}

fn micros(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1_000.0
}

/// Runs a cold pass of the engine (its memory comes fresh from the OS), then the measured
/// phases over the same workload: `passes` rounds of the engine alone, rules off then on (a pass
/// on this shared VM varies by ±10 %, so the figures are the rounds' medians, and the rounds
/// interleave so a drift in the machine's speed reaches both alike), the latency pass and the
/// durable runs; `journal_dir` receives the durable runs' journals. The cold pass is reported on
/// its own: it is what a process pays once, while its state first grows.
pub fn run(config: &BenchConfig, journal_dir: &Path) -> anyhow::Result<BenchReport> {
    let (cold, cold_engine) = engine_pass(config, true, "cold");
    drop(cold_engine);
    let cold_busy = cold.busy;
    let (mut off_passes, mut on_passes, mut on_batches) = (Vec::new(), Vec::new(), Vec::new());
    let mut last_on: Option<(u64, u64, engine::Counts, i64)> = None;
    for _ in 0..config.passes.max(1) {
        let (off, off_engine) = engine_pass(config, false, "engine off");
        drop(off_engine);
        off_passes.push(off.busy);
        let (on, engine) = engine_pass(config, true, "engine on");
        on_passes.push(on.busy);
        on_batches.extend(on.batches);
        let rejected = on.rejected;
        let fee_income_minor: i64 = engine.fee_income().iter().map(|(_, position)| -position).sum();
        let hash = engine.state_hash();
        let diverged = last_on.as_ref().is_some_and(|(last_hash, ..)| *last_hash != hash);
        anyhow::ensure!(!diverged, "the rules-on passes diverged");
        last_on = Some((hash, rejected, engine.counts(), fee_income_minor));
    }
    let (engine_hash, rejected, counts, fee_income_minor) = last_on.expect("at least one pass ran");
    on_batches.sort_unstable();
    let (latencies, decisions) = latency_pass(config);
    let durable = durable_pass(config, true, "durable on", &journal_dir.join("risk-on"))?;
    anyhow::ensure!(durable.hash == engine_hash, "the durable run diverged from the in-memory run");
    let durable_off = durable_pass(config, false, "durable off", &journal_dir.join("risk-off"))?;
    let events = config.events;
    let per_sec = |busy: Duration| events as f64 / busy.as_secs_f64();
    let (on_busy, off_busy) = (median(&on_passes), median(&off_passes));
    Ok(BenchReport {
        engine_events_per_sec: per_sec(on_busy),
        engine_passes_events_per_sec: on_passes.iter().map(|busy| per_sec(*busy)).collect(),
        engine_risk_off_events_per_sec: per_sec(off_busy),
        engine_risk_off_passes_events_per_sec: off_passes.iter().map(|busy| per_sec(*busy)).collect(),
        risk_on_over_off: off_busy.as_secs_f64() / on_busy.as_secs_f64(),
        engine_cold_events_per_sec: per_sec(cold_busy),
        durable_events_per_sec: per_sec(durable.busy),
        durable_risk_off_events_per_sec: per_sec(durable_off.busy),
        decision_p50_us: micros(percentile(&latencies, 0.50)),
        decision_p99_us: micros(percentile(&latencies, 0.99)),
        batch_apply_p99_us: micros(percentile(&on_batches, 0.99)),
        batch_apply_max_us: micros(on_batches.last().copied().unwrap_or_default()),
        decisions,
        batch_size: config.batch_size,
        passes: on_passes.len(),
        events,
        accounts: counts.accounts,
        statements: counts.statements,
        fee_income_minor,
        users: config.population.users,
        merchants: config.population.merchants,
        rejected_share: rejected as f64 / events.max(1) as f64,
        fsync_p50_us: percentile(&durable.appends, 0.50).as_micros() as u64,
        fsync_p99_us: percentile(&durable.appends, 0.99).as_micros() as u64,
        journal_bytes_per_event: durable.bytes_per_event,
        peak_rss_bytes: peak_rss_bytes(),
        seed: config.population.seed,
        id_shape: config.population.id_shape,
        state_hash: format!("{engine_hash:016x}"),
    })
}
