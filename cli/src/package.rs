//! `warden package`: build and sign a package, and `warden index`: make a
//! directory of packages into a source.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use warden_registry::Digest;
use warden_registry::keys::SecretKey;
use warden_registry::package;
use warden_registry::source::write_index;

use super::exit;
use super::output::print_json;
use super::registry_args::entry_for;

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The package manifest (TOML; see docs/registry.md).
    #[arg(long, default_value = "warden.toml")]
    manifest: PathBuf,
    /// The component (`.wasm`).
    #[arg(long)]
    component: PathBuf,
    /// The secret key to sign with (see `warden key generate`).
    #[arg(long, default_value = "warden.key")]
    key: PathBuf,
    /// Where to write the package (default: NAMESPACE-NAME-VERSION.wpkg).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also add it to this directory source and refresh its index.json.
    #[arg(long, value_name = "DIR")]
    into: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl PackageArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let manifest = std::fs::read_to_string(&self.manifest)
            .with_context(|| format!("cannot read the manifest {}", self.manifest.display()))?;
        let component = std::fs::read(&self.component)
            .with_context(|| format!("cannot read the component {}", self.component.display()))?;
        let key = SecretKey::load(&self.key)
            .with_context(|| format!("cannot read the key {}", self.key.display()))?;
        let bytes = package::build(&manifest, &component, &key)
            .with_context(|| format!("cannot package {}", self.manifest.display()))?;
        let pkg = package::read(&bytes, &package::ArchiveLimits::default())
            .context("the new package does not verify")?;
        let file_name = format!(
            "{}-{}-{}.wpkg",
            pkg.manifest.name.namespace(),
            pkg.manifest.name.name(),
            pkg.manifest.version
        );
        let out = match (&self.out, &self.into) {
            (Some(out), _) => out.clone(),
            (None, Some(dir)) => dir.join(&file_name),
            (None, None) => PathBuf::from(&file_name),
        };
        warden_registry::fsutil::write_atomic(&out, &bytes)
            .with_context(|| format!("cannot write {}", out.display()))?;
        if let Some(dir) = &self.into {
            reindex(dir)?;
        }
        let digest = Digest::of(&bytes);
        let note = pkg
            .imports
            .network_note(&format!("{}@{}", pkg.manifest.name, pkg.manifest.version));
        if self.json {
            print_json(&json!({
                "ok": true,
                "package": out,
                "name": pkg.manifest.name.to_string(),
                "version": pkg.manifest.version.to_string(),
                "digest": digest.to_string(),
                "component_digest": pkg.component_digest().to_string(),
                "publisher": pkg.publisher().to_string(),
                "note": note,
            }));
        } else {
            if let Some(note) = &note {
                eprintln!("note: {note}");
            }
            println!("{}", out.display());
            eprintln!(
                "packaged {}@{} ({digest}), signed by {}",
                pkg.manifest.name,
                pkg.manifest.version,
                pkg.publisher()
            );
        }
        Ok(ExitCode::from(exit::OK))
    }
}

/// Rebuilds `dir/index.json` from the `.wpkg` files in `dir`.
pub fn reindex(dir: &std::path::Path) -> anyhow::Result<usize> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "wpkg") {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            entries.push(entry_for(&path, &bytes)?);
        }
    }
    let count = entries.len();
    write_index(dir, entries)
        .with_context(|| format!("cannot write the index of {}", dir.display()))?;
    Ok(count)
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The directory of `.wpkg` files.
    dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl IndexArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let count = reindex(&self.dir)?;
        if self.json {
            print_json(&json!({"ok": true, "dir": self.dir, "packages": count}));
        } else {
            eprintln!(
                "indexed {count} packages in {}",
                self.dir.join("index.json").display()
            );
        }
        Ok(ExitCode::from(exit::OK))
    }
}
