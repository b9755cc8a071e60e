//! Journal behaviour on real files: append, reopen, torn tails, corruption, segments, tailing,
//! snapshots.

use journal::{FileStorage, HEADER_BYTES, Journal, JournalError, JournalOptions, Record, Recovered, SnapshotStore};
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

fn open(path: &Path, options: JournalOptions) -> Result<(Journal, Recovered), JournalError> {
    Journal::open(FileStorage::shared(), path, options, &[])
}

fn small_segments() -> JournalOptions {
    JournalOptions { segment_max_bytes: 256, ..JournalOptions::default() }
}

fn payload(index: u64) -> Vec<u8> {
    (0..(index % 50 + 1)).map(|byte| (byte ^ index) as u8).collect()
}

/// Appends `batches` records of 3 commands each and returns the journal directory.
fn journal_with(directory: &Path, batches: u64, options: JournalOptions) -> PathBuf {
    let path = directory.join("journal");
    let (mut journal, _) = open(&path, options).expect("opens");
    for index in 0..batches {
        assert_eq!(journal.append(&payload(index), 3).expect("appends"), 1 + index * 3);
    }
    path
}

fn read_all(path: &Path) -> Vec<Record> {
    Journal::read_from(FileStorage::shared(), path, 1).expect("reader").collect::<Result<Vec<_>, _>>().expect("reads")
}

fn segments(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .expect("lists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    files.sort();
    files
}

#[test]
fn appended_records_read_back_in_order_across_segments() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = journal_with(directory.path(), 100, small_segments());
    assert!(segments(&path).len() > 5, "small segments roll often");
    let records = read_all(&path);
    assert_eq!(records.len(), 100);
    for (index, record) in records.iter().enumerate() {
        assert_eq!(record.first_sequence, 1 + index as u64 * 3);
        assert_eq!(record.payload, payload(index as u64));
    }
    let (journal, recovered) = open(&path, small_segments()).expect("reopens");
    assert_eq!((journal.next_sequence(), recovered.records, recovered.truncated_bytes), (301, 100, 0));
    let from_middle = Journal::read_from(FileStorage::shared(), &path, 151)
        .expect("reader")
        .map(|record| record.expect("reads").first_sequence);
    assert_eq!(from_middle.collect::<Vec<_>>()[0], 151, "reading from a sequence starts at the record holding it");
}

#[test]
fn a_torn_last_record_is_truncated_and_appends_continue() {
    for cut in [1, HEADER_BYTES as u64 - 1, HEADER_BYTES as u64 + 3] {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = journal_with(directory.path(), 10, JournalOptions::default());
        let segment = segments(&path).pop().expect("one segment");
        let full = std::fs::metadata(&segment).expect("metadata").len();
        let last_record = HEADER_BYTES as u64 + payload(9).len() as u64;
        let file = OpenOptions::new().write(true).open(&segment).expect("opens");
        file.set_len(full - last_record + cut).expect("cuts");
        let (mut journal, recovered) = open(&path, JournalOptions::default()).expect("recovers");
        assert_eq!(recovered.truncated_bytes, cut);
        assert_eq!((recovered.records, journal.next_sequence()), (9, 28));
        assert_eq!(journal.append(b"after", 1).expect("appends"), 28);
        assert_eq!(read_all(&path).len(), 10);
    }
}

#[test]
fn a_zeroed_tail_is_torn_but_damage_before_the_tail_stops_the_open() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = journal_with(directory.path(), 10, JournalOptions::default());
    let segment = segments(&path).pop().expect("one segment");
    let mut file = OpenOptions::new().append(true).open(&segment).expect("opens");
    file.write_all(&[0u8; 100]).expect("writes zeros");
    let (_, recovered) = open(&path, JournalOptions::default()).expect("zeros after the last record are a torn tail");
    assert_eq!(recovered.truncated_bytes, 100);

    // Flip one payload byte in the second record: later records are intact, so this is not a tail.
    let mut file = OpenOptions::new().write(true).open(&segment).expect("opens");
    let second_payload = (HEADER_BYTES + payload(0).len() + HEADER_BYTES) as u64;
    file.seek(SeekFrom::Start(second_payload)).expect("seeks");
    file.write_all(&[0xff]).expect("corrupts");
    match open(&path, JournalOptions::default()) {
        Err(JournalError::Corrupt { offset, reason, .. }) => {
            assert_eq!(offset, (HEADER_BYTES + payload(0).len()) as u64);
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert!(matches!(Journal::check(&FileStorage::default(), &path, &[]), Err(JournalError::Corrupt { .. })));
    assert!(Journal::read_from(FileStorage::shared(), &path, 1).expect("reader").any(|record| record.is_err()));
}

#[test]
fn damage_in_an_earlier_segment_is_corruption_even_at_its_end() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = journal_with(directory.path(), 40, small_segments());
    let first = segments(&path).remove(0);
    let length = std::fs::metadata(&first).expect("metadata").len();
    OpenOptions::new().write(true).open(&first).expect("opens").set_len(length - 1).expect("cuts");
    assert!(matches!(open(&path, JournalOptions::default()), Err(JournalError::Corrupt { .. })));
}

#[test]
fn a_reader_tails_a_journal_being_appended_to() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("journal");
    let options = JournalOptions { segment_max_bytes: 200, ..JournalOptions::default() };
    let (mut journal, _) = open(&path, options).expect("opens");
    let mut reader = Journal::read_from(FileStorage::shared(), &path, 1).expect("reader");
    let mut seen = 0;
    for index in 0..30u64 {
        journal.append(&payload(index), 2).expect("appends");
        while let Some(record) = reader.next_before(journal.next_sequence()).expect("reads") {
            assert_eq!(record.payload, payload(seen));
            seen += 1;
        }
    }
    assert_eq!(seen, 30);
    assert_eq!(reader.next_sequence(), journal.next_sequence());
}

#[test]
fn snapshots_verify_and_fall_back_to_an_older_one() {
    let directory = tempfile::tempdir().expect("temp dir");
    let store = SnapshotStore::open(FileStorage::shared(), directory.path()).expect("opens");
    assert_eq!(store.load_latest(u64::MAX).expect("lists"), None);
    for sequence in [10, 20, 30] {
        store.save(sequence, &sequence.to_le_bytes()).expect("saves");
    }
    let latest = store.load_latest(u64::MAX).expect("loads").expect("exists");
    assert_eq!((latest.sequence, latest.payload), (30, 30u64.to_le_bytes().to_vec()));
    assert_eq!(store.load_latest(25).expect("loads").map(|snapshot| snapshot.sequence), Some(20));
    assert_eq!(store.load_latest(15).expect("loads"), None, "only the newest two are kept");
    let newest = directory.path().join(format!("{:020}.snap", 30));
    let mut file = OpenOptions::new().write(true).open(&newest).expect("opens");
    file.seek(SeekFrom::End(-1)).expect("seeks");
    file.write_all(&[0xaa]).expect("corrupts");
    assert_eq!(store.load_latest(u64::MAX).expect("loads").map(|snapshot| snapshot.sequence), Some(20));
}

fn flip(path: &Path, byte: u64, mask: u8) {
    let mut data = std::fs::read(path).expect("reads");
    data[byte as usize] ^= mask;
    std::fs::write(path, data).expect("writes");
}

/// Bug: a flipped bit in the first record's payload length made the rest of a one-segment
/// journal look like a torn tail; open truncated every record and `check` called it fine.
#[test]
fn a_bit_flip_in_a_length_or_a_last_record_is_corruption_not_a_torn_tail() {
    for (byte, mask, what) in [(4u64, 0x10u8, "header checksum"), (5, 0x01, "header checksum")] {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = journal_with(directory.path(), 10, JournalOptions::default());
        let segment = segments(&path).pop().expect("one segment");
        let before = std::fs::read(&segment).expect("reads");
        flip(&segment, byte, mask);
        match open(&path, JournalOptions::default()) {
            Err(JournalError::Corrupt { offset: 0, reason, .. }) => assert!(reason.contains(what), "{reason}"),
            other => panic!("expected corruption at byte 0, got {other:?}"),
        }
        assert!(matches!(Journal::check(&FileStorage::default(), &path, &[]), Err(JournalError::Corrupt { .. })));
        flip(&segment, byte, mask);
        assert_eq!(std::fs::read(&segment).expect("reads"), before, "a refused open changes nothing");
    }
    // A payload bit in the last record: complete, so corruption, although it ends the file.
    let directory = tempfile::tempdir().expect("temp dir");
    let path = journal_with(directory.path(), 10, JournalOptions::default());
    let segment = segments(&path).pop().expect("one segment");
    let length = std::fs::metadata(&segment).expect("metadata").len();
    flip(&segment, length - 1, 0x80);
    match open(&path, JournalOptions::default()) {
        Err(JournalError::Corrupt { reason, .. }) => assert!(reason.contains("payload checksum"), "{reason}"),
        other => panic!("expected corruption, got {other:?}"),
    }
}

/// Bug: a journal truncated on a record boundary, or missing its newest segment, was served
/// without a warning although the high-water mark and the snapshots recorded more.
#[test]
fn a_journal_shorter_than_its_high_water_mark_or_a_witness_is_refused() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("journal");
    let (mut journal, _) = open(&path, small_segments()).expect("opens");
    for index in 0..40 {
        journal.append(&payload(index), 3).expect("appends");
    }
    journal.checkpoint().expect("marks");
    drop(journal);
    let newest = segments(&path).pop().expect("segments");
    let saved = std::fs::read(&newest).expect("reads");
    std::fs::remove_file(&newest).expect("deletes");
    match open(&path, small_segments()) {
        Err(error @ JournalError::Shortened { required: 121, .. }) => {
            assert!(error.to_string().contains("high-water"), "{error}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    std::fs::write(&newest, &saved).expect("restores");
    let record = (HEADER_BYTES + payload(39).len()) as u64;
    OpenOptions::new().write(true).open(&newest).expect("opens").set_len(saved.len() as u64 - record).expect("cuts");
    assert!(matches!(open(&path, small_segments()), Err(JournalError::Shortened { end: 118, required: 121, .. })));
    assert!(matches!(Journal::check(&FileStorage::default(), &path, &[]), Err(JournalError::Shortened { .. })));
    std::fs::write(&newest, &saved).expect("restores");
    let witness = journal::Witness { end_sequence: 200, source: "the snapshot 200".into() };
    match Journal::open(FileStorage::shared(), &path, small_segments(), &[witness]) {
        Err(error @ JournalError::Shortened { end: 121, required: 200, .. }) => {
            assert!(error.to_string().contains("the snapshot 200"), "{error}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (journal, _) = open(&path, small_segments()).expect("restored files open");
    assert_eq!(journal.next_sequence(), 121);
}

/// Bug: torn tails were cut off for good, and damage had no way forward but editing files.
#[test]
fn torn_tails_and_repaired_damage_are_moved_aside_never_deleted() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = journal_with(directory.path(), 10, JournalOptions::default());
    let segment = segments(&path).pop().expect("one segment");
    let mut file = OpenOptions::new().append(true).open(&segment).expect("opens");
    file.write_all(&[7u8; 5]).expect("a short header");
    let (journal, recovered) = open(&path, JournalOptions::default()).expect("a torn tail is not damage");
    drop(journal);
    let moved = recovered.quarantined.expect("moved aside");
    assert_eq!(std::fs::read(&moved).expect("reads"), [7u8; 5]);

    let second = (HEADER_BYTES + payload(0).len()) as u64;
    flip(&segment, second + HEADER_BYTES as u64, 0x01);
    let damaged = std::fs::read(&segment).expect("reads");
    assert!(matches!(open(&path, JournalOptions::default()), Err(JournalError::Corrupt { .. })));
    let repaired = Journal::repair(&FileStorage::default(), &path).expect("repairs");
    assert_eq!(repaired.end_sequence, 4);
    assert_eq!(std::fs::read(&repaired.moved[0]).expect("reads"), damaged[second as usize..]);
    assert!(repaired.damage.expect("named").contains("payload checksum"));
    let (mut journal, _) = open(&path, JournalOptions::default()).expect("opens after the repair");
    assert_eq!(journal.append(b"after", 1).expect("appends"), 4);
}

/// Bug: data files were world-readable, and partial files of an interrupted write stayed.
#[test]
fn files_are_owner_only_and_partial_files_are_removed_on_open() {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().expect("temp dir");
    let path = journal_with(directory.path(), 3, JournalOptions::default());
    let mode = |path: &Path| std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o700);
    assert_eq!(mode(&segments(&path)[0]), 0o600);
    let snapshots = SnapshotStore::open(FileStorage::shared(), &directory.path().join("snapshots")).expect("opens");
    snapshots.save(4, b"state").expect("saves");
    assert_eq!(mode(&snapshots.path(4)), 0o600);
    std::fs::write(directory.path().join("snapshots/00000000000000000009.snap.3.tmp"), b"partial").expect("writes");
    std::fs::write(path.join("high-water.mark.1.tmp"), b"partial").expect("writes");
    assert_eq!(snapshots.remove_partial().expect("removes"), 1);
    open(&path, JournalOptions::default()).expect("opens");
    assert!(!path.join("high-water.mark.1.tmp").exists());
}

/// The deterministic simulation: the journal's writer and recovery over a simulated disk, for
/// thousands of faults — process kills mid-write, power loss with torn and lost writes, EIO on
/// write and on fsync (with Linux's pages-marked-clean behaviour), ENOSPC, bit flips, cut and
/// deleted segments. After each, recovery must give back every acknowledged record unchanged,
/// or refuse precisely; `repair` then proceeds. A failure prints its seed: rerun one seed with
/// `JOURNAL_SIMULATION_SEED=N cargo test -p journal simulation`; run more seeds with
/// `JOURNAL_SIMULATION_SEEDS=N` (scripts/torture.sh).
mod simulation {
    use journal::{Fault, Journal, JournalError, JournalOptions, MemoryStorage, Storage, Witness};
    use std::path::PathBuf;
    use std::sync::Arc;

    const SEEDS: u64 = 300;
    const STEPS: usize = 120;

    /// The records acknowledged so far: (first sequence, count, payload).
    type Model = Vec<(u64, u32, Vec<u8>)>;

    fn options() -> JournalOptions {
        JournalOptions { segment_max_bytes: 400, free_bytes_min: 1_024 }
    }

    fn directory() -> PathBuf {
        PathBuf::from("/data/journal")
    }

    fn end_of(model: &Model) -> u64 {
        model.last().map_or(1, |(first, count, _)| first + u64::from(*count))
    }

    fn contents(storage: &Arc<MemoryStorage>) -> Model {
        let storage: Arc<dyn Storage> = storage.clone();
        Journal::read_from(storage, &directory(), 1)
            .expect("reader")
            .map(|record| record.map(|record| (record.first_sequence, record.count, record.payload)))
            .collect::<Result<_, _>>()
            .expect("an opened journal reads back")
    }

    fn segment_files(storage: &MemoryStorage) -> Vec<PathBuf> {
        let mut names: Vec<String> =
            storage.list(&directory()).expect("lists").into_iter().filter(|name| name.ends_with(".log")).collect();
        names.sort();
        names.into_iter().map(|name| directory().join(name)).collect()
    }

    struct Run {
        rng: fastrand::Rng,
        storage: Arc<MemoryStorage>,
        model: Model,
        /// A record whose append failed: it may or may not be in the journal after recovery.
        in_flight: Option<(u32, Vec<u8>)>,
        faults: u64,
        refusals: u64,
    }

    impl Run {
        /// Opens the journal as a restarted server would: the witness is the acknowledged end
        /// (a read model that kept up). Checks what it holds against the model.
        fn recover(&mut self) -> Option<Journal> {
            let witness = Witness { end_sequence: end_of(&self.model), source: "the model".into() };
            let shared: Arc<dyn Storage> = self.storage.clone();
            match Journal::open(shared, &directory(), options(), &[witness]) {
                Ok((journal, _)) => {
                    self.check_contents(journal.next_sequence());
                    Some(journal)
                }
                Err(JournalError::DiskFull { .. }) => {
                    self.refusals += 1;
                    self.storage.clear_faults();
                    self.recover()
                }
                Err(error) => panic!("recovery refused an undamaged journal: {error}"),
            }
        }

        /// The journal holds the model, plus at most the one record whose append failed.
        fn check_contents(&mut self, next_sequence: u64) {
            let found = contents(&self.storage);
            assert!(
                found.len() >= self.model.len(),
                "acknowledged records lost: {} of {}",
                found.len(),
                self.model.len()
            );
            assert_eq!(found[..self.model.len()], self.model[..], "an acknowledged record changed");
            match (&found[self.model.len()..], self.in_flight.take()) {
                ([], _) => {}
                ([extra], Some((count, payload))) if extra.1 == count && extra.2 == payload => {
                    self.model.push(extra.clone())
                }
                (extra, _) => panic!("recovery produced records nobody appended: {extra:?}"),
            }
            assert_eq!(next_sequence, end_of(&self.model));
            // Whatever recovery trusts must be on disk: a power loss right now changes nothing.
            self.storage.crash(|_, _| 0);
            assert_eq!(contents(&self.storage), self.model, "recovery trusted a record that was not durable");
        }

        fn payload(&mut self) -> (u32, Vec<u8>) {
            let length = self.rng.usize(1..120);
            (self.rng.u32(1..5), (0..length).map(|_| self.rng.u8(..)).collect())
        }

        fn append(&mut self, journal: &mut Journal) -> bool {
            let (count, payload) = self.payload();
            match journal.append(&payload, count) {
                Ok(first) => {
                    assert_eq!(first, end_of(&self.model));
                    self.model.push((first, count, payload));
                    true
                }
                Err(_) => {
                    self.in_flight = Some((count, payload));
                    false
                }
            }
        }

        fn inject(&mut self) {
            let fault = match self.rng.u8(0..4) {
                0 => Fault::WriteError,
                1 => Fault::ShortWrite(self.rng.usize(0..150)),
                2 => Fault::SyncError,
                _ => Fault::DiskFull(self.storage.used_bytes() + self.rng.u64(0..200)),
            };
            self.storage.inject(fault);
            if self.rng.bool() {
                self.storage.inject(Fault::Halt);
            }
            self.faults += 1;
        }

        /// The process dies: a restart keeps the page cache, a power loss keeps synced bytes and
        /// a random prefix of unsynced ones.
        fn die(&mut self) {
            match self.rng.bool() {
                true => self.storage.restart(),
                false => {
                    let mut rng = self.rng.fork();
                    self.storage.crash(move |_, unsynced| rng.usize(0..=unsynced));
                }
            }
        }

        /// Media or operator damage to durable bytes; recovery must refuse it precisely, and the
        /// repair must keep every record before the damage.
        fn damage(&mut self) {
            let files = segment_files(&self.storage);
            let file = files[self.rng.usize(0..files.len())].clone();
            let length = self.storage.length(&file).expect("exists");
            if length == 0 {
                return;
            }
            let expect_at = match self.rng.u8(0..3) {
                0 => {
                    let bit = self.rng.u64(0..length * 8);
                    self.storage.flip_bit(&file, bit).expect("flips");
                    Some(bit / 8)
                }
                1 => {
                    self.storage.cut(&file, self.rng.u64(0..length)).expect("cuts");
                    None
                }
                _ => {
                    self.storage.delete(&file).expect("deletes");
                    None
                }
            };
            self.faults += 1;
            let witness = Witness { end_sequence: end_of(&self.model), source: "the model".into() };
            let shared: Arc<dyn Storage> = self.storage.clone();
            match Journal::open(shared, &directory(), options(), &[witness]) {
                Err(JournalError::Corrupt { path, offset, .. }) => {
                    if let Some(byte) = expect_at {
                        assert_eq!(path, file, "the refusal names the damaged file");
                        assert!(offset <= byte && byte - offset < 160, "damage at byte {byte} reported at {offset}");
                    }
                }
                Err(JournalError::Shortened { .. }) => assert!(expect_at.is_none(), "a bit flip is corruption"),
                Ok(_) => panic!(
                    "damage ({expect_at:?}) to {} of {length} bytes went unnoticed; model {:?}",
                    file.display(),
                    self.model.iter().map(|r| (r.0, r.1, r.2.len())).collect::<Vec<_>>()
                ),
                Err(error) => panic!("unexpected refusal {error}"),
            }
            self.refusals += 1;
            let repaired = Journal::repair(self.storage.as_ref(), &directory()).expect("repairs");
            let kept =
                self.model.iter().take_while(|(first, count, _)| first + u64::from(*count) <= repaired.end_sequence);
            self.model = kept.cloned().collect();
            assert_eq!(end_of(&self.model), repaired.end_sequence, "a repair ends on a record boundary");
        }
    }

    fn run(seed: u64) -> (u64, u64) {
        let mut run = Run {
            rng: fastrand::Rng::with_seed(seed),
            storage: MemoryStorage::new(),
            model: Vec::new(),
            in_flight: None,
            faults: 0,
            refusals: 0,
        };
        let mut journal = run.recover();
        for _ in 0..STEPS {
            let mut current = journal.take().expect("open");
            match run.rng.u8(0..100) {
                0..70 => {
                    if !run.append(&mut current) {
                        panic!("an append failed with no fault injected");
                    }
                }
                70..85 => {
                    run.inject();
                    if !run.append(&mut current) {
                        drop(current);
                        run.die();
                        journal = run.recover();
                        continue;
                    }
                    run.storage.clear_faults();
                }
                85..90 => current.checkpoint().expect("marks"),
                90..95 => {
                    drop(current);
                    run.die();
                    journal = run.recover();
                    continue;
                }
                _ => {
                    drop(current);
                    run.damage();
                    journal = run.recover();
                    continue;
                }
            }
            journal = Some(current);
        }
        (run.faults, run.refusals)
    }

    /// Prints the seed of a failing run.
    struct SeedGuard(u64);

    impl Drop for SeedGuard {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("journal simulation failed with seed {}", self.0);
            }
        }
    }

    #[test]
    fn simulated_faults_never_lose_or_change_an_acknowledged_record() {
        let seeds: Vec<u64> = match std::env::var("JOURNAL_SIMULATION_SEED") {
            Ok(seed) => vec![seed.parse().expect("a number")],
            Err(_) => {
                let seeds = std::env::var("JOURNAL_SIMULATION_SEEDS").ok().and_then(|seeds| seeds.parse().ok());
                (0..seeds.unwrap_or(SEEDS)).collect()
            }
        };
        let (mut faults, mut refusals) = (0, 0);
        for seed in seeds {
            let guard = SeedGuard(seed);
            let (run_faults, run_refusals) = run(seed);
            faults += run_faults;
            refusals += run_refusals;
            drop(guard);
        }
        eprintln!("journal simulation: {faults} faults, {refusals} precise refusals");
        assert!(faults > 1_000 || std::env::var("JOURNAL_SIMULATION_SEED").is_ok(), "too few faults: {faults}");
    }
}
