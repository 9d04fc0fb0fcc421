//! Where packages come from: a [`Source`] lists what it offers as
//! [`IndexEntry`]s and serves the bytes of one entry, verified against the
//! entry's digest.
//!
//! Two sources exist today:
//!
//! - [`DirSource`]: a shared folder acting as a team registry, with an
//!   `index.json` next to the package files:
//!
//!   ```text
//!   /mnt/team-registry/
//!     index.json          {"version":1,"packages":[IndexEntry, ...]}
//!     acme-grep-1.4.0.wpkg
//!     acme-fs-1.2.0.wpkg
//!   ```
//!
//! - [`SingleFileSource`]: one package file given on the command line.
//!
//! A source is untrusted: every byte it serves is checked against the
//! digest its index promised ([`Source::fetch`]), reads are bounded before
//! they happen, and an index cannot point outside its folder. Whether the
//! package's *publisher* is trusted is checked later, from its signature.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::SourceError;
use crate::fsutil::write_atomic;
use crate::name::PackageName;

/// The name of a registry folder's index file.
pub const INDEX_FILE: &str = "index.json";

/// The index format version this build reads and writes.
pub const INDEX_VERSION: u64 = 1;

/// The largest `index.json` [`DirSource`] reads by default: 256 MiB, room
/// for about 800,000 entries (100,000 take 31.5 MB).
pub const DEFAULT_MAX_INDEX_BYTES: u64 = 256 << 20;

/// One package version a source offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The package.
    pub name: PackageName,
    /// Its version.
    pub version: Version,
    /// SHA-256 of the package file's bytes.
    pub digest: Digest,
    /// The package file's size in bytes.
    pub size: u64,
    /// What it depends on: package → version requirement.
    #[serde(default)]
    pub dependencies: BTreeMap<PackageName, VersionReq>,
    /// The package file, relative to the source (for [`DirSource`], a plain
    /// file name inside the folder).
    pub file: String,
}

impl IndexEntry {
    /// `name@version`, for messages.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A place packages come from.
///
/// The shape is meant to fit remote sources too. An OCI registry, for
/// instance, maps onto it directly: [`entries`](Source::entries) lists the
/// repository's tags and reads each manifest (version, dependencies, layer
/// digest and size) into an [`IndexEntry`] whose `file` is the layer
/// reference; [`fetch`](Source::fetch) downloads that blob through a reader
/// bounded by `max_bytes` and checks the same digest. Callers never learn
/// which kind of source they talk to.
pub trait Source: Send + Sync {
    /// What this source is, for messages (e.g. `registry folder
    /// /mnt/team-registry`).
    fn describe(&self) -> String;

    /// Every package version the source offers.
    fn entries(&self) -> Result<Vec<IndexEntry>, SourceError>;

    /// The bytes of `entry`'s package file: refused if larger than
    /// `max_bytes` (before reading it all), and verified to hash to
    /// `entry.digest`.
    fn fetch(&self, entry: &IndexEntry, max_bytes: u64) -> Result<Vec<u8>, SourceError>;
}

/// A shared folder acting as a team registry: `index.json` plus the
/// package files it names.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
    max_index_bytes: u64,
}

/// The on-disk shape of `index.json`.
#[derive(Debug, Serialize, Deserialize)]
struct IndexFile {
    version: u64,
    packages: Vec<IndexEntry>,
}

/// Only `version`, to report an unknown format clearly before parsing the rest.
#[derive(Deserialize)]
struct IndexVersion {
    version: u64,
}

impl DirSource {
    /// The registry folder at `root` (nothing is read until
    /// [`entries`](Source::entries) or [`fetch`](Source::fetch)).
    pub fn new(root: impl Into<PathBuf>) -> DirSource {
        DirSource {
            root: root.into(),
            max_index_bytes: DEFAULT_MAX_INDEX_BYTES,
        }
    }

    /// Sets the largest `index.json` to read (default
    /// [`DEFAULT_MAX_INDEX_BYTES`]).
    pub fn with_max_index_bytes(mut self, max: u64) -> DirSource {
        self.max_index_bytes = max;
        self
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of its index file.
    pub fn index_path(&self) -> PathBuf {
        self.root.join(INDEX_FILE)
    }
}

impl Source for DirSource {
    fn describe(&self) -> String {
        format!("registry folder {}", self.root.display())
    }

    fn entries(&self) -> Result<Vec<IndexEntry>, SourceError> {
        let path = self.index_path();
        let bytes = read_bounded(&path, self.max_index_bytes)?;
        let malformed = |e: serde_json::Error| SourceError::MalformedIndex {
            path: path.clone(),
            reason: e.to_string(),
        };
        let unsupported = |found| SourceError::UnsupportedIndexVersion {
            path: path.clone(),
            found,
        };
        let index: IndexFile = match serde_json::from_slice(&bytes) {
            Ok(index) => index,
            // A newer format may not parse as this one: say so, rather than
            // reporting whatever field changed.
            Err(e) => {
                return Err(match serde_json::from_slice::<IndexVersion>(&bytes) {
                    Ok(IndexVersion { version }) if version != INDEX_VERSION => {
                        unsupported(version)
                    }
                    _ => malformed(e),
                });
            }
        };
        if index.version != INDEX_VERSION {
            return Err(unsupported(index.version));
        }
        validate(&index.packages)?;
        Ok(index.packages)
    }

    fn fetch(&self, entry: &IndexEntry, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        check_file_name(entry)?;
        let path = self.root.join(&entry.file);
        read_verified(&path, entry, max_bytes)
    }
}

/// Writes `root/index.json` listing `entries`, sorted by name then version,
/// atomically (a concurrent reader sees the old index or the new one).
/// Refuses entries [`DirSource`] would refuse to read.
pub fn write_index(root: &Path, mut entries: Vec<IndexEntry>) -> Result<(), SourceError> {
    entries.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    validate(&entries)?;
    let index = IndexFile {
        version: INDEX_VERSION,
        packages: entries,
    };
    let path = root.join(INDEX_FILE);
    let mut json = serde_json::to_vec_pretty(&index).map_err(|e| SourceError::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    json.push(b'\n');
    write_atomic(&path, &json).map_err(|source| SourceError::Write { path, source })
}

/// One package file, served with the entry built from its contents.
#[derive(Debug, Clone)]
pub struct SingleFileSource {
    path: PathBuf,
    entry: IndexEntry,
}

impl SingleFileSource {
    /// Serves the package file at `path` as `entry` (whose `file` is not
    /// used: the path is).
    pub fn new(path: impl Into<PathBuf>, entry: IndexEntry) -> SingleFileSource {
        SingleFileSource {
            path: path.into(),
            entry,
        }
    }

    /// The package file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry it serves.
    pub fn entry(&self) -> &IndexEntry {
        &self.entry
    }
}

impl Source for SingleFileSource {
    fn describe(&self) -> String {
        format!("package file {}", self.path.display())
    }

    fn entries(&self) -> Result<Vec<IndexEntry>, SourceError> {
        Ok(vec![self.entry.clone()])
    }

    fn fetch(&self, entry: &IndexEntry, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        let own = &self.entry;
        if (&entry.name, &entry.version, &entry.digest) != (&own.name, &own.version, &own.digest) {
            return Err(SourceError::UnknownEntry {
                package: entry.id(),
                digest: entry.digest,
                origin: self.describe(),
            });
        }
        read_verified(&self.path, own, max_bytes)
    }
}

/// Refuses duplicate versions and file names that leave the folder.
fn validate(entries: &[IndexEntry]) -> Result<(), SourceError> {
    let mut seen = HashSet::with_capacity(entries.len());
    for entry in entries {
        check_file_name(entry)?;
        if !seen.insert((&entry.name, &entry.version)) {
            return Err(SourceError::DuplicateEntry {
                package: entry.id(),
            });
        }
    }
    Ok(())
}

/// An entry's `file` must be one plain file name: no separators, no `..`,
/// not absolute.
fn check_file_name(entry: &IndexEntry) -> Result<(), SourceError> {
    let file = entry.file.as_str();
    let reason = if file.is_empty() {
        Some("it is empty")
    } else if file.contains('/') || file.contains('\\') {
        Some("it contains a path separator")
    } else if file.contains('\0') {
        Some("it contains a NUL byte")
    } else if Path::new(file).is_absolute() {
        Some("it is an absolute path")
    } else {
        let mut parts = Path::new(file).components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(_)), None) => None,
            _ => Some("it is `.`, `..` or a drive prefix"),
        }
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(SourceError::UnsafeFileName {
            package: entry.id(),
            file: file.to_string(),
            reason: reason.to_string(),
        }),
    }
}

/// Reads a regular file of at most `max_bytes`, refusing a larger one
/// before reading it (by its metadata) and while reading it (in case it
/// grows).
fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
    let read_err = |source| SourceError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Checked before opening: opening a FIFO would block.
    if !std::fs::metadata(path).map_err(read_err)?.is_file() {
        return Err(SourceError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let file = File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(SourceError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let too_large = |size| SourceError::TooLarge {
        path: path.to_path_buf(),
        size,
        max_bytes,
    };
    if meta.len() > max_bytes {
        return Err(too_large(meta.len()));
    }
    let capacity = usize::try_from(meta.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    let read = bytes.len() as u64;
    if read > max_bytes {
        return Err(too_large(read));
    }
    Ok(bytes)
}

/// Reads `entry`'s file at `path` within `max_bytes` and checks its size
/// and digest against the entry.
fn read_verified(path: &Path, entry: &IndexEntry, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
    let bytes = read_bounded(path, max_bytes)?;
    let actual = Digest::of(&bytes);
    if actual != entry.digest {
        return Err(SourceError::DigestMismatch {
            path: path.to_path_buf(),
            expected: entry.digest,
            actual,
        });
    }
    // After the digest: a size typo in the index is reported only when the
    // bytes are otherwise right.
    if bytes.len() as u64 != entry.size {
        return Err(SourceError::SizeMismatch {
            path: path.to_path_buf(),
            expected: entry.size,
            actual: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> PackageName {
        s.parse().expect("valid name")
    }

    fn entry_for(pkg: &str, version: &str, bytes: &[u8], file: &str) -> IndexEntry {
        IndexEntry {
            name: name(pkg),
            version: version.parse().expect("valid version"),
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            dependencies: BTreeMap::new(),
            file: file.to_string(),
        }
    }

    /// A registry folder with the given (entry, bytes) written out.
    fn folder(packages: &[(IndexEntry, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (entry, bytes) in packages {
            std::fs::write(dir.path().join(&entry.file), bytes).expect("write package");
        }
        let entries = packages.iter().map(|(e, _)| e.clone()).collect();
        write_index(dir.path(), entries).expect("write index");
        dir
    }

    #[test]
    fn index_round_trips_sorted_and_fetch_verifies() {
        let mut grep = entry_for("acme:grep", "1.4.0", b"grep-1.4", "grep-1.4.0.wpkg");
        grep.dependencies
            .insert(name("acme:fs"), "^1.2".parse().expect("req"));
        let fs_new = entry_for("acme:fs", "1.10.0", b"fs-1.10", "fs-1.10.0.wpkg");
        let fs_old = entry_for("acme:fs", "1.2.0", b"fs-1.2", "fs-1.2.0.wpkg");
        let dir = folder(&[
            (grep.clone(), b"grep-1.4"),
            (fs_new.clone(), b"fs-1.10"),
            (fs_old.clone(), b"fs-1.2"),
        ]);
        let source = DirSource::new(dir.path());
        let entries = source.entries().expect("entries");
        assert_eq!(entries, vec![fs_old, fs_new, grep.clone()]);
        assert_eq!(source.fetch(&grep, 1024).expect("fetch"), b"grep-1.4");
        assert!(
            source
                .describe()
                .contains(&dir.path().display().to_string())
        );
    }

    #[test]
    fn unsafe_file_names_are_refused_when_reading_and_writing() {
        for bad in ["../x", "/abs", "a/b", "..", ".", "", "a\\b"] {
            let entry = entry_for("acme:evil", "1.0.0", b"x", bad);
            let err = check_file_name(&entry).expect_err(bad);
            assert!(
                matches!(&err, SourceError::UnsafeFileName { file, .. } if file == bad),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("not a plain file name"), "{err}");

            // An index written by someone else, naming the file.
            let dir = tempfile::tempdir().expect("tempdir");
            let json = serde_json::json!({"version": 1, "packages": [entry]});
            std::fs::write(dir.path().join(INDEX_FILE), json.to_string()).expect("write");
            let err = DirSource::new(dir.path()).entries().expect_err(bad);
            assert!(
                matches!(err, SourceError::UnsafeFileName { .. }),
                "{bad}: {err}"
            );
            // Fetching it directly is refused too.
            let err = DirSource::new(dir.path())
                .fetch(&entry, 1024)
                .expect_err(bad);
            assert!(
                matches!(err, SourceError::UnsafeFileName { .. }),
                "{bad}: {err}"
            );
            // And the index writer refuses to write it.
            let err = write_index(dir.path(), vec![entry]).expect_err(bad);
            assert!(
                matches!(err, SourceError::UnsafeFileName { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let bytes = vec![7u8; 4096];
        let entry = entry_for("acme:big", "1.0.0", &bytes, "big.wpkg");
        let dir = folder(&[(entry.clone(), &bytes)]);
        let err = DirSource::new(dir.path())
            .fetch(&entry, 100)
            .expect_err("too large");
        match &err {
            SourceError::TooLarge {
                size, max_bytes, ..
            } => assert_eq!((*size, *max_bytes), (4096, 100)),
            other => panic!("unexpected error: {other}"),
        }
        assert!(err.to_string().contains("big.wpkg"), "{err}");
        // At exactly the limit it is fine.
        assert_eq!(
            DirSource::new(dir.path())
                .fetch(&entry, 4096)
                .expect("fetch"),
            bytes
        );
    }

    #[cfg(unix)]
    #[test]
    fn unbounded_special_files_are_refused_without_reading() {
        // /dev/zero has no size in its metadata and never ends: it must be
        // refused as not a regular file, not read until the limit.
        let bytes = b"x";
        let mut entry = entry_for("acme:zero", "1.0.0", bytes, "zero.wpkg");
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.wpkg")).expect("symlink");
        entry.file = "zero.wpkg".to_string();
        let err = DirSource::new(dir.path())
            .fetch(&entry, 1 << 30)
            .expect_err("special file");
        assert!(matches!(err, SourceError::NotAFile { .. }), "{err}");
    }

    #[test]
    fn reads_are_bounded_even_if_metadata_is_not() {
        // The read-through bound, tested directly on a file that is larger
        // than the limit by one byte.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, [0u8; 11]).expect("write");
        assert!(matches!(
            read_bounded(&path, 10),
            Err(SourceError::TooLarge { size: 11, .. })
        ));
        assert_eq!(read_bounded(&path, 11).expect("read").len(), 11);
    }

    #[test]
    fn digest_mismatch_names_file_and_both_digests() {
        let entry = entry_for("acme:grep", "1.0.0", b"original", "grep.wpkg");
        let dir = folder(&[(entry.clone(), b"tampered")]);
        let err = DirSource::new(dir.path())
            .fetch(&entry, 1024)
            .expect_err("tampered");
        let msg = err.to_string();
        assert!(msg.contains("grep.wpkg"), "{msg}");
        assert!(msg.contains(&Digest::of(b"original").to_string()), "{msg}");
        assert!(msg.contains(&Digest::of(b"tampered").to_string()), "{msg}");
    }

    #[test]
    fn size_mismatch_is_reported() {
        let mut entry = entry_for("acme:grep", "1.0.0", b"abc", "grep.wpkg");
        entry.size = 5;
        let dir = folder(&[(entry.clone(), b"abc")]);
        let err = DirSource::new(dir.path())
            .fetch(&entry, 1024)
            .expect_err("size");
        assert!(
            matches!(
                err,
                SourceError::SizeMismatch {
                    expected: 5,
                    actual: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_and_future_indexes_say_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = DirSource::new(dir.path());
        let err = source.entries().expect_err("missing");
        assert!(matches!(err, SourceError::Read { .. }), "{err}");

        std::fs::write(source.index_path(), "{\"version\":1,\n\"packages\":[{]}").expect("write");
        let err = source.entries().expect_err("malformed");
        assert!(matches!(err, SourceError::MalformedIndex { .. }), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");

        std::fs::write(source.index_path(), r#"{"version":2,"packages":"later"}"#).expect("write");
        let err = source.entries().expect_err("future");
        assert!(
            matches!(err, SourceError::UnsupportedIndexVersion { found: 2, .. }),
            "{err}"
        );

        std::fs::write(source.index_path(), vec![b' '; 100]).expect("write");
        let err = source
            .clone()
            .with_max_index_bytes(10)
            .entries()
            .expect_err("too large");
        assert!(matches!(err, SourceError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn duplicate_versions_are_refused() {
        let a = entry_for("acme:grep", "1.0.0", b"a", "a.wpkg");
        let b = entry_for("acme:grep", "1.0.0", b"b", "b.wpkg");
        let dir = tempfile::tempdir().expect("tempdir");
        let err = write_index(dir.path(), vec![a, b]).expect_err("duplicate");
        assert!(matches!(err, SourceError::DuplicateEntry { .. }), "{err}");
    }

    #[test]
    fn single_file_source_serves_only_its_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("grep.wpkg");
        std::fs::write(&path, b"grep").expect("write");
        let entry = entry_for("acme:grep", "1.0.0", b"grep", "ignored");
        let source = SingleFileSource::new(&path, entry.clone());
        assert_eq!(source.entries().expect("entries"), vec![entry.clone()]);
        assert_eq!(source.fetch(&entry, 4).expect("fetch"), b"grep");
        assert!(matches!(
            source.fetch(&entry, 3),
            Err(SourceError::TooLarge { .. })
        ));

        let other = entry_for("acme:grep", "2.0.0", b"grep", "ignored");
        let err = source.fetch(&other, 1024).expect_err("other");
        assert!(matches!(err, SourceError::UnknownEntry { .. }), "{err}");

        std::fs::write(&path, b"gre!").expect("write");
        let err = source.fetch(&entry, 1024).expect_err("changed");
        assert!(matches!(err, SourceError::DigestMismatch { .. }), "{err}");
    }
}
