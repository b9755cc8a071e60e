//! `creditline bench`: the engine alone, then engine + journal with one fsync per batch, over
//! the same seeded workload, in one process.

use crate::workload::{Population, Workload};
use engine::{Command, Engine, codec};
use indicatif::{ProgressBar, ProgressStyle};
use journal::{Journal, JournalOptions};
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// Bench settings.
#[derive(Clone, Copy, Debug)]
pub struct BenchConfig {
    /// The population and seed.
    pub population: Population,
    /// Mixed events to run after set-up.
    pub events: u64,
    /// Commands per batch (per fsync in the durable run).
    pub batch_size: usize,
    /// Whether to draw progress bars.
    pub progress: bool,
}

/// The figures, printed as one JSON object.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Events per second through the engine alone, in memory.
    pub engine_events_per_sec: f64,
    /// The same, on the first pass of the process, while its memory comes fresh from the OS.
    pub engine_cold_events_per_sec: f64,
    /// Events per second through engine + journal with one fsync per batch.
    pub durable_events_per_sec: f64,
    /// Commands per batch.
    pub batch_size: usize,
    /// Mixed events measured (set-up commands excluded).
    pub events: u64,
    /// Ledger accounts at the end.
    pub accounts: usize,
    /// Users.
    pub users: u64,
    /// Merchants.
    pub merchants: u64,
    /// Share of events the engine rejected (insufficient funds and the like are part of the mix).
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
}

fn bar(config: &BenchConfig, label: &'static str) -> ProgressBar {
    if !config.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(config.events);
    let style = ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} {per_sec}")
        .expect("the template is valid")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label);
    bar
}

/// Runs `apply` over the workload in batches; returns the time spent inside `apply` and the rejections.
fn drive(
    config: &BenchConfig,
    label: &'static str,
    mut apply: impl FnMut(&[Command]) -> (Duration, u64),
) -> (Duration, u64) {
    let mut workload = Workload::new(config.population);
    let setup = workload.setup();
    for chunk in setup.chunks(config.batch_size) {
        apply(chunk);
    }
    let progress = bar(config, label);
    let (mut busy, mut rejected, mut done) = (Duration::ZERO, 0u64, 0u64);
    let mut batch = Vec::with_capacity(config.batch_size);
    while done < config.events {
        batch.clear();
        let size = (config.events - done).min(config.batch_size as u64);
        batch.extend((0..size).map(|_| workload.next_event()));
        let (elapsed, batch_rejected) = apply(&batch);
        busy += elapsed;
        rejected += batch_rejected;
        done += size;
        progress.inc(size);
    }
    progress.finish_and_clear();
    (busy, rejected)
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).and_then(|kilobytes| kilobytes.parse::<u64>().ok()).unwrap_or(0) * 1024
}

fn percentile(sorted: &[Duration], share: f64) -> u64 {
    let index = ((sorted.len() as f64 * share) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(index).map_or(0, |duration| duration.as_micros() as u64)
}

/// Runs a cold pass of the engine (its memory comes fresh from the OS), then the two measured
/// phases over the same workload; `journal_dir` receives the durable run's journal. The cold
/// pass is reported on its own: it is what a process pays once, while its state first grows.
pub fn run(config: &BenchConfig, journal_dir: &Path) -> anyhow::Result<BenchReport> {
    let (mut outcomes, mut postings) = (Vec::with_capacity(config.batch_size), Vec::new());
    let mut cold = Engine::default();
    let (cold_busy, _) = drive(config, "cold", |batch| {
        outcomes.clear();
        postings.clear();
        let started = Instant::now();
        cold.apply_batch(batch, &mut outcomes, &mut postings);
        (started.elapsed(), 0)
    });
    drop(cold);
    let mut engine = Engine::default();
    let count_rejected =
        |outcomes: &[engine::Outcome]| outcomes.iter().filter(|outcome| outcome.is_err()).count() as u64;
    let (engine_busy, rejected) = drive(config, "engine", |batch| {
        outcomes.clear();
        postings.clear();
        let started = Instant::now();
        engine.apply_batch(batch, &mut outcomes, &mut postings);
        (started.elapsed(), count_rejected(&outcomes))
    });
    let counts = engine.counts();
    let fee_income_minor: i64 = engine.fee_income().iter().map(|(_, position)| -position).sum();
    let engine_hash = engine.state_hash();
    drop(engine);

    let (mut journal, _) = Journal::open(journal_dir, JournalOptions::default())?;
    let mut engine = Engine::default();
    let mut payload = Vec::new();
    let mut appends = Vec::new();
    let mut failure = None;
    let (durable_busy, _) = drive(config, "durable", |batch| {
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
    });
    if let Some(error) = failure {
        return Err(error.into());
    }
    anyhow::ensure!(engine.state_hash() == engine_hash, "the durable run diverged from the in-memory run");
    appends.sort_unstable();
    let events = config.events;
    Ok(BenchReport {
        engine_events_per_sec: events as f64 / engine_busy.as_secs_f64(),
        engine_cold_events_per_sec: events as f64 / cold_busy.as_secs_f64(),
        durable_events_per_sec: events as f64 / durable_busy.as_secs_f64(),
        batch_size: config.batch_size,
        events,
        accounts: counts.accounts,
        statements: counts.statements,
        fee_income_minor,
        users: config.population.users,
        merchants: config.population.merchants,
        rejected_share: rejected as f64 / events.max(1) as f64,
        fsync_p50_us: percentile(&appends, 0.50),
        fsync_p99_us: percentile(&appends, 0.99),
        // Every command written, set-up included, is one journal sequence.
        journal_bytes_per_event: journal.size_bytes() as f64 / (journal.next_sequence() - 1) as f64,
        peak_rss_bytes: peak_rss_bytes(),
        seed: config.population.seed,
    })
}
