//! Error types of the core values: names, digests and keys.

/// A package name that is not `namespace:name`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid package name `{name}`: {reason}")]
pub struct NameError {
    /// The name as given.
    pub name: String,
    /// Why it is invalid.
    pub reason: String,
}

/// A digest that is not `sha256:<64 lowercase hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest `{text}`: expected `sha256:` and 64 lowercase hex digits")]
pub struct DigestError {
    /// The text as given.
    pub text: String,
}

/// A publisher key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The system's random number generator failed.
    #[error("cannot generate a key: the system random number generator failed: {reason}")]
    Random {
        /// The generator's error.
        reason: String,
    },
    /// Saving would overwrite an existing file.
    #[error(
        "refusing to overwrite {}: it already exists; move it away or choose another path",
        path.display()
    )]
    Exists {
        /// The file.
        path: std::path::PathBuf,
    },
    /// A secret key file others can read.
    #[error(
        "the secret key {} is readable by group or others (mode {mode:o}); \
         run `chmod 600 {}` and make sure nobody else has copied it",
        path.display(),
        path.display()
    )]
    Permissions {
        /// The file.
        path: std::path::PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file could not be read or written.
    #[error("cannot access the key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file is not a warden secret key file.
    #[error("the key file {} is malformed: {reason}", path.display())]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong (never the secret itself).
        reason: String,
    },
    /// Text that is not a public key.
    #[error("invalid public key `{text}`: {reason}")]
    InvalidPublicKey {
        /// The text as given.
        text: String,
        /// Why.
        reason: String,
    },
}

/// Formats ` at line L, column C` when the location is known.
pub fn location(line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

/// 1-based line and column of byte offset `at` in `text`.
pub fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
