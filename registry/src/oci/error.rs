//! What can go wrong talking to an OCI registry.
//!
//! No variant carries a credential: messages name the registry, the
//! reference and what was wrong, and text that comes back from a registry
//! or the HTTP stack is passed through [`redact`] before it is kept.

use std::path::PathBuf;

use crate::digest::Digest;
use crate::error::{PackageError, SourceError};

/// An OCI source or publish failure.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// `registries.toml` cannot be read or is malformed.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A registry location or reference is not valid.
    #[error("invalid OCI reference `{reference}`: {reason}")]
    InvalidReference {
        /// The text given.
        reference: String,
        /// Why it is refused.
        reason: String,
    },
    /// No registry is configured for a package's namespace.
    #[error(
        "no OCI registry is configured for the namespace `{namespace}`: add \
         `{namespace} = \"HOST[:PORT]/PATH\"` under [namespaces] in {}",
        path.display()
    )]
    NotMapped {
        /// The namespace.
        namespace: String,
        /// The config file that was searched.
        path: PathBuf,
    },
    /// The registry could not be reached, or answered with an error.
    #[error("OCI registry {registry}: {operation} failed: {reason}")]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// What was attempted (e.g. `listing the tags of acme/grep`).
        operation: String,
        /// What went wrong (credentials redacted).
        reason: String,
    },
    /// A manifest is not one warden can install from.
    #[error("refusing {reference}: {reason}")]
    Refused {
        /// The reference (`host/repo:tag` or `host/repo@digest`).
        reference: String,
        /// Why.
        reason: String,
    },
    /// A manifest, tag list or blob is larger than allowed; nothing past
    /// the limit was kept.
    #[error(
        "refusing {reference}: its {what} is {size} bytes (or more), over the limit of {limit} bytes"
    )]
    TooLarge {
        /// The reference.
        reference: String,
        /// Which part (`component layer`, `manifest`, ...).
        what: String,
        /// Its size, or a lower bound.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A blob ended before the size its descriptor promised.
    #[error(
        "refusing {reference}: its {what} is truncated: the manifest promises {expected} bytes, \
         the registry sent {actual}{detail}"
    )]
    Truncated {
        /// The reference.
        reference: String,
        /// Which part.
        what: String,
        /// The size in the descriptor.
        expected: u64,
        /// The bytes received.
        actual: u64,
        /// Extra context (the transport error, if any).
        detail: String,
    },
    /// A blob or manifest is not the one its digest names: the registry (or
    /// something between it and us) served different bytes.
    #[error(
        "refusing {reference}: its {what} does not match its digest: expected {expected}, \
         received {actual}; the registry served different bytes than it promised"
    )]
    DigestMismatch {
        /// The reference.
        reference: String,
        /// Which part.
        what: String,
        /// The digest promised.
        expected: Digest,
        /// The digest of the bytes received.
        actual: Digest,
    },
    /// A package could not be built from (or for) an OCI artifact.
    #[error("{reference}: {source}")]
    Package {
        /// The reference.
        reference: String,
        /// The package error.
        source: Box<PackageError>,
    },
    /// A local file (package, signature) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl From<OciError> for SourceError {
    fn from(e: OciError) -> SourceError {
        SourceError::Oci(Box::new(e))
    }
}

/// Removes every occurrence of each secret from `text` (registry messages
/// and transport errors are kept only after this).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if secret.len() >= 3 {
            out = out.replace(secret, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_secrets_but_not_short_noise() {
        assert_eq!(
            redact("auth hunter2 failed for hunter2", &["hunter2", "x"]),
            "auth *** failed for ***"
        );
    }
}
