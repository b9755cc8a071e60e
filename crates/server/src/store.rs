//! The data directory and recovery: latest snapshot + journal tail = the engine state.
//!
//! Layout of a data directory:
//! - `journal/`   segment files (see the journal crate);
//! - `snapshots/` engine snapshots;
//! - `read.sqlite` the read model (derived; can be deleted and rebuilt);
//! - `keys.json`  API keys (hashed).

use engine::{Engine, SnapshotError};
use journal::{
    FileStorage, Journal, JournalError, JournalOptions, Record, RecordReader, SnapshotStore, Storage, Witness,
};
use model::risk::Decision;
use model::{Command, Outcome, Posting, codec};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Paths inside a data directory, and the storage its journal and snapshots go through.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
    storage: Arc<dyn Storage>,
}

impl DataDir {
    /// Wraps a data directory path on real files (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir::with_storage(root, FileStorage::shared())
    }
    /// A data directory whose journal and snapshots go through `storage` (the read model and
    /// keys are SQLite and JSON files at `root` either way).
    pub fn with_storage(root: impl Into<PathBuf>, storage: Arc<dyn Storage>) -> DataDir {
        DataDir { root: root.into(), storage }
    }
    /// The storage of the journal and snapshots.
    pub fn storage(&self) -> Arc<dyn Storage> {
        self.storage.clone()
    }
    /// The snapshot store.
    pub fn snapshot_store(&self) -> Result<SnapshotStore, JournalError> {
        SnapshotStore::open(self.storage(), &self.snapshots())
    }
    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Journal segments.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal")
    }
    /// Snapshots.
    pub fn snapshots(&self) -> PathBuf {
        self.root.join("snapshots")
    }
    /// The SQLite read model.
    pub fn read_model(&self) -> PathBuf {
        self.root.join("read.sqlite")
    }
    /// The API key file.
    pub fn keys(&self) -> PathBuf {
        self.root.join("keys.json")
    }
    /// The marker of a sandbox data directory (`serve --sandbox`): its clock has been moved, so
    /// its data is test data and is never served as production.
    pub fn sandbox_marker(&self) -> PathBuf {
        self.root.join("SANDBOX")
    }
}

/// Why the stored state could not be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The journal or snapshot files are unreadable or damaged.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A snapshot decodes badly.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A journal record's payload is not a batch of commands.
    #[error("journal record at sequence {sequence} does not decode: {reason}")]
    Decode {
        /// First sequence of the record.
        sequence: u64,
        /// Why.
        reason: String,
    },
    /// The read model cannot be read to learn its position.
    #[error("reading the read model's position in {path}: {reason}")]
    ReadModel {
        /// The read model file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Replay broke a ledger invariant (a bug, or a journal written by other code).
    #[error("ledger invariant broken after sequence {sequence}: {reason}")]
    Invariant {
        /// The last sequence applied.
        sequence: u64,
        /// Which invariant.
        reason: String,
    },
}

/// What recovery did, for the start-up log.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecoveryReport {
    /// The snapshot used, if any.
    pub snapshot_sequence: Option<u64>,
    /// Commands replayed from the journal after the snapshot.
    pub replayed_commands: u64,
    /// Torn-tail bytes moved aside from the journal.
    pub truncated_bytes: u64,
    /// Partial snapshot files of an interrupted save, removed.
    pub partial_snapshots_removed: usize,
    /// The sequence the next command will get.
    pub next_sequence: u64,
}

/// The engine rebuilt, with the journal open for appends.
pub struct Recovered {
    /// The engine state covering every journaled command.
    pub engine: Engine,
    /// The journal, ready to append.
    pub journal: Journal,
    /// Where snapshots go.
    pub snapshots: SnapshotStore,
    /// What recovery did.
    pub report: RecoveryReport,
}

/// One decoded journal batch and what the engine made of it.
pub struct ReplayedBatch<'a> {
    /// Sequence of `commands[0]`.
    pub first_sequence: u64,
    /// The commands.
    pub commands: &'a [Command],
    /// One outcome per command.
    pub outcomes: &'a [Outcome],
    /// Postings, indexed by command position in the batch.
    pub postings: &'a [Posting],
    /// Notable risk decisions, by command position in the batch.
    pub decisions: &'a [(u32, Decision)],
}

/// Decodes a record and applies the commands at or after the engine's position.
pub fn apply_record(
    engine: &mut Engine,
    record: &Record,
    visit: &mut dyn FnMut(ReplayedBatch<'_>),
) -> Result<(), StoreError> {
    let commands = codec::decode_batch(&record.payload)
        .map_err(|reason| StoreError::Decode { sequence: record.first_sequence, reason })?;
    if commands.len() != record.count as usize {
        let reason = format!("{} commands decoded, header says {}", commands.len(), record.count);
        return Err(StoreError::Decode { sequence: record.first_sequence, reason });
    }
    let position = engine.commands_applied() + 1;
    let skip = position.saturating_sub(record.first_sequence) as usize;
    let Some(commands) = commands.get(skip..).filter(|rest| !rest.is_empty()) else { return Ok(()) };
    let (mut outcomes, mut postings, mut decisions) = (Vec::with_capacity(commands.len()), Vec::new(), Vec::new());
    engine.apply_batch_decided(commands, &mut outcomes, &mut postings, &mut decisions);
    let first_sequence = record.first_sequence + skip as u64;
    visit(ReplayedBatch { first_sequence, commands, outcomes: &outcomes, postings: &postings, decisions: &decisions });
    Ok(())
}

/// Restores the newest snapshot at or below `at_most` (or starts empty) and replays the journal
/// up to `end` (exclusive), calling `visit` for every batch applied.
pub fn rebuild(
    data_dir: &DataDir,
    at_most: u64,
    end: u64,
    check_invariants: bool,
    visit: &mut dyn FnMut(ReplayedBatch<'_>),
) -> Result<(Engine, RecordReader, Option<u64>), StoreError> {
    let snapshots = data_dir.snapshot_store()?;
    let (mut engine, snapshot_sequence) = match snapshots.load_latest(at_most)? {
        Some(snapshot) => match Engine::restore(&snapshot.payload) {
            Ok(engine) => (engine, Some(snapshot.sequence)),
            // Another build's layout (an upgrade): the journal keeps every command, so replay it all.
            Err(SnapshotError::Version(version)) => {
                tracing::warn!(
                    version,
                    sequence = snapshot.sequence,
                    "snapshot of another format version; replaying the whole journal"
                );
                (Engine::default(), None)
            }
            Err(error) => return Err(error.into()),
        },
        None => (Engine::default(), None),
    };
    let mut reader = Journal::read_from(data_dir.storage(), &data_dir.journal(), engine.commands_applied() + 1)?;
    while let Some(record) = reader.next_before(end)? {
        apply_record(&mut engine, &record, visit)?;
        if check_invariants {
            engine
                .check_invariants()
                .map_err(|reason| StoreError::Invariant { sequence: record.end_sequence() - 1, reason })?;
        }
    }
    Ok((engine, reader, snapshot_sequence))
}

impl StoreError {
    /// What an operator can do about this error, if anything beyond reading it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            StoreError::Journal(JournalError::Corrupt { .. } | JournalError::Shortened { .. }) => Some(
                "nothing was changed. Restore the data directory from a backup, or run `creditline repair --data-dir DIR` to move the damaged or missing part aside and accept its loss",
            ),
            StoreError::Journal(JournalError::DiskFull { .. }) => {
                Some("free space on the disk (the read model and snapshots can be moved elsewhere), then start again")
            }
            _ => None,
        }
    }

    /// The error's message followed by its hint, for a person at a terminal.
    pub fn with_hint(&self) -> String {
        match self.hint() {
            Some(hint) => format!("{self} ({hint})"),
            None => self.to_string(),
        }
    }
}

/// The read model's projected end (see `projector::read_model_position`), as a store error.
fn read_model_position(path: &Path) -> Result<Option<u64>, StoreError> {
    crate::projector::read_model_position(path)
        .map_err(|error| StoreError::ReadModel { path: path.to_owned(), reason: error.to_string() })
}

/// Evidence of how far the journal was durable, besides its own high-water mark: the newest
/// snapshot's name and the read model's projected position (both only ever made from durable
/// records).
pub fn witnesses(data_dir: &DataDir) -> Result<Vec<Witness>, StoreError> {
    let mut witnesses: Vec<Witness> = data_dir.snapshot_store()?.witness()?.into_iter().collect();
    let path = data_dir.read_model();
    if let Some(end_sequence) = read_model_position(&path)? {
        witnesses.push(Witness { end_sequence, source: format!("the read model {}", path.display()) });
    }
    Ok(witnesses)
}

/// Verifies the journal read-only against its witnesses, as `recover` would: the records found
/// and the next sequence. Safe while a server runs.
pub fn verify(data_dir: &DataDir) -> Result<(journal::Recovered, u64), StoreError> {
    let witnesses = witnesses(data_dir)?;
    Ok(Journal::check(data_dir.storage().as_ref(), &data_dir.journal(), &witnesses)?)
}

/// Opens a data directory for serving: verifies the journal against its witnesses (moving a
/// torn tail aside), removes partial snapshots, restores the newest snapshot and replays the rest.
pub fn recover(data_dir: &DataDir, options: JournalOptions) -> Result<Recovered, StoreError> {
    let witnesses = witnesses(data_dir)?;
    let (journal, found) = Journal::open(data_dir.storage(), &data_dir.journal(), options, &witnesses)?;
    let snapshots = data_dir.snapshot_store()?;
    let partial_snapshots_removed = snapshots.remove_partial()?;
    let end = journal.next_sequence();
    let (engine, _, snapshot_sequence) = rebuild(data_dir, end, end, false, &mut |_| {})?;
    let replayed_commands = end - 1 - snapshot_sequence.map_or(0, |sequence| sequence - 1);
    let report = RecoveryReport {
        snapshot_sequence,
        replayed_commands,
        truncated_bytes: found.truncated_bytes,
        partial_snapshots_removed,
        next_sequence: end,
    };
    Ok(Recovered { engine, journal, snapshots, report })
}

/// Keeps sandbox and production data apart: a sandbox starts only on a new data directory or
/// one marked as a sandbox (and marks it), and a production server refuses a sandbox's data,
/// whose clock was moved.
pub fn check_sandbox(data_dir: &DataDir, sandbox: bool, next_sequence: u64) -> anyhow::Result<()> {
    let marker = data_dir.sandbox_marker();
    match (sandbox, marker.exists()) {
        (true, true) | (false, false) => Ok(()),
        (true, false) if next_sequence == 1 => {
            std::fs::write(&marker, "test data: this directory was served with --sandbox; its clock was moved\n")
                .map_err(|error| anyhow::anyhow!("writing {}: {error}", marker.display()))
        }
        (true, false) => anyhow::bail!(
            "{} holds production data ({} commands); a sandbox starts on a new data directory (--data-dir)",
            data_dir.root().display(),
            next_sequence - 1
        ),
        (false, true) => anyhow::bail!(
            "{} is a sandbox (its clock was moved); serve it with --sandbox, or use another data directory for production",
            data_dir.root().display()
        ),
    }
}

/// What `repair` did to a data directory.
#[derive(Debug, Default)]
pub struct RepairReport {
    /// What the journal repair did.
    pub journal: journal::Repaired,
    /// Files set aside because they describe commands the journal no longer holds (snapshots
    /// past its end, a read model ahead of it): renamed, never deleted.
    pub set_aside: Vec<PathBuf>,
}

/// The operator's step after a refusal to start: the journal's damage (or a shortened end) is
/// accepted, its bytes moved to `journal/quarantine/`; snapshots past the new end and a read
/// model ahead of it are renamed `*.set-aside` (the read model is rebuilt on the next start).
pub fn repair(data_dir: &DataDir) -> Result<RepairReport, StoreError> {
    let storage = data_dir.storage();
    let journal = Journal::repair(storage.as_ref(), &data_dir.journal())?;
    let end = journal.end_sequence;
    let mut report = RepairReport { journal, set_aside: Vec::new() };
    let snapshots = data_dir.snapshot_store()?;
    let set_aside = |path: PathBuf, report: &mut RepairReport| -> Result<(), StoreError> {
        let mut aside = path.clone().into_os_string();
        aside.push(format!(".set-aside-at-{end}"));
        storage.rename(&path, Path::new(&aside)).map_err(|source| JournalError::Io { path: path.clone(), source })?;
        report.set_aside.push(aside.into());
        Ok(())
    };
    for sequence in snapshots.sequences()?.into_iter().filter(|sequence| *sequence > end) {
        set_aside(snapshots.path(sequence), &mut report)?;
    }
    let read_model = data_dir.read_model();
    let ahead = read_model_position(&read_model)?.is_some_and(|position| position > end);
    if ahead {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = read_model.clone().into_os_string();
            path.push(suffix);
            if Path::new(&path).exists() {
                set_aside(path.into(), &mut report)?;
            }
        }
    }
    Ok(report)
}

/// The snapshots' component name in health faults.
pub const SNAPSHOTS: &str = "snapshots";

/// Writes a snapshot of `engine` (which covers every command before `sequence`); a failure is
/// logged and returned for health, not fatal: the journal stays the truth and recovery just
/// replays more of it.
pub fn save_snapshot(snapshots: &SnapshotStore, sequence: u64, engine: &Engine) -> Result<(), String> {
    let started = std::time::Instant::now();
    match snapshots.save(sequence, &engine.snapshot()) {
        Ok(()) => {
            tracing::info!(sequence, elapsed_ms = started.elapsed().as_millis() as u64, "snapshot written");
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, "snapshot failed; recovery will replay more journal");
            Err(format!("the snapshot at sequence {sequence} failed: {error}"))
        }
    }
}
