//! The shared context of a workspace: what its sessions and agents keep
//! for each other (notes, facts, key/value entries), beyond any one
//! session.
//!
//! Entries live in namespaces, one file per entry, under the workspace's
//! state directory in warden's home — never inside the workspace, where
//! tools may write:
//!
//! ```text
//! $WARDEN_HOME/workspaces/<digest>/context/<namespace>/<sha256 of the key>.json
//! ```
//!
//! Every write is atomic (temp file, fsync, rename; see
//! [`warden_registry::fsutil::write_atomic`]). Each namespace has a size
//! limit ([`ContextLimits`]): a write that would pass it is refused
//! ([`ContextError::Full`]) before anything is written, so nothing already
//! stored is lost. An entry may expire; an expired entry is never returned
//! and is removed when it is next seen.
//!
//! This module is the storage only. Who may read or write which namespace
//! is decided by the caller (the host checks the component's grant before
//! it calls in, and audits every write with [`PutReceipt`]).

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use warden_registry::Digest;
use warden_registry::fsutil::write_atomic;

use crate::workspace_state::WorkspaceState;

/// How much a namespace may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextLimits {
    /// The largest value of one entry, in bytes.
    pub max_entry_bytes: u64,
    /// The most bytes of values one namespace holds.
    pub max_namespace_bytes: u64,
    /// The most entries one namespace holds.
    pub max_entries: usize,
}

impl Default for ContextLimits {
    /// 64 KiB an entry, 1 MiB and 1,000 entries a namespace.
    fn default() -> ContextLimits {
        ContextLimits {
            max_entry_bytes: 64 << 10,
            max_namespace_bytes: 1 << 20,
            max_entries: 1000,
        }
    }
}

/// What kind of thing an entry is (for the planner; stored alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// Free text a session wrote down.
    Note,
    /// Something learned about the workspace.
    Fact,
    /// A value under a key.
    Kv,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextEntry {
    /// The namespace.
    pub namespace: String,
    /// The key, unique in its namespace.
    pub key: String,
    /// What kind of entry it is.
    pub kind: EntryKind,
    /// The value.
    pub value: String,
    /// When it was last written.
    pub updated: Timestamp,
    /// When it expires, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    /// The data classes (residency labels, e.g. `restricted`) of the run
    /// that wrote it: what it says may be derived from data of these
    /// classes, so a run that reads it carries them. An entry written
    /// before entries were labelled has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
}

impl ContextEntry {
    /// Whether it has expired at `now`.
    pub fn expired_at(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// What a write stored, for its audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutReceipt {
    /// The namespace.
    pub namespace: String,
    /// The digest of the value.
    pub digest: Digest,
    /// The value's size in bytes.
    pub size: u64,
    /// What the namespace holds after the write, in bytes.
    pub namespace_bytes: u64,
    /// The data classes the entry carries.
    pub classes: Vec<String>,
}

/// A context operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A namespace name that is not 1-64 lowercase letters, digits and `-`.
    #[error("invalid context namespace `{namespace}`: use 1-64 lowercase letters, digits and `-`")]
    InvalidNamespace {
        /// The name as given.
        namespace: String,
    },
    /// An empty or over-long key.
    #[error("invalid context key in `{namespace}`: {reason}")]
    InvalidKey {
        /// The namespace.
        namespace: String,
        /// Why.
        reason: String,
    },
    /// One value larger than an entry may be.
    #[error(
        "the value for `{key}` in `{namespace}` is {size} bytes, over the limit of {limit} bytes \
         an entry; store less (nothing was written)"
    )]
    TooLarge {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
        /// The value's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The namespace would pass its size or entry limit.
    #[error(
        "context namespace `{namespace}` is full: it holds {used} of {limit} bytes in {entries} \
         entries, and this write needs {needed} more; remove or shorten entries first (nothing \
         was written)"
    )]
    Full {
        /// The namespace.
        namespace: String,
        /// Bytes held now.
        used: u64,
        /// Entries held now.
        entries: usize,
        /// The byte limit.
        limit: u64,
        /// The bytes the write would add.
        needed: u64,
    },
    /// A file could not be read, written or removed.
    #[error("cannot access the context file {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ContextError + '_ {
    move |source| ContextError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// When an entry written now with time-to-live `ttl` expires.
pub fn expiry_after(ttl: std::time::Duration) -> Timestamp {
    jiff::SignedDuration::try_from(ttl)
        .ok()
        .and_then(|d| Timestamp::now().checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// The longest key.
pub const MAX_KEY_BYTES: usize = 512;

/// Checks a namespace name.
pub fn check_namespace(namespace: &str) -> Result<(), ContextError> {
    let ok = !namespace.is_empty()
        && namespace.len() <= 64
        && namespace
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ContextError::InvalidNamespace {
            namespace: namespace.to_string(),
        })
    }
}

/// The context entries of one workspace.
#[derive(Debug, Clone)]
pub struct ContextStore {
    dir: PathBuf,
    limits: ContextLimits,
}

impl ContextStore {
    /// The store of a workspace, with `limits`.
    pub fn for_workspace(state: &WorkspaceState, limits: ContextLimits) -> ContextStore {
        ContextStore {
            dir: state.dir().join("context"),
            limits,
        }
    }

    /// The directory holding the namespaces.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, namespace: &str, key: &str) -> PathBuf {
        self.dir
            .join(namespace)
            .join(format!("{}.json", Digest::of(key.as_bytes()).hex()))
    }

    fn check_key(namespace: &str, key: &str) -> Result<(), ContextError> {
        let reason = if key.is_empty() {
            "the key is empty"
        } else if key.len() > MAX_KEY_BYTES {
            "the key is longer than 512 bytes"
        } else {
            return Ok(());
        };
        Err(ContextError::InvalidKey {
            namespace: namespace.to_string(),
            reason: reason.into(),
        })
    }

    /// Stores `value` under `key` in `namespace`, replacing what was
    /// there; `expires` is when it stops being returned. Refused, with
    /// nothing written, when the value or the namespace would pass its
    /// limit. The entry carries no data classes (see
    /// [`ContextStore::put_labelled`]).
    pub fn put(
        &self,
        namespace: &str,
        key: &str,
        kind: EntryKind,
        value: &str,
        expires: Option<Timestamp>,
    ) -> Result<PutReceipt, ContextError> {
        self.put_labelled(namespace, key, kind, value, expires, &[])
    }

    /// [`ContextStore::put`] of an entry labelled with `classes`, the data
    /// classes of what it was derived from (stored with it, sorted, each
    /// once).
    pub fn put_labelled(
        &self,
        namespace: &str,
        key: &str,
        kind: EntryKind,
        value: &str,
        expires: Option<Timestamp>,
        classes: &[String],
    ) -> Result<PutReceipt, ContextError> {
        check_namespace(namespace)?;
        Self::check_key(namespace, key)?;
        let size = value.len() as u64;
        if size > self.limits.max_entry_bytes {
            return Err(ContextError::TooLarge {
                namespace: namespace.into(),
                key: key.into(),
                size,
                limit: self.limits.max_entry_bytes,
            });
        }
        let entries = self.list(namespace)?;
        let replaced = entries.iter().find(|e| e.key == key);
        let used: u64 = entries.iter().map(|e| e.value.len() as u64).sum();
        let after = used - replaced.map_or(0, |e| e.value.len() as u64) + size;
        let count_after = entries.len() + usize::from(replaced.is_none());
        if after > self.limits.max_namespace_bytes || count_after > self.limits.max_entries {
            return Err(ContextError::Full {
                namespace: namespace.into(),
                used,
                entries: entries.len(),
                limit: self.limits.max_namespace_bytes,
                needed: size.saturating_sub(replaced.map_or(0, |e| e.value.len() as u64)),
            });
        }
        let entry = ContextEntry {
            namespace: namespace.into(),
            key: key.into(),
            kind,
            value: value.into(),
            updated: Timestamp::now(),
            expires,
            classes: {
                let mut c = classes.to_vec();
                c.sort();
                c.dedup();
                c
            },
        };
        let labels = entry.classes.clone();
        let dir = self.dir.join(namespace);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = self.entry_path(namespace, key);
        let bytes = serde_json::to_vec_pretty(&entry).map_err(|e| ContextError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&path, &bytes).map_err(io(&path))?;
        Ok(PutReceipt {
            namespace: namespace.into(),
            digest: Digest::of(value.as_bytes()),
            size,
            namespace_bytes: after,
            classes: labels,
        })
    }

    /// The entry under `key` in `namespace`, unless there is none or it
    /// has expired (then it is removed).
    pub fn get(&self, namespace: &str, key: &str) -> Result<Option<ContextEntry>, ContextError> {
        check_namespace(namespace)?;
        Self::check_key(namespace, key)?;
        let path = self.entry_path(namespace, key);
        self.read_live(&path)
    }

    /// Every live entry of `namespace`, by key; expired ones are removed.
    pub fn list(&self, namespace: &str) -> Result<Vec<ContextEntry>, ContextError> {
        check_namespace(namespace)?;
        let dir = self.dir.join(namespace);
        let read = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut out = Vec::new();
        for item in read {
            let path = item.map_err(io(&dir))?.path();
            if path.extension().is_some_and(|e| e == "json") {
                out.extend(self.read_live(&path)?);
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Removes the entry under `key`; whether there was one.
    pub fn remove(&self, namespace: &str, key: &str) -> Result<bool, ContextError> {
        check_namespace(namespace)?;
        Self::check_key(namespace, key)?;
        let path = self.entry_path(namespace, key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Reads an entry file; an expired entry is removed and `None`. A file
    /// that is not an entry is skipped (never deleted).
    fn read_live(&self, path: &Path) -> Result<Option<ContextEntry>, ContextError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        };
        let Ok(entry) = serde_json::from_slice::<ContextEntry>(&bytes) else {
            return Ok(None);
        };
        if entry.expired_at(Timestamp::now()) {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(path)(e)),
            }
            return Ok(None);
        }
        Ok(Some(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(limits: ContextLimits) -> (tempfile::TempDir, tempfile::TempDir, ContextStore) {
        let (home, ws) = (
            tempfile::tempdir().expect("home"),
            tempfile::tempdir().expect("ws"),
        );
        let state = WorkspaceState::open(home.path(), ws.path()).expect("state");
        let store = ContextStore::for_workspace(&state, limits);
        (home, ws, store)
    }

    #[test]
    fn two_stores_of_one_workspace_share_entries_under_the_home_not_the_workspace() {
        let (home, ws, a) = store(ContextLimits::default());
        let state = WorkspaceState::open(home.path(), ws.path()).expect("state");
        let b = ContextStore::for_workspace(&state, ContextLimits::default());
        let receipt = a
            .put(
                "notes",
                "build",
                EntryKind::Fact,
                "cargo build --release",
                None,
            )
            .expect("put");
        assert_eq!(receipt.size, 21);
        assert_eq!(receipt.digest, Digest::of(b"cargo build --release"));
        let got = b.get("notes", "build").expect("get").expect("an entry");
        assert_eq!(got.value, "cargo build --release");
        assert_eq!(got.kind, EntryKind::Fact);
        assert!(a.dir().starts_with(home.path()));
        assert!(!a.dir().starts_with(ws.path()));
    }

    #[test]
    fn an_expired_entry_is_gone() {
        let (_h, _w, s) = store(ContextLimits::default());
        let past = Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .expect("time");
        s.put("notes", "old", EntryKind::Note, "stale", Some(past))
            .expect("put");
        s.put("notes", "new", EntryKind::Note, "fresh", None)
            .expect("put");
        assert_eq!(s.get("notes", "old").expect("get"), None);
        let keys: Vec<String> = s
            .list("notes")
            .expect("list")
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, ["new"]);
        assert_eq!(
            std::fs::read_dir(s.dir().join("notes"))
                .expect("dir")
                .count(),
            1,
            "the expired file was removed"
        );
    }

    #[test]
    fn a_full_namespace_refuses_clearly_and_loses_nothing() {
        let (_h, _w, s) = store(ContextLimits {
            max_entry_bytes: 8,
            max_namespace_bytes: 10,
            max_entries: 3,
        });
        s.put("kv", "a", EntryKind::Kv, "12345678", None)
            .expect("put");
        let err = s
            .put("kv", "b", EntryKind::Kv, "123", None)
            .expect_err("full");
        let text = err.to_string();
        assert!(
            matches!(
                err,
                ContextError::Full {
                    used: 8,
                    needed: 3,
                    limit: 10,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(text.contains("`kv` is full"), "{text}");
        assert!(text.contains("nothing was written"), "{text}");
        assert_eq!(s.get("kv", "b").expect("get"), None);
        assert_eq!(
            s.get("kv", "a").expect("get").map(|e| e.value).as_deref(),
            Some("12345678")
        );
        // Replacing an entry counts only the difference.
        s.put("kv", "a", EntryKind::Kv, "1234", None)
            .expect("smaller");
        s.put("kv", "b", EntryKind::Kv, "12345", None)
            .expect("fits now");
        let err = s
            .put("kv", "c", EntryKind::Kv, "123456789", None)
            .expect_err("big");
        assert!(
            matches!(
                err,
                ContextError::TooLarge {
                    size: 9,
                    limit: 8,
                    ..
                }
            ),
            "{err:?}"
        );
        // Other namespaces have their own room.
        s.put("other", "a", EntryKind::Kv, "12345678", None)
            .expect("own room");
    }

    #[test]
    fn names_that_could_escape_the_store_are_refused() {
        let (_h, _w, s) = store(ContextLimits::default());
        for ns in ["../x", "a/b", "", "UPPER", "."] {
            assert!(
                matches!(
                    s.put(ns, "k", EntryKind::Kv, "v", None),
                    Err(ContextError::InvalidNamespace { .. })
                ),
                "{ns}"
            );
        }
        // Keys are hashed into file names: any text is safe.
        s.put("kv", "../../etc/passwd", EntryKind::Kv, "v", None)
            .expect("a key is never a path");
        assert!(s.get("kv", "../../etc/passwd").expect("get").is_some());
        assert!(matches!(
            s.put("kv", "", EntryKind::Kv, "v", None),
            Err(ContextError::InvalidKey { .. })
        ));
    }

    #[test]
    fn an_entry_keeps_the_classes_it_was_written_with_and_an_old_entry_has_none() {
        let (_h, _w, s) = store(ContextLimits::default());
        let classes = ["restricted".to_string(), "pii".into(), "restricted".into()];
        s.put_labelled("notes", "plan", EntryKind::Note, "derived", None, &classes)
            .expect("put");
        let got = s.get("notes", "plan").expect("get").expect("an entry");
        assert_eq!(got.classes, ["pii", "restricted"]);
        let file = std::fs::read_to_string(s.entry_path("notes", "plan")).expect("read");
        assert!(
            file.contains("\"restricted\""),
            "persisted with the entry: {file}"
        );
        // An entry file from before entries were labelled reads as
        // unlabelled.
        let old = r#"{"namespace":"notes","key":"old","kind":"note","value":"v","updated":"2026-01-01T00:00:00Z"}"#;
        std::fs::write(s.entry_path("notes", "old"), old).expect("write");
        let got = s.get("notes", "old").expect("get").expect("an entry");
        assert!(got.classes.is_empty());
        // Rewriting without classes drops them (the new value is what counts).
        s.put("notes", "plan", EntryKind::Note, "fresh", None)
            .expect("put");
        assert!(
            s.get("notes", "plan")
                .expect("get")
                .expect("entry")
                .classes
                .is_empty()
        );
    }
}
