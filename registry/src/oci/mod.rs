//! OCI registries as package sources and targets: where a team or an
//! enterprise keeps its components.
//!
//! - [`config`]: `registries.toml`, namespace → `host[:port]/prefix`
//!   (plain HTTP only where an entry says `insecure = true`).
//! - [`layout`]: a package as an OCI artifact — the component as an
//!   `application/wasm` layer (as wkg publishes it) plus warden's manifest
//!   and signature layers, so a package round-trips byte for byte.
//! - [`OciSource`]: a [`Source`](crate::source::Source) over registries:
//!   versions from the tag list, ranges resolved by the usual resolver,
//!   pins by OCI manifest digest from `warden.lock`.
//! - [`publish`]: pushes a verified package.
//! - [`Attestation`]: a warden manifest and signature for a plain component
//!   that another tool pushed, so it can be installed with the same checks.
//!
//! Every manifest and blob is bounded before it is kept (the
//! [`ArchiveLimits`] of the store), every blob is checked against its
//! digest, and the rebuilt package against the digest it was published
//! with, before the caller verifies its signature and installs it: nothing
//! reaches the store unverified. Credentials come from the Docker config
//! or `WARDEN_REGISTRY_*` variables and never appear in messages.
//!
//! ```no_run
//! use warden_registry::oci::{OciSource, RegistriesConfig};
//! use warden_registry::source::Source;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RegistriesConfig::load(std::path::Path::new("registries.toml"))?;
//! let source = OciSource::for_packages(config, vec!["acme:grep".parse()?]);
//! for entry in source.entries()? {
//!     println!("{} {}", entry.id(), entry.digest);
//! }
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod error;
pub mod layout;
pub mod remote;
mod source;

use std::path::Path;

use semver::Version;
use serde::{Deserialize, Serialize};

pub use config::{Location, RegistriesConfig};
pub use error::OciError;
pub use remote::{Credentials, Remote};
pub use source::{OciReference, OciSource, Target};

use crate::digest::Digest;
use crate::error::PackageError;
use crate::keys::SecretKey;
use crate::manifest::Manifest;
use crate::name::PackageName;
use crate::package::{self, ArchiveLimits, COMPONENT_FILE, MANIFEST_FILE, SIGNATURE_FILE};
use crate::signature::Signature;

/// The largest attestation file read.
const MAX_ATTESTATION_BYTES: u64 = 256 << 10;

/// What [`publish`] pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The package.
    pub name: PackageName,
    /// Its version.
    pub version: Version,
    /// `host/repository:tag`.
    pub reference: String,
    /// The OCI manifest digest.
    pub manifest_digest: Digest,
    /// The digest of the package as installers will rebuild it.
    pub package_digest: Digest,
    /// Whether the package file was already in canonical form (its own
    /// digest is the package digest).
    pub canonical: bool,
    /// Whether exactly this package was already published (nothing pushed).
    pub unchanged: bool,
}

/// Verifies `package_bytes` (signature, capabilities) and pushes it to its
/// repository at `location`, tagged with its version. Refuses to move a
/// tag that already names different contents: a version is published once.
pub fn publish(
    package_bytes: &[u8],
    location: &Location,
    limits: &ArchiveLimits,
) -> Result<Published, OciError> {
    let artifact =
        layout::artifact_for(package_bytes, limits).map_err(|source| OciError::Package {
            reference: "the package to publish".into(),
            source: Box::new(source),
        })?;
    let credentials = Credentials::for_registry(&location.registry)?;
    let remote = Remote::new(&location.registry, location.insecure, credentials)?;
    let repository = location.repository(&artifact.name);
    let tag = config::tag_for(&artifact.version);
    let reference = remote.tag_ref(&repository, &tag);
    let shown = reference.whole();
    let published = |unchanged| Published {
        name: artifact.name.clone(),
        version: artifact.version.clone(),
        reference: shown.clone(),
        manifest_digest: artifact.manifest_digest,
        package_digest: artifact.package_digest,
        canonical: artifact.canonical,
        unchanged,
    };
    if let Some((_, existing)) = remote.pull_manifest(&reference)? {
        if existing == artifact.manifest_digest {
            return Ok(published(true));
        }
        return Err(OciError::Refused {
            reference: shown,
            reason: format!(
                "{}@{} is already published there with different contents (manifest {existing}); \
                 publish a new version instead",
                artifact.name, artifact.version
            ),
        });
    }
    remote.auth_push(&reference)?;
    for (_, bytes) in &artifact.layers {
        remote.push_blob(&reference, bytes)?;
    }
    remote.push_blob(&reference, &artifact.config)?;
    remote.push_manifest(&reference, &artifact.manifest)?;
    Ok(published(false))
}

/// A warden manifest and a publisher's signature for a component held
/// elsewhere (a plain component pushed to an OCI registry by wkg, wash, or
/// any other tool). The signature binds the manifest bytes and the
/// component's digest, exactly as in a package, so installing the
/// component with it gives the same guarantees.
///
/// File format (`.attestation.json`):
///
/// ```json
/// {"version": 1, "manifest": "<warden.toml text>", "signature": { …signature.json… }}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    manifest: Vec<u8>,
    signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestationFile {
    version: u32,
    manifest: String,
    signature: serde_json::Value,
}

impl Attestation {
    /// Signs `manifest_text` for `component` with `key`, checking the
    /// component against the manifest first (as `warden package` does).
    pub fn sign(
        manifest_text: &str,
        component: &[u8],
        key: &SecretKey,
    ) -> Result<Attestation, PackageError> {
        let bytes = package::build(manifest_text, component, key)?;
        let package = package::read(&bytes, &ArchiveLimits::default())?;
        Ok(Attestation {
            manifest: package.manifest_bytes,
            signature: package.signature.to_json(),
        })
    }

    /// The attestation file's bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let signature = serde_json::from_slice(&self.signature).unwrap_or(serde_json::Value::Null);
        let file = AttestationFile {
            version: 1,
            manifest: String::from_utf8_lossy(&self.manifest).into_owned(),
            signature,
        };
        let mut out = serde_json::to_vec_pretty(&file).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Parses an attestation file.
    pub fn from_json(bytes: &[u8]) -> Result<Attestation, OciError> {
        let malformed = |reason: String| OciError::Refused {
            reference: "the attestation".into(),
            reason,
        };
        let file: AttestationFile = serde_json::from_slice(bytes)
            .map_err(|e| malformed(format!("it is malformed: {e}")))?;
        if file.version != 1 {
            return Err(malformed(format!(
                "format version {} is not supported (this warden reads version 1)",
                file.version
            )));
        }
        let mut signature =
            serde_json::to_vec_pretty(&file.signature).map_err(|e| malformed(e.to_string()))?;
        signature.push(b'\n');
        let attestation = Attestation {
            manifest: file.manifest.into_bytes(),
            signature,
        };
        // Both parts must parse now, not at install.
        attestation.manifest()?;
        attestation.component_digest()?;
        Ok(attestation)
    }

    /// Reads an attestation file (at most 256 KiB).
    pub fn load(path: &Path) -> Result<Attestation, OciError> {
        let read_err = |source| OciError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.len() > MAX_ATTESTATION_BYTES {
            return Err(OciError::TooLarge {
                reference: path.display().to_string(),
                what: "attestation file".into(),
                size: meta.len(),
                limit: MAX_ATTESTATION_BYTES,
            });
        }
        Attestation::from_json(&std::fs::read(path).map_err(read_err)?)
    }

    /// The manifest it carries.
    pub fn manifest(&self) -> Result<Manifest, OciError> {
        let refused = |reason: String| OciError::Refused {
            reference: "the attestation".into(),
            reason,
        };
        let text = std::str::from_utf8(&self.manifest)
            .map_err(|_| refused("its manifest is not UTF-8".into()))?;
        Manifest::parse(text).map_err(|e| refused(format!("its manifest: {e}")))
    }

    /// The component digest its signature names.
    pub fn component_digest(&self) -> Result<Digest, OciError> {
        Signature::from_json(&self.signature)
            .map(|s| s.component_digest)
            .map_err(|e| OciError::Refused {
                reference: "the attestation".into(),
                reason: e.to_string(),
            })
    }

    /// The package file of `component` with this manifest and signature
    /// (verified later, like any package).
    pub fn package_with(&self, component: &[u8]) -> Result<Vec<u8>, OciError> {
        package::write_archive(&[
            (COMPONENT_FILE, component),
            (SIGNATURE_FILE, &self.signature),
            (MANIFEST_FILE, &self.manifest),
        ])
        .map_err(|source| OciError::Package {
            reference: "the attested component".into(),
            source: Box::new(source),
        })
    }
}
