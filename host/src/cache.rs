//! The compiled-artifact cache: components compiled by this host, keyed by
//! the component's digest and the engine's configuration, so a second load
//! skips compilation.
//!
//! Only this host ever writes the cache, and only bytes it compiled itself
//! are ever deserialized from it: a component's bytes always come from the
//! registry (digest-verified) and are compiled, never loaded precompiled from
//! a package. The cache is safe to delete at any time.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use crate::component::ToolComponent;
use crate::engine::Runtime;
use crate::error::LoadError;

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
        digest_hex: &str,
        cache: &ArtifactCache,
    ) -> Result<(ToolComponent, CacheOutcome), LoadError> {
        let (component, outcome) = self.compile_cached(name, bytes, digest_hex, cache)?;
        Ok((self.check_tool(name, component)?, outcome))
    }

    /// Compiles `bytes` (the component `name`, whose digest the caller has
    /// verified: `digest_hex`), or takes the compiled artifact from `cache`.
    /// A fresh compile is written to the cache; a failed write only costs a
    /// recompile next time.
    pub(crate) fn compile_cached(
        &self,
        name: &str,
        bytes: &[u8],
        digest_hex: &str,
        cache: &ArtifactCache,
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let path = cache.path(digest_hex);
        if let Some(component) = path
            .is_file()
            .then(|| self.deserialize_own_artifact(&path))
            .flatten()
        {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = self.compile(name, bytes)?;
        if let Ok(serialized) = component.serialize() {
            let stored = std::fs::create_dir_all(&cache.dir)
                .and_then(|()| warden_registry::fsutil::write_atomic(&path, &serialized));
            if let Err(e) = stored {
                tracing::warn!(
                    "cannot write the compiled-artifact cache {}: {e}",
                    path.display()
                );
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
