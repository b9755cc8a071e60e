//! Snapshot files: `snapshots/<sequence, 20 digits>.snap`, the engine state after every command
//! before `sequence`. Written to a temporary file, synced, then renamed, so a crash leaves
//! either the old set or the new one. The newest few are kept; older ones are derived data and
//! are removed.
//!
//! Layout: magic `CLS1`, sequence u64 LE, payload length u64 LE, CRC-32C u32 LE over the
//! sequence, length and payload bytes, then the payload.

use crate::error::JournalError;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

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
    directory: PathBuf,
}

fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&header[4..20]), payload)
}

impl SnapshotStore {
    /// Opens (creating if needed) the snapshot directory.
    pub fn open(directory: &Path) -> Result<SnapshotStore, JournalError> {
        fs::create_dir_all(directory).map_err(JournalError::io(directory))?;
        Ok(SnapshotStore { directory: directory.to_owned() })
    }

    fn sequences(&self) -> Result<Vec<u64>, JournalError> {
        let mut sequences = Vec::new();
        for entry in fs::read_dir(&self.directory).map_err(JournalError::io(&self.directory))? {
            let path = entry.map_err(JournalError::io(&self.directory))?.path();
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            if let Some(sequence) = name.strip_suffix(".snap").and_then(|stem| stem.parse::<u64>().ok()) {
                sequences.push(sequence);
            }
        }
        sequences.sort_unstable();
        Ok(sequences)
    }

    fn path(&self, sequence: u64) -> PathBuf {
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
        let temporary = self.directory.join(format!("{sequence:020}.snap.tmp"));
        let mut file = File::create(&temporary).map_err(JournalError::io(&temporary))?;
        file.write_all(&header)
            .and_then(|()| file.write_all(payload))
            .and_then(|()| file.sync_all())
            .map_err(JournalError::io(&temporary))?;
        let path = self.path(sequence);
        fs::rename(&temporary, &path).map_err(JournalError::io(&path))?;
        File::open(&self.directory)
            .and_then(|directory| directory.sync_all())
            .map_err(JournalError::io(&self.directory))?;
        let sequences = self.sequences()?;
        for old in &sequences[..sequences.len().saturating_sub(KEEP)] {
            let old_path = self.path(*old);
            match fs::remove_file(&old_path) {
                // Another writer of snapshots (the projector, or the writer at shutdown) removed it.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                other => other.map_err(JournalError::io(&old_path))?,
            }
        }
        Ok(())
    }

    fn read(&self, sequence: u64) -> Result<SnapshotFile, String> {
        let data = fs::read(self.path(sequence)).map_err(|error| error.to_string())?;
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
}
