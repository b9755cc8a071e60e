//! The journal's error type.

use std::path::PathBuf;

/// A journal or snapshot fault. Business rejections never appear here.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An operating-system I/O error on a named file.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Damage that is not a torn tail: acknowledged data may be affected, so nothing proceeds.
    #[error("journal corrupt in {path} at byte {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte offset of the damaged record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The journal ends below what was durable once: records were lost (a truncated or deleted
    /// segment). Nothing was changed.
    #[error(
        "the journal ends at sequence {end}, but {witness} shows every command below {required} was durable: {} acknowledged commands are missing from the journal (a truncated or deleted segment?); nothing was changed",
        required - end
    )]
    Shortened {
        /// The next sequence the journal holds.
        end: u64,
        /// The end the witness proves.
        required: u64,
        /// What proves it.
        witness: String,
    },
    /// Too little free space to append safely.
    #[error("only {available} bytes free on the disk holding {path}; at least {required} are needed to append safely")]
    DiskFull {
        /// The journal directory.
        path: PathBuf,
        /// Free bytes now.
        available: u64,
        /// Free bytes required.
        required: u64,
    },
    /// A payload larger than one record may hold.
    #[error("payload of {bytes} bytes exceeds the record maximum of {max} bytes")]
    PayloadTooLarge {
        /// Payload size.
        bytes: usize,
        /// The maximum.
        max: usize,
    },
}
