//! The package file (`.wpkg`): one file a user hands around.
//!
//! A ustar archive with exactly three regular files, written in this order
//! with mtime 0, mode 0644 and uid/gid 0, so that building twice gives the
//! same bytes:
//!
//! - `component.wasm`: the WebAssembly component;
//! - `signature.json`: the publisher's signature (see [`crate::signature`]);
//! - `warden.toml`: the manifest (see [`crate::manifest`]).
//!
//! [`read`] unpacks from memory within [`ArchiveLimits`], checking each
//! entry's header (size, type, path) before reading its data, then parses
//! the manifest, verifies the signature over the exact bytes, and checks the
//! component against its manifest. It does not decide whether the publisher
//! is trusted: that is the store's job, against the trust store.

use std::collections::BTreeMap;
use std::io::Read;

use tar::{EntryType, Header};

use crate::capabilities::{self, ImportSummary};
use crate::digest::Digest;
use crate::error::{ManifestError, PackageError};
use crate::keys::{PublicKey, SecretKey};
use crate::manifest::Manifest;
use crate::signature::{self, Signature, Statement};

/// The manifest entry.
pub const MANIFEST_FILE: &str = "warden.toml";
/// The component entry.
pub const COMPONENT_FILE: &str = "component.wasm";
/// The signature entry.
pub const SIGNATURE_FILE: &str = "signature.json";

/// Bounds on what [`read`] accepts, checked before the bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// The whole package file. Default 64 MiB.
    pub max_archive_bytes: u64,
    /// `component.wasm`. Default 48 MiB.
    pub max_component_bytes: u64,
    /// `warden.toml` and `signature.json`, each. Default 64 KiB.
    pub max_metadata_bytes: u64,
    /// Entries in the archive. Default 8.
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_archive_bytes: 64 << 20,
            max_component_bytes: 48 << 20,
            max_metadata_bytes: 64 << 10,
            max_entries: 8,
        }
    }
}

impl ArchiveLimits {
    fn for_entry(&self, name: &str) -> u64 {
        if name == COMPONENT_FILE {
            self.max_component_bytes
        } else {
            self.max_metadata_bytes
        }
    }
}

/// A package whose archive, manifest, signature and capabilities have been
/// checked (but whose publisher has not yet been checked against the trust
/// store).
#[derive(Debug, Clone)]
pub struct Package {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The exact `warden.toml` bytes that were signed.
    pub manifest_bytes: Vec<u8>,
    /// The component bytes.
    pub component: Vec<u8>,
    /// The verified signature.
    pub signature: Signature,
    /// What the component imports and exports.
    pub imports: ImportSummary,
}

impl Package {
    /// The digest of the component.
    pub fn component_digest(&self) -> Digest {
        Digest::of(&self.component)
    }

    /// The key that signed the package.
    pub fn publisher(&self) -> &PublicKey {
        &self.signature.key
    }
}

/// Builds a signed package: validates the manifest, checks the component
/// against it, signs both with `key`, and writes the archive.
pub fn build(
    manifest_text: &str,
    component: &[u8],
    key: &SecretKey,
) -> Result<Vec<u8>, PackageError> {
    let manifest = Manifest::parse(manifest_text)?;
    let limits = ArchiveLimits::default();
    for (name, size) in [
        (MANIFEST_FILE, manifest_text.len()),
        (COMPONENT_FILE, component.len()),
    ] {
        let limit = limits.for_entry(name);
        if size as u64 > limit {
            return Err(PackageError::EntryTooLarge {
                name: name.to_string(),
                size: size as u64,
                limit,
            });
        }
    }
    capabilities::check(&manifest, component)?;
    let statement = Statement::new(
        &manifest.name,
        &manifest.version,
        manifest_text.as_bytes(),
        component,
    );
    let signature = signature::sign(key, &statement);
    write_archive(&[
        (COMPONENT_FILE, component),
        (SIGNATURE_FILE, &signature.to_json()),
        (MANIFEST_FILE, manifest_text.as_bytes()),
    ])
}

/// Writes `entries` (name, bytes) as a deterministic ustar archive, in the
/// order given. The caller is responsible for what goes in; [`read`] checks
/// it all again.
pub fn write_archive(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, PackageError> {
    let archive_error = |e: std::io::Error| PackageError::Archive {
        reason: e.to_string(),
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (name, data) in entries {
        let mut header = Header::new_ustar();
        header.set_path(name).map_err(archive_error)?;
        header.set_entry_type(EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        builder.append(&header, *data).map_err(archive_error)?;
    }
    builder.into_inner().map_err(archive_error)
}

fn kind_name(t: EntryType) -> String {
    match t {
        EntryType::Symlink => "symbolic link".into(),
        EntryType::Link => "hard link".into(),
        EntryType::Directory => "directory".into(),
        EntryType::Char => "character device".into(),
        EntryType::Block => "block device".into(),
        EntryType::Fifo => "named pipe".into(),
        EntryType::Continuous => "contiguous file".into(),
        EntryType::GNULongName | EntryType::GNULongLink => "GNU long-name header".into(),
        EntryType::XHeader | EntryType::XGlobalHeader => "PAX extended header".into(),
        EntryType::GNUSparse => "sparse file".into(),
        other => format!("entry of type {:?}", other.as_byte() as char),
    }
}

/// Unpacks and checks a package from memory (see the module docs).
pub fn read(bytes: &[u8], limits: &ArchiveLimits) -> Result<Package, PackageError> {
    if bytes.len() as u64 > limits.max_archive_bytes {
        return Err(PackageError::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_archive_bytes,
        });
    }
    let archive_error = |e: std::io::Error| PackageError::Archive {
        reason: e.to_string(),
    };
    let mut archive = tar::Archive::new(bytes);
    // Raw: GNU long names and PAX headers are not applied (they would let
    // one entry's header rewrite another's path or size); they show up as
    // entries of their own, and are refused below.
    let entries = archive.entries().map_err(archive_error)?.raw(true);
    let mut files: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
    for (count, entry) in entries.enumerate() {
        if count >= limits.max_entries {
            return Err(PackageError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let entry = entry.map_err(archive_error)?;
        let header = entry.header();
        let raw_path = entry.path_bytes();
        let path = String::from_utf8_lossy(&raw_path).into_owned();
        let unsafe_path = |reason: &str| PackageError::UnsafePath {
            path: path.clone(),
            reason: reason.to_string(),
        };
        if std::str::from_utf8(&raw_path).is_err() {
            return Err(unsafe_path("the path is not UTF-8"));
        }
        if path.starts_with('/') || path.starts_with('\\') || path.get(1..3) == Some(":\\") {
            return Err(unsafe_path("it is an absolute path"));
        }
        if path.split(['/', '\\']).any(|c| c == "..") {
            return Err(unsafe_path("its path contains `..`"));
        }
        let entry_type = header.entry_type();
        if entry_type != EntryType::Regular {
            return Err(PackageError::NotRegular {
                path,
                kind: kind_name(entry_type),
            });
        }
        let name = match path.as_str() {
            MANIFEST_FILE => MANIFEST_FILE,
            COMPONENT_FILE => COMPONENT_FILE,
            SIGNATURE_FILE => SIGNATURE_FILE,
            _ => return Err(PackageError::UnknownEntry { path }),
        };
        if files.contains_key(name) {
            return Err(PackageError::DuplicateEntry { path });
        }
        let size = header.entry_size().map_err(archive_error)?;
        let limit = limits.for_entry(name);
        if size > limit {
            return Err(PackageError::EntryTooLarge {
                name: name.to_string(),
                size,
                limit,
            });
        }
        // `size` is at most the limit; reading also stops at the limit.
        let mut data =
            Vec::with_capacity(usize::try_from(size.min(bytes.len() as u64)).unwrap_or(0));
        entry
            .take(limit)
            .read_to_end(&mut data)
            .map_err(archive_error)?;
        if data.len() as u64 != size {
            return Err(PackageError::Archive {
                reason: format!(
                    "entry `{name}` is truncated: its header says {size} bytes, the archive holds {}",
                    data.len()
                ),
            });
        }
        files.insert(name, data);
    }

    let manifest_bytes = files
        .remove(MANIFEST_FILE)
        .ok_or_else(|| PackageError::MissingEntry {
            path: MANIFEST_FILE.into(),
        })?;
    let component = files
        .remove(COMPONENT_FILE)
        .ok_or_else(|| PackageError::MissingEntry {
            path: COMPONENT_FILE.into(),
        })?;
    let signature_bytes = files.remove(SIGNATURE_FILE).ok_or(PackageError::Unsigned)?;

    let manifest_text =
        std::str::from_utf8(&manifest_bytes).map_err(|e| ManifestError::Invalid {
            line: None,
            column: None,
            reason: format!("the file is not UTF-8 text ({e})"),
        })?;
    let manifest = Manifest::parse(manifest_text)?;
    let signature = Signature::from_json(&signature_bytes)?;
    let statement = Statement::new(
        &manifest.name,
        &manifest.version,
        &manifest_bytes,
        &component,
    );
    signature::verify(&signature, &statement)?;
    let imports = capabilities::check(&manifest, &component)?;
    Ok(Package {
        manifest,
        manifest_bytes,
        component,
        signature,
        imports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::tests::synthetic;

    const MANIFEST: &str = "name = \"acme:t\"\nversion = \"1.0.0\"\nkind = \"tool\"\ndescription = \"test\"\nworld = \"warden:plugin/tool@0.1.0\"\n";

    fn tool() -> Vec<u8> {
        synthetic(
            &["package test:t;\nworld w { include warden:plugin/tool@0.1.0; }\n"],
            "w",
        )
    }

    #[test]
    fn build_then_read_round_trips_deterministically() {
        let key = SecretKey::from_seed(&[9; 32]);
        let component = tool();
        let a = build(MANIFEST, &component, &key).expect("build");
        let b = build(MANIFEST, &component, &key).expect("build");
        assert_eq!(a, b, "deterministic");
        let package = read(&a, &ArchiveLimits::default()).expect("read");
        assert_eq!(package.manifest_bytes, MANIFEST.as_bytes());
        assert_eq!(package.component, component);
        assert_eq!(package.component_digest(), Digest::of(&component));
        assert_eq!(package.publisher(), &key.public());
        assert_eq!(package.manifest.name.to_string(), "acme:t");

        let mut archive = tar::Archive::new(&a[..]);
        let names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                assert_eq!(e.header().mode().expect("mode"), 0o644);
                assert_eq!(e.header().mtime().expect("mtime"), 0);
                assert!(e.header().as_ustar().is_some());
                String::from_utf8_lossy(&e.path_bytes()).into_owned()
            })
            .collect();
        assert_eq!(names, ["component.wasm", "signature.json", "warden.toml"]);
    }

    #[test]
    fn build_refuses_what_read_would_refuse() {
        let key = SecretKey::from_seed(&[9; 32]);
        let err = build(&MANIFEST.replace("1.0.0", "one"), &tool(), &key).expect_err("bad version");
        assert!(
            err.to_string().contains("is not a semantic version"),
            "{err}"
        );
        let err = build(MANIFEST, b"\0asm\x01\0\0\0", &key).expect_err("core module");
        assert!(err.to_string().contains("core WebAssembly module"), "{err}");
    }
}
