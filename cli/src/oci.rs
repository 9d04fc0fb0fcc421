//! OCI registries from the command line: `warden publish` pushes a signed
//! package, `warden attest` signs a warden manifest for a plain component
//! that another tool pushed, and [`select_source`] picks the source
//! `warden install` and `warden upgrade` read from.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use warden_registry::keys::SecretKey;
use warden_registry::lockfile::Lockfile;
use warden_registry::oci::{
    self, Attestation, Location, OciReference, OciSource, RegistriesConfig,
};
use warden_registry::package::{self, ArchiveLimits};
use warden_registry::store::Registry;
use warden_registry::{Digest, PackageName};

use super::exit;
use super::output::print_json;
use super::registry_args::{RegistryArgs, open_source};

/// The largest package file read for publishing (as for installing).
const MAX_PACKAGE_BYTES: u64 = 64 << 20;

/// `warden publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The signed package file to push (`.wpkg`, from `warden package`).
    package: PathBuf,
    /// Where to push: HOST[:PORT]/PATH (the package goes to
    /// PATH/NAME:VERSION). Default: the registry registries.toml maps the
    /// package's namespace to. Plain HTTP only for a registry marked
    /// `insecure = true` there.
    #[arg(long = "registry", value_name = "HOST[:PORT]/PATH")]
    target: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl PublishArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let registry = self.registry.open()?;
        let config = load_config(&registry)?;
        let bytes = read_bounded(&self.package, MAX_PACKAGE_BYTES)?;
        let pkg = package::read(&bytes, &ArchiveLimits::default())
            .with_context(|| format!("{} is not a valid warden package", self.package.display()))?;
        let name = &pkg.manifest.name;
        let location = match &self.target {
            Some(text) => {
                let mut location = Location::parse(text, false)?;
                location.insecure = config.is_insecure(&location.registry);
                location
            }
            None => config.require(name)?.clone(),
        };
        let published = oci::publish(&bytes, &location, &ArchiveLimits::default())
            .with_context(|| format!("cannot publish {name}@{}", pkg.manifest.version))?;
        if self.json {
            print_json(&json!({
                "ok": true,
                "name": published.name.to_string(),
                "version": published.version.to_string(),
                "reference": published.reference,
                "manifest_digest": published.manifest_digest.to_string(),
                "package_digest": published.package_digest.to_string(),
                "unchanged": published.unchanged,
            }));
        } else {
            println!("{}@{}", published.reference, published.manifest_digest);
            let what = if published.unchanged {
                "already published"
            } else {
                "published"
            };
            eprintln!(
                "{what} {}@{} to {} (package {})",
                published.name, published.version, published.reference, published.package_digest
            );
            if !published.canonical {
                eprintln!(
                    "note: {} is not in warden's canonical layout; installers will rebuild it as {}",
                    self.package.display(),
                    published.package_digest
                );
            }
        }
        Ok(ExitCode::from(exit::OK))
    }
}

/// `warden attest`.
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The component as it is in the OCI registry (`.wasm`): its digest is
    /// what the signature names.
    #[arg(long)]
    component: PathBuf,
    /// The warden manifest for it (TOML; see docs/registry.md).
    #[arg(long, default_value = "warden.toml")]
    manifest: PathBuf,
    /// The secret key to sign with (trusted for the manifest's namespace).
    #[arg(long, default_value = "warden.key")]
    key: PathBuf,
    /// Where to write the attestation (default: NAMESPACE-NAME-VERSION.attestation.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl AttestArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let manifest = std::fs::read_to_string(&self.manifest)
            .with_context(|| format!("cannot read the manifest {}", self.manifest.display()))?;
        let component = read_bounded(&self.component, MAX_PACKAGE_BYTES)?;
        let key = SecretKey::load(&self.key)
            .with_context(|| format!("cannot read the key {}", self.key.display()))?;
        let attestation = Attestation::sign(&manifest, &component, &key)
            .with_context(|| format!("cannot attest {}", self.component.display()))?;
        let parsed = attestation.manifest()?;
        let out = self.out.clone().unwrap_or_else(|| {
            PathBuf::from(format!(
                "{}-{}-{}.attestation.json",
                parsed.name.namespace(),
                parsed.name.name(),
                parsed.version
            ))
        });
        warden_registry::fsutil::write_atomic(&out, &attestation.to_json())
            .with_context(|| format!("cannot write {}", out.display()))?;
        let digest = Digest::of(&component);
        if self.json {
            print_json(&json!({
                "ok": true,
                "attestation": out,
                "name": parsed.name.to_string(),
                "version": parsed.version.to_string(),
                "component_digest": digest.to_string(),
                "publisher": key.public().to_string(),
            }));
        } else {
            println!("{}", out.display());
            eprintln!(
                "attested {}@{} for component {digest}, signed by {}",
                parsed.name,
                parsed.version,
                key.public()
            );
        }
        Ok(ExitCode::from(exit::OK))
    }
}

/// Where `warden install` reads packages from.
pub enum Selected {
    /// A package file or a directory source.
    Local(Box<dyn warden_registry::source::Source>),
    /// OCI registries.
    Oci(Box<OciSource>),
}

impl Selected {
    /// The source.
    pub fn source(&self) -> &dyn warden_registry::source::Source {
        match self {
            Selected::Local(s) => s.as_ref(),
            Selected::Oci(s) => s.as_ref(),
        }
    }

    /// After an install wrote `lock_path`: records the OCI manifest digest
    /// of each package that came from a registry.
    pub fn record_pins(&self, lock_path: &Path) -> anyhow::Result<()> {
        let Selected::Oci(source) = self else {
            return Ok(());
        };
        let Some(mut lock) = Lockfile::load(lock_path)? else {
            return Ok(());
        };
        let before = lock.clone();
        source.record_in(&mut lock);
        if lock != before {
            lock.save(lock_path)
                .with_context(|| format!("cannot write {}", lock_path.display()))?;
        }
        Ok(())
    }
}

/// Picks the source: `--from oci://…` (one artifact, with an attestation
/// if it is a plain component), `--from FILE_OR_DIR`, else the OCI
/// registries `registries.toml` maps the requested packages' namespaces to
/// (packages in unmapped namespaces are not offered), else
/// `$WARDEN_SOURCE`. With `locked`, packages the lockfile pins by OCI
/// manifest digest are read by that digest.
pub fn select_source(
    registry: &Registry,
    from: Option<&Path>,
    packages: &[PackageName],
    signature: Option<&Path>,
    locked: Option<&Lockfile>,
) -> anyhow::Result<Selected> {
    let from_oci = from
        .and_then(Path::to_str)
        .filter(|f| f.starts_with("oci://"));
    if signature.is_some() && from_oci.is_none() {
        bail!("--signature applies only to an OCI artifact: pass --from oci://HOST/REPOSITORY:TAG");
    }
    let config = load_config(registry)?;
    if let Some(text) = from_oci {
        let reference = OciReference::parse(text)?;
        let attestation = signature
            .map(|p| Attestation::load(p).with_context(|| format!("cannot use {}", p.display())))
            .transpose()?;
        return Ok(Selected::Oci(Box::new(OciSource::for_reference(
            config,
            reference,
            attestation,
        ))));
    }
    if let Some(from) = from {
        return Ok(Selected::Local(open_source(from)?));
    }
    let mapped: Vec<PackageName> = packages
        .iter()
        .filter(|p| config.location(p.namespace()).is_some())
        .cloned()
        .collect();
    if !mapped.is_empty() {
        let mut source = OciSource::for_packages(config, mapped);
        if let Some(lock) = locked {
            source = source.pinned_by(lock);
        }
        return Ok(Selected::Oci(Box::new(source)));
    }
    let env = std::env::var_os("WARDEN_SOURCE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .context(
            "no package source: pass --from FILE_OR_DIR or oci://…, map the package's namespace \
             to an OCI registry in registries.toml, or set WARDEN_SOURCE to a team registry directory",
        )?;
    Ok(Selected::Local(open_source(&env)?))
}

fn load_config(registry: &Registry) -> anyhow::Result<RegistriesConfig> {
    let path = RegistriesConfig::path_in(registry.root());
    Ok(RegistriesConfig::load(&path)?)
}

/// Reads a regular file of at most `max` bytes.
fn read_bounded(path: &Path, max: u64) -> anyhow::Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    if meta.len() > max {
        bail!(
            "{} is {} bytes, over the limit of {max} bytes",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
