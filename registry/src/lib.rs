//! # warden-registry
//!
//! What may run: signed, semver-versioned packages of WebAssembly components,
//! installed into a local, content-addressed, crash-safe store.

pub mod capabilities;
pub use warden_core::digest;
pub mod error;
pub use warden_core::fsutil;
pub use warden_core::keys;
pub mod load;
pub mod lockfile;
pub mod manifest;
pub use warden_core::name;
pub mod oci;
pub mod package;
pub mod policy_store;
pub mod resolve;
pub use warden_core::serde_as_text;
pub mod signature;
pub mod source;
pub mod store;
pub mod trust;
pub use warden_core::units;

pub use digest::Digest;
pub use keys::{PublicKey, SecretKey};
pub use load::VerifiedPackage;
pub use manifest::{Capabilities, Kind, Manifest};
pub use name::PackageName;
pub use package::{ArchiveLimits, Package};
pub use store::{InstallOptions, InstallOutcome, Installed, Registry};
