//! The values every warden crate shares: content digests, ed25519 keys,
//! sizes and durations as people write them, and atomic file writes.
//!
//! Nothing here knows about packages, policy or the sandbox; the audit log,
//! the registry, policy and the host all build on it.

pub mod digest;
pub mod error;
pub mod fsutil;
pub mod keys;
pub mod name;
mod serde_text;
pub mod units;

pub use digest::Digest;
pub use keys::{PublicKey, SecretKey};
pub use name::PackageName;
