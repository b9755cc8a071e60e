//! Snapshot files: `snapshots/<sequence, 20 digits>.snap`, the engine state after every command
//! before `sequence`. Written to a temporary file, synced, then renamed, so a crash leaves
//! either the old set or the new one. The newest few are kept; older ones are derived data and
//! are removed.
//!
//! Layout: magic `CLS1`, sequence u64 LE, payload length u64 LE, CRC-32C u32 LE over the
//! sequence, length and payload bytes, then the payload.

use crate::error::JournalError;
use crate::storage::{Storage, remove_temporary_files, write_atomically};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: [u8; 4] = *b"CLS1";
const HEADER_BYTES: usize = 24;
/// How many snapshots are kept.
const KEEP: usize = 2;

/// A verified snapshot read from disk.
#[derive(Debug, PartialEq, Eq)]
pub struct SnapshotFile {
    /// The state covers every command with a sequence below this.
    pub sequence: u64,
    /// The opaque state bytes.
    pub payload: Vec<u8>,
}

/// The directory of snapshots.
#[derive(Clone, Debug)]
pub struct SnapshotStore {
    storage: Arc<dyn Storage>,
    directory: PathBuf,
}

fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&header[4..20]), payload)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_owned(), source }
}

impl SnapshotStore {
    /// Opens (creating if needed) the snapshot directory.
    pub fn open(storage: Arc<dyn Storage>, directory: &Path) -> Result<SnapshotStore, JournalError> {
        storage.create_dir_all(directory).map_err(io_error(directory))?;
        Ok(SnapshotStore { storage, directory: directory.to_owned() })
    }

    /// Removes partial snapshot files an interrupted save left (each can be a whole copy of the
    /// state). Only at start-up, before anything saves.
    pub fn remove_partial(&self) -> Result<usize, JournalError> {
        remove_temporary_files(self.storage.as_ref(), &self.directory).map_err(io_error(&self.directory))
    }

    /// The sequences of the snapshot files present, oldest first.
    pub fn sequences(&self) -> Result<Vec<u64>, JournalError> {
        let names = self.storage.list(&self.directory).map_err(io_error(&self.directory))?;
        let mut sequences: Vec<u64> = names
            .iter()
            .filter_map(|name| name.strip_suffix(".snap").and_then(|stem| stem.parse::<u64>().ok()))
            .collect();
        sequences.sort_unstable();
        Ok(sequences)
    }

    /// The file of the snapshot at `sequence`.
    pub fn path(&self, sequence: u64) -> PathBuf {
        self.directory.join(format!("{sequence:020}.snap"))
    }

    /// Durably writes a snapshot, then removes all but the newest few.
    pub fn save(&self, sequence: u64, payload: &[u8]) -> Result<(), JournalError> {
        let mut header = [0u8; HEADER_BYTES];
        header[0..4].copy_from_slice(&MAGIC);
        header[4..12].copy_from_slice(&sequence.to_le_bytes());
        header[12..20].copy_from_slice(&(payload.len() as u64).to_le_bytes());
        let crc = checksum(&header, payload);
        header[20..24].copy_from_slice(&crc.to_le_bytes());
        let path = self.path(sequence);
        write_atomically(self.storage.as_ref(), &path, &[&header, payload]).map_err(io_error(&path))?;
        let sequences = self.sequences()?;
        for old in &sequences[..sequences.len().saturating_sub(KEEP)] {
            let old_path = self.path(*old);
            match self.storage.remove(&old_path) {
                // Another writer of snapshots (the projector, or the writer at shutdown) removed it.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                other => other.map_err(io_error(&old_path))?,
            }
        }
        Ok(())
    }

    fn read(&self, sequence: u64) -> Result<SnapshotFile, String> {
        let data = self.storage.read(&self.path(sequence)).map_err(|error| error.to_string())?;
        let header = data.get(..HEADER_BYTES).ok_or("shorter than its header")?;
        if header[0..4] != MAGIC {
            return Err("bad magic".into());
        }
        let stored_sequence = u64::from_le_bytes(header[4..12].try_into().expect("8 bytes"));
        let length = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(header[20..24].try_into().expect("4 bytes"));
        let payload = &data[HEADER_BYTES..];
        if stored_sequence != sequence || length != payload.len() as u64 || crc != checksum(header, payload) {
            return Err("header or checksum does not match the contents".into());
        }
        Ok(SnapshotFile { sequence, payload: payload.to_vec() })
    }

    /// The newest snapshot at or below `at_most` whose checksum verifies; damaged ones are
    /// skipped with a warning.
    pub fn load_latest(&self, at_most: u64) -> Result<Option<SnapshotFile>, JournalError> {
        for sequence in self.sequences()?.into_iter().rev().filter(|sequence| *sequence <= at_most) {
            match self.read(sequence) {
                Ok(snapshot) => return Ok(Some(snapshot)),
                Err(reason) => {
                    tracing::warn!(sequence, %reason, "skipping a damaged snapshot; recovery replays more journal")
                }
            }
        }
        Ok(None)
    }

    /// The newest snapshot, as a witness of the journal's durable end. Its name is proof enough
    /// without reading it: a `.snap` name only appears by a rename after the whole file was
    /// synced, and snapshots are made only from durable records; damage to the contents does not
    /// change what the name proves. (Reading it here would read the largest file of the data
    /// directory twice at every start: recovery loads it anyway.)
    pub fn witness(&self) -> Result<Option<crate::Witness>, JournalError> {
        Ok(self.sequences()?.last().map(|&sequence| {
            let source = format!("the snapshot {}", self.path(sequence).display());
            crate::Witness { end_sequence: sequence, source }
        }))
    }
}
