//! What a load trusts, attacked from outside: `index.json` is edited so an
//! installed package's entry points at another publisher's blob or package
//! file, or names another package; the publisher's key is taken out of the
//! trust store. Every such load is refused (exit 12) naming the package,
//! and the untouched package keeps running in the same home.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use super::cli::expect_ok;
use super::world;

/// The exit code of a package the registry refused.
const REFUSED: i32 = 12;

/// A home with two packages from two publishers: `acme:files@1.0.0` (the
/// fs tool, signed by `acme`) and `beta:search@2.0.0` (the grep tool,
/// signed by `beta`), both granted `data/` read-only at `/data`.
struct World {
    w: world::World,
    acme_key: String,
    beta_key: String,
}

impl std::ops::Deref for World {
    type Target = world::World;

    fn deref(&self) -> &world::World {
        &self.w
    }
}

impl World {
    fn new() -> World {
        let w = world::World::new();
        std::fs::create_dir_all(w.path("data")).expect("mkdir");
        std::fs::write(w.path("data/hello.txt"), "hello trust core\n").expect("write");
        let acme_key = w.key("acme.key");
        let beta_key = w.key("beta.key");
        w.ok(&["trust", "add", "acme", &acme_key]);
        w.ok(&["trust", "add", "beta", &beta_key]);
        let w = World {
            w,
            acme_key,
            beta_key,
        };
        let acme = w.tool_package(warden::builtin::FS, "acme:files", "1.0.0", "acme.key");
        let beta = w.tool_package(warden::builtin::GREP, "beta:search", "2.0.0", "beta.key");
        for pkg in [acme, beta] {
            w.ok(&["install", "--from", pkg.to_str().expect("utf-8"), "--yes"]);
        }
        w
    }

    /// Packages `component` as the tool `name@version` asking for `/data`
    /// read-only, signed with `key`.
    fn tool_package(&self, component: &[u8], name: &str, version: &str, key: &str) -> PathBuf {
        let manifest = format!(
            "name = \"{name}\"\nversion = \"{version}\"\nkind = \"tool\"\n\
             description = \"test\"\nworld = \"warden:plugin/tool@0.2.0\"\n\n\
             [capabilities]\ndirs = [{{ path = \"/data\", mode = \"ro\", purpose = \"data\" }}]\n"
        );
        let stem = name.replace(':', "-");
        self.package(component, &manifest, key, &format!("{stem}-{version}.wpkg"))
    }

    fn data_grant(&self) -> String {
        format!("{}:/data", self.path("data").display())
    }

    /// `warden tool call` of `component`'s `tool` on the data directory.
    fn call(&self, component: &str, tool: &str, input: &str) -> Output {
        self.run(&[
            "tool",
            "call",
            component,
            tool,
            input,
            "--dir",
            &self.data_grant(),
        ])
    }

    /// `acme:files` lists the data directory (the fs tool).
    fn acme_runs(&self) {
        let out = self.call("acme:files", "list_dir", r#"{"path":"/data"}"#);
        let stdout = expect_ok(&out, &["tool", "call", "acme:files", "list_dir"]);
        assert!(stdout.contains("hello.txt"), "{stdout}");
    }

    /// `beta:search` finds the line in the data directory (the grep tool).
    fn beta_runs(&self) {
        let out = self.call("beta:search", "grep", r#"{"pattern":"trust core"}"#);
        let stdout = expect_ok(&out, &["tool", "call", "beta:search", "grep"]);
        assert!(stdout.contains("hello trust core"), "{stdout}");
    }

    fn index_path(&self) -> PathBuf {
        self.home().join("index.json")
    }

    fn index(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.index_path()).expect("read")).expect("json")
    }

    fn write_index(&self, index: &Value) {
        std::fs::write(
            self.index_path(),
            serde_json::to_vec_pretty(index).expect("json"),
        )
        .expect("write");
    }

    /// The position of `name`'s entry in the index.
    fn entry(index: &Value, name: &str) -> usize {
        index["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .position(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {index}"))
    }
}

/// Asserts `out` is a refusal by the registry (exit 12) whose stderr holds
/// every one of `needles`; returns stderr.
fn assert_refused(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(REFUSED),
        "expected exit {REFUSED}; stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` not in:\n{stderr}");
    }
    stderr
}

#[test]
fn an_index_entry_pointed_at_another_publishers_blob_is_refused() {
    let w = World::new();
    w.acme_runs();
    w.beta_runs();
    let original = w.index();
    let (a, b) = (
        World::entry(&original, "acme:files"),
        World::entry(&original, "beta:search"),
    );
    let mut index = original.clone();
    index["packages"][a]["component_digest"] = original["packages"][b]["component_digest"].clone();
    w.write_index(&index);

    // Before load re-checked the signature, this ran beta's grep tool under
    // acme's name, manifest and grant.
    let out = w.call("acme:files", "grep", r#"{"pattern":"trust core"}"#);
    let stderr = assert_refused(
        &out,
        &[
            "acme:files@1.0.0",
            "signature covers component",
            original["packages"][a]["component_digest"]
                .as_str()
                .expect("digest"),
            "hint:",
        ],
    );
    assert!(!stderr.contains("hello trust core"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hello trust core"));
    // The other package is untouched and runs.
    w.beta_runs();

    // `verify` reports the same mismatch.
    let verify = w.run(&["verify"]);
    assert_ne!(verify.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("acme:files@1.0.0"),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    w.write_index(&original);
    w.acme_runs();
}

#[test]
fn an_index_entry_pointed_at_another_publishers_package_file_is_refused() {
    let w = World::new();
    let original = w.index();
    let (a, b) = (
        World::entry(&original, "acme:files"),
        World::entry(&original, "beta:search"),
    );
    // Only the package digest, then both digests (a consistent forgery).
    for fields in [
        &["package_digest"][..],
        &["package_digest", "component_digest"][..],
    ] {
        let mut index = original.clone();
        for field in fields {
            index["packages"][a][field] = original["packages"][b][field].clone();
        }
        w.write_index(&index);
        let out = w.call("acme:files", "grep", r#"{"pattern":"trust core"}"#);
        let stderr = assert_refused(
            &out,
            &["acme:files@1.0.0", "signed as `beta:search@2.0.0`", "hint:"],
        );
        assert!(!stderr.contains("hello trust core"), "{fields:?}: {stderr}");
        w.beta_runs();
    }
    w.write_index(&original);
    w.acme_runs();
}

#[test]
fn an_index_entry_with_another_name_or_version_is_refused() {
    let w = World::new();
    let original = w.index();
    let (a, b) = (
        World::entry(&original, "acme:files"),
        World::entry(&original, "beta:search"),
    );

    // The version changed: the file is signed as 1.0.0.
    let mut index = original.clone();
    index["packages"][a]["version"] = "9.9.9".into();
    w.write_index(&index);
    assert_refused(
        &w.call("acme:files", "list_dir", r#"{"path":"/data"}"#),
        &["acme:files@9.9.9", "signed as `acme:files@1.0.0`"],
    );
    w.beta_runs();

    // Names and versions swapped between the two entries: each name now
    // points at the other publisher's package.
    let mut index = original.clone();
    for field in ["name", "version"] {
        index["packages"][a][field] = original["packages"][b][field].clone();
        index["packages"][b][field] = original["packages"][a][field].clone();
    }
    w.write_index(&index);
    assert_refused(
        &w.call("acme:files", "grep", r#"{"pattern":"trust core"}"#),
        &["acme:files@1.0.0", "signed as `beta:search@2.0.0`"],
    );
    assert_refused(
        &w.call("beta:search", "list_dir", r#"{"path":"/data"}"#),
        &["beta:search@2.0.0", "signed as `acme:files@1.0.0`"],
    );

    // The recorded publisher changed to the other (trusted) key.
    let mut index = original.clone();
    index["packages"][a]["publisher"] = original["packages"][b]["publisher"].clone();
    w.write_index(&index);
    assert_refused(
        &w.call("acme:files", "list_dir", r#"{"path":"/data"}"#),
        &["acme:files@1.0.0", "signed by", &w.beta_key, &w.acme_key],
    );
    w.beta_runs();

    w.write_index(&original);
    w.acme_runs();
    w.beta_runs();
}

#[test]
fn removing_trust_stops_a_package_until_the_key_is_trusted_again() {
    let w = World::new();
    w.acme_runs();
    w.ok(&["trust", "remove", "acme"]);

    let stderr = assert_refused(
        &w.call("acme:files", "list_dir", r#"{"path":"/data"}"#),
        &[
            "acme:files@1.0.0",
            &w.acme_key,
            "not trusted for namespace `acme`",
            &format!(
                "hint: if you trust this publisher, run `warden trust add acme {}`",
                w.acme_key
            ),
        ],
    );
    assert!(!stderr.contains("hello.txt"), "{stderr}");
    // With --json: the same refusal, as data, with the hints.
    let out = w.run(&[
        "tool",
        "call",
        "acme:files",
        "list_dir",
        r#"{"path":"/data"}"#,
        "--dir",
        &w.data_grant(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(REFUSED));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], REFUSED);
    assert!(
        json["error"]["hints"].to_string().contains(&w.acme_key),
        "{json}"
    );

    // `inspect` still shows it, as no longer trusted; the other publisher's
    // package runs.
    assert!(
        w.ok(&["inspect", "acme:files"])
            .contains("NOT trusted any more")
    );
    w.beta_runs();

    // Trusting the key again (the command the hint gives) brings it back.
    w.ok(&["trust", "add", "acme", &w.acme_key]);
    w.acme_runs();

    // Removing just that key (not the whole namespace) stops it too.
    w.ok(&["trust", "remove", "acme", &w.acme_key]);
    assert_refused(
        &w.call("acme:files", "list_dir", r#"{"path":"/data"}"#),
        &["acme:files@1.0.0", &w.acme_key],
    );
    // A key trusted for another namespace does not sign for this one.
    w.ok(&["trust", "add", "other", &w.acme_key]);
    assert_refused(
        &w.call("acme:files", "list_dir", r#"{"path":"/data"}"#),
        &["acme:files@1.0.0", "trusted only for `other`"],
    );
}

#[test]
fn wardens_home_is_never_granted_to_a_component() {
    let w = World::new();
    let trust_before = std::fs::read(w.home().join("trust.toml")).expect("trust.toml");
    let home = w.home();
    for (dir, relation) in [
        (home.clone(), "is warden's home"),
        (home.join("packages"), "is inside warden's home"),
        (w.path(""), "contains warden's home"),
    ] {
        let grant = format!("{}:/d:rw", dir.display());
        let out = w.run(&[
            "tool",
            "call",
            "builtin:fs",
            "write_file",
            r#"{"path":"/d/trust.toml","content":"[namespaces]"}"#,
            "--dir",
            &grant,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{}: {stderr}", dir.display());
        assert!(stderr.contains(relation), "{stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
    }
    assert_eq!(
        std::fs::read(w.home().join("trust.toml")).expect("trust.toml"),
        trust_before
    );
    // An installed package is refused the home too, whatever it asks for.
    let grant = format!("{}:/data", home.display());
    let out = w.call("acme:files", "list_dir", r#"{"path":"/data"}"#);
    assert_eq!(out.status.code(), Some(0));
    let out = w.run(&[
        "tool",
        "call",
        "acme:files",
        "list_dir",
        r#"{"path":"/data"}"#,
        "--dir",
        &grant,
    ]);
    assert_eq!(out.status.code(), Some(4));
}
