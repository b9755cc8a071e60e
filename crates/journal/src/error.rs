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
    /// A payload larger than one record may hold.
    #[error("payload of {bytes} bytes exceeds the record maximum of {max} bytes")]
    PayloadTooLarge {
        /// Payload size.
        bytes: usize,
        /// The maximum.
        max: usize,
    },
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> JournalError {
        let path = path.into();
        move |source| JournalError::Io { path, source }
    }
}
