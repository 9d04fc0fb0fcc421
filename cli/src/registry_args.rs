//! Opening the registry and package sources from the command line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use warden_registry::Digest;
use warden_registry::package::{self, ArchiveLimits};
use warden_registry::source::{DirSource, IndexEntry, SingleFileSource, Source};
use warden_registry::store::Registry;

/// Where the registry lives.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// The warden root (default: $WARDEN_HOME, else ~/.local/share/warden).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

impl RegistryArgs {
    /// Opens (creating if needed) the registry.
    pub fn open(&self) -> anyhow::Result<Registry> {
        let root = match &self.home {
            Some(home) => home.clone(),
            None => Registry::default_root()
                .context("cannot find a home for the registry: set WARDEN_HOME or pass --home")?,
        };
        Registry::open(&root)
            .with_context(|| format!("cannot open the registry at {}", root.display()))
    }
}

/// Opens `spec` as a package source: a directory with an `index.json` (a
/// team registry), or a single `.wpkg` file.
pub fn open_source(spec: &Path) -> anyhow::Result<Box<dyn Source>> {
    let meta = std::fs::metadata(spec)
        .with_context(|| format!("cannot open the package source {}", spec.display()))?;
    if meta.is_dir() {
        return Ok(Box::new(DirSource::new(spec)));
    }
    let bytes = std::fs::read(spec).with_context(|| format!("cannot read {}", spec.display()))?;
    let entry = entry_for(spec, &bytes)?;
    Ok(Box::new(SingleFileSource::new(spec, entry)))
}

/// The index entry describing the package file at `path`.
pub fn entry_for(path: &Path, bytes: &[u8]) -> anyhow::Result<IndexEntry> {
    let package = package::read(bytes, &ArchiveLimits::default())
        .with_context(|| format!("{} is not a valid warden package", path.display()))?;
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(IndexEntry {
        name: package.manifest.name.clone(),
        version: package.manifest.version.clone(),
        digest: Digest::of(bytes),
        size: bytes.len() as u64,
        dependencies: package.manifest.dependencies.clone(),
        file,
    })
}
