//! How a warden package is laid out as an OCI artifact, and how a pulled
//! manifest is checked before anything it names is downloaded.
//!
//! A package is one OCI image manifest whose config is the wasm config
//! (`application/vnd.wasm.config.v0+json`, as wkg writes it) and whose
//! layers are, in this order:
//!
//! | layer media type | bytes |
//! |---|---|
//! | `application/wasm` | `component.wasm` (what any wasm OCI tool pulls) |
//! | `application/vnd.warden.package.manifest.v1+toml` | `warden.toml`, exactly as signed |
//! | `application/vnd.warden.package.signature.v1+json` | `signature.json` |
//!
//! Annotations name the package, its version, its dependencies (for
//! resolution without downloading anything) and the SHA-256 of the `.wpkg`
//! the three layers rebuild to ([`crate::package::write_archive`] is
//! deterministic), so a package round-trips byte for byte and a lockfile
//! digest means the same thing for an OCI source as for a folder. The
//! annotations are not trusted: the rebuilt package must hash to the
//! annotated digest, and its signature is verified, before it is used.
//!
//! The manifest is deterministic too (no timestamps): publishing the same
//! package twice gives the same manifest digest.
//!
//! A manifest with only an `application/wasm` layer (pushed by wkg, wash,
//! or any other tool) is a *plain component*: it installs only with a
//! detached warden manifest and signature supplied by the user
//! ([`super::Attestation`]).

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use super::error::OciError;
use crate::digest::Digest;
use crate::error::PackageError;
use crate::name::PackageName;
use crate::package::{self, ArchiveLimits, COMPONENT_FILE, MANIFEST_FILE, SIGNATURE_FILE};

/// The OCI image manifest media type.
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker's v2 manifest media type (accepted when pulling).
pub const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The wasm config media type (wkg, the CNCF wasm OCI artifact layout).
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The component layer's media type.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// The layer holding `warden.toml`.
pub const MANIFEST_LAYER_MEDIA_TYPE: &str = "application/vnd.warden.package.manifest.v1+toml";
/// The layer holding `signature.json`.
pub const SIGNATURE_LAYER_MEDIA_TYPE: &str = "application/vnd.warden.package.signature.v1+json";

/// Annotation: the package name (`acme:grep`).
pub const ANNOTATION_NAME: &str = "dev.warden.package.name";
/// Annotation: the SHA-256 of the `.wpkg` the layers rebuild to.
pub const ANNOTATION_PACKAGE_DIGEST: &str = "dev.warden.package.digest";
/// Annotation: the dependencies, as a JSON object of name → range.
pub const ANNOTATION_DEPENDENCIES: &str = "dev.warden.package.dependencies";
/// Annotation: the version (standard OCI key).
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
/// Annotation: a title (standard OCI key).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// Annotation: the description (standard OCI key).
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";

/// The largest manifest accepted (the distribution spec's recommended
/// limit for registries is 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// The most layers a manifest may list.
const MAX_LAYERS: usize = 16;

/// A descriptor as warden uses it: media type, digest, size. Foreign
/// fields (`urls` in particular) are dropped, so a manifest cannot send a
/// download anywhere but its own registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The media type.
    pub media_type: String,
    /// The SHA-256 digest.
    pub digest: Digest,
    /// The size in bytes.
    pub size: u64,
}

/// What the annotations say about a warden package (untrusted until the
/// package is rebuilt and verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// The package name.
    pub name: PackageName,
    /// Its version.
    pub version: Version,
    /// The digest of the `.wpkg` the layers rebuild to.
    pub package_digest: Digest,
    /// Its dependencies.
    pub dependencies: BTreeMap<PackageName, VersionReq>,
}

/// A pulled manifest that passed every check that needs no blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The component layer.
    pub component: Blob,
    /// The `warden.toml` and `signature.json` layers (absent for a plain
    /// component).
    pub warden: Option<(Blob, Blob)>,
    /// The package annotations (present with the warden layers).
    pub package: Option<PackageInfo>,
}

impl Layout {
    /// The size of the `.wpkg` these layers rebuild to, given the size of
    /// the metadata when it is not in the registry (a plain component).
    pub fn archive_size(&self, metadata_sizes: Option<(u64, u64)>) -> u64 {
        let (manifest, signature) = match (&self.warden, metadata_sizes) {
            (Some((m, s)), _) => (m.size, s.size),
            (None, Some(sizes)) => sizes,
            (None, None) => (0, 0),
        };
        archive_size(&[self.component.size, manifest, signature])
    }
}

/// The size of a ustar archive of files of these sizes, as
/// [`package::write_archive`] writes it: a 512-byte header per file, the
/// data padded to 512 bytes, and two zero blocks at the end.
pub fn archive_size(sizes: &[u64]) -> u64 {
    sizes
        .iter()
        .map(|s| 512 + s.div_ceil(512) * 512)
        .sum::<u64>()
        + 1024
}

/// The OCI shape of a descriptor (only the fields warden reads or writes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescriptorJson {
    media_type: String,
    digest: String,
    size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<String, String>>,
}

/// The OCI shape of an image manifest (or, with `manifests`, an index).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestJson {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<DescriptorJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<DescriptorJson>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifests: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<String, String>>,
}

/// The wasm config blob (the CNCF wasm OCI artifact layout), with a fixed
/// `created` so that manifests are deterministic.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig<'a> {
    created: &'a str,
    architecture: &'a str,
    os: &'a str,
    layer_digests: Vec<String>,
    component: WasmComponent<'a>,
}

#[derive(Serialize)]
struct WasmComponent<'a> {
    imports: &'a [String],
    exports: &'a [String],
}

/// A package as an artifact ready to push.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The package name.
    pub name: PackageName,
    /// Its version.
    pub version: Version,
    /// The config blob.
    pub config: Vec<u8>,
    /// The layers, in manifest order: (media type, bytes).
    pub layers: Vec<(&'static str, Vec<u8>)>,
    /// The manifest, exactly as pushed.
    pub manifest: Vec<u8>,
    /// Its digest (what `warden.lock` records).
    pub manifest_digest: Digest,
    /// The digest of the `.wpkg` the layers rebuild to.
    pub package_digest: Digest,
    /// Whether the given package bytes were already in warden's canonical
    /// layout (if not, the canonical rebuild is what is published).
    pub canonical: bool,
}

/// Lays out a package as an artifact: verifies it (signature, capabilities)
/// first, so nothing unverifiable is published.
pub fn artifact_for(
    package_bytes: &[u8],
    limits: &ArchiveLimits,
) -> Result<Artifact, PackageError> {
    let package = package::read(package_bytes, limits)?;
    let signature = package.signature.to_json();
    let rebuilt = package::write_archive(&[
        (COMPONENT_FILE, &package.component),
        (SIGNATURE_FILE, &signature),
        (MANIFEST_FILE, &package.manifest_bytes),
    ])?;
    let package_digest = Digest::of(&rebuilt);
    let canonical = rebuilt == package_bytes;
    let component_digest = package.component_digest();
    let config = serde_json::to_vec(&WasmConfig {
        created: "1970-01-01T00:00:00Z",
        architecture: "wasm",
        os: "wasip2",
        layer_digests: vec![component_digest.to_string()],
        component: WasmComponent {
            imports: &package.imports.imports,
            exports: &package.imports.exports,
        },
    })
    .map_err(|e| PackageError::Archive {
        reason: format!("cannot write the OCI config: {e}"),
    })?;
    let layers = vec![
        (WASM_LAYER_MEDIA_TYPE, package.component.clone()),
        (MANIFEST_LAYER_MEDIA_TYPE, package.manifest_bytes.clone()),
        (SIGNATURE_LAYER_MEDIA_TYPE, signature),
    ];
    let descriptor = |media_type: &str, bytes: &[u8]| DescriptorJson {
        media_type: media_type.to_string(),
        digest: Digest::of(bytes).to_string(),
        size: bytes.len() as i64,
        annotations: None,
    };
    let mut annotations = BTreeMap::new();
    let manifest = &package.manifest;
    annotations.insert(ANNOTATION_NAME.to_string(), manifest.name.to_string());
    annotations.insert(ANNOTATION_TITLE.to_string(), manifest.name.to_string());
    annotations.insert(ANNOTATION_VERSION.to_string(), manifest.version.to_string());
    annotations.insert(
        ANNOTATION_PACKAGE_DIGEST.to_string(),
        package_digest.to_string(),
    );
    if !manifest.description.is_empty() {
        annotations.insert(
            ANNOTATION_DESCRIPTION.to_string(),
            manifest.description.clone(),
        );
    }
    let deps: BTreeMap<String, String> = manifest
        .dependencies
        .iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect();
    annotations.insert(
        ANNOTATION_DEPENDENCIES.to_string(),
        serde_json::to_string(&deps).unwrap_or_else(|_| "{}".to_string()),
    );
    let json = ManifestJson {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST_MEDIA_TYPE.to_string()),
        config: Some(descriptor(WASM_CONFIG_MEDIA_TYPE, &config)),
        layers: Some(layers.iter().map(|(t, b)| descriptor(t, b)).collect()),
        manifests: None,
        annotations: Some(annotations),
    };
    let manifest_bytes = serde_json::to_vec(&json).map_err(|e| PackageError::Archive {
        reason: format!("cannot write the OCI manifest: {e}"),
    })?;
    Ok(Artifact {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        config,
        layers,
        manifest_digest: Digest::of(&manifest_bytes),
        manifest: manifest_bytes,
        package_digest,
        canonical,
    })
}

/// Checks a pulled manifest (already bounded by [`MAX_MANIFEST_BYTES`] and
/// verified against its digest by the caller) and reads its layout. Every
/// size is checked against `limits` here, before any blob is fetched.
pub fn parse_manifest(
    reference: &str,
    bytes: &[u8],
    limits: &ArchiveLimits,
) -> Result<Layout, OciError> {
    let refused = |reason: String| OciError::Refused {
        reference: reference.to_string(),
        reason,
    };
    let json: ManifestJson = serde_json::from_slice(bytes)
        .map_err(|e| refused(format!("its manifest is not a valid OCI manifest ({e})")))?;
    if json.schema_version != 2 {
        return Err(refused(format!(
            "its manifest has schemaVersion {}; only 2 is supported",
            json.schema_version
        )));
    }
    if json.manifests.is_some() {
        return Err(refused(
            "it is an image index (a list of manifests, e.g. multi-platform); \
             warden installs a single component: name one manifest by its digest"
                .into(),
        ));
    }
    if let Some(media_type) = &json.media_type
        && media_type != OCI_MANIFEST_MEDIA_TYPE
        && media_type != DOCKER_MANIFEST_MEDIA_TYPE
    {
        return Err(refused(format!(
            "its manifest has media type `{media_type}`, not an image manifest"
        )));
    }
    let layers = json.layers.unwrap_or_default();
    if layers.len() > MAX_LAYERS {
        return Err(refused(format!(
            "its manifest lists {} layers; at most {MAX_LAYERS} are accepted",
            layers.len()
        )));
    }
    let mut component = None;
    let mut manifest_layer = None;
    let mut signature_layer = None;
    for layer in &layers {
        let slot = match layer.media_type.as_str() {
            WASM_LAYER_MEDIA_TYPE => (&mut component, "component", limits.max_component_bytes),
            MANIFEST_LAYER_MEDIA_TYPE => (
                &mut manifest_layer,
                "warden.toml",
                limits.max_metadata_bytes,
            ),
            SIGNATURE_LAYER_MEDIA_TYPE => (
                &mut signature_layer,
                "signature.json",
                limits.max_metadata_bytes,
            ),
            // Other layers are never downloaded.
            _ => continue,
        };
        let (place, what, limit) = slot;
        if place.is_some() {
            return Err(refused(format!("its manifest lists two {what} layers")));
        }
        let digest: Digest = layer.digest.parse().map_err(|_| {
            refused(format!(
                "the {what} layer's digest `{}` is not a sha256 digest",
                layer.digest
            ))
        })?;
        let size = u64::try_from(layer.size)
            .map_err(|_| refused(format!("the {what} layer has a negative size")))?;
        if size > limit {
            return Err(OciError::TooLarge {
                reference: reference.to_string(),
                what: format!("{what} layer"),
                size,
                limit,
            });
        }
        *place = Some(Blob {
            media_type: layer.media_type.clone(),
            digest,
            size,
        });
    }
    let component = component.ok_or_else(|| {
        refused(format!(
            "its manifest has no `{WASM_LAYER_MEDIA_TYPE}` layer: it is not a WebAssembly component"
        ))
    })?;
    let warden = match (manifest_layer, signature_layer) {
        (Some(m), Some(s)) => Some((m, s)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(refused(
                "it has a warden.toml layer but no signature layer: the package is unsigned".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(refused(
                "it has a signature layer but no warden.toml layer".into(),
            ));
        }
    };
    let package = match &warden {
        None => None,
        Some(_) => Some(package_info(
            reference,
            &json.annotations.unwrap_or_default(),
        )?),
    };
    let layout = Layout {
        component,
        warden,
        package,
    };
    let size = layout.archive_size(None);
    if size > limits.max_archive_bytes {
        return Err(OciError::TooLarge {
            reference: reference.to_string(),
            what: "package".into(),
            size,
            limit: limits.max_archive_bytes,
        });
    }
    Ok(layout)
}

fn package_info(
    reference: &str,
    annotations: &BTreeMap<String, String>,
) -> Result<PackageInfo, OciError> {
    let refused = |reason: String| OciError::Refused {
        reference: reference.to_string(),
        reason,
    };
    let get = |key: &str| {
        annotations.get(key).ok_or_else(|| {
            refused(format!(
                "its manifest lacks the `{key}` annotation (publish it with `warden publish`)"
            ))
        })
    };
    let name: PackageName = get(ANNOTATION_NAME)?
        .parse()
        .map_err(|e| refused(format!("bad `{ANNOTATION_NAME}` annotation: {e}")))?;
    let version: Version = get(ANNOTATION_VERSION)?
        .parse()
        .map_err(|e| refused(format!("bad `{ANNOTATION_VERSION}` annotation: {e}")))?;
    let package_digest: Digest = get(ANNOTATION_PACKAGE_DIGEST)?
        .parse()
        .map_err(|e| refused(format!("bad `{ANNOTATION_PACKAGE_DIGEST}` annotation: {e}")))?;
    let dependencies = match annotations.get(ANNOTATION_DEPENDENCIES) {
        None => BTreeMap::new(),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| refused(format!("bad `{ANNOTATION_DEPENDENCIES}` annotation: {e}")))?,
    };
    Ok(PackageInfo {
        name,
        version,
        package_digest,
        dependencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::tests::synthetic;
    use crate::keys::SecretKey;

    const MANIFEST: &str = "name = \"acme:t\"\nversion = \"1.0.0+b.1\"\nkind = \"tool\"\ndescription = \"test\"\nworld = \"warden:plugin/tool@0.1.0\"\n\n[dependencies]\n\"acme:fs\" = \"^1.2\"\n";

    fn package() -> Vec<u8> {
        let component = synthetic(
            &["package test:t;\nworld w { include warden:plugin/tool@0.1.0; }\n"],
            "w",
        );
        package::build(MANIFEST, &component, &SecretKey::from_seed(&[5; 32])).expect("build")
    }

    #[test]
    fn a_package_round_trips_through_its_layout() {
        let bytes = package();
        let artifact = artifact_for(&bytes, &ArchiveLimits::default()).expect("artifact");
        assert!(artifact.canonical);
        assert_eq!(artifact.package_digest, Digest::of(&bytes));
        assert_eq!(artifact.manifest_digest, Digest::of(&artifact.manifest));
        // Deterministic.
        let again = artifact_for(&bytes, &ArchiveLimits::default()).expect("artifact");
        assert_eq!(again.manifest, artifact.manifest);

        let layout =
            parse_manifest("r", &artifact.manifest, &ArchiveLimits::default()).expect("parse");
        let info = layout.package.clone().expect("package info");
        assert_eq!(info.name.to_string(), "acme:t");
        assert_eq!(info.version.to_string(), "1.0.0+b.1");
        assert_eq!(info.package_digest, Digest::of(&bytes));
        assert_eq!(info.dependencies.len(), 1);
        assert_eq!(layout.archive_size(None), bytes.len() as u64);
        assert_eq!(layout.component.media_type, WASM_LAYER_MEDIA_TYPE);

        // The layers rebuild the exact package.
        let layer = |t: &str| {
            artifact
                .layers
                .iter()
                .find(|(m, _)| *m == t)
                .map(|(_, b)| b.clone())
                .expect("layer")
        };
        let rebuilt = package::write_archive(&[
            (COMPONENT_FILE, &layer(WASM_LAYER_MEDIA_TYPE)),
            (SIGNATURE_FILE, &layer(SIGNATURE_LAYER_MEDIA_TYPE)),
            (MANIFEST_FILE, &layer(MANIFEST_LAYER_MEDIA_TYPE)),
        ])
        .expect("rebuild");
        assert_eq!(rebuilt, bytes);
    }

    #[test]
    fn archive_size_matches_the_writer() {
        for sizes in [[0usize, 1, 511], [512, 513, 100_000]] {
            let data: Vec<Vec<u8>> = sizes.iter().map(|n| vec![1u8; *n]).collect();
            let archive =
                package::write_archive(&[("a", &data[0]), ("b", &data[1]), ("c", &data[2])])
                    .expect("archive");
            let sizes: Vec<u64> = sizes.iter().map(|n| *n as u64).collect();
            assert_eq!(archive_size(&sizes), archive.len() as u64);
        }
    }

    fn manifest_with(layers: serde_json::Value, extra: serde_json::Value) -> Vec<u8> {
        let mut m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": WASM_CONFIG_MEDIA_TYPE, "digest": Digest::of(b"{}").to_string(), "size": 2},
            "layers": layers,
        });
        if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                m.insert(k.clone(), v.clone());
            }
        }
        serde_json::to_vec(&m).expect("json")
    }

    #[test]
    fn unusable_manifests_are_refused_before_any_download() {
        let d = Digest::of(b"x").to_string();
        let limits = ArchiveLimits::default();
        let cases = [
            (
                manifest_with(serde_json::json!([]), serde_json::json!({})),
                "no `application/wasm` layer",
            ),
            (
                manifest_with(
                    serde_json::json!([{"mediaType": "application/wasm", "digest": d, "size": 49u64 << 20}]),
                    serde_json::json!({}),
                ),
                "over the limit",
            ),
            (
                manifest_with(
                    serde_json::json!([{"mediaType": "application/wasm", "digest": "sha512:ab", "size": 1}]),
                    serde_json::json!({}),
                ),
                "not a sha256 digest",
            ),
            (
                manifest_with(
                    serde_json::json!([{"mediaType": "application/wasm", "digest": d, "size": -1}]),
                    serde_json::json!({}),
                ),
                "negative size",
            ),
            (
                manifest_with(
                    serde_json::json!([
                        {"mediaType": "application/wasm", "digest": d, "size": 1},
                        {"mediaType": MANIFEST_LAYER_MEDIA_TYPE, "digest": d, "size": 1},
                    ]),
                    serde_json::json!({}),
                ),
                "unsigned",
            ),
            (
                manifest_with(
                    serde_json::json!([
                        {"mediaType": "application/wasm", "digest": d, "size": 1},
                        {"mediaType": MANIFEST_LAYER_MEDIA_TYPE, "digest": d, "size": 1},
                        {"mediaType": SIGNATURE_LAYER_MEDIA_TYPE, "digest": d, "size": 1},
                    ]),
                    serde_json::json!({}),
                ),
                "lacks the `dev.warden.package.name` annotation",
            ),
            (
                manifest_with(serde_json::json!([]), serde_json::json!({"manifests": []})),
                "image index",
            ),
            (b"{".to_vec(), "not a valid OCI manifest"),
        ];
        for (bytes, needle) in cases {
            let err = parse_manifest("host/acme/t:1.0.0", &bytes, &limits)
                .expect_err(needle)
                .to_string();
            assert!(
                err.starts_with("refusing host/acme/t:1.0.0: ") && err.contains(needle),
                "{needle}: {err}"
            );
        }
    }

    #[test]
    fn a_plain_component_has_no_package_info_and_urls_are_dropped() {
        let d = Digest::of(b"x");
        let bytes = manifest_with(
            serde_json::json!([{"mediaType": "application/wasm", "digest": d.to_string(), "size": 1, "urls": ["http://elsewhere.example/x"]}]),
            serde_json::json!({}),
        );
        let layout = parse_manifest("r", &bytes, &ArchiveLimits::default()).expect("parse");
        assert_eq!(
            layout.component,
            Blob {
                media_type: WASM_LAYER_MEDIA_TYPE.into(),
                digest: d,
                size: 1
            }
        );
        assert!(layout.warden.is_none() && layout.package.is_none());
    }
}
