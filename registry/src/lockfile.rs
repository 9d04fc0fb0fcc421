//! `warden.lock`: the exact versions and digests a resolution picked, so
//! the next install picks the same bytes.
//!
//! ```toml
//! version = 1
//!
//! [[package]]
//! name = "acme:fs"
//! version = "1.2.0"
//! digest = "sha256:…"
//! oci-manifest = "sha256:…"    # only for packages from an OCI registry
//! ```
//!
//! Packages are sorted by name, so the file diffs cleanly.

use std::collections::BTreeMap;
use std::path::Path;

use semver::Version;
use serde::Deserialize;

use crate::digest::Digest;
use crate::error::LockfileError;
use crate::fsutil::write_atomic;
use crate::name::PackageName;
use crate::resolve::Resolution;

/// The lockfile format version this build reads and writes.
pub const LOCKFILE_VERSION: i64 = 1;

/// The conventional file name.
pub const LOCKFILE_NAME: &str = "warden.lock";

/// What the lockfile pins for one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    /// The exact version.
    pub version: Version,
    /// SHA-256 of the package file.
    pub digest: Digest,
}

/// A parsed `warden.lock`: package name → pinned version and digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockfile {
    packages: BTreeMap<PackageName, LockedPackage>,
    /// The OCI manifest digest each package from an OCI registry was read
    /// from (`--locked` pulls by it, never by tag).
    oci: BTreeMap<PackageName, Digest>,
}

/// The on-disk shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockfileToml {
    version: i64,
    #[serde(default, rename = "package")]
    packages: Vec<PackageToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageToml {
    name: toml::Spanned<PackageName>,
    version: Version,
    digest: Digest,
    #[serde(default, rename = "oci-manifest")]
    oci_manifest: Option<Digest>,
}

/// Only `version`, to report an unknown format clearly.
#[derive(Deserialize)]
struct VersionOnly {
    version: i64,
}

impl Lockfile {
    /// An empty lockfile.
    pub fn new() -> Lockfile {
        Lockfile::default()
    }

    /// The lockfile recording exactly what `resolution` picked.
    pub fn from_resolution(resolution: &Resolution) -> Lockfile {
        let packages = resolution
            .packages
            .iter()
            .map(|(name, r)| {
                let locked = LockedPackage {
                    version: r.version.clone(),
                    digest: r.digest,
                };
                (name.clone(), locked)
            })
            .collect();
        Lockfile {
            packages,
            oci: BTreeMap::new(),
        }
    }

    /// Reads the lockfile at `path`; `Ok(None)` if there is none.
    pub fn load(path: &Path) -> Result<Option<Lockfile>, LockfileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lockfile::parse(&text, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(LockfileError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses lockfile text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
        let malformed =
            |span: Option<std::ops::Range<usize>>, reason: String| LockfileError::Malformed {
                path: path.to_path_buf(),
                line: line_of(text, span.map_or(0, |s| s.start)),
                reason,
            };
        let parsed: LockfileToml = match toml::from_str(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                // A newer format may not parse as this one: say so first.
                if let Ok(VersionOnly { version }) = toml::from_str(text)
                    && version != LOCKFILE_VERSION
                {
                    return Err(LockfileError::UnsupportedVersion {
                        path: path.to_path_buf(),
                        found: version,
                    });
                }
                return Err(malformed(e.span(), e.message().trim_end().to_string()));
            }
        };
        if parsed.version != LOCKFILE_VERSION {
            return Err(LockfileError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: parsed.version,
            });
        }
        let mut packages = BTreeMap::new();
        let mut oci = BTreeMap::new();
        for p in parsed.packages {
            let span = p.name.span();
            let name = p.name.into_inner();
            if let Some(manifest) = p.oci_manifest {
                oci.insert(name.clone(), manifest);
            }
            let locked = LockedPackage {
                version: p.version,
                digest: p.digest,
            };
            if packages.insert(name.clone(), locked).is_some() {
                return Err(malformed(
                    Some(span),
                    format!("`{name}` is listed more than once"),
                ));
            }
        }
        Ok(Lockfile { packages, oci })
    }

    /// The TOML text of this lockfile, packages sorted by name.
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "# Generated by warden: the exact packages to install. Do not edit by hand.\n\
             version = {LOCKFILE_VERSION}\n"
        );
        for (name, locked) in &self.packages {
            // Names, versions and digests never need TOML escaping: their
            // syntax admits no quotes, backslashes or control characters.
            out.push_str(&format!(
                "\n[[package]]\nname = \"{name}\"\nversion = \"{}\"\ndigest = \"{}\"\n",
                locked.version, locked.digest
            ));
            if let Some(manifest) = self.oci.get(name) {
                out.push_str(&format!("oci-manifest = \"{manifest}\"\n"));
            }
        }
        out
    }

    /// Writes the lockfile to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), LockfileError> {
        write_atomic(path, self.to_toml().as_bytes()).map_err(|source| LockfileError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// What is pinned for `name`.
    pub fn get(&self, name: &PackageName) -> Option<&LockedPackage> {
        self.packages.get(name)
    }

    /// Pins `name` (replacing any earlier pin; its OCI manifest digest is
    /// kept only if the pin is unchanged).
    pub fn insert(&mut self, name: PackageName, locked: LockedPackage) {
        if self.packages.get(&name) != Some(&locked) {
            self.oci.remove(&name);
        }
        self.packages.insert(name, locked);
    }

    /// Unpins `name`, returning what was pinned.
    pub fn remove(&mut self, name: &PackageName) -> Option<LockedPackage> {
        self.oci.remove(name);
        self.packages.remove(name)
    }

    /// The OCI manifest digest `name` was read from, if it came from an OCI
    /// registry.
    pub fn oci_manifest(&self, name: &PackageName) -> Option<Digest> {
        self.oci.get(name).copied()
    }

    /// Records the OCI manifest digest of a pinned package (ignored if
    /// `name` is not pinned).
    pub fn set_oci_manifest(&mut self, name: &PackageName, manifest: Digest) {
        if self.packages.contains_key(name) {
            self.oci.insert(name.clone(), manifest);
        }
    }

    /// Every pin, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&PackageName, &LockedPackage)> {
        self.packages.iter()
    }

    /// How many packages are pinned.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether nothing is pinned.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::Resolved;

    fn name(s: &str) -> PackageName {
        s.parse().expect("valid name")
    }

    fn sample() -> Lockfile {
        let mut packages = BTreeMap::new();
        for (n, v) in [
            ("acme:grep", "1.4.0"),
            ("acme:fs", "1.2.0"),
            ("beta:x", "0.1.0-rc.1"),
        ] {
            packages.insert(
                name(n),
                Resolved {
                    version: v.parse().expect("version"),
                    digest: Digest::of(n.as_bytes()),
                    requested_by: vec!["the command line".to_string()],
                },
            );
        }
        Lockfile::from_resolution(&Resolution { packages })
    }

    #[test]
    fn round_trips_sorted_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(LOCKFILE_NAME);
        assert_eq!(Lockfile::load(&path).expect("load"), None);

        let lock = sample();
        lock.save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        let fs = text.find("acme:fs").expect("fs");
        let grep = text.find("acme:grep").expect("grep");
        let x = text.find("beta:x").expect("x");
        assert!(fs < grep && grep < x, "{text}");
        assert!(text.contains("version = 1\n"), "{text}");

        let loaded = Lockfile::load(&path).expect("load").expect("exists");
        assert_eq!(loaded, lock);
        let fs = loaded.get(&name("acme:fs")).expect("pinned");
        assert_eq!(fs.version, Version::new(1, 2, 0));
        assert_eq!(fs.digest, Digest::of(b"acme:fs"));
        assert_eq!(loaded.len(), 3);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let path = Path::new("warden.lock");
        let digest = Digest::of(b"x");
        let cases = [
            (
                format!("version = 1\n\n[[package]]\nname = \"acme:fs\"\nversion = \"one\"\ndigest = \"{digest}\"\n"),
                5,
                "version",
            ),
            (
                format!("version = 1\n\n[[package]]\nname = \"Acme:fs\"\nversion = \"1.0.0\"\ndigest = \"{digest}\"\n"),
                4,
                "invalid package name",
            ),
            (
                "version = 1\n\n[[package]]\nname = \"acme:fs\"\nversion = \"1.0.0\"\ndigest = \"sha256:00\"\n".to_string(),
                6,
                "invalid digest",
            ),
            ("version = 1\n[[package]\n".to_string(), 2, ""),
            (
                format!(
                    "version = 1\n[[package]]\nname = \"acme:fs\"\nversion = \"1.0.0\"\ndigest = \"{digest}\"\n\
                     [[package]]\nname = \"acme:fs\"\nversion = \"1.1.0\"\ndigest = \"{digest}\"\n"
                ),
                7,
                "more than once",
            ),
        ];
        for (text, line, needle) in cases {
            let err = Lockfile::parse(&text, path).expect_err(&text);
            let msg = err.to_string();
            assert!(
                matches!(err, LockfileError::Malformed { line: l, .. } if l == line),
                "expected line {line}: {msg}\n{text}"
            );
            assert!(
                msg.starts_with(&format!("warden.lock:{line}: malformed lockfile: ")),
                "{msg}"
            );
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn oci_manifest_digests_round_trip_and_follow_their_pin() {
        let mut lock = sample();
        let fs = name("acme:fs");
        let manifest = Digest::of(b"oci manifest");
        lock.set_oci_manifest(&fs, manifest);
        lock.set_oci_manifest(&name("acme:absent"), manifest);
        let text = lock.to_toml();
        assert!(
            text.contains(&format!("oci-manifest = \"{manifest}\"")),
            "{text}"
        );
        let parsed = Lockfile::parse(&text, Path::new("warden.lock")).expect("parse");
        assert_eq!(parsed, lock);
        assert_eq!(parsed.oci_manifest(&fs), Some(manifest));
        assert_eq!(parsed.oci_manifest(&name("acme:absent")), None);

        // Re-pinning the same version keeps it; another pin drops it.
        let mut lock = parsed;
        let same = lock.get(&fs).cloned().expect("pinned");
        lock.insert(fs.clone(), same.clone());
        assert_eq!(lock.oci_manifest(&fs), Some(manifest));
        lock.insert(
            fs.clone(),
            LockedPackage {
                version: Version::new(1, 3, 0),
                digest: same.digest,
            },
        );
        assert_eq!(lock.oci_manifest(&fs), None);
    }

    #[test]
    fn future_versions_are_refused_clearly() {
        let err = Lockfile::parse(
            "version = 2\n[[package]]\nnew-field = 1\n",
            Path::new("warden.lock"),
        )
        .expect_err("future");
        assert!(
            matches!(err, LockfileError::UnsupportedVersion { found: 2, .. }),
            "{err}"
        );
    }
}
