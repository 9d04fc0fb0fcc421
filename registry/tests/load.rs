//! `Registry::load`: an index entry is only a pointer. Every field that
//! decides what runs is checked against the signed package file, and the
//! signer against the trust store as it is at load.

mod support;

use semver::VersionReq;
use support::synthetic;

use warden_registry::error::{LoadError, StoreError};
use warden_registry::package;
use warden_registry::store::{InstallOptions, Installed, Registry};
use warden_registry::{Capabilities, Digest, SecretKey};

fn manifest(name: &str, version: &str) -> String {
    format!(
        "name = \"{name}\"\nversion = \"{version}\"\nkind = \"tool\"\ndescription = \"t\"\n\
         world = \"warden:plugin/tool@0.1.0\"\n"
    )
}

/// A tool component; `tag` (in a custom section) makes its bytes differ
/// from other tags'.
fn tool(tag: &str) -> Vec<u8> {
    let mut bytes = synthetic(
        &["package test:t;\nworld w { include warden:plugin/tool@0.1.0; }\n"],
        "w",
    );
    let name = b"test-tag";
    let payload = tag.as_bytes();
    let size = 1 + name.len() + payload.len();
    assert!(size < 128 && name.len() < 128, "one-byte LEB128 lengths");
    bytes.push(0); // custom section
    bytes.push(size as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(payload);
    bytes
}

/// A registry with `acme:a@1.0.0` (signed by acme) and `beta:b@2.0.0`
/// (signed by beta), both trusted and installed.
struct Fixture {
    _dir: tempfile::TempDir,
    registry: Registry,
    acme: SecretKey,
    beta: SecretKey,
    a: Installed,
    b: Installed,
    a_component: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Registry::open(&dir.path().join("home")).expect("open");
    let acme = SecretKey::from_seed(&[1; 32]);
    let beta = SecretKey::from_seed(&[2; 32]);
    let (acme_pub, beta_pub) = (acme.public(), beta.public());
    registry
        .update_trust(|t| {
            t.add("acme", acme_pub, "Acme")?;
            t.add("beta", beta_pub, "Beta")?;
            Ok(())
        })
        .expect("trust");
    let options = InstallOptions {
        grant: Some(Capabilities::default()),
        ..InstallOptions::default()
    };
    let a_component = tool("a");
    let install = |name: &str, version: &str, component: &[u8], key: &SecretKey| {
        let bytes = package::build(&manifest(name, version), component, key).expect("build");
        registry
            .install(&bytes, &options)
            .expect("install")
            .installed()
            .clone()
    };
    let a = install("acme:a", "1.0.0", &a_component, &acme);
    let b = install("beta:b", "2.0.0", &tool("b"), &beta);
    assert_ne!(a.component_digest, b.component_digest);
    Fixture {
        _dir: dir,
        registry,
        acme,
        beta,
        a,
        b,
        a_component,
    }
}

/// The load error of `entry`, which must be refused.
fn refused(f: &Fixture, entry: &Installed) -> LoadError {
    match f.registry.load(entry) {
        Ok(_) => panic!("{}@{} was loaded", entry.name, entry.version),
        Err(StoreError::Load(e)) => *e,
        Err(other) => panic!("not a load refusal: {other}"),
    }
}

#[test]
fn an_intact_entry_loads_the_signed_bytes() {
    let f = fixture();
    let verified = f.registry.load(&f.a).expect("load");
    assert_eq!(verified.component(), f.a_component.as_slice());
    assert_eq!(verified.component_digest(), Digest::of(&f.a_component));
    assert_eq!(verified.manifest().name.to_string(), "acme:a");
    assert_eq!(verified.publisher(), &f.acme.public());
    assert_eq!(verified.installed(), &f.a);
    f.registry.load(&f.b).expect("load b");
}

#[test]
fn an_entry_pointing_at_another_package_is_refused_with_what_mismatched() {
    let f = fixture();

    let entry = Installed {
        component_digest: f.b.component_digest,
        ..f.a.clone()
    };
    match refused(&f, &entry) {
        LoadError::ComponentMismatch {
            package,
            indexed,
            signed,
        } => {
            assert_eq!(package, "acme:a@1.0.0");
            assert_eq!(indexed, f.b.component_digest);
            assert_eq!(signed, f.a.component_digest);
        }
        other => panic!("{other}"),
    }

    for entry in [
        Installed {
            package_digest: f.b.package_digest,
            ..f.a.clone()
        },
        Installed {
            package_digest: f.b.package_digest,
            component_digest: f.b.component_digest,
            publisher: f.b.publisher,
            ..f.a.clone()
        },
    ] {
        match refused(&f, &entry) {
            LoadError::NameMismatch { package, signed } => {
                assert_eq!(package, "acme:a@1.0.0");
                assert_eq!(signed, "beta:b@2.0.0");
            }
            other => panic!("{other}"),
        }
    }

    let entry = Installed {
        version: "1.0.1".parse().expect("version"),
        ..f.a.clone()
    };
    match refused(&f, &entry) {
        LoadError::NameMismatch { package, signed } => {
            assert_eq!(package, "acme:a@1.0.1");
            assert_eq!(signed, "acme:a@1.0.0");
        }
        other => panic!("{other}"),
    }

    let entry = Installed {
        kind: "skill".into(),
        ..f.a.clone()
    };
    assert!(
        matches!(refused(&f, &entry), LoadError::KindMismatch { ref indexed, ref signed, .. }
            if indexed == "skill" && signed == "tool")
    );

    let entry = Installed {
        publisher: f.beta.public(),
        ..f.a.clone()
    };
    match refused(&f, &entry) {
        LoadError::PublisherMismatch {
            package,
            indexed,
            signed,
        } => {
            assert_eq!(package, "acme:a@1.0.0");
            assert_eq!(indexed, f.beta.public());
            assert_eq!(signed, f.acme.public());
        }
        other => panic!("{other}"),
    }
}

#[test]
fn an_edited_index_json_is_refused_at_load_and_reported_by_verify() {
    let f = fixture();
    let path = f.registry.root().join("index.json");
    let original = std::fs::read(&path).expect("read");
    let mut index: serde_json::Value = serde_json::from_slice(&original).expect("json");
    for entry in index["packages"].as_array_mut().expect("packages") {
        if entry["name"] == "acme:a" {
            entry["component_digest"] = f.b.component_digest.to_string().into();
        }
    }
    std::fs::write(&path, serde_json::to_vec(&index).expect("json")).expect("write");

    let entry = f
        .registry
        .find(&"acme:a".parse().expect("name"), &VersionReq::STAR)
        .expect("find")
        .expect("listed");
    let err = refused(&f, &entry);
    assert!(matches!(err, LoadError::ComponentMismatch { .. }), "{err}");
    assert_eq!(err.package(), "acme:a@1.0.0");
    assert!(err.to_string().contains("acme:a@1.0.0"), "{err}");
    // The other package is untouched.
    f.registry.load(&f.b).expect("b still loads");

    let report = f.registry.verify(false).expect("verify");
    assert!(!report.ok());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.subject == "acme:a@1.0.0" && p.problem.contains("signature covers")),
        "{report:?}"
    );

    std::fs::write(&path, &original).expect("restore");
    f.registry
        .load(&entry_of(&f, "acme:a"))
        .expect("loads again");
}

fn entry_of(f: &Fixture, name: &str) -> Installed {
    f.registry
        .find(&name.parse().expect("name"), &VersionReq::STAR)
        .expect("find")
        .expect("listed")
}

#[test]
fn a_package_file_changed_on_disk_is_refused() {
    let f = fixture();
    let path = f
        .registry
        .root()
        .join("packages/sha256")
        .join(f.a.package_digest.hex());
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    match refused(&f, &f.a) {
        LoadError::PackageFileChanged {
            package,
            expected,
            actual,
        } => {
            assert_eq!(package, "acme:a@1.0.0");
            assert_eq!(expected, f.a.package_digest);
            assert_eq!(actual, Digest::of(&bytes));
        }
        other => panic!("{other}"),
    }
    std::fs::remove_file(&path).expect("remove");
    assert!(matches!(refused(&f, &f.a), LoadError::Unreadable { .. }));
}

#[test]
fn trust_is_checked_as_it_is_at_load() {
    let f = fixture();
    f.registry.load(&f.a).expect("trusted at install");
    let acme = f.acme.public();
    f.registry
        .update_trust(|t| Ok(t.remove("acme", None)))
        .expect("untrust");
    match refused(&f, &f.a) {
        LoadError::Untrusted {
            package,
            key,
            namespace,
            trusted_for,
        } => {
            assert_eq!(package, "acme:a@1.0.0");
            assert_eq!(key, acme);
            assert_eq!(namespace, "acme");
            assert!(trusted_for.is_empty());
        }
        other => panic!("{other}"),
    }
    f.registry.load(&f.b).expect("beta is still trusted");

    // Trusted, but for another namespace: still refused, saying where.
    f.registry
        .update_trust(|t| Ok(t.add("elsewhere", acme, "")?))
        .expect("trust elsewhere");
    match refused(&f, &f.a) {
        LoadError::Untrusted { trusted_for, .. } => assert_eq!(trusted_for, ["elsewhere"]),
        other => panic!("{other}"),
    }

    f.registry
        .update_trust(|t| Ok(t.add("acme", acme, "")?))
        .expect("trust again");
    f.registry.load(&f.a).expect("trusted again");
}
