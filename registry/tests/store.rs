//! The store: every refusal leaves it byte-for-byte as it was; a damaged
//! index is detected and rebuilt; concurrent installs serialize.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use support::tool;

use warden_registry::package::{self, COMPONENT_FILE, MANIFEST_FILE, SIGNATURE_FILE};
use warden_registry::signature::{self, Statement};
use warden_registry::store::{InstallOptions, Registry};
use warden_registry::{Capabilities, Manifest, SecretKey};

fn manifest(name: &str, version: &str) -> String {
    format!(
        "name = \"{name}\"\nversion = \"{version}\"\nkind = \"tool\"\ndescription = \"t\"\n\
         world = \"warden:plugin/tool@0.1.0\"\n"
    )
}

struct Fixture {
    _dir: tempfile::TempDir,
    registry: Registry,
    key: SecretKey,
    component: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Registry::open(&dir.path().join("home")).expect("open");
    let key = SecretKey::from_seed(&[7; 32]);
    let public = key.public();
    registry
        .update_trust(|t| Ok(t.add("acme", public, "Acme")?))
        .expect("trust");
    Fixture {
        _dir: dir,
        registry,
        key,
        component: tool(),
    }
}

impl Fixture {
    fn package(&self, name: &str, version: &str) -> Vec<u8> {
        package::build(&manifest(name, version), &self.component, &self.key).expect("build")
    }

    fn install(&self, bytes: &[u8]) -> Result<(), String> {
        let options = InstallOptions {
            grant: Some(Capabilities::default()),
            ..InstallOptions::default()
        };
        self.registry
            .install(bytes, &options)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.file_name().is_some_and(|n| n != "lock") {
                    out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.registry.root(), &mut out);
        out
    }
}

#[test]
fn every_refusal_leaves_the_store_byte_for_byte_unchanged() {
    let f = fixture();
    f.install(&f.package("acme:grep", "1.1.0"))
        .expect("baseline install");
    let before = f.snapshot();

    let text = manifest("acme:grep", "1.2.0");
    let statement = Statement::new(
        &"acme:grep".parse().expect("name"),
        &"1.2.0".parse().expect("version"),
        text.as_bytes(),
        &f.component,
    );
    let good_sig = signature::sign(&f.key, &statement).to_json();
    let stranger = SecretKey::from_seed(&[9; 32]);
    let stranger_pkg =
        package::build(&manifest("acme:grep", "1.3.0"), &f.component, &stranger).expect("build");
    let mut flipped = f.component.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "unsigned",
            package::write_archive(&[
                (MANIFEST_FILE, text.as_bytes()),
                (COMPONENT_FILE, &f.component),
            ])
            .expect("tar"),
            "signature",
        ),
        (
            "component changed after signing",
            package::write_archive(&[
                (MANIFEST_FILE, text.as_bytes()),
                (COMPONENT_FILE, &flipped),
                (SIGNATURE_FILE, &good_sig),
            ])
            .expect("tar"),
            "component",
        ),
        (
            "entry escaping with ..",
            package::write_archive(&[
                (MANIFEST_FILE, text.as_bytes()),
                (COMPONENT_FILE, &f.component),
                (SIGNATURE_FILE, &good_sig),
                ("../evil", b"x"),
            ])
            .unwrap_or_else(|_| b"not even an archive".to_vec()),
            "",
        ),
        ("untrusted key", stranger_pkg, "warden trust add acme"),
        ("downgrade", f.package("acme:grep", "1.0.0"), "downgrade"),
        (
            "same version, other contents",
            package::build(
                &format!(
                    "{}# a comment changes the bytes\n",
                    manifest("acme:grep", "1.1.0")
                ),
                &f.component,
                &f.key,
            )
            .expect("build"),
            "different contents",
        ),
        (
            "confusable name",
            f.package("acme:gr-ep", "1.0.0"),
            "case or separators",
        ),
        ("garbage", b"definitely not a tar archive".to_vec(), ""),
    ];
    for (what, bytes, needle) in cases {
        let err = f.install(&bytes).expect_err(what);
        assert!(err.contains(needle), "{what}: `{needle}` not in `{err}`");
        assert_eq!(f.snapshot(), before, "{what}: the store changed");
    }
    // The installed package is still intact.
    assert!(f.registry.verify(false).expect("verify").ok());
}

#[test]
fn an_upgrade_asking_for_more_than_was_granted_needs_a_new_grant() {
    let f = fixture();
    f.install(&f.package("acme:net", "1.0.0")).expect("install");
    let v2 = package::build(
        &format!(
            "{}[capabilities]\nenv = [\"API_URL\"]\n",
            manifest("acme:net", "1.1.0")
        ),
        &f.component,
        &f.key,
    )
    .expect("build");
    let before = f.snapshot();
    let err = f
        .registry
        .install(&v2, &InstallOptions::default())
        .expect_err("needs a grant");
    assert!(err.to_string().contains("API_URL"), "{err}");
    assert_eq!(f.snapshot(), before);
    let manifest = Manifest::parse(&format!(
        "{}[capabilities]\nenv = [\"API_URL\"]\n",
        manifest("acme:net", "1.1.0")
    ))
    .expect("manifest");
    let options = InstallOptions {
        grant: Some(manifest.capabilities),
        ..InstallOptions::default()
    };
    f.registry.install(&v2, &options).expect("granted");
}

#[test]
fn approvals_kept_in_grants_json_by_an_older_registry_still_bind_upgrades() {
    let f = fixture();
    f.install(&f.package("acme:net", "1.0.0")).expect("install");
    let root = f.registry.root().to_path_buf();
    // What a registry before the rename left on disk.
    let approvals = std::fs::read_to_string(root.join("approvals.json")).expect("approvals");
    let legacy = approvals.replace("\"approvals\"", "\"grants\"");
    assert_ne!(legacy, approvals, "the file names its map `approvals`");
    std::fs::write(root.join("grants.json"), legacy).expect("write legacy");
    std::fs::remove_file(root.join("approvals.json")).expect("rm");

    let more = package::build(
        &format!(
            "{}[capabilities]\nenv = [\"API_URL\"]\n",
            manifest("acme:net", "1.1.0")
        ),
        &f.component,
        &f.key,
    )
    .expect("build");
    let err = f
        .registry
        .install(&more, &InstallOptions::default())
        .expect_err("the old approval is the ceiling");
    assert!(err.to_string().contains("API_URL"), "{err}");
    assert!(
        root.join("grants.json").exists(),
        "a refusal changes nothing"
    );

    // An upgrade within the old approval goes through and moves the file.
    f.registry
        .install(&f.package("acme:net", "1.2.0"), &InstallOptions::default())
        .expect("within the approval");
    assert!(!root.join("grants.json").exists());
    let moved = std::fs::read_to_string(root.join("approvals.json")).expect("approvals");
    assert!(moved.contains("acme:net"), "{moved}");
    assert!(f.registry.verify(false).expect("verify").ok());
}

#[test]
fn a_damaged_index_is_detected_and_rebuilt_from_the_packages() {
    let f = fixture();
    f.install(&f.package("acme:a", "1.0.0")).expect("install");
    f.install(&f.package("acme:b", "2.0.0")).expect("install");
    let index = f.registry.root().join("index.json");
    let good = std::fs::read(&index).expect("read");
    std::fs::write(&index, &good[..good.len() / 2]).expect("truncate");

    assert!(
        f.registry.installed().is_err(),
        "a torn index is an error, never silently empty"
    );
    let report = f.registry.verify(false).expect("verify");
    assert!(!report.ok());
    let report = f.registry.verify(true).expect("repair");
    assert!(report.ok(), "{report:?}");
    let names: Vec<String> = f
        .registry
        .installed()
        .expect("installed")
        .iter()
        .map(|i| format!("{}@{}", i.name, i.version))
        .collect();
    assert_eq!(names, ["acme:a@1.0.0", "acme:b@2.0.0"]);
}

#[test]
fn installs_from_many_threads_serialize_on_the_lock() {
    let f = fixture();
    let packages: Vec<Vec<u8>> = (0..8)
        .map(|i| f.package(&format!("acme:p{i}"), "1.0.0"))
        .collect();
    std::thread::scope(|s| {
        for bytes in &packages {
            let f = &f;
            s.spawn(move || f.install(bytes).expect("install"));
        }
    });
    assert_eq!(f.registry.installed().expect("installed").len(), 8);
    assert!(f.registry.verify(false).expect("verify").ok());
}
