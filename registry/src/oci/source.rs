//! [`OciSource`]: OCI registries as a [`Source`], so resolution,
//! verification, trust, grants and the atomic store are the same as for a
//! folder.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use oci_client::Reference;
use semver::Version;

use super::Attestation;
use super::config::{Location, RegistriesConfig, check_path, tag_for, version_of_tag};
use super::error::OciError;
use super::layout::{Layout, parse_manifest};
use super::remote::{Credentials, Remote};
use crate::digest::Digest;
use crate::error::SourceError;
use crate::lockfile::Lockfile;
use crate::manifest::Manifest;
use crate::name::PackageName;
use crate::package::{self, ArchiveLimits, COMPONENT_FILE, MANIFEST_FILE, SIGNATURE_FILE};
use crate::source::{IndexEntry, Source};

/// An explicit reference: `oci://HOST[:PORT]/REPOSITORY(:TAG|@DIGEST)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciReference {
    /// `host[:port]`.
    pub registry: String,
    /// The repository path.
    pub repository: String,
    /// The tag or digest.
    pub target: Target,
}

/// What an [`OciReference`] points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A tag.
    Tag(String),
    /// A manifest digest.
    Digest(Digest),
}

impl OciReference {
    /// Parses `oci://HOST[:PORT]/REPOSITORY(:TAG|@sha256:HEX)`.
    pub fn parse(text: &str) -> Result<OciReference, OciError> {
        let invalid = |reason: &str| OciError::InvalidReference {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| invalid("expected oci://HOST[:PORT]/REPOSITORY:TAG (or @sha256:…)"))?;
        let (path, target) = if let Some((path, digest)) = rest.split_once('@') {
            let digest = digest
                .parse()
                .map_err(|_| invalid("the digest must be sha256:<64 hex digits>"))?;
            (path, Target::Digest(digest))
        } else {
            let slash = rest.rfind('/').unwrap_or(0);
            match rest[slash..].rfind(':') {
                Some(colon) => {
                    let at = slash + colon;
                    let tag = &rest[at + 1..];
                    let valid_tag = !tag.is_empty()
                        && tag.len() <= 128
                        && tag
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                        && !tag.starts_with(['.', '-']);
                    if !valid_tag {
                        return Err(invalid("the tag is not a valid OCI tag"));
                    }
                    (&rest[..at], Target::Tag(tag.to_string()))
                }
                None => return Err(invalid("name a tag (`:1.2.0`) or a digest (`@sha256:…`)")),
            }
        };
        let location = Location::parse(path, false)?;
        check_path(&location.prefix, false).map_err(|r| invalid(&r.to_string()))?;
        Ok(OciReference {
            registry: location.registry,
            repository: location.prefix,
            target,
        })
    }
}

impl std::fmt::Display for OciReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.target {
            Target::Tag(tag) => write!(f, "oci://{}/{}:{tag}", self.registry, self.repository),
            Target::Digest(d) => write!(f, "oci://{}/{}@{d}", self.registry, self.repository),
        }
    }
}

/// What was found for one entry, kept for [`Source::fetch`].
#[derive(Debug, Clone)]
struct Found {
    registry: String,
    insecure: bool,
    repository: String,
    manifest_digest: Digest,
    layout: Layout,
    /// The entry it backs.
    name: PackageName,
    version: Version,
    package_digest: Digest,
    /// For a plain component: the attestation and the component bytes
    /// (already downloaded and verified, to learn the package digest).
    plain: Option<(Attestation, Vec<u8>)>,
}

/// OCI registries as a package source.
///
/// Either the packages of mapped namespaces (see [`RegistriesConfig`]):
/// [`entries`](Source::entries) lists the requested packages' tags that are
/// versions, reads each manifest (checked and bounded, nothing else is
/// downloaded), and follows dependencies into other mapped namespaces; a
/// package pinned with an OCI manifest digest (from `warden.lock`) is read
/// by that digest, never by tag. Or one explicit reference, which may be
/// a plain component installed with an [`Attestation`].
///
/// [`fetch`](Source::fetch) downloads the layers, each bounded by its
/// descriptor's size and verified against its digest, rebuilds the `.wpkg`
/// and checks it against the digest the entry promised; the caller then
/// verifies the signature and installs through [`crate::Registry::install`].
#[derive(Debug)]
pub struct OciSource {
    config: RegistriesConfig,
    roots: Vec<PackageName>,
    pins: BTreeMap<PackageName, Digest>,
    explicit: Option<(OciReference, Option<Attestation>)>,
    limits: ArchiveLimits,
    remotes: Mutex<HashMap<String, Arc<Remote>>>,
    found: Mutex<HashMap<String, Found>>,
}

impl OciSource {
    /// The packages `roots` (and their dependencies) from the registries
    /// `config` maps their namespaces to.
    pub fn for_packages(config: RegistriesConfig, roots: Vec<PackageName>) -> OciSource {
        OciSource {
            config,
            roots,
            pins: BTreeMap::new(),
            explicit: None,
            limits: ArchiveLimits::default(),
            remotes: Mutex::new(HashMap::new()),
            found: Mutex::new(HashMap::new()),
        }
    }

    /// One explicit reference; a plain component needs `attestation`.
    /// Plain HTTP is used only if `config` marks its registry insecure.
    pub fn for_reference(
        config: RegistriesConfig,
        reference: OciReference,
        attestation: Option<Attestation>,
    ) -> OciSource {
        let mut source = OciSource::for_packages(config, Vec::new());
        source.explicit = Some((reference, attestation));
        source
    }

    /// Reads packages that `lock` pins with an OCI manifest digest by that
    /// digest instead of by tag (`--locked`).
    pub fn pinned_by(mut self, lock: &Lockfile) -> OciSource {
        self.pins = lock
            .iter()
            .filter_map(|(name, _)| lock.oci_manifest(name).map(|d| (name.clone(), d)))
            .collect();
        self
    }

    /// Sets the archive limits (default [`ArchiveLimits::default`]).
    pub fn with_limits(mut self, limits: ArchiveLimits) -> OciSource {
        self.limits = limits;
        self
    }

    /// The OCI manifest digest an entry was read from (after
    /// [`entries`](Source::entries)), to record in `warden.lock`.
    pub fn manifest_digest(
        &self,
        name: &PackageName,
        version: &Version,
        package_digest: &Digest,
    ) -> Option<Digest> {
        let found = self.found.lock().ok()?;
        found
            .values()
            .find(|f| {
                &f.name == name && &f.version == version && &f.package_digest == package_digest
            })
            .map(|f| f.manifest_digest)
    }

    /// Records in `lock` the OCI manifest digest of every pin this source
    /// served.
    pub fn record_in(&self, lock: &mut Lockfile) {
        let pins: Vec<(PackageName, Version, Digest)> = lock
            .iter()
            .map(|(n, p)| (n.clone(), p.version.clone(), p.digest))
            .collect();
        for (name, version, digest) in pins {
            if let Some(manifest) = self.manifest_digest(&name, &version, &digest) {
                lock.set_oci_manifest(&name, manifest);
            }
        }
    }

    fn remote(&self, registry: &str, insecure: bool) -> Result<Arc<Remote>, OciError> {
        let mut remotes = self.remotes.lock().map_err(|_| OciError::Registry {
            registry: registry.to_string(),
            operation: "connecting".into(),
            reason: "a previous operation panicked".into(),
        })?;
        if let Some(remote) = remotes.get(registry) {
            return Ok(remote.clone());
        }
        let credentials = Credentials::for_registry(registry)?;
        let remote = Arc::new(Remote::new(registry, insecure, credentials)?);
        remotes.insert(registry.to_string(), remote.clone());
        Ok(remote)
    }

    /// Pulls and checks the manifest at `reference`; `None` if absent.
    fn read_manifest(
        &self,
        remote: &Remote,
        reference: &Reference,
    ) -> Result<Option<(Layout, Digest)>, OciError> {
        let Some((bytes, digest)) = remote.pull_manifest(reference)? else {
            return Ok(None);
        };
        let layout = parse_manifest(&reference.whole(), &bytes, &self.limits)?;
        Ok(Some((layout, digest)))
    }

    fn remember(&self, found: Found) -> String {
        let file = format!(
            "{}/{}@{}",
            found.registry, found.repository, found.manifest_digest
        );
        if let Ok(mut map) = self.found.lock() {
            map.insert(file.clone(), found);
        }
        file
    }

    /// The entries of one mapped package.
    fn package_entries(&self, name: &PackageName) -> Result<Vec<IndexEntry>, OciError> {
        let location = self.config.require(name)?.clone();
        let remote = self.remote(&location.registry, location.insecure)?;
        let repository = location.repository(name);
        let mut references = Vec::new();
        if let Some(digest) = self.pins.get(name) {
            references.push((remote.digest_ref(&repository, digest), None));
        } else {
            for tag in remote.list_tags(&repository)? {
                if let Some(version) = version_of_tag(&tag) {
                    references.push((remote.tag_ref(&repository, &tag), Some(version)));
                }
            }
        }
        let mut entries = Vec::new();
        for (reference, tag_version) in references {
            let shown = reference.whole();
            let Some((layout, manifest_digest)) = self.read_manifest(&remote, &reference)? else {
                return Err(OciError::Refused {
                    reference: shown,
                    reason: "the registry lists it but has no manifest for it".into(),
                });
            };
            let Some(info) = layout.package.clone() else {
                return Err(OciError::Refused {
                    reference: shown,
                    reason: "it is a plain component, not a warden package; install it with \
                             --from oci://… and a signed attestation"
                        .into(),
                });
            };
            if &info.name != name {
                return Err(OciError::Refused {
                    reference: shown,
                    reason: format!("it holds the package `{}`, not `{name}`", info.name),
                });
            }
            if let Some(tag_version) = tag_version
                && tag_version != info.version
            {
                return Err(OciError::Refused {
                    reference: shown,
                    reason: format!(
                        "the tag says version {} but the package is version {}",
                        tag_for(&tag_version),
                        info.version
                    ),
                });
            }
            let size = layout.archive_size(None);
            let file = self.remember(Found {
                registry: location.registry.clone(),
                insecure: location.insecure,
                repository: repository.clone(),
                manifest_digest,
                layout,
                name: info.name.clone(),
                version: info.version.clone(),
                package_digest: info.package_digest,
                plain: None,
            });
            entries.push(IndexEntry {
                name: info.name,
                version: info.version,
                digest: info.package_digest,
                size,
                dependencies: info.dependencies,
                file,
            });
        }
        Ok(entries)
    }

    /// The entry of an explicit reference.
    fn reference_entry(
        &self,
        reference: &OciReference,
        attestation: Option<&Attestation>,
    ) -> Result<IndexEntry, OciError> {
        let insecure = self.config.is_insecure(&reference.registry);
        let remote = self.remote(&reference.registry, insecure)?;
        let oci_ref = match &reference.target {
            Target::Tag(tag) => remote.tag_ref(&reference.repository, tag),
            Target::Digest(d) => remote.digest_ref(&reference.repository, d),
        };
        let Some((layout, manifest_digest)) = self.read_manifest(&remote, &oci_ref)? else {
            return Err(OciError::Refused {
                reference: reference.to_string(),
                reason: "the registry has no such manifest".into(),
            });
        };
        let found = |layout: Layout, name: &PackageName, version: &Version, digest, plain| Found {
            registry: reference.registry.clone(),
            insecure,
            repository: reference.repository.clone(),
            manifest_digest,
            layout,
            name: name.clone(),
            version: version.clone(),
            package_digest: digest,
            plain,
        };
        if let Some(info) = layout.package.clone() {
            let size = layout.archive_size(None);
            let file = self.remember(found(
                layout,
                &info.name,
                &info.version,
                info.package_digest,
                None,
            ));
            return Ok(IndexEntry {
                name: info.name,
                version: info.version,
                digest: info.package_digest,
                size,
                dependencies: info.dependencies,
                file,
            });
        }
        let attestation = attestation.ok_or_else(|| OciError::Refused {
            reference: reference.to_string(),
            reason: "it is a plain component (no warden manifest or signature): supply a signed \
                     attestation for its digest with --signature"
                .into(),
        })?;
        // The component must be the one the attestation's signature names:
        // checked before downloading it.
        if attestation.component_digest()? != layout.component.digest {
            return Err(OciError::Refused {
                reference: reference.to_string(),
                reason: format!(
                    "the attestation signs the component {}, but the registry's component is {}",
                    attestation.component_digest()?,
                    layout.component.digest
                ),
            });
        }
        let component = remote.pull_blob(&oci_ref, &layout.component, "component layer")?;
        let bytes = attestation.package_with(&component)?;
        let manifest = attestation.manifest()?;
        let digest = Digest::of(&bytes);
        let file = self.remember(found(
            layout,
            &manifest.name,
            &manifest.version,
            digest,
            Some((attestation.clone(), component)),
        ));
        Ok(IndexEntry {
            name: manifest.name,
            version: manifest.version,
            digest,
            size: bytes.len() as u64,
            dependencies: manifest.dependencies,
            file,
        })
    }

    fn fetch_found(
        &self,
        found: &Found,
        entry: &IndexEntry,
        max_bytes: u64,
    ) -> Result<Vec<u8>, OciError> {
        let shown = format!(
            "{}/{}@{}",
            found.registry, found.repository, found.manifest_digest
        );
        let size = found
            .plain
            .as_ref()
            .map_or(found.layout.archive_size(None), |_| entry.size);
        if size > max_bytes {
            return Err(OciError::TooLarge {
                reference: shown,
                what: "package".into(),
                size,
                limit: max_bytes,
            });
        }
        let bytes = match &found.plain {
            Some((attestation, component)) => attestation.package_with(component)?,
            None => {
                let remote = self.remote(&found.registry, found.insecure)?;
                let reference = remote.digest_ref(&found.repository, &found.manifest_digest);
                let Some((manifest_layer, signature_layer)) = &found.layout.warden else {
                    return Err(OciError::Refused {
                        reference: shown,
                        reason: "it is not a warden package".into(),
                    });
                };
                let manifest = remote.pull_blob(&reference, manifest_layer, "warden.toml layer")?;
                let signature =
                    remote.pull_blob(&reference, signature_layer, "signature.json layer")?;
                // The small layers first: a manifest that disagrees with the
                // entry is refused before the component is downloaded.
                check_manifest(&shown, &manifest, entry)?;
                let component =
                    remote.pull_blob(&reference, &found.layout.component, "component layer")?;
                package::write_archive(&[
                    (COMPONENT_FILE, &component),
                    (SIGNATURE_FILE, &signature),
                    (MANIFEST_FILE, &manifest),
                ])
                .map_err(|source| OciError::Package {
                    reference: shown.clone(),
                    source: Box::new(source),
                })?
            }
        };
        let actual = Digest::of(&bytes);
        if actual != entry.digest {
            return Err(OciError::DigestMismatch {
                reference: shown,
                what: "rebuilt package".into(),
                expected: entry.digest,
                actual,
            });
        }
        Ok(bytes)
    }
}

/// The package's own manifest must name the entry's package, version and
/// dependencies (the annotations that resolution used are not trusted).
fn check_manifest(reference: &str, manifest: &[u8], entry: &IndexEntry) -> Result<(), OciError> {
    let refused = |reason: String| OciError::Refused {
        reference: reference.to_string(),
        reason,
    };
    let text = std::str::from_utf8(manifest)
        .map_err(|_| refused("its warden.toml is not UTF-8".into()))?;
    let parsed = Manifest::parse(text).map_err(|e| refused(format!("its warden.toml: {e}")))?;
    if parsed.name != entry.name || parsed.version != entry.version {
        return Err(refused(format!(
            "its warden.toml is for {}@{}, but its annotations say {}",
            parsed.name,
            parsed.version,
            entry.id()
        )));
    }
    if parsed.dependencies != entry.dependencies {
        return Err(refused(
            "its warden.toml's dependencies differ from its annotations".into(),
        ));
    }
    Ok(())
}

impl Source for OciSource {
    fn describe(&self) -> String {
        match &self.explicit {
            Some((reference, _)) => format!("OCI artifact {reference}"),
            None => format!("the OCI registries of {}", self.config.path().display()),
        }
    }

    fn entries(&self) -> Result<Vec<IndexEntry>, SourceError> {
        if let Some((reference, attestation)) = &self.explicit {
            return Ok(vec![self.reference_entry(reference, attestation.as_ref())?]);
        }
        let mut entries = Vec::new();
        let mut queue: Vec<PackageName> = self.roots.clone();
        let mut seen: BTreeSet<PackageName> = BTreeSet::new();
        while let Some(name) = queue.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            for entry in self.package_entries(&name)? {
                for dep in entry.dependencies.keys() {
                    if self.config.location(dep.namespace()).is_some() && !seen.contains(dep) {
                        queue.push(dep.clone());
                    }
                }
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    fn fetch(&self, entry: &IndexEntry, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        let found = self
            .found
            .lock()
            .ok()
            .and_then(|map| map.get(&entry.file).cloned());
        let Some(found) = found else {
            return Err(SourceError::UnknownEntry {
                package: entry.id(),
                digest: entry.digest,
                origin: self.describe(),
            });
        };
        Ok(self.fetch_found(&found, entry, max_bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_with_tag_or_digest() {
        let r = OciReference::parse("oci://127.0.0.1:5000/acme/grep:1.2.0").expect("tag");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "acme/grep");
        assert_eq!(r.target, Target::Tag("1.2.0".into()));
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/acme/grep:1.2.0");
        let d = Digest::of(b"m");
        let r = OciReference::parse(&format!("oci://reg.example/x@{d}")).expect("digest");
        assert_eq!(r.target, Target::Digest(d));
        for bad in [
            "127.0.0.1:5000/acme/grep:1",
            "oci://reg.example/x",
            "oci://reg.example:1.0",
            "oci://reg.example/x@sha256:00",
            "oci://reg.example/X:1",
            "oci://reg.example/x:-bad",
        ] {
            assert!(OciReference::parse(bad).is_err(), "{bad}");
        }
    }
}
