//! The audit log's error type.

/// The audit log could not be appended to or read. (Damage found by
/// `audit::verify` is not an error: it is listed in its report.)
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file of the audit log could not be read or written.
    #[error("cannot access the audit log {}: {source}", path.display())]
    Io {
        /// The file (the log, its lock file, or a side file).
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The log ends with an incomplete line; appending after it would bury
    /// the fragment inside the chain.
    #[error(
        "the audit log {} ends with an incomplete line {line_no} ({bytes} bytes without a \
         newline), left by an interrupted write; refusing to append after it. Run \
         `warden audit verify` to check the log: it reports the fragment and how to move it aside",
        path.display()
    )]
    TornTail {
        /// The log.
        path: std::path::PathBuf,
        /// The 1-based line number of the incomplete line.
        line_no: u64,
        /// Its length in bytes.
        bytes: u64,
    },
    /// A complete line that is not a valid record, found where a record is
    /// needed (the last line, when appending; any line, when reading).
    #[error(
        "line {line_no} of the audit log {} is not a valid record: {reason}; run \
         `warden audit verify` to check the whole log",
        path.display()
    )]
    Corrupt {
        /// The log.
        path: std::path::PathBuf,
        /// The 1-based line number.
        line_no: u64,
        /// What is wrong (never the line's text).
        reason: String,
    },
    /// An event that cannot be recorded as given.
    #[error("cannot record the `{event}` event: {reason}")]
    InvalidEvent {
        /// The event's type (`call`, `install`, ...).
        event: String,
        /// Why.
        reason: String,
    },
    /// The system clock is outside the range a record can hold.
    #[error(
        "cannot timestamp an audit record: the system clock reads {reason}, but records hold \
         times from 1970 to 9999; fix the system clock"
    )]
    Clock {
        /// What the clock reads.
        reason: String,
    },
}

impl AuditError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
