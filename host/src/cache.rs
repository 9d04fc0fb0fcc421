//! The compiled-artifact cache: components compiled by this host, keyed by
//! the component's digest and the engine's configuration, so a second load
//! skips compilation.
//!
//! Only this host ever writes the cache, and only bytes it compiled itself
//! are ever deserialized from it: a component's bytes (from the registry,
//! digest-verified, a built-in, or a file hashed as it is read) are compiled,
//! never loaded precompiled from a package. The cache is safe to delete at
//! any time; it keeps itself under [`MAX_CACHE_BYTES`] by evicting the
//! artifacts used least recently.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use warden_core::Digest;
use wasmtime::component::Component;

use crate::component::ToolComponent;
use crate::engine::Runtime;
use crate::error::LoadError;

/// The most the cache keeps, per engine configuration. Past it, the
/// artifacts used least recently are deleted after each new compile (a
/// deleted artifact only costs a recompile).
pub const MAX_CACHE_BYTES: u64 = 1 << 30;

/// Whether a load used the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Deserialized from the cache.
    Hit,
    /// Compiled, and stored for next time.
    Compiled,
}

/// A directory of compiled components for one engine configuration.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// The cache under `root` (e.g. `$WARDEN_HOME/cache`) for `runtime`'s
    /// engine: a subdirectory named by the wasmtime version and a hash of
    /// the engine configuration.
    pub fn new(root: &Path, runtime: &Runtime) -> ArtifactCache {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        runtime
            .engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        let key = format!("wasmtime-{}-{:016x}", wasmtime_version(), hasher.finish());
        ArtifactCache {
            dir: root.join(key),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digest_hex: &str) -> PathBuf {
        self.dir.join(format!("{digest_hex}.cwasm"))
    }

    /// Deletes the artifacts used least recently until the rest take at
    /// most `max_bytes` (the newest one always stays). Best effort: what
    /// cannot be read or deleted is left alone.
    pub fn prune(&self, max_bytes: u64) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut artifacts: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        // Newest first: keep while under the cap, delete the rest.
        artifacts.sort_by_key(|a| std::cmp::Reverse(a.0));
        let mut kept = 0u64;
        for (i, (_, len, path)) in artifacts.iter().enumerate() {
            if i == 0 || kept + len <= max_bytes {
                kept += len;
            } else if let Err(e) = std::fs::remove_file(path) {
                tracing::warn!("cannot evict {} from the cache: {e}", path.display());
            }
        }
    }
}

fn wasmtime_version() -> &'static str {
    // The crate version this host was built with (see host/Cargo.toml).
    "48"
}

impl Runtime {
    /// Loads the tool component `name` from `bytes`, whose digest the caller
    /// has verified (`digest_hex`), compiling it only if the cache has no
    /// artifact for it.
    pub fn load_tool_cached(
        &self,
        name: &str,
        bytes: &[u8],
        digest: &Digest,
        cache: &ArtifactCache,
    ) -> Result<(ToolComponent, CacheOutcome), LoadError> {
        let (component, outcome) = self.compile_cached(name, bytes, digest, cache)?;
        Ok((self.check_tool(name, *digest, component)?, outcome))
    }

    /// Compiles `bytes` (the component `name`, whose digest the caller has
    /// verified: `digest_hex`), or takes the compiled artifact from `cache`.
    /// A fresh compile is written to the cache; a failed write only costs a
    /// recompile next time.
    pub(crate) fn compile_cached(
        &self,
        name: &str,
        bytes: &[u8],
        digest: &Digest,
        cache: &ArtifactCache,
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let path = cache.path(&digest.hex());
        if let Some(component) = path
            .is_file()
            .then(|| self.deserialize_own_artifact(&path))
            .flatten()
        {
            // Mark it used, for eviction (best effort).
            let _ = std::fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
            return Ok((component, CacheOutcome::Hit));
        }
        let component = self.compile(name, bytes)?;
        if let Ok(serialized) = component.serialize() {
            let stored = std::fs::create_dir_all(&cache.dir)
                .and_then(|()| warden_registry::fsutil::write_atomic(&path, &serialized));
            match stored {
                Ok(()) => cache.prune(MAX_CACHE_BYTES),
                Err(e) => tracing::warn!(
                    "cannot write the compiled-artifact cache {}: {e}",
                    path.display()
                ),
            }
        }
        Ok((component, CacheOutcome::Compiled))
    }

    /// Deserializes an artifact this host compiled into its own cache.
    #[allow(unsafe_code)]
    fn deserialize_own_artifact(&self, path: &Path) -> Option<Component> {
        // SAFETY: the file is in the host's private cache directory, written
        // only by `load_tool_cached` from `Component::serialize` output of this
        // same engine configuration (the directory name includes its
        // compatibility hash). wasmtime additionally checks the header and
        // refuses incompatible artifacts.
        match unsafe { Component::deserialize_file(&self.engine, path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!("ignoring unusable cached artifact {}: {e}", path.display());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn prune_keeps_the_most_recently_used_under_the_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = ArtifactCache {
            dir: dir.path().to_path_buf(),
        };
        let now = SystemTime::now();
        for (name, age_s) in [("old", 300), ("mid", 200), ("new", 100), ("newest", 0)] {
            let path = cache.path(name);
            std::fs::write(&path, vec![0u8; 1000]).expect("write");
            std::fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|f| f.set_modified(now - Duration::from_secs(age_s)))
                .expect("mtime");
        }
        std::fs::write(dir.path().join("notes.txt"), "not an artifact").expect("write");
        cache.prune(2500);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["new.cwasm", "newest.cwasm", "notes.txt"]);
        // The newest artifact stays even when it alone is over the cap.
        cache.prune(10);
        assert!(cache.path("newest").is_file());
        assert!(!cache.path("new").exists());
    }
}
