//! Loading an installed package to run it: the one way from an
//! `index.json` entry to component bytes.
//!
//! The index is a cache of what is installed, never an authority: anyone who
//! can write the warden home can edit it. So [`Registry::load`] takes an
//! entry only as a pointer and re-derives everything that decides what runs
//! from the signed package file it points at:
//!
//! 1. the package file is read by the entry's `package_digest`, and its
//!    bytes must hash to that digest;
//! 2. it is verified again ([`crate::package::read`]: archive, manifest,
//!    signature over the exact manifest and component bytes, imports against
//!    the manifest);
//! 3. the signed manifest's name and version must be the entry's, and so
//!    must its kind;
//! 4. the component digest the signature covers must be the entry's
//!    `component_digest`, and the key that signed must be the entry's
//!    `publisher`;
//! 5. that key must be trusted for the package's namespace in the trust
//!    store *as it is now* (so `warden trust remove` stops a package at its
//!    next load).
//!
//! The bytes that run are the component inside the verified package file:
//! exactly the bytes the signature covers. (The org policy has no rules
//! about publishers today; when it gets some, they belong in step 5.)

use crate::digest::Digest;
use crate::error::{LoadError, StoreError, TrustError};
use crate::keys::PublicKey;
use crate::manifest::Manifest;
use crate::package::{self, ArchiveLimits, Package};
use crate::store::{Installed, Registry};
use crate::trust::TrustStore;

/// An installed package that passed every check of [`Registry::load`]: the
/// only thing a host should run.
#[derive(Debug, Clone)]
pub struct VerifiedPackage {
    installed: Installed,
    package: Package,
    component_digest: Digest,
}

impl VerifiedPackage {
    /// The index entry, now known to agree with the signed package.
    pub fn installed(&self) -> &Installed {
        &self.installed
    }

    /// The signed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.package.manifest
    }

    /// The component bytes, exactly as signed.
    pub fn component(&self) -> &[u8] {
        &self.package.component
    }

    /// The digest of [`VerifiedPackage::component`], as signed.
    pub fn component_digest(&self) -> Digest {
        self.component_digest
    }

    /// The key that signed it, trusted for its namespace at load.
    pub fn publisher(&self) -> &PublicKey {
        self.package.publisher()
    }

    /// The whole verified package.
    pub fn package(&self) -> &Package {
        &self.package
    }

    /// The component bytes, consuming the package.
    pub fn into_component(self) -> Vec<u8> {
        self.package.component
    }
}

impl Registry {
    /// Loads `installed` to run it, verifying it against its signed package
    /// file and the trust store as it is now (see the module docs). Refuses
    /// with [`StoreError::Load`] naming the package and what did not match.
    pub fn load(&self, installed: &Installed) -> Result<VerifiedPackage, StoreError> {
        self.load_with(installed, &self.trust()?)
    }

    /// [`Registry::load`] against a trust store already read.
    pub(crate) fn load_with(
        &self,
        installed: &Installed,
        trust: &TrustStore,
    ) -> Result<VerifiedPackage, StoreError> {
        let label = format!("{}@{}", installed.name, installed.version);
        let path = self.package_path(&installed.package_digest);
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Unreadable {
            package: label.clone(),
            path: path.clone(),
            source,
        })?;
        let actual = Digest::of(&bytes);
        if actual != installed.package_digest {
            return Err(LoadError::PackageFileChanged {
                package: label,
                expected: installed.package_digest,
                actual,
            }
            .into());
        }
        let package = package::read(&bytes, &ArchiveLimits::default()).map_err(|source| {
            LoadError::Invalid {
                package: label.clone(),
                source,
            }
        })?;
        let manifest = &package.manifest;
        if manifest.name != installed.name || manifest.version != installed.version {
            return Err(LoadError::NameMismatch {
                package: label,
                signed: format!("{}@{}", manifest.name, manifest.version),
            }
            .into());
        }
        let signed_kind = manifest.kind.to_string();
        if signed_kind != installed.kind {
            return Err(LoadError::KindMismatch {
                package: label,
                indexed: installed.kind.clone(),
                signed: signed_kind,
            }
            .into());
        }
        // `package::read` verified the signature over the digest of the
        // component bytes present, so this is the digest that was signed.
        let signed = package.component_digest();
        if signed != installed.component_digest {
            return Err(LoadError::ComponentMismatch {
                package: label,
                indexed: installed.component_digest,
                signed,
            }
            .into());
        }
        if package.publisher() != &installed.publisher {
            return Err(LoadError::PublisherMismatch {
                package: label,
                indexed: installed.publisher,
                signed: *package.publisher(),
            }
            .into());
        }
        match trust.check(&installed.name, package.publisher()) {
            Ok(()) => {}
            Err(TrustError::Untrusted { namespace, .. }) => {
                return Err(LoadError::Untrusted {
                    package: label,
                    key: *package.publisher(),
                    namespace,
                    trusted_for: Vec::new(),
                }
                .into());
            }
            Err(TrustError::WrongNamespace {
                namespace,
                trusted_for,
                ..
            }) => {
                return Err(LoadError::Untrusted {
                    package: label,
                    key: *package.publisher(),
                    namespace,
                    trusted_for,
                }
                .into());
            }
            Err(other) => return Err(other.into()),
        }
        Ok(VerifiedPackage {
            installed: installed.clone(),
            package,
            component_digest: signed,
        })
    }
}
