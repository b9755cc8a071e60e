//! Segment files: `journal/<first sequence, 20 digits>.log`, each a run of records; the
//! high-water mark `journal/high-water.mark`; bytes moved aside in `journal/quarantine/`.

use crate::error::JournalError;
use crate::record::{HEADER_BYTES, RECORD_PAYLOAD_MAX_BYTES, Record, decode_header, encode_header};
use crate::storage::{Storage, write_atomically};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Tunables of the journal.
#[derive(Clone, Copy, Debug)]
pub struct JournalOptions {
    /// A new segment starts once the active one reaches this size.
    pub segment_max_bytes: u64,
    /// Opening for appends refuses when the disk has less free space than this: a server that
    /// starts on a full disk only crash-loops on its first append.
    pub free_bytes_min: u64,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions { segment_max_bytes: 64 << 20, free_bytes_min: 64 << 20 }
    }
}

/// Evidence, from outside the journal, that every command below `end_sequence` was durable: a
/// snapshot, or a read model's position. Opening refuses a journal that ends below any witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// Every command with a sequence below this was durable.
    pub end_sequence: u64,
    /// What says so, for the refusal message (a file path and what it is).
    pub source: String,
}

/// What opening or checking the journal found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Valid records.
    pub records: u64,
    /// Bytes of torn tail (an interrupted last write) found after the last valid record.
    pub truncated_bytes: u64,
    /// Where opening moved the torn tail's bytes (nothing is deleted); `None` if there was none
    /// or nothing was changed (a check).
    pub quarantined: Option<PathBuf>,
}

/// What [`Journal::repair`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    /// The journal's end after the repair (the next sequence).
    pub end_sequence: u64,
    /// The high-water mark before the repair: commands from `end_sequence` below it are lost
    /// from the journal (their bytes are in `moved`, if they were still there).
    pub previous_high_water: u64,
    /// Files holding the bytes moved aside, in `journal/quarantine/`.
    pub moved: Vec<PathBuf>,
    /// The damage that was repaired, as the refusal named it; `None` for a shortened journal.
    pub damage: Option<String>,
}

#[derive(Debug)]
struct Segment {
    first_sequence: u64,
    path: PathBuf,
    bytes: u64,
}

/// The append side of the journal. One writer owns it.
#[derive(Debug)]
pub struct Journal {
    storage: Arc<dyn Storage>,
    directory: PathBuf,
    options: JournalOptions,
    segments: Vec<Segment>,
    next_sequence: u64,
    high_water: u64,
    bytes: u64,
    poisoned: bool,
}

/// Damage found while scanning: where, why, and whether it is a torn last write.
struct Damage {
    segment: usize,
    offset: u64,
    reason: String,
    torn: bool,
}

/// The result of verifying every segment.
struct Verified {
    segments: Vec<Segment>,
    records: u64,
    next_sequence: u64,
    /// Offset and length of the last valid record, for the rewrite on open.
    last_record: Option<(u64, usize)>,
    damage: Option<Damage>,
}

const HIGH_WATER_FILE: &str = "high-water.mark";
const HIGH_WATER_MAGIC: [u8; 4] = *b"CLH1";
const QUARANTINE: &str = "quarantine";

fn segment_path(directory: &Path, first_sequence: u64) -> PathBuf {
    directory.join(format!("{first_sequence:020}.log"))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_owned(), source }
}

fn list_segments(storage: &dyn Storage, directory: &Path) -> Result<Vec<Segment>, JournalError> {
    let mut segments = Vec::new();
    for name in storage.list(directory).map_err(io_error(directory))? {
        let Some(stem) = name.strip_suffix(".log") else { continue };
        let path = directory.join(&name);
        let first_sequence = stem.parse::<u64>().map_err(|_| JournalError::Corrupt {
            path: path.clone(),
            offset: 0,
            reason: "segment name is not a sequence number".into(),
        })?;
        let bytes = storage.length(&path).map_err(io_error(&path))?;
        segments.push(Segment { first_sequence, path, bytes });
    }
    segments.sort_by_key(|segment| segment.first_sequence);
    Ok(segments)
}

/// Classifies the bytes at the start of `data` as a record: Ok((bytes, header)), or the
/// reason it is not one and whether that is a torn write (a crash mid-append) rather than
/// corruption. Torn is only: fewer bytes than a header, nothing but zeros (space the file
/// system extended but never wrote), or a verified header whose payload runs past the end.
fn check_record(data: &[u8], expected_sequence: u64) -> Result<(usize, crate::record::Header), (String, bool)> {
    if data.iter().all(|byte| *byte == 0) {
        return Err((format!("{} zero bytes where a record should start", data.len()), true));
    }
    let Some(raw) = data.first_chunk::<HEADER_BYTES>() else {
        return Err((format!("incomplete header of {} bytes", data.len()), true));
    };
    let header = decode_header(raw).map_err(|reason| (reason, false))?;
    let Some(payload) = data.get(HEADER_BYTES..header.record_bytes()) else {
        let reason = format!("payload of {} bytes runs past the end of the file", header.payload_bytes);
        return Err((reason, true));
    };
    header.verify(payload).map_err(|reason| (reason, false))?;
    if header.first_sequence != expected_sequence {
        let reason = format!("record starts at sequence {}, expected {expected_sequence}", header.first_sequence);
        return Err((reason, false));
    }
    Ok((header.record_bytes(), header))
}

/// Verifies every segment in order; stops at the first damage, which is torn only in the last
/// segment.
fn verify(storage: &dyn Storage, directory: &Path) -> Result<Verified, JournalError> {
    let segments = list_segments(storage, directory)?;
    let mut verified = Verified {
        records: 0,
        // The journal is never pruned: it starts at sequence 1, and a missing first segment is
        // lost history like any other.
        next_sequence: 1,
        last_record: None,
        damage: None,
        segments: Vec::new(),
    };
    let count = segments.len();
    for (index, mut segment) in segments.into_iter().enumerate() {
        if segment.first_sequence != verified.next_sequence {
            let reason = format!(
                "segment starts at sequence {}, expected {} (a segment is missing)",
                segment.first_sequence, verified.next_sequence
            );
            verified.damage = Some(Damage { segment: index, offset: 0, reason, torn: false });
            verified.segments.push(segment);
            return Ok(verified);
        }
        let data = storage.read(&segment.path).map_err(io_error(&segment.path))?;
        let mut offset = 0usize;
        while offset < data.len() {
            match check_record(&data[offset..], verified.next_sequence) {
                Ok((record_bytes, header)) => {
                    verified.last_record = Some((offset as u64, record_bytes));
                    offset += record_bytes;
                    verified.records += 1;
                    verified.next_sequence = header.first_sequence + u64::from(header.count);
                }
                Err((reason, torn)) => {
                    let torn = torn && index + 1 == count;
                    verified.damage = Some(Damage { segment: index, offset: offset as u64, reason, torn });
                    break;
                }
            }
        }
        segment.bytes = data.len() as u64;
        verified.segments.push(segment);
        if verified.damage.is_some() {
            break;
        }
    }
    Ok(verified)
}

fn read_high_water(storage: &dyn Storage, directory: &Path) -> Result<u64, JournalError> {
    let path = directory.join(HIGH_WATER_FILE);
    let data = match storage.read(&path) {
        Ok(data) => data,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(1),
        Err(error) => return Err(JournalError::Io { path, source: error }),
    };
    let valid = data.len() == 16
        && data[0..4] == HIGH_WATER_MAGIC
        && crc32c::crc32c(&data[0..12]).to_le_bytes() == data[12..16];
    if !valid {
        let reason = "the high-water mark file is damaged; `repair` rewrites it from the journal".into();
        return Err(JournalError::Corrupt { path, offset: 0, reason });
    }
    Ok(u64::from_le_bytes(data[4..12].try_into().expect("eight bytes")))
}

fn write_high_water(storage: &dyn Storage, directory: &Path, end_sequence: u64) -> Result<(), JournalError> {
    let mut data = [0u8; 16];
    data[0..4].copy_from_slice(&HIGH_WATER_MAGIC);
    data[4..12].copy_from_slice(&end_sequence.to_le_bytes());
    let crc = crc32c::crc32c(&data[0..12]);
    data[12..16].copy_from_slice(&crc.to_le_bytes());
    let path = directory.join(HIGH_WATER_FILE);
    write_atomically(storage, &path, &[&data]).map_err(io_error(&path))
}

/// Copies `bytes` into a new file in the quarantine directory, durably, and returns its path.
fn quarantine(storage: &dyn Storage, directory: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, JournalError> {
    let quarantine = directory.join(QUARANTINE);
    storage.create_dir_all(&quarantine).map_err(io_error(&quarantine))?;
    let mut path = quarantine.join(name);
    let mut attempt = 1;
    while storage.length(&path).is_ok() {
        attempt += 1;
        path = quarantine.join(format!("{name}.{attempt}"));
    }
    write_atomically(storage, &path, &[bytes]).map_err(io_error(&path))?;
    Ok(path)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The highest witness, the journal's own mark included.
fn required_end(high_water: u64, witnesses: &[Witness], directory: &Path) -> Witness {
    let own = Witness {
        end_sequence: high_water,
        source: format!("the journal's high-water mark {}", directory.join(HIGH_WATER_FILE).display()),
    };
    witnesses.iter().cloned().chain([own]).max_by_key(|witness| witness.end_sequence).expect("one witness at least")
}

impl Journal {
    /// Opens (or creates) the journal in `directory`, verifying every record. A torn tail (an
    /// interrupted last write, never acknowledged) is moved to the quarantine directory and cut
    /// off; any other damage, or a journal ending below its high-water mark or below a
    /// `witness`, refuses with a precise error and changes nothing.
    pub fn open(
        storage: Arc<dyn Storage>,
        directory: &Path,
        options: JournalOptions,
        witnesses: &[Witness],
    ) -> Result<(Journal, Recovered), JournalError> {
        storage.create_dir_all(directory).map_err(io_error(directory))?;
        crate::storage::remove_temporary_files(storage.as_ref(), directory).map_err(io_error(directory))?;
        let available = storage.available_bytes(directory).map_err(io_error(directory))?;
        if available < options.free_bytes_min {
            let (path, required) = (directory.to_owned(), options.free_bytes_min);
            return Err(JournalError::DiskFull { path, available, required });
        }
        let high_water = read_high_water(storage.as_ref(), directory)?;
        let mut verified = verify(storage.as_ref(), directory)?;
        let mut recovered = Recovered { records: verified.records, ..Recovered::default() };
        if let Some(damage) = verified.damage.as_ref().filter(|damage| !damage.torn) {
            let path = verified.segments[damage.segment].path.clone();
            return Err(JournalError::Corrupt { path, offset: damage.offset, reason: damage.reason.clone() });
        }
        Self::check_end(verified.next_sequence, high_water, witnesses, directory)?;
        if let Some(damage) = verified.damage.take() {
            let segment = &mut verified.segments[damage.segment];
            recovered.truncated_bytes = segment.bytes - damage.offset;
            let data = storage.read(&segment.path).map_err(io_error(&segment.path))?;
            let name = format!("{}.{}.torn", file_name(&segment.path), damage.offset);
            let moved = quarantine(storage.as_ref(), directory, &name, &data[damage.offset as usize..])?;
            tracing::warn!(path = %segment.path.display(), offset = damage.offset, bytes = recovered.truncated_bytes,
                reason = %damage.reason, moved_to = %moved.display(),
                "journal has a torn tail (an interrupted last write, never acknowledged); moved aside and cut off");
            storage
                .truncate(&segment.path, damage.offset)
                .and_then(|()| storage.sync(&segment.path))
                .map_err(io_error(&segment.path))?;
            segment.bytes = damage.offset;
            recovered.quarantined = Some(moved);
        }
        let mut journal = Journal {
            storage,
            directory: directory.to_owned(),
            options,
            segments: verified.segments,
            next_sequence: verified.next_sequence,
            high_water,
            bytes: 0,
            poisoned: false,
        };
        if journal.segments.is_empty() {
            journal.create_segment(1)?;
        }
        journal.bytes = journal.segments.iter().map(|segment| segment.bytes).sum();
        journal.resync_last_record(verified.last_record)?;
        journal.checkpoint()?;
        Ok((journal, recovered))
    }

    /// Refuses a journal that ends below what was durable once.
    fn check_end(end: u64, high_water: u64, witnesses: &[Witness], directory: &Path) -> Result<(), JournalError> {
        let required = required_end(high_water, witnesses, directory);
        match end < required.end_sequence {
            true => Err(JournalError::Shortened { end, required: required.end_sequence, witness: required.source }),
            false => Ok(()),
        }
    }

    /// Writes the last record again and syncs it. After a failed `fdatasync` the kernel may have
    /// marked the record's pages clean without writing them: the record reads back from the page
    /// cache yet is not on disk, and a later sync would not write it. Writing it again makes it
    /// durable now, or fails the open.
    fn resync_last_record(&self, last_record: Option<(u64, usize)>) -> Result<(), JournalError> {
        let (Some((offset, length)), Some(segment)) = (last_record, self.segments.last()) else { return Ok(()) };
        if offset + length as u64 != segment.bytes {
            return Ok(());
        }
        let mut bytes = vec![0u8; length];
        let read = self.storage.read_at(&segment.path, offset, &mut bytes).map_err(io_error(&segment.path))?;
        assert_eq!(read, length, "the record was verified a moment ago");
        self.storage
            .write_at(&segment.path, offset, &bytes)
            .and_then(|()| self.storage.sync(&segment.path))
            .map_err(io_error(&segment.path))
    }

    /// Verifies the journal read-only, as [`Journal::open`] would, and reports what it found;
    /// a torn tail is reported (`truncated_bytes`) but not moved.
    pub fn check(
        storage: &dyn Storage,
        directory: &Path,
        witnesses: &[Witness],
    ) -> Result<(Recovered, u64), JournalError> {
        let high_water = read_high_water(storage, directory)?;
        let verified = verify(storage, directory)?;
        let mut recovered = Recovered { records: verified.records, ..Recovered::default() };
        if let Some(damage) = verified.damage {
            let segment = &verified.segments[damage.segment];
            if !damage.torn {
                return Err(JournalError::Corrupt {
                    path: segment.path.clone(),
                    offset: damage.offset,
                    reason: damage.reason,
                });
            }
            recovered.truncated_bytes = segment.bytes - damage.offset;
        }
        Self::check_end(verified.next_sequence, high_water, witnesses, directory)?;
        Ok((recovered, verified.next_sequence))
    }

    /// The operator's step after a refusal: moves the damaged record and everything after it
    /// (the rest of its segment, every later segment) into `journal/quarantine/`, and lowers the
    /// high-water mark to the journal's new end, accepting that the commands from there on are
    /// not in the journal. Nothing is deleted. On an intact journal that only ended below its
    /// mark, nothing is moved and the mark is lowered.
    pub fn repair(storage: &dyn Storage, directory: &Path) -> Result<Repaired, JournalError> {
        let previous_high_water = match read_high_water(storage, directory) {
            Ok(high_water) => high_water,
            Err(JournalError::Corrupt { .. }) => 1,
            Err(error) => return Err(error),
        };
        let verified = verify(storage, directory)?;
        let mut repaired =
            Repaired { end_sequence: verified.next_sequence, previous_high_water, ..Repaired::default() };
        if let Some(damage) = &verified.damage {
            repaired.damage = Some(format!(
                "{} at byte {}: {}",
                verified.segments[damage.segment].path.display(),
                damage.offset,
                damage.reason
            ));
            let damaged = &verified.segments[damage.segment];
            let from_damage = list_segments(storage, directory)?
                .into_iter()
                .filter(|segment| segment.first_sequence >= damaged.first_sequence);
            for segment in from_damage {
                let data = storage.read(&segment.path).map_err(io_error(&segment.path))?;
                let cut = if segment.path == damaged.path { damage.offset } else { 0 };
                let name = format!("{}.{cut}.damaged", file_name(&segment.path));
                repaired.moved.push(quarantine(storage, directory, &name, &data[cut as usize..])?);
                match cut {
                    0 => storage.remove(&segment.path),
                    _ => storage.truncate(&segment.path, cut).and_then(|()| storage.sync(&segment.path)),
                }
                .map_err(io_error(&segment.path))?;
            }
            storage.sync_directory(directory).map_err(io_error(directory))?;
        }
        write_high_water(storage, directory, repaired.end_sequence)?;
        tracing::warn!(
            end = repaired.end_sequence,
            previous_high_water,
            moved = repaired.moved.len(),
            "journal repaired"
        );
        Ok(repaired)
    }

    fn create_segment(&mut self, first_sequence: u64) -> Result<(), JournalError> {
        let path = segment_path(&self.directory, first_sequence);
        self.storage.create_new(&path).map_err(io_error(&path))?;
        self.storage.sync_directory(&self.directory).map_err(io_error(&self.directory))?;
        self.segments.push(Segment { first_sequence, path, bytes: 0 });
        Ok(())
    }

    /// Records the durable end as the high-water mark, if it moved: recovery refuses to start
    /// below it. The writer calls this now and then (it costs a small atomic file write); every
    /// segment roll does it too, so a deleted newest segment is always noticed.
    pub fn checkpoint(&mut self) -> Result<(), JournalError> {
        if self.next_sequence > self.high_water {
            write_high_water(self.storage.as_ref(), &self.directory, self.next_sequence)?;
            self.high_water = self.next_sequence;
        }
        Ok(())
    }

    /// Appends one batch and makes it durable before returning its first sequence number.
    /// After an I/O error the journal cuts the partial record off (best effort) and refuses
    /// further appends: the process must restart and recover.
    pub fn append(&mut self, payload: &[u8], count: u32) -> Result<u64, JournalError> {
        if payload.len() > RECORD_PAYLOAD_MAX_BYTES {
            return Err(JournalError::PayloadTooLarge { bytes: payload.len(), max: RECORD_PAYLOAD_MAX_BYTES });
        }
        if self.poisoned {
            let path = self.active().path.clone();
            let source = std::io::Error::other("an earlier append failed; restart to recover");
            return Err(JournalError::Io { path, source });
        }
        self.poisoned = true;
        if self.active().bytes >= self.options.segment_max_bytes {
            self.create_segment(self.next_sequence)?;
            self.checkpoint()?;
        }
        let first_sequence = self.next_sequence;
        let header = encode_header(first_sequence, count, payload);
        let active = self.active();
        let (path, length) = (active.path.clone(), active.bytes);
        let written = self.storage.append(&path, &[&header, payload]).and_then(|()| self.storage.sync(&path));
        if let Err(source) = written {
            // The record is not acknowledged; leaving it where a restart would trust it from the
            // page cache is what must not happen.
            let _ = self.storage.truncate(&path, length).and_then(|()| self.storage.sync(&path));
            return Err(JournalError::Io { path, source });
        }
        let record_bytes = (HEADER_BYTES + payload.len()) as u64;
        self.segments.last_mut().expect("at least one segment exists").bytes += record_bytes;
        self.bytes += record_bytes;
        self.next_sequence += u64::from(count);
        self.poisoned = false;
        Ok(first_sequence)
    }

    fn active(&self) -> &Segment {
        self.segments.last().expect("at least one segment exists")
    }

    /// The sequence the next appended command will get.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Total bytes in all segments.
    pub fn size_bytes(&self) -> u64 {
        self.bytes
    }

    /// Reads, in order, every record whose commands end after `from_sequence`. The reader can
    /// also tail a journal that is being appended to: see [`RecordReader::next_before`].
    pub fn read_from(
        storage: Arc<dyn Storage>,
        directory: &Path,
        from_sequence: u64,
    ) -> Result<RecordReader, JournalError> {
        let segments = list_segments(storage.as_ref(), directory)?;
        let start = segments.iter().rposition(|segment| segment.first_sequence <= from_sequence).unwrap_or(0);
        let expected = segments.get(start).map_or(1, |segment| segment.first_sequence);
        Ok(RecordReader {
            storage,
            directory: directory.to_owned(),
            current: None,
            buffer: Vec::new(),
            buffer_start: 0,
            buffer_filled: 0,
            expected,
            from_sequence,
        })
    }
}

/// Bytes a reader asks the storage for at once.
const READ_CHUNK_BYTES: usize = 1 << 20;

/// Iterates records across segments, verifying each checksum again as it reads.
pub struct RecordReader {
    storage: Arc<dyn Storage>,
    directory: PathBuf,
    /// The segment being read and the offset of its next record.
    current: Option<(PathBuf, u64)>,
    /// Bytes of the current segment from `buffer_start`; the first `buffer_filled` are valid.
    buffer: Vec<u8>,
    buffer_start: u64,
    buffer_filled: usize,
    /// The first sequence of the next record.
    expected: u64,
    from_sequence: u64,
}

impl RecordReader {
    /// The first sequence of the next record to be read.
    pub fn next_sequence(&self) -> u64 {
        self.expected
    }

    /// The next record, if it starts before `durable_end`: records below the writer's durable
    /// sequence are complete, so a reader that stays below it never sees a write in progress.
    pub fn next_before(&mut self, durable_end: u64) -> Result<Option<Record>, JournalError> {
        while self.expected < durable_end {
            let record = self.read_next()?.ok_or_else(|| JournalError::Corrupt {
                path: self.directory.clone(),
                offset: 0,
                reason: format!("no record starts at sequence {}, which is below the end {durable_end}", self.expected),
            })?;
            if record.end_sequence() > self.from_sequence {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// The `length` bytes of the current segment at `offset`, or fewer at its end. The buffer
    /// is allocated once (grown only for a record larger than it) and refilled in place.
    fn bytes_at(&mut self, path: &Path, offset: u64, length: usize) -> Result<&[u8], JournalError> {
        let buffered_end = self.buffer_start + self.buffer_filled as u64;
        if offset < self.buffer_start || offset + length as u64 > buffered_end {
            if self.buffer.len() < length.max(READ_CHUNK_BYTES) {
                self.buffer = vec![0; length.max(READ_CHUNK_BYTES)];
            }
            let mut filled = 0;
            while filled < self.buffer.len() {
                match self.storage.read_at(path, offset + filled as u64, &mut self.buffer[filled..]) {
                    Ok(0) => break,
                    Ok(read) => filled += read,
                    Err(source) => return Err(JournalError::Io { path: path.to_owned(), source }),
                }
            }
            self.buffer_filled = filled;
            self.buffer_start = offset;
        }
        let start = (offset - self.buffer_start) as usize;
        let end = (start + length).min(self.buffer_filled);
        Ok(&self.buffer[start..end])
    }

    /// Reads the record at `expected`, switching to its segment when the current one ends.
    fn read_next(&mut self) -> Result<Option<Record>, JournalError> {
        loop {
            let (path, offset) = match &self.current {
                Some((path, offset)) => (path.clone(), *offset),
                None => {
                    let path = segment_path(&self.directory, self.expected);
                    if self.storage.length(&path).is_err() {
                        return Ok(None);
                    }
                    self.current = Some((path.clone(), 0));
                    self.buffer_filled = 0;
                    self.buffer_start = 0;
                    (path, 0)
                }
            };
            let raw = self.bytes_at(&path, offset, HEADER_BYTES)?;
            if raw.is_empty() {
                if segment_path(&self.directory, self.expected) == path {
                    return Ok(None);
                }
                self.current = None;
                continue;
            }
            let corrupt = |reason: String| JournalError::Corrupt { path: path.clone(), offset, reason };
            let raw: &[u8; HEADER_BYTES] =
                raw.try_into().map_err(|_| corrupt(format!("incomplete header of {} bytes", raw.len())))?;
            let header = decode_header(raw).map_err(corrupt)?;
            let expected = self.expected;
            let record = self.bytes_at(&path, offset, header.record_bytes())?;
            let payload = record.get(HEADER_BYTES..header.record_bytes()).ok_or_else(|| {
                corrupt(format!("payload of {} bytes runs past the end of the file", header.payload_bytes))
            })?;
            header.verify(payload).map_err(corrupt)?;
            if header.first_sequence != expected {
                return Err(corrupt(format!("record starts at {}, expected {expected}", header.first_sequence)));
            }
            let record =
                Record { first_sequence: header.first_sequence, count: header.count, payload: payload.to_vec() };
            self.current = Some((path, offset + header.record_bytes() as u64));
            self.expected = record.end_sequence();
            return Ok(Some(record));
        }
    }
}

impl Iterator for RecordReader {
    type Item = Result<Record, JournalError>;
    /// Reads to the end of what is on disk now.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.read_next() {
                Ok(Some(record)) if record.end_sequence() <= self.from_sequence => continue,
                other => return other.transpose(),
            }
        }
    }
}
