//! The policy crate's error type.

use warden_core::error::location;

/// A policy file (`grants.toml`, an org policy) that is invalid, cannot be
/// read or written, or whose signature is refused; or a policy change that
/// cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Bad syntax, an unknown field, a bad value, or a rule that is not
    /// allowed in this kind of file.
    #[error("invalid {origin}{}: {reason}", location(line, column))]
    Invalid {
        /// The file (`grants.toml`, `org policy …`).
        origin: String,
        /// The 1-based line of the problem, when known.
        line: Option<usize>,
        /// The 1-based column of the problem, when known.
        column: Option<usize>,
        /// What is wrong, naming the rule and field.
        reason: String,
    },
    /// A capability as given on a command line that cannot be parsed.
    #[error("invalid capability `{spec}`: {error}")]
    InvalidCapability {
        /// The capability as given (`KIND SPEC`).
        spec: String,
        /// What is wrong with it.
        #[source]
        error: crate::rules::RuleError,
    },
    /// A capability the user cannot grant in this form.
    #[error("cannot grant {capability} to `{target}`: {error}")]
    NotGrantable {
        /// The target, as written.
        target: String,
        /// The capability, in words.
        capability: String,
        /// Why it cannot be granted.
        #[source]
        error: crate::grants::GrantRuleError,
    },
    /// Grants that include ones made for one call were asked to be saved.
    #[error("grants made for one call are never saved to the grants file")]
    CallGrantsNotSaved,
    /// `revoke` found nothing to remove.
    #[error("`{target}` has no grant of {capability} to revoke{hint}")]
    NotGranted {
        /// The target, as written.
        target: String,
        /// The capability, in words.
        capability: String,
        /// What else grants it, if anything (starts with `; `).
        hint: String,
    },
    /// A policy file could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A policy file larger than any policy should be.
    #[error("{} is larger than {max_bytes} bytes; this is not a policy file", path.display())]
    TooLarge {
        /// The file.
        path: std::path::PathBuf,
        /// The limit.
        max_bytes: u64,
    },
    /// An org policy without a signature.
    #[error(
        "{origin} is unsigned (it has no `[signature]` table at its end); an org policy is \
         accepted only when signed by a trusted admin key: sign it with `sign_policy`"
    )]
    Unsigned {
        /// The policy file.
        origin: String,
    },
    /// An org policy whose `[signature]` table is malformed.
    #[error("the signature of {origin} is malformed: {reason}")]
    MalformedSignature {
        /// The policy file.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The policy text is not the text that was signed.
    #[error(
        "{origin} was changed after it was signed (signed {signed}, found {found}); refusing \
         the tampered policy: ask the admin for the signed original"
    )]
    Tampered {
        /// The policy file.
        origin: String,
        /// The digest in the signature.
        signed: warden_core::digest::Digest,
        /// The digest of the policy text found.
        found: warden_core::digest::Digest,
    },
    /// The signature bytes do not verify under the key they name.
    #[error(
        "the signature of {origin} is not a valid signature by {key}: the `[signature]` table \
         was changed, or made with another key than the one it names"
    )]
    BadSignature {
        /// The policy file.
        origin: String,
        /// The key the signature names.
        key: String,
    },
    /// A valid signature by a key that is not a trusted admin key.
    #[error(
        "{origin} is signed by {key}, which is not a trusted admin key (trusted: {}); refusing \
         the policy",
        if trusted.is_empty() { "none".to_string() } else { trusted.join(", ") }
    )]
    UntrustedKey {
        /// The policy file.
        origin: String,
        /// The signing key.
        key: String,
        /// The trusted admin keys.
        trusted: Vec<String>,
    },
}
