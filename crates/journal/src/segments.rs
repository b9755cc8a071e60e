//! Segment files: `journal/<first sequence, 20 digits>.log`, each a run of records.

use crate::error::JournalError;
use crate::record::{HEADER_BYTES, RECORD_PAYLOAD_MAX_BYTES, Record, decode_header, encode_header};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Tunables of the journal.
#[derive(Clone, Copy, Debug)]
pub struct JournalOptions {
    /// A new segment starts once the active one reaches this size.
    pub segment_max_bytes: u64,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions { segment_max_bytes: 64 << 20 }
    }
}

/// What opening the journal found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Valid records.
    pub records: u64,
    /// Bytes of torn tail removed (0 when the journal was clean).
    pub truncated_bytes: u64,
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
    directory: PathBuf,
    options: JournalOptions,
    segments: Vec<Segment>,
    active: File,
    next_sequence: u64,
    bytes: u64,
    poisoned: bool,
}

/// The result of scanning one segment.
struct Scan {
    records: u64,
    end_sequence: u64,
    valid_bytes: u64,
    /// Set when the segment ends in a torn record: (offset, reason).
    torn: Option<(u64, String)>,
}

fn segment_path(directory: &Path, first_sequence: u64) -> PathBuf {
    directory.join(format!("{first_sequence:020}.log"))
}

fn sync_directory(directory: &Path) -> Result<(), JournalError> {
    File::open(directory).and_then(|handle| handle.sync_all()).map_err(JournalError::io(directory))
}

fn list_segments(directory: &Path) -> Result<Vec<Segment>, JournalError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(directory).map_err(JournalError::io(directory))? {
        let path = entry.map_err(JournalError::io(directory))?.path();
        let Some(stem) = path.file_name().and_then(|name| name.to_str()).and_then(|name| name.strip_suffix(".log"))
        else {
            continue;
        };
        let first_sequence = stem.parse::<u64>().map_err(|_| JournalError::Corrupt {
            path: path.clone(),
            offset: 0,
            reason: "segment name is not a sequence number".into(),
        })?;
        let bytes = fs::metadata(&path).map_err(JournalError::io(&path))?.len();
        segments.push(Segment { first_sequence, path, bytes });
    }
    segments.sort_by_key(|segment| segment.first_sequence);
    Ok(segments)
}

/// Scans a segment, verifying every record; damage is torn only if it can be the last write.
fn scan(segment: &Segment, is_last: bool) -> Result<Scan, JournalError> {
    let data = fs::read(&segment.path).map_err(JournalError::io(&segment.path))?;
    let mut scan = Scan { records: 0, end_sequence: segment.first_sequence, valid_bytes: 0, torn: None };
    let mut offset = 0usize;
    while offset < data.len() {
        match check_record(&data[offset..], scan.end_sequence) {
            Ok((record_bytes, end_sequence)) => {
                offset += record_bytes;
                scan.records += 1;
                scan.end_sequence = end_sequence;
                scan.valid_bytes = offset as u64;
            }
            Err((reason, reaches_end)) => {
                let rest_is_zero = data[offset..].iter().all(|byte| *byte == 0);
                if is_last && (reaches_end || rest_is_zero) {
                    scan.torn = Some((offset as u64, reason));
                    return Ok(scan);
                }
                return Err(JournalError::Corrupt { path: segment.path.clone(), offset: offset as u64, reason });
            }
        }
    }
    Ok(scan)
}

/// Checks the record at the start of `data`: Ok((bytes, end sequence)), or Err((reason, whether
/// the damaged record runs to the end of the data, as a torn last write does)).
fn check_record(data: &[u8], expected_sequence: u64) -> Result<(usize, u64), (String, bool)> {
    let Some(raw) = data.get(..HEADER_BYTES) else {
        return Err((format!("incomplete header of {} bytes", data.len()), true));
    };
    let header = decode_header(raw.try_into().expect("slice of HEADER_BYTES")).map_err(|reason| (reason, false))?;
    let record_bytes = HEADER_BYTES + header.payload_bytes;
    let Some(payload) = data.get(HEADER_BYTES..record_bytes) else {
        return Err((format!("payload of {} bytes runs past the end of the file", header.payload_bytes), true));
    };
    header.verify(payload).map_err(|reason| (reason, record_bytes == data.len()))?;
    if header.first_sequence != expected_sequence {
        return Err((
            format!("record starts at sequence {}, expected {expected_sequence}", header.first_sequence),
            false,
        ));
    }
    Ok((record_bytes, header.first_sequence + u64::from(header.count)))
}

impl Journal {
    /// Opens (or creates) the journal in `directory`, verifying every record and truncating a
    /// torn tail. Returns the journal and what recovery found.
    pub fn open(directory: &Path, options: JournalOptions) -> Result<(Journal, Recovered), JournalError> {
        fs::create_dir_all(directory).map_err(JournalError::io(directory))?;
        let (mut segments, recovered, next_sequence) = Self::verify(directory, true)?;
        if segments.is_empty() {
            let path = segment_path(directory, 1);
            File::create(&path).map_err(JournalError::io(&path))?;
            sync_directory(directory)?;
            segments.push(Segment { first_sequence: 1, path, bytes: 0 });
        }
        let last = segments.last().expect("at least one segment exists");
        let active = OpenOptions::new().append(true).open(&last.path).map_err(JournalError::io(&last.path))?;
        let bytes = segments.iter().map(|segment| segment.bytes).sum();
        let journal = Journal {
            directory: directory.to_owned(),
            options,
            segments,
            active,
            next_sequence,
            bytes,
            poisoned: false,
        };
        Ok((journal, recovered))
    }

    /// Verifies every segment without opening for writes; with `repair`, truncates a torn tail.
    fn verify(directory: &Path, repair: bool) -> Result<(Vec<Segment>, Recovered, u64), JournalError> {
        let mut segments = list_segments(directory)?;
        let mut recovered = Recovered::default();
        let mut next_sequence = segments.first().map_or(1, |segment| segment.first_sequence);
        let count = segments.len();
        for (index, segment) in segments.iter_mut().enumerate() {
            if segment.first_sequence != next_sequence {
                let reason = format!("segment starts at sequence {}, expected {next_sequence}", segment.first_sequence);
                return Err(JournalError::Corrupt { path: segment.path.clone(), offset: 0, reason });
            }
            let scan = scan(segment, index + 1 == count)?;
            recovered.records += scan.records;
            next_sequence = scan.end_sequence;
            if let Some((offset, reason)) = scan.torn {
                recovered.truncated_bytes = segment.bytes - offset;
                tracing::warn!(path = %segment.path.display(), offset, bytes = recovered.truncated_bytes, %reason, "journal has a torn tail (an interrupted last write); truncating it");
                if repair {
                    let file =
                        OpenOptions::new().write(true).open(&segment.path).map_err(JournalError::io(&segment.path))?;
                    file.set_len(offset).and_then(|()| file.sync_all()).map_err(JournalError::io(&segment.path))?;
                }
                segment.bytes = scan.valid_bytes;
            }
        }
        Ok((segments, recovered, next_sequence))
    }

    /// Verifies the journal read-only: the records found, the torn-tail bytes a repair would
    /// remove, and the next sequence.
    pub fn check(directory: &Path) -> Result<(Recovered, u64), JournalError> {
        let (_, recovered, next_sequence) = Self::verify(directory, false)?;
        Ok((recovered, next_sequence))
    }

    /// Appends one batch and makes it durable before returning its first sequence number.
    /// After an I/O error the journal refuses further appends: the process must restart and
    /// recover, because the file may end in a partial record.
    pub fn append(&mut self, payload: &[u8], count: u32) -> Result<u64, JournalError> {
        if payload.len() > RECORD_PAYLOAD_MAX_BYTES {
            return Err(JournalError::PayloadTooLarge { bytes: payload.len(), max: RECORD_PAYLOAD_MAX_BYTES });
        }
        let active_path = self.segments.last().expect("at least one segment exists").path.clone();
        if self.poisoned {
            let source = std::io::Error::other("an earlier append failed; restart to recover");
            return Err(JournalError::Io { path: active_path, source });
        }
        self.poisoned = true;
        if self.segments.last().is_some_and(|segment| segment.bytes >= self.options.segment_max_bytes) {
            self.roll()?;
        }
        let first_sequence = self.next_sequence;
        let header = encode_header(first_sequence, count, payload);
        let active = self.segments.last_mut().expect("at least one segment exists");
        let path = active.path.clone();
        self.active.write_all(&header).map_err(JournalError::io(&path))?;
        self.active.write_all(payload).map_err(JournalError::io(&path))?;
        self.active.sync_data().map_err(JournalError::io(&path))?;
        let record_bytes = (HEADER_BYTES + payload.len()) as u64;
        active.bytes += record_bytes;
        self.bytes += record_bytes;
        self.next_sequence += u64::from(count);
        self.poisoned = false;
        Ok(first_sequence)
    }

    fn roll(&mut self) -> Result<(), JournalError> {
        let path = segment_path(&self.directory, self.next_sequence);
        self.active = OpenOptions::new().create_new(true).append(true).open(&path).map_err(JournalError::io(&path))?;
        sync_directory(&self.directory)?;
        self.segments.push(Segment { first_sequence: self.next_sequence, path, bytes: 0 });
        Ok(())
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
    pub fn read_from(directory: &Path, from_sequence: u64) -> Result<RecordReader, JournalError> {
        let segments = list_segments(directory)?;
        let start = segments.iter().rposition(|segment| segment.first_sequence <= from_sequence).unwrap_or(0);
        let expected = segments.get(start).map_or(1, |segment| segment.first_sequence);
        Ok(RecordReader { directory: directory.to_owned(), current: None, expected, from_sequence })
    }
}

/// Iterates records across segments, verifying each checksum again as it reads.
pub struct RecordReader {
    directory: PathBuf,
    current: Option<(PathBuf, BufReader<File>, u64)>,
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

    /// Reads the record at `expected`, switching to its segment when the current one ends.
    fn read_next(&mut self) -> Result<Option<Record>, JournalError> {
        loop {
            if self.current.is_none() {
                let path = segment_path(&self.directory, self.expected);
                let file = match File::open(&path) {
                    Ok(file) => file,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(error) => return Err(JournalError::Io { path, source: error }),
                };
                self.current = Some((path, BufReader::with_capacity(1 << 20, file), 0));
            }
            let (path, reader, offset) = self.current.as_mut().expect("set above");
            let mut raw = [0u8; HEADER_BYTES];
            if !read_exact_or_eof(reader, &mut raw).map_err(JournalError::io(path.as_path()))? {
                if segment_path(&self.directory, self.expected) == *path {
                    return Ok(None);
                }
                self.current = None;
                continue;
            }
            let corrupt = |offset: u64, reason: String| JournalError::Corrupt { path: path.clone(), offset, reason };
            let header = decode_header(raw).map_err(|reason| corrupt(*offset, reason))?;
            let mut payload = vec![0u8; header.payload_bytes];
            reader.read_exact(&mut payload).map_err(|error| corrupt(*offset, error.to_string()))?;
            header.verify(&payload).map_err(|reason| corrupt(*offset, reason))?;
            if header.first_sequence != self.expected {
                return Err(corrupt(
                    *offset,
                    format!("record starts at {}, expected {}", header.first_sequence, self.expected),
                ));
            }
            *offset += (HEADER_BYTES + payload.len()) as u64;
            let record = Record { first_sequence: header.first_sequence, count: header.count, payload };
            self.expected = record.end_sequence();
            return Ok(Some(record));
        }
    }
}

/// Fills `buffer`, or returns false at a clean end of file; a partial read is an error.
fn read_exact_or_eof(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..])? {
            0 if filled == 0 => return Ok(false),
            0 => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "partial record header")),
            read => filled += read,
        }
    }
    Ok(true)
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
