//! The local registry: what is installed, on disk, crash-safe.
//!
//! ```text
//! $WARDEN_HOME/
//!   lock                        held (exclusively) by every change
//!   blobs/sha256/<hex>          component bytes, content-addressed, immutable
//!   packages/sha256/<hex>       the signed package files, content-addressed, immutable
//!   approvals.json              what the user approved of each installed package's manifest
//!                               request at install (its ceiling for upgrades; the grants
//!                               themselves are rules in grants.toml)
//!   index.json                  what is installed (a view derived from packages/ + approvals.json)
//!   trust.toml                  namespace → trusted publisher keys
//! ```
//!
//! Every change takes the lock, writes content-addressed blobs first (temp
//! file, fsync, rename), then `approvals.json`, then `index.json` last. A process
//! killed at any point leaves the registry as it was or fully updated: blobs
//! nobody references are harmless, and `verify` reports (and `--repair`
//! removes) them.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::StoreError;
use crate::fsutil::{sync_dir, write_atomic};
use crate::keys::PublicKey;
use crate::manifest::Capabilities;
use crate::name::PackageName;
use crate::package::{self, ArchiveLimits, Package};
use crate::trust::TrustStore;
use warden_audit::{AuditEvent, AuditLog};

/// An installed package, as recorded in `index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// Its name.
    pub name: PackageName,
    /// Its version.
    pub version: Version,
    /// What kind of component it is (`tool`, `skill`, ...).
    pub kind: String,
    /// Digest of the component bytes.
    pub component_digest: Digest,
    /// Digest of the package file.
    pub package_digest: Digest,
    /// The key that signed it.
    pub publisher: PublicKey,
}

/// The on-disk index.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    packages: Vec<Installed>,
}

/// The on-disk install approvals: package name → the capabilities the user
/// approved when installing it. An upgrade that asks for more needs a new
/// approval. (The grants a component runs with are rules in `grants.toml`.)
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Approvals {
    version: u32,
    /// Written `grants` by registries before the rename.
    #[serde(alias = "grants")]
    approvals: BTreeMap<PackageName, Capabilities>,
}

/// How to install.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Allow installing a version lower than the one installed.
    pub allow_downgrade: bool,
    /// The capabilities the user grants. `None` keeps the grant recorded for
    /// an earlier version, and refuses if the package asks for more.
    pub grant: Option<Capabilities>,
    /// Bounds on the package archive.
    pub limits: ArchiveLimits,
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallOutcome {
    /// Newly installed.
    Installed(Installed),
    /// Replaced an older (or, with `allow_downgrade`, newer) version.
    Replaced {
        /// What is installed now.
        new: Installed,
        /// The version it replaced.
        old: Version,
    },
    /// Exactly this package was already installed.
    Unchanged(Installed),
}

impl InstallOutcome {
    /// The package installed now.
    pub fn installed(&self) -> &Installed {
        match self {
            InstallOutcome::Installed(i) | InstallOutcome::Unchanged(i) => i,
            InstallOutcome::Replaced { new, .. } => new,
        }
    }
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something installed cannot be trusted or run: a missing or changed
    /// blob, a bad signature, an unreadable index.
    Corrupt,
    /// Harmless debris of an interrupted change (temp files, blobs nothing
    /// references); `--repair` removes it.
    Leftover,
}

/// One problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What is affected (a package, a file).
    pub subject: String,
    /// What is wrong.
    pub problem: String,
    /// How bad it is.
    pub severity: Severity,
    /// Whether `--repair` fixed it.
    pub repaired: bool,
}

/// The result of `verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Installed packages checked.
    pub packages_checked: usize,
    /// What is wrong (empty: the registry is consistent).
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether the registry is intact: nothing corrupt is left unrepaired
    /// (leftovers do not count).
    pub fn ok(&self) -> bool {
        self.problems
            .iter()
            .all(|p| p.repaired || p.severity == Severity::Leftover)
    }
}

/// A test hook: aborts the process at the named step when
/// `WARDEN_FAULT_INJECT` names it, to prove crash safety.
fn fault_point(step: &str) {
    if std::env::var("WARDEN_FAULT_INJECT").is_ok_and(|s| s == step) {
        std::process::abort();
    }
}

/// The local registry rooted at a directory.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

/// The exclusive lock on a registry, released when dropped.
#[derive(Debug)]
pub struct RegistryLock {
    _file: File,
}

impl Registry {
    /// The default root: `$WARDEN_HOME`, else `$XDG_DATA_HOME/warden`, else
    /// `~/.local/share/warden`.
    pub fn default_root() -> Option<PathBuf> {
        if let Some(home) = std::env::var_os("WARDEN_HOME").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(home));
        }
        if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(data).join("warden"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/warden"))
    }

    /// Opens (creating if needed) the registry at `root`.
    pub fn open(root: &Path) -> Result<Registry, StoreError> {
        for dir in [
            root.to_path_buf(),
            root.join("blobs/sha256"),
            root.join("packages/sha256"),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        }
        Ok(Registry {
            root: root.to_path_buf(),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the registry's exclusive lock, waiting for another process
    /// that holds it.
    pub fn lock(&self) -> Result<RegistryLock, StoreError> {
        let path = self.root.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        file.lock().map_err(|e| StoreError::io(&path, e))?;
        Ok(RegistryLock { _file: file })
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn approvals_path(&self) -> PathBuf {
        self.root.join("approvals.json")
    }

    /// Where registries before the rename kept the approvals; read when
    /// `approvals.json` does not exist yet, removed once it does.
    fn legacy_approvals_path(&self) -> PathBuf {
        self.root.join("grants.json")
    }

    /// The audit log of this registry (`audit.jsonl` under the root). When
    /// an audit signing key is installed ([`Registry::audit_key_path`]),
    /// every record appended is signed with it.
    pub fn audit(&self) -> Result<AuditLog, StoreError> {
        let key_path = self.audit_key_path();
        let signer = if key_path.exists() {
            Some(
                crate::keys::SecretKey::load(&key_path).map_err(|e| StoreError::Corrupt {
                    path: key_path.clone(),
                    reason: format!("the audit signing key cannot be loaded: {e}"),
                })?,
            )
        } else {
            None
        };
        Ok(AuditLog::open(self.root.join("audit.jsonl"), signer)?)
    }

    /// Where the audit signing key is kept (mode 0600); records are signed
    /// while it exists.
    pub fn audit_key_path(&self) -> PathBuf {
        self.root.join("audit-signing.key")
    }

    /// The path of the trust store.
    pub fn trust_path(&self) -> PathBuf {
        self.root.join("trust.toml")
    }

    /// Loads the trust store.
    pub fn trust(&self) -> Result<TrustStore, StoreError> {
        Ok(TrustStore::load(&self.trust_path())?)
    }

    /// Changes the trust store under the lock.
    pub fn update_trust<R>(
        &self,
        change: impl FnOnce(&mut TrustStore) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let _lock = self.lock()?;
        let mut trust = self.trust()?;
        let result = change(&mut trust)?;
        trust.save(&self.trust_path())?;
        Ok(result)
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    /// Where the package file with `digest` is kept.
    pub(crate) fn package_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("packages/sha256").join(digest.hex())
    }

    fn load_index(&self) -> Result<Index, StoreError> {
        let path = self.index_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index {
                version: 1,
                packages: Vec::new(),
            }),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    fn save_index(&self, index: &Index) -> Result<(), StoreError> {
        let path = self.index_path();
        let bytes = serde_json::to_vec_pretty(index).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, &bytes).map_err(|e| StoreError::io(&path, e))
    }

    fn load_approvals(&self) -> Result<Approvals, StoreError> {
        for path in [self.approvals_path(), self.legacy_approvals_path()] {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    return serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                        path,
                        reason: e.to_string(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(&path, e)),
            }
        }
        Ok(Approvals {
            version: 1,
            approvals: BTreeMap::new(),
        })
    }

    fn save_approvals(&self, approvals: &Approvals) -> Result<(), StoreError> {
        let path = self.approvals_path();
        let bytes = serde_json::to_vec_pretty(approvals).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, &bytes).map_err(|e| StoreError::io(&path, e))?;
        let legacy = self.legacy_approvals_path();
        match std::fs::remove_file(&legacy) {
            Ok(()) => sync_dir(&self.root).map_err(|e| StoreError::io(&self.root, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&legacy, e)),
        }
    }

    /// Everything installed, sorted by name.
    pub fn installed(&self) -> Result<Vec<Installed>, StoreError> {
        let mut packages = self.load_index()?.packages;
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(packages)
    }

    /// The installed version of `name`, if it satisfies `req`.
    pub fn find(
        &self,
        name: &PackageName,
        req: &VersionReq,
    ) -> Result<Option<Installed>, StoreError> {
        Ok(self
            .load_index()?
            .packages
            .into_iter()
            .find(|p| &p.name == name && req.matches(&p.version)))
    }

    /// What the user approved of `name`'s manifest request at install.
    pub fn approval(&self, name: &PackageName) -> Result<Option<Capabilities>, StoreError> {
        Ok(self.load_approvals()?.approvals.get(name).cloned())
    }

    /// The stored component blob of an installed package, checked against
    /// the digest the index records. Only `verify` reads it: what runs comes
    /// from [`Registry::load`], which never trusts the index.
    fn component(&self, installed: &Installed) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(&installed.component_digest);
        let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let actual = Digest::of(&bytes);
        if actual != installed.component_digest {
            return Err(StoreError::DigestMismatch {
                what: format!("the component of {}@{}", installed.name, installed.version),
                expected: installed.component_digest,
                actual,
            });
        }
        Ok(bytes)
    }

    /// The signed package of an installed package, re-verified, for
    /// inspection: it does not check the signer against the trust store nor
    /// the package against the rest of the index entry. To run a package,
    /// use [`Registry::load`].
    pub fn package(&self, installed: &Installed) -> Result<Package, StoreError> {
        let path = self.package_path(&installed.package_digest);
        let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let actual = Digest::of(&bytes);
        if actual != installed.package_digest {
            return Err(StoreError::DigestMismatch {
                what: format!(
                    "the package file of {}@{}",
                    installed.name, installed.version
                ),
                expected: installed.package_digest,
                actual,
            });
        }
        Ok(package::read(&bytes, &ArchiveLimits::default())?)
    }

    /// Verifies `package_bytes` and installs it. Refuses (leaving the
    /// registry untouched) a package that is malformed, tampered, unsigned,
    /// signed by an untrusted key, a downgrade, confusable with an installed
    /// name, or asking for more than the user granted.
    pub fn install(
        &self,
        package_bytes: &[u8],
        options: &InstallOptions,
    ) -> Result<InstallOutcome, StoreError> {
        let package = package::read(package_bytes, &options.limits)?;
        let name = package.manifest.name.clone();
        let version = package.manifest.version.clone();
        let _lock = self.lock()?;

        self.trust()?.check(&name, package.publisher())?;

        let mut index = self.load_index()?;
        let mut approvals = self.load_approvals()?;
        if let Some(other) = index
            .packages
            .iter()
            .find(|p| p.name != name && p.name.key() == name.key())
        {
            return Err(StoreError::Confusable {
                name: name.to_string(),
                installed: other.name.to_string(),
            });
        }
        let package_digest = Digest::of(package_bytes);
        let current = index.packages.iter().find(|p| p.name == name).cloned();
        if let Some(current) = &current {
            if current.version == version {
                if current.package_digest == package_digest {
                    return Ok(InstallOutcome::Unchanged(current.clone()));
                }
                return Err(StoreError::VersionReused {
                    name: name.to_string(),
                    version: version.to_string(),
                });
            }
            if version < current.version && !options.allow_downgrade {
                return Err(StoreError::Downgrade {
                    name: name.to_string(),
                    installed: current.version.to_string(),
                    offered: version.to_string(),
                });
            }
        }
        let requested = &package.manifest.capabilities;
        let grant = match &options.grant {
            Some(grant) => grant.clone(),
            None => match approvals.approvals.get(&name) {
                Some(previous) => previous.clone(),
                None => {
                    return Err(StoreError::NoGrant {
                        package: format!("{name}@{version}"),
                    });
                }
            },
        };
        let extra = requested.exceeding(&grant);
        if !extra.is_empty() {
            return Err(StoreError::NeedsGrant {
                package: format!("{name}@{version}"),
                extra,
            });
        }

        let installed = Installed {
            name: name.clone(),
            version: version.clone(),
            kind: package.manifest.kind.to_string(),
            component_digest: package.component_digest(),
            package_digest,
            publisher: *package.publisher(),
        };
        self.put_blob(
            &self.blob_path(&installed.component_digest),
            &package.component,
            &installed.component_digest,
        )?;
        fault_point("after-component-blob");
        self.put_blob(
            &self.package_path(&package_digest),
            package_bytes,
            &package_digest,
        )?;
        fault_point("after-package-blob");
        approvals.approvals.insert(name.clone(), grant);
        self.save_approvals(&approvals)?;
        fault_point("after-approvals");
        index.packages.retain(|p| p.name != name);
        index.packages.push(installed.clone());
        index.version = 1;
        self.save_index(&index)?;
        fault_point("after-index");
        let event = match &current {
            Some(old) => AuditEvent::Upgrade {
                package: name.to_string(),
                from: old.version.to_string(),
                to: version.to_string(),
                digest: installed.component_digest.to_string(),
            },
            None => AuditEvent::Install {
                package: name.to_string(),
                version: version.to_string(),
                digest: installed.component_digest.to_string(),
                publisher: installed.publisher.to_string(),
                granted: approvals
                    .approvals
                    .get(&name)
                    .map(|g| g.describe())
                    .unwrap_or_default(),
            },
        };
        self.audit()?.append(event, &[])?;
        Ok(match current {
            Some(old) => InstallOutcome::Replaced {
                new: installed,
                old: old.version,
            },
            None => InstallOutcome::Installed(installed),
        })
    }

    /// Writes a content-addressed blob unless an intact copy exists.
    fn put_blob(&self, path: &Path, bytes: &[u8], digest: &Digest) -> Result<(), StoreError> {
        if std::fs::read(path).is_ok_and(|existing| Digest::of(&existing) == *digest) {
            return Ok(());
        }
        write_atomic(path, bytes).map_err(|e| StoreError::io(path, e))
    }

    /// Removes the installed package `name`. Its blobs stay until
    /// `verify --repair` collects them.
    pub fn remove(&self, name: &PackageName) -> Result<Installed, StoreError> {
        let _lock = self.lock()?;
        let mut index = self.load_index()?;
        let Some(pos) = index.packages.iter().position(|p| &p.name == name) else {
            return Err(StoreError::NotInstalled {
                name: name.to_string(),
            });
        };
        let removed = index.packages.remove(pos);
        self.save_index(&index)?;
        let mut approvals = self.load_approvals()?;
        approvals.approvals.remove(name);
        self.save_approvals(&approvals)?;
        self.audit()?.append(
            AuditEvent::Remove {
                package: removed.name.to_string(),
                version: removed.version.to_string(),
            },
            &[],
        )?;
        Ok(removed)
    }

    /// Checks every installed package (blobs present, digests, signature,
    /// trust) and the store's files. With `repair`, removes leftovers (temp
    /// files, unreferenced blobs) and rebuilds a corrupt index from the
    /// package files.
    pub fn verify(&self, repair: bool) -> Result<VerifyReport, StoreError> {
        let _lock = self.lock()?;
        let mut report = VerifyReport::default();
        let index = match self.load_index() {
            Ok(index) => index,
            Err(StoreError::Corrupt { path, reason }) => {
                let rebuilt = if repair {
                    Some(self.rebuild_index()?)
                } else {
                    None
                };
                report.problems.push(Problem {
                    subject: path.display().to_string(),
                    problem: format!("the index is unreadable ({reason})"),
                    severity: Severity::Corrupt,
                    repaired: rebuilt.is_some(),
                });
                match rebuilt {
                    Some(index) => index,
                    None => return Ok(report),
                }
            }
            Err(e) => return Err(e),
        };
        let trust = self.trust()?;
        let approvals = self.load_approvals()?;
        for entry in &index.packages {
            report.packages_checked += 1;
            let subject = format!("{}@{}", entry.name, entry.version);
            let mut problem = |problem: String| {
                report.problems.push(Problem {
                    subject: subject.clone(),
                    problem,
                    severity: Severity::Corrupt,
                    repaired: false,
                });
            };
            if let Err(e) = self.component(entry) {
                problem(e.to_string());
            }
            // Exactly the checks a load makes before anything runs.
            if let Err(e) = self.load_with(entry, &trust) {
                problem(e.to_string());
            }
            if !approvals.approvals.contains_key(&entry.name) {
                problem("no install approval is recorded".into());
            }
        }
        // Leftovers: temp files and blobs nothing references.
        let referenced: Vec<PathBuf> = index
            .packages
            .iter()
            .flat_map(|p| {
                [
                    self.blob_path(&p.component_digest),
                    self.package_path(&p.package_digest),
                ]
            })
            .collect();
        for dir in [
            self.root.clone(),
            self.root.join("blobs/sha256"),
            self.root.join("packages/sha256"),
        ] {
            let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let is_temp = file_name.starts_with(".tmp-");
                let is_orphan = dir != self.root && !referenced.contains(&path);
                if !(is_temp || is_orphan) {
                    continue;
                }
                let repaired = repair && std::fs::remove_file(&path).is_ok();
                report.problems.push(Problem {
                    subject: path.display().to_string(),
                    problem: if is_temp {
                        "a temporary file left by an interrupted write".into()
                    } else {
                        "a blob no installed package references".into()
                    },
                    severity: Severity::Leftover,
                    repaired,
                });
            }
            if repair {
                sync_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
            }
        }
        Ok(report)
    }

    /// Rebuilds `index.json` from the package files (the highest version of
    /// each name wins) and saves it.
    fn rebuild_index(&self) -> Result<Index, StoreError> {
        let dir = self.root.join("packages/sha256");
        let mut best: BTreeMap<PackageName, Installed> = BTreeMap::new();
        for entry in std::fs::read_dir(&dir)
            .map_err(|e| StoreError::io(&dir, e))?
            .flatten()
        {
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            let Ok(package) = package::read(&bytes, &ArchiveLimits::default()) else {
                continue;
            };
            let installed = Installed {
                name: package.manifest.name.clone(),
                version: package.manifest.version.clone(),
                kind: package.manifest.kind.to_string(),
                component_digest: package.component_digest(),
                package_digest: Digest::of(&bytes),
                publisher: *package.publisher(),
            };
            if best
                .get(&installed.name)
                .is_none_or(|b| b.version < installed.version)
            {
                best.insert(installed.name.clone(), installed);
            }
        }
        let index = Index {
            version: 1,
            packages: best.into_values().collect(),
        };
        self.save_index(&index)?;
        Ok(index)
    }
}
