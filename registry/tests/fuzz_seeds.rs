//! The binary and signed seeds of the fuzz corpora (`fuzz/seeds/`, see
//! docs/fuzzing.md) are real: packages `package::read` accepts, components
//! `capabilities::check` accepts, an intact signed audit log and a signed
//! org policy. This test checks the committed files still are, so a format
//! change cannot leave the fuzzers starting from rejected inputs;
//! `WARDEN_WRITE_FUZZ_SEEDS=1 cargo test -p warden-registry --test fuzz_seeds`
//! rewrites them.

mod support;

use std::path::{Path, PathBuf};

use warden_audit::{self as audit, AuditEvent, AuditLog};
use warden_policy::{OrgPolicy, sign_policy};
use warden_registry::capabilities;
use warden_registry::package::{self, ArchiveLimits};
use warden_registry::{Manifest, SecretKey};

/// The audit target checks signatures against this key's public half.
const AUDIT_SEED: [u8; 32] = [7; 32];
/// The policy target trusts this admin key.
const ADMIN_SEED: [u8; 32] = [3; 32];

const TOOL_MANIFEST: &str = "name = \"acme:grep\"\nversion = \"1.2.0\"\nkind = \"tool\"\n\
description = \"search files\"\nworld = \"warden:plugin/tool@0.1.0\"\n\n[capabilities]\n\
dirs = [{ path = \"/src\", mode = \"ro\", purpose = \"the tree to search\" }]\n";

const HTTP_MANIFEST: &str = "name = \"acme:fetch\"\nversion = \"0.3.1\"\nkind = \"tool\"\n\
description = \"fetch a URL\"\nworld = \"warden:plugin/tool@0.1.0\"\n\n[capabilities]\n\
hosts = [\"*.example.com:443\"]\nenv = [\"HOME\"]\n\n[dependencies]\n\"acme:grep\" = \"^1.2\"\n";

const ORG_POLICY: &str = "# Acme baseline\nversion = 1\ndescription = \"Acme baseline\"\n\n\
[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\ndirs = [{ host = \"/home/**\", mode = \"rw\" }]\n\
network = [{ scheme = \"https\", host = \"*\", port = 443 }]\nenv = [\"*\"]\nsecrets = [\"*\"]\n\
limits = { memory = \"256MiB\", wall-clock = \"60s\" }\n\n[[rule]]\ncomponent = \"*\"\n\
effect = \"deny\"\ndirs = [{ host = \"/home/*/.ssh\" }]\n\
network = [{ host = \"*.internal\" }, { host = \"10.0.0.0/8\" }]\n";

fn seeds(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

fn writing() -> bool {
    std::env::var("WARDEN_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1")
}

/// Writes `bytes` as seed `name` of `target` when writing, else reads the
/// committed one.
fn seed(target: &str, name: &str, bytes: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    let path = seeds(target).join(name);
    if writing() {
        let bytes = bytes();
        std::fs::create_dir_all(seeds(target)).expect("mkdir seeds");
        std::fs::write(&path, &bytes).expect("write seed");
        return bytes;
    }
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (WARDEN_WRITE_FUZZ_SEEDS=1 cargo test -p warden-registry --test fuzz_seeds)",
            path.display()
        )
    })
}

#[test]
fn package_seeds_are_packages_that_read() {
    let key = SecretKey::from_seed(&[42; 32]);
    for (name, manifest, component) in [
        ("grep.wpkg", TOOL_MANIFEST, support::tool as fn() -> Vec<u8>),
        ("fetch.wpkg", HTTP_MANIFEST, support::http_tool),
    ] {
        let bytes = seed("package", name, || {
            package::build(manifest, &component(), &key).expect("build")
        });
        let read = package::read(&bytes, &ArchiveLimits::default())
            .unwrap_or_else(|e| panic!("seed {name} does not read: {e}"));
        assert_eq!(read.manifest_bytes, manifest.as_bytes(), "{name}");
    }
}

#[test]
fn component_seeds_pass_the_capability_check() {
    // The component target prefixes a byte that picks the kind: 0 = tool.
    for (name, component) in [
        ("tool.bin", support::tool as fn() -> Vec<u8>),
        ("http-tool.bin", support::http_tool),
    ] {
        let bytes = seed("component", name, || {
            let mut bytes = vec![0];
            bytes.extend(component());
            bytes
        });
        let manifest = Manifest::parse(
            "name = \"acme:fuzz\"\nversion = \"1.0.0\"\nkind = \"tool\"\ndescription = \"fuzz\"\n\
             world = \"warden:plugin/tool@0.1.0\"\n\n[capabilities]\n\
             hosts = [\"*.example.com:443\"]\n",
        )
        .expect("manifest");
        assert_eq!(bytes.first(), Some(&0), "{name}");
        capabilities::check(&manifest, &bytes[1..])
            .unwrap_or_else(|e| panic!("seed {name} is refused: {e}"));
    }
}

#[test]
fn the_audit_seed_is_an_intact_signed_log() {
    let key = SecretKey::from_seed(&AUDIT_SEED);
    let bytes = seed("audit", "signed.jsonl", || {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, Some(key.clone())).expect("open");
        for event in [
            AuditEvent::Install {
                package: "acme:grep".into(),
                version: "1.2.0".into(),
                digest: format!("sha256:{}", "ab".repeat(32)),
                publisher: format!("ed25519:{}", "cd".repeat(32)),
                granted: vec!["read /home/me/src".into()],
            },
            AuditEvent::Call {
                component: "acme:grep".into(),
                digest: format!("sha256:{}", "ab".repeat(32)),
                function: "search".into(),
                argument_digest: audit::argument_digest("{\"pattern\":\"TODO\"}"),
                outcome: "ok".into(),
                duration_ms: 1.25,
                fuel_used: Some(12_345),
                peak_memory_bytes: Some(1 << 20),
                used: None,
            },
            AuditEvent::Denial {
                component: "acme:fetch".into(),
                digest: None,
                capability: "network".into(),
                target: "evil.example.com:443".into(),
                reason: "not in the grant's hosts".into(),
            },
        ] {
            log.append(event, &[]).expect("append");
        }
        std::fs::read(&path).expect("read log")
    });
    let report = audit::verify_bytes(&bytes, Some(&key.public()));
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!((report.records, report.signed_records), (3, 3));
}

#[test]
fn the_policy_seed_holds_a_verifying_org_policy() {
    // The policy target's input: grants, NUL, org policy, NUL, manifest.
    let admin = SecretKey::from_seed(&ADMIN_SEED);
    let bytes = seed("policy", "signed-org.bin", || {
        let grants = "version = 1\n\n[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\n\
                      dirs = [{ host = \"/home/me/src\", guest = \"/src\", mode = \"ro\" }]\n";
        let signed = sign_policy(ORG_POLICY, &admin).expect("sign");
        [grants, "\0", &signed, "\0", TOOL_MANIFEST]
            .concat()
            .into_bytes()
    });
    let text = String::from_utf8(bytes).expect("utf-8");
    let org = text.split('\0').nth(1).expect("three parts");
    OrgPolicy::verify(org, &[admin.public()], "seed").expect("the seed's org policy verifies");
}
