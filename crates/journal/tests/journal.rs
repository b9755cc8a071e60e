//! Journal behaviour on real files: append, reopen, torn tails, corruption, segments, tailing,
//! snapshots.

use journal::{HEADER_BYTES, Journal, JournalError, JournalOptions, Record, SnapshotStore};
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

fn payload(index: u64) -> Vec<u8> {
    (0..(index % 50 + 1)).map(|byte| (byte ^ index) as u8).collect()
}

/// Appends `batches` records of 3 commands each and returns the journal directory.
fn journal_with(directory: &Path, batches: u64, options: JournalOptions) -> PathBuf {
    let path = directory.join("journal");
    let (mut journal, _) = Journal::open(&path, options).expect("opens");
    for index in 0..batches {
        assert_eq!(journal.append(&payload(index), 3).expect("appends"), 1 + index * 3);
    }
    path
}

fn read_all(path: &Path) -> Vec<Record> {
    Journal::read_from(path, 1).expect("reader").collect::<Result<Vec<_>, _>>().expect("reads")
}

fn segments(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(path).expect("lists").map(|entry| entry.expect("entry").path()).collect();
    files.sort();
    files
}

#[test]
fn appended_records_read_back_in_order_across_segments() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = journal_with(directory.path(), 100, JournalOptions { segment_max_bytes: 256 });
    assert!(segments(&path).len() > 5, "small segments roll often");
    let records = read_all(&path);
    assert_eq!(records.len(), 100);
    for (index, record) in records.iter().enumerate() {
        assert_eq!(record.first_sequence, 1 + index as u64 * 3);
        assert_eq!(record.payload, payload(index as u64));
    }
    let (journal, recovered) = Journal::open(&path, JournalOptions { segment_max_bytes: 256 }).expect("reopens");
    assert_eq!((journal.next_sequence(), recovered.records, recovered.truncated_bytes), (301, 100, 0));
    let from_middle =
        Journal::read_from(&path, 151).expect("reader").map(|record| record.expect("reads").first_sequence);
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
        let (mut journal, recovered) = Journal::open(&path, JournalOptions::default()).expect("recovers");
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
    let (_, recovered) =
        Journal::open(&path, JournalOptions::default()).expect("zeros after the last record are a torn tail");
    assert_eq!(recovered.truncated_bytes, 100);

    // Flip one payload byte in the second record: later records are intact, so this is not a tail.
    let mut file = OpenOptions::new().write(true).open(&segment).expect("opens");
    let second_payload = (HEADER_BYTES + payload(0).len() + HEADER_BYTES) as u64;
    file.seek(SeekFrom::Start(second_payload)).expect("seeks");
    file.write_all(&[0xff]).expect("corrupts");
    match Journal::open(&path, JournalOptions::default()) {
        Err(JournalError::Corrupt { offset, reason, .. }) => {
            assert_eq!(offset, (HEADER_BYTES + payload(0).len()) as u64);
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert!(matches!(Journal::check(&path), Err(JournalError::Corrupt { .. })));
    assert!(Journal::read_from(&path, 1).expect("reader").any(|record| record.is_err()));
}

#[test]
fn damage_in_an_earlier_segment_is_corruption_even_at_its_end() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = journal_with(directory.path(), 40, JournalOptions { segment_max_bytes: 256 });
    let first = segments(&path).remove(0);
    let length = std::fs::metadata(&first).expect("metadata").len();
    OpenOptions::new().write(true).open(&first).expect("opens").set_len(length - 1).expect("cuts");
    assert!(matches!(Journal::open(&path, JournalOptions::default()), Err(JournalError::Corrupt { .. })));
}

#[test]
fn a_reader_tails_a_journal_being_appended_to() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("journal");
    let options = JournalOptions { segment_max_bytes: 200 };
    let (mut journal, _) = Journal::open(&path, options).expect("opens");
    let mut reader = Journal::read_from(&path, 1).expect("reader");
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
    let store = SnapshotStore::open(directory.path()).expect("opens");
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
