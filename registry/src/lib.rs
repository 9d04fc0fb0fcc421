//! # warden-registry
//!
//! What may run: signed, semver-versioned packages of WebAssembly components,
//! installed into a local, content-addressed, crash-safe store.

pub mod audit;
pub mod capabilities;
pub mod digest;
pub mod error;
pub mod fsutil;
pub mod keys;
pub mod load;
pub mod lockfile;
pub mod manifest;
pub mod name;
pub mod oci;
pub mod package;
pub mod policy;
pub mod policy_store;
pub mod resolve;
mod serde_text;
pub mod signature;
pub mod source;
pub mod store;
pub mod trust;
pub mod units;

pub use digest::Digest;
pub use keys::{PublicKey, SecretKey};
pub use load::VerifiedPackage;
pub use manifest::{Capabilities, Kind, Manifest};
pub use name::PackageName;
pub use package::{ArchiveLimits, Package};
pub use store::{InstallOptions, InstallOutcome, Installed, Registry};
