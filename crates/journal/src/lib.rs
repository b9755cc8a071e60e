//! The journal: durable, checksummed, segmented storage of command batches, and snapshots.
//!
//! The journal stores opaque payloads; it never interprets business meaning. Each appended
//! record holds one batch of `count` commands numbered from `first_sequence`, and one
//! [`Journal::append`] makes it durable with one `fdatasync` (group commit): the caller
//! acknowledges nothing in a batch before `append` returns.
//!
//! On [`Journal::open`] every record's checksum is verified. A torn or corrupt final record
//! (a crash during the last write) is truncated with a warning; any other damage stops the
//! open with [`JournalError::Corrupt`], because silently skipping it would lose acknowledged
//! commands. The byte layout is documented in `docs/journal-format.md`.

#![warn(missing_docs)]

mod error;
mod record;
mod segments;
mod snapshots;

pub use error::JournalError;
pub use record::{HEADER_BYTES, RECORD_PAYLOAD_MAX_BYTES, Record};
pub use segments::{Journal, JournalOptions, RecordReader, Recovered};
pub use snapshots::{SnapshotFile, SnapshotStore};
