//! OCI registries as package sources and targets, against a real
//! `docker-registry` on 127.0.0.1 (skipped through `warden_test_skip`
//! where it cannot be started: a visible, counted skip, and a failure under
//! `WARDEN_TEST_REQUIRE_ALL=1`): publish, resolve ranges from tags, lock by manifest digest,
//! refuse tampered, truncated and oversized blobs and moved tags with the
//! store untouched, credentials from the environment or the Docker config
//! and never in output, and plain components with a signed attestation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use warden_test_skip::{Prerequisite, skip};
use warden_tests::oci_registry::{DockerRegistry, Tamper, TamperProxy, base64, http_request};

use super::cli::{expect_failed, expect_ok};
use super::world;

/// A registry, or `None` after skipping the test (see `warden_test_skip`).
#[track_caller]
fn registry_or_skip(test: &str) -> Option<DockerRegistry> {
    match DockerRegistry::start() {
        Ok(registry) => Some(registry),
        Err(why) => {
            skip(
                Prerequisite::DockerRegistry,
                test,
                &format!("cannot start docker-registry: {why}"),
            );
            None
        }
    }
}

/// The shared [`world::World`] with a trusted `acme` key, a Docker config
/// dir of its own, and the registry credentials of this shell removed.
struct World {
    world: world::World,
    env: Vec<(String, String)>,
}

impl World {
    fn new() -> World {
        let world = world::World::new();
        std::fs::create_dir_all(world.path("docker")).expect("mkdir");
        let w = World {
            world,
            env: Vec::new(),
        };
        let public = w.world.key("acme.key");
        w.ok(&["trust", "add", "acme", &public]);
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.world.path(rel)
    }

    fn home(&self) -> PathBuf {
        self.world.home()
    }

    /// Maps namespaces to registries (plain HTTP: they are on loopback).
    fn map(&self, namespaces: &[(&str, &str)]) {
        let mut text = String::from("[namespaces]\n");
        for (ns, url) in namespaces {
            text.push_str(&format!("{ns} = {{ url = \"{url}\", insecure = true }}\n"));
        }
        std::fs::write(self.home().join("registries.toml"), text).expect("write config");
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.world.command(args);
        cmd.env("DOCKER_CONFIG", self.path("docker"))
            .env_remove("WARDEN_REGISTRY_USERNAME")
            .env_remove("WARDEN_REGISTRY_PASSWORD")
            .env_remove("WARDEN_REGISTRY_TOKEN")
            .env_remove("WARDEN_SOURCE");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().expect("warden runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        expect_ok(&self.run(args), args)
    }

    fn fails(&self, args: &[&str], needle: &str) -> String {
        expect_failed(&self.run(args), args, needle)
    }

    /// Packages `component` as `name@version` (description `desc`), signed
    /// by the `acme` key.
    fn package(&self, component: &[u8], name: &str, version: &str, desc: &str) -> PathBuf {
        let stem = format!("{}-{version}-{}", name.replace(':', "-"), desc.len());
        self.world.package(
            component,
            &manifest(name, version, desc),
            "acme.key",
            &format!("{stem}.wpkg"),
        )
    }

    /// Publishes a package file; returns the manifest digest it printed.
    fn publish(&self, pkg: &Path, extra: &[&str]) -> String {
        let mut args = vec!["publish", pkg.to_str().expect("utf-8")];
        args.extend_from_slice(extra);
        let out = self.ok(&args);
        out.trim()
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .expect("publish prints REF@DIGEST")
    }

    /// Every file under the home (except the lock), with its contents.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        self.world.snapshot()
    }

    fn lockfile_path(&self) -> PathBuf {
        self.world.workspace().join("warden.lock")
    }

    fn lockfile(&self) -> String {
        std::fs::read_to_string(self.lockfile_path()).unwrap_or_default()
    }
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

fn manifest(name: &str, version: &str, desc: &str) -> String {
    format!(
        "name = \"{name}\"\nversion = \"{version}\"\nkind = \"tool\"\ndescription = \"{desc}\"\n\
         world = \"warden:plugin/tool@0.2.0\"\n"
    )
}

fn greet() -> Vec<u8> {
    std::fs::read(warden_tests::components::GREET).expect("greet component built")
}

/// `sha256:<hex>` of `bytes`.
fn sha256(bytes: &[u8]) -> String {
    warden_registry::Digest::of(bytes).to_string()
}

/// Pushes a blob to `repo` on `addr` (an upload session, then one PUT).
fn push_blob(addr: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let started = http_request(
        addr,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        &[],
    )
    .expect("start upload");
    assert_eq!(
        started.status,
        202,
        "{:?}",
        String::from_utf8_lossy(&started.body)
    );
    let location = started
        .headers
        .iter()
        .find(|(n, _)| n == "location")
        .map(|(_, v)| v.clone())
        .expect("upload location");
    // The location may be absolute: keep the path and query.
    let path = match location.split_once("://") {
        Some((_, rest)) => rest[rest.find('/').unwrap_or(rest.len())..].to_string(),
        None => location,
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    let response = http_request(
        addr,
        "PUT",
        &format!("{path}{separator}digest={digest}"),
        &[(
            "Content-Type".to_string(),
            "application/octet-stream".to_string(),
        )],
        bytes,
    )
    .expect("upload");
    assert_eq!(
        response.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
    digest
}

/// Pushes a manifest to `repo:tag` on `addr`.
fn push_manifest(addr: &str, repo: &str, tag: &str, manifest: &[u8]) {
    let response = http_request(
        addr,
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[(
            "Content-Type".to_string(),
            "application/vnd.oci.image.manifest.v1+json".to_string(),
        )],
        manifest,
    )
    .expect("put manifest");
    assert_eq!(
        response.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
}

/// Reads a manifest's bytes from `repo:reference` on `addr`.
fn get_manifest(addr: &str, repo: &str, reference: &str) -> Vec<u8> {
    let response = http_request(
        addr,
        "GET",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[(
            "Accept".to_string(),
            "application/vnd.oci.image.manifest.v1+json".to_string(),
        )],
        &[],
    )
    .expect("get manifest");
    assert_eq!(response.status, 200);
    response.body
}

/// The blob digests of a manifest's layers, by media type.
fn layer_digest(manifest: &[u8], media_type: &str) -> String {
    let json: serde_json::Value = serde_json::from_slice(manifest).expect("manifest json");
    json["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["mediaType"] == media_type)
        .and_then(|l| l["digest"].as_str())
        .expect("layer")
        .to_string()
}

#[test]
fn publish_then_install_resolves_ranges_from_tags_and_locks_the_manifest_digest() {
    let Some(registry) = registry_or_skip("oci publish/install") else {
        return;
    };
    let w = World::new();
    w.map(&[("acme", &format!("{}/team/acme", registry.addr()))]);
    let component = greet();
    let mut digests = BTreeMap::new();
    for version in ["1.0.0", "1.2.0", "2.0.0"] {
        let pkg = w.package(&component, "acme:greet", version, "Greets");
        digests.insert(version, w.publish(&pkg, &[]));
    }
    // The tags are the versions, in the mapped repository.
    let tags = http_request(
        registry.addr(),
        "GET",
        "/v2/team/acme/greet/tags/list",
        &[],
        &[],
    )
    .expect("tags");
    let tags: serde_json::Value = serde_json::from_slice(&tags.body).expect("json");
    let mut tags: Vec<&str> = tags["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    tags.sort();
    assert_eq!(tags, ["1.0.0", "1.2.0", "2.0.0"]);

    // The component is an `application/wasm` layer, as wkg lays it out.
    let manifest = get_manifest(registry.addr(), "team/acme/greet", "1.2.0");
    assert_eq!(sha256(&manifest), digests["1.2.0"]);
    assert_eq!(
        layer_digest(&manifest, "application/wasm"),
        sha256(&component)
    );

    // Publishing again is a no-op; other contents under a published
    // version are refused.
    let pkg = w.package(&component, "acme:greet", "1.2.0", "Greets");
    assert_eq!(w.publish(&pkg, &[]), digests["1.2.0"]);
    let other = w.package(&component, "acme:greet", "1.2.0", "Greets differently");
    w.fails(
        &["publish", &s(&other)],
        "is already published there with different contents",
    );

    // A range resolves from the tag list; the lock pins the package and
    // the OCI manifest digest.
    w.ok(&["install", "acme:greet@^1", "--yes"]);
    let lock = w.lockfile();
    assert!(lock.contains("version = \"1.2.0\""), "{lock}");
    assert!(
        lock.contains(&format!("oci-manifest = \"{}\"", digests["1.2.0"])),
        "{lock}"
    );
    let out = w.ok(&["tool", "call", "acme:greet", "greet", "{\"name\": \"OCI\"}"]);
    assert!(out.contains("Hello, OCI!"), "{out}");

    // The package installed is byte for byte the one published.
    let pkg_bytes = std::fs::read(&pkg).expect("read");
    let stored = w
        .home()
        .join("packages/sha256")
        .join(sha256(&pkg_bytes).trim_start_matches("sha256:"));
    assert_eq!(std::fs::read(stored).expect("stored package"), pkg_bytes);

    // Someone moves the 1.2.0 tag to other contents, bypassing warden.
    let moved = w.package(&component, "acme:greet", "1.2.0", "Moved tag");
    let staging = w.publish(
        &moved,
        &["--registry", &format!("{}/staging", registry.addr())],
    );
    let moved_manifest = get_manifest(registry.addr(), "staging/greet", &staging);
    let json: serde_json::Value = serde_json::from_slice(&moved_manifest).expect("json");
    for layer in json["layers"].as_array().expect("layers") {
        let digest = layer["digest"].as_str().expect("digest");
        let blob = http_request(
            registry.addr(),
            "GET",
            &format!("/v2/staging/greet/blobs/{digest}"),
            &[],
            &[],
        )
        .expect("blob");
        push_blob(registry.addr(), "team/acme/greet", &blob.body);
    }
    let config = json["config"]["digest"].as_str().expect("config");
    let blob = http_request(
        registry.addr(),
        "GET",
        &format!("/v2/staging/greet/blobs/{config}"),
        &[],
        &[],
    )
    .expect("config blob");
    push_blob(registry.addr(), "team/acme/greet", &blob.body);
    push_manifest(registry.addr(), "team/acme/greet", "1.2.0", &moved_manifest);

    // Without --locked the lockfile still disagrees: refused, nothing changes.
    let before = w.snapshot();
    let lock_before = w.lockfile();
    w.fails(&["install", "acme:greet@^1", "--yes"], "warden.lock");
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.lockfile(), lock_before);
    // With --locked the pinned manifest is pulled by its digest: the moved
    // tag is never read.
    let out = w.run(&["install", "acme:greet@^1", "--yes", "--locked"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("already installed"), "{stderr}");
    assert_eq!(w.lockfile(), lock_before);

    // A fresh machine installs exactly the pinned bytes with --locked.
    let fresh = World::new();
    fresh.map(&[("acme", &format!("{}/team/acme", registry.addr()))]);
    std::fs::write(fresh.lockfile_path(), &lock_before).expect("copy lock");
    // It trusts the same publisher.
    let public = w
        .ok(&["trust", "list", "--json"])
        .split('"')
        .find(|t| t.starts_with("ed25519:"))
        .expect("trusted key")
        .to_string();
    fresh.ok(&["trust", "add", "acme", &public]);
    fresh.ok(&["install", "acme:greet@^1", "--yes", "--locked"]);
    let out = fresh.ok(&["inspect", "acme:greet", "--json"]);
    assert!(out.contains("Greets"), "{out}");
    assert!(!out.contains("Moved tag"), "{out}");

    // A namespace with no registry mapped (and no other source) says how
    // to map it; a reference without a tag or digest is refused.
    w.fails(&["install", "other:thing"], "map the package's namespace");
    w.fails(
        &[
            "install",
            "--from",
            &format!("oci://{}/team/acme/greet", registry.addr()),
        ],
        "name a tag",
    );
}

#[test]
fn tampered_truncated_and_oversized_blobs_are_refused_before_the_store_changes() {
    let Some(registry) = registry_or_skip("oci tampered blobs") else {
        return;
    };
    let proxy = TamperProxy::start(registry.addr());
    let w = World::new();
    // Publish straight to the registry; install through the proxy.
    w.map(&[
        ("acme", &format!("{}/acme", proxy.addr())),
        ("direct", &format!("{}/acme", registry.addr())),
    ]);
    let component = greet();
    let pkg = w.package(&component, "acme:greet", "1.0.0", "Greets");
    w.publish(&pkg, &["--registry", &format!("{}/acme", registry.addr())]);
    let manifest = get_manifest(registry.addr(), "acme/greet", "1.0.0");
    let wasm = layer_digest(&manifest, "application/wasm");
    let signature = layer_digest(
        &manifest,
        "application/vnd.warden.package.signature.v1+json",
    );

    let before = w.snapshot();
    for (tamper, digest, needle) in [
        (Tamper::FlipByte, &wasm, "does not match its digest"),
        (Tamper::FlipByte, &signature, "does not match its digest"),
        (Tamper::Truncate, &wasm, "is truncated"),
        (Tamper::Oversize(4096), &wasm, "over the limit"),
        (Tamper::Oversize(1), &signature, "over the limit"),
    ] {
        proxy.set(tamper.clone(), std::slice::from_ref(digest));
        let stderr = w.fails(&["install", "acme:greet@1", "--yes"], needle);
        assert!(stderr.contains("refusing"), "{tamper:?}: {stderr}");
        assert_eq!(w.snapshot(), before, "{tamper:?} changed the store");
        assert!(w.lockfile().is_empty(), "{tamper:?} wrote a lockfile");
    }

    // Untouched, the same path installs.
    proxy.set(Tamper::None, &[]);
    w.ok(&["install", "acme:greet@1", "--yes"]);

    // A package signed by a key nobody trusts is refused by the same
    // checks as a local install (exit 12), before the store changes.
    let other = World::new();
    other.map(&[("acme", &format!("{}/acme", registry.addr()))]);
    let untrusted = other.package(&component, "acme:rogue", "1.0.0", "Rogue");
    other.publish(
        &untrusted,
        &["--registry", &format!("{}/acme", registry.addr())],
    );
    let before = w.snapshot();
    let out = w.run(&["install", "acme:rogue", "--yes"]);
    assert_eq!(out.status.code(), Some(12));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("trust"), "{stderr}");
    assert_eq!(w.snapshot(), before);
}

#[test]
fn credentials_come_from_the_environment_or_docker_config_and_never_leak() {
    let Some(registry) = registry_or_skip("oci credentials") else {
        return;
    };
    let proxy = TamperProxy::start(registry.addr());
    let password = "s3cret-Passw0rd-never-printed";
    proxy.require_basic_auth("ci-bot", password);
    let mut w = World::new();
    w.map(&[("acme", &format!("{}/acme", proxy.addr()))]);
    let pkg = w.package(&greet(), "acme:greet", "1.0.0", "Greets");

    // No credentials: refused, saying so.
    w.fails(&["publish", &s(&pkg)], "Not authorized");

    // A wrong password, with every log on: refused, and the password
    // appears nowhere.
    w.env = vec![
        ("WARDEN_REGISTRY_USERNAME".into(), "ci-bot".into()),
        (
            "WARDEN_REGISTRY_PASSWORD".into(),
            format!("{password}-wrong"),
        ),
        ("WARDEN_LOG".into(), "trace".into()),
    ];
    let out = w.run(&["publish", &s(&pkg)]);
    assert_ne!(out.status.code(), Some(0));
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(password), "the password leaked:\n{text}");
        assert!(
            !text.contains(&base64(format!("ci-bot:{password}-wrong").as_bytes())),
            "the encoded credentials leaked:\n{text}"
        );
    }

    // From the environment: publish works.
    w.env = vec![
        ("WARDEN_REGISTRY_USERNAME".into(), "ci-bot".into()),
        ("WARDEN_REGISTRY_PASSWORD".into(), password.into()),
        ("WARDEN_LOG".into(), "trace".into()),
    ];
    let out = w.run(&["publish", &s(&pkg)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(password), "the password leaked:\n{stderr}");

    // From the Docker config: install works.
    w.env.clear();
    let auth = base64(format!("ci-bot:{password}").as_bytes());
    std::fs::write(
        w.path("docker/config.json"),
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"}}}}}}",
            proxy.addr()
        ),
    )
    .expect("docker config");
    let out = w.run(&["install", "acme:greet", "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(password));
    assert!(
        proxy.seen_auth().contains(&format!("Basic {auth}")),
        "the registry never saw the credentials"
    );
}

#[test]
fn a_plain_component_installs_only_with_a_trusted_attestation_for_its_digest() {
    let Some(registry) = registry_or_skip("oci plain component") else {
        return;
    };
    let w = World::new();
    // Mark the registry insecure (plain HTTP) through a mapping.
    w.map(&[("acme", &format!("{}/acme", registry.addr()))]);
    let component = greet();
    // Push it as wkg does: a wasm config and one application/wasm layer.
    let config = br#"{"created":"2024-01-01T00:00:00Z","architecture":"wasm","os":"wasip2"}"#;
    let config_digest = push_blob(registry.addr(), "tools/greet", config);
    let layer_digest = push_blob(registry.addr(), "tools/greet", &component);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/wasm", "digest": layer_digest, "size": component.len()}],
    });
    push_manifest(
        registry.addr(),
        "tools/greet",
        "0.1.0",
        &serde_json::to_vec(&manifest).expect("json"),
    );
    let reference = format!("oci://{}/tools/greet:0.1.0", registry.addr());

    // Without an attestation: refused.
    w.fails(
        &["install", "--from", &reference, "--yes"],
        "plain component",
    );

    // An attestation signed by the trusted key installs it.
    std::fs::write(w.path("greet.wasm"), &component).expect("write");
    std::fs::write(w.path("greet.toml"), manifest_text()).expect("write");
    let attestation = w.path("greet.attestation.json");
    w.ok(&[
        "attest",
        "--component",
        &s(&w.path("greet.wasm")),
        "--manifest",
        &s(&w.path("greet.toml")),
        "--key",
        &s(&w.path("acme.key")),
        "--out",
        &s(&attestation),
    ]);
    // One for another component is refused before anything is fetched.
    let mut other = component.clone();
    other.extend_from_slice(&[0, 4, 3, b'x', b'y', b'z']);
    std::fs::write(w.path("other.wasm"), &other).expect("write");
    let wrong = w.path("wrong.attestation.json");
    w.ok(&[
        "attest",
        "--component",
        &s(&w.path("other.wasm")),
        "--manifest",
        &s(&w.path("greet.toml")),
        "--key",
        &s(&w.path("acme.key")),
        "--out",
        &s(&wrong),
    ]);
    let before = w.snapshot();
    w.fails(
        &[
            "install",
            "--from",
            &reference,
            "--signature",
            &s(&wrong),
            "--yes",
        ],
        "the attestation signs the component",
    );
    assert_eq!(w.snapshot(), before);

    w.ok(&[
        "install",
        "--from",
        &reference,
        "--signature",
        &s(&attestation),
        "--yes",
    ]);
    let out = w.ok(&["tool", "call", "acme:hello", "greet", "{\"name\": \"wkg\"}"]);
    assert!(out.contains("Hello, wkg!"), "{out}");
    assert!(w.lockfile().contains("oci-manifest"), "{}", w.lockfile());
}

fn manifest_text() -> String {
    manifest("acme:hello", "0.1.0", "A plain component, attested")
}
