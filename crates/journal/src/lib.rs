//! The journal: durable, checksummed, segmented storage of command batches, and snapshots.
//!
//! The journal stores opaque payloads; it never interprets business meaning. Each appended
//! record holds one batch of `count` commands numbered from `first_sequence`, and one
//! [`Journal::append`] makes it durable with one `fdatasync` (group commit): the caller
//! acknowledges nothing in a batch before `append` returns.
//!
//! Every byte goes through the [`Storage`] seam: [`FileStorage`] on real files,
//! [`MemoryStorage`] for simulation with injected faults (crashes, torn and lost writes, bit
//! flips, EIO, ENOSPC).
//!
//! On [`Journal::open`] every record's checksums are verified. A torn last write (a short
//! header, or a verified header whose payload runs past the end) is moved aside and cut off;
//! any other damage stops the open with [`JournalError::Corrupt`], and a journal that ends
//! below its high-water mark or a [`Witness`] (a snapshot, a read model) stops it with
//! [`JournalError::Shortened`]: silently serving less would lose acknowledged commands. Only
//! [`Journal::repair`], an operator's step, moves damage aside and accepts the loss. The byte
//! layout and the failure model are documented in `docs/journal-format.md`.

#![warn(missing_docs)]

mod error;
mod record;
mod segments;
mod snapshots;
mod storage;

pub use error::JournalError;
pub use record::{HEADER_BYTES, RECORD_PAYLOAD_MAX_BYTES, Record};
pub use segments::{Journal, JournalOptions, RecordReader, Recovered, Repaired, Witness};
pub use snapshots::{SnapshotFile, SnapshotStore};
pub use storage::{Fault, FileStorage, MemoryStorage, Storage, remove_temporary_files, write_atomically};
