//! The registry through the `warden` binary: sign, trust, install, call by
//! name; and every refusal leaves the registry untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::cli::warden;
use super::world::World;

fn fs_manifest(name: &str, version: &str) -> String {
    format!(
        r#"name = "{name}"
version = "{version}"
kind = "tool"
description = "Files"
world = "warden:plugin/tool@0.2.0"

[capabilities]
dirs = [{{ path = "/data", mode = "ro", purpose = "files to read" }}]
"#
    )
}

fn fetch_manifest(name: &str, version: &str, hosts: &str) -> String {
    format!(
        r#"name = "{name}"
version = "{version}"
kind = "tool"
description = "Fetch"
world = "warden:plugin/tool@0.2.0"

[capabilities]
hosts = [{hosts}]
"#
    )
}

fn fs_bytes() -> &'static [u8] {
    warden::builtin::FS
}

/// A world with a trusted `acme` key and an `acme:files@1.0.0` package.
fn trusted_world() -> (World, PathBuf) {
    let w = World::new();
    let public = w.key("acme.key");
    w.ok(&["trust", "add", "acme", &public, "--label", "Acme"]);
    let pkg = w.package(
        fs_bytes(),
        &fs_manifest("acme:files", "1.0.0"),
        "acme.key",
        "files-1.0.0.wpkg",
    );
    (w, pkg)
}

#[test]
fn sign_trust_install_inspect_and_call_by_name() {
    let (w, pkg) = trusted_world();
    let data = w.path("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("hello.txt"), "hello registry").expect("write");

    w.ok(&["install", "--from", pkg.to_str().expect("utf-8"), "--yes"]);
    let list: serde_json::Value = serde_json::from_str(&w.ok(&["list", "--json"])).expect("json");
    assert_eq!(list["packages"][0]["name"], "acme:files");
    assert_eq!(list["packages"][0]["version"], "1.0.0");

    let inspect: serde_json::Value =
        serde_json::from_str(&w.ok(&["inspect", "acme:files", "--json"])).expect("json");
    assert_eq!(inspect["trusted"], true);
    assert!(
        inspect["component_digest"]
            .as_str()
            .unwrap_or("")
            .starts_with("sha256:")
    );
    let exports = inspect["exports"].to_string();
    assert!(exports.contains("warden:plugin/tools@0.2.0"), "{exports}");
    let imports = inspect["imports"].to_string();
    assert!(imports.contains("wasi:filesystem"), "{imports}");

    // A compiled artifact was cached at install.
    let cached = walk_files(&w.home().join("cache"));
    assert!(
        cached
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "cwasm")),
        "{cached:?}"
    );

    let grant = format!("{}:/data", data.display());
    let out: serde_json::Value = serde_json::from_str(&w.ok(&[
        "tool",
        "call",
        "acme:files@^1",
        "read_file",
        r#"{"path":"/data/hello.txt"}"#,
        "--dir",
        &grant,
        "--json",
    ]))
    .expect("json");
    assert_eq!(out["output"]["content"], "hello registry");

    // More than the manifest asks for: a guest path it does not request is
    // refused outright, with the reason.
    let other = format!("{}:/elsewhere", data.display());
    let err = w.fails(
        &[
            "tool",
            "call",
            "acme:files",
            "list_dir",
            r#"{"path":"/elsewhere"}"#,
            "--dir",
            &other,
        ],
        "may not have directory",
    );
    assert!(err.contains("not requested by the manifest"), "{err}");
    assert!(err.contains("command-line flags"), "{err}");
    // Write access to a directory it asks for read-only is narrowed to
    // read-only: reading works, writing is denied.
    let rw = format!("{}:/data:rw", data.display());
    let out = w.run(&[
        "tool",
        "call",
        "acme:files",
        "list_dir",
        r#"{"path":"/data"}"#,
        "--dir",
        &rw,
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("narrowed to"));
    w.fails(
        &[
            "tool",
            "call",
            "acme:files",
            "write_file",
            r#"{"path":"/data/new.txt","content":"x"}"#,
            "--dir",
            &rw,
        ],
        "denied",
    );
    assert!(!data.join("new.txt").exists());

    w.ok(&["verify"]);
    w.ok(&["remove", "acme:files"]);
    w.fails(
        &["tool", "call", "acme:files", "list_dir", "{}"],
        "no installed version",
    );
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Installs `pkg` expecting a refusal containing `needle`, and checks the
/// registry did not change.
fn assert_refused(w: &World, pkg: &Path, needle: &str) {
    let before = w.snapshot();
    w.fails(
        &["install", "--from", pkg.to_str().expect("utf-8"), "--yes"],
        needle,
    );
    assert_eq!(
        w.snapshot(),
        before,
        "a refused install changed the registry"
    );
}

/// Rewrites one entry of a package (a tar) through `change`.
fn tamper(pkg: &Path, entry: &str, change: impl Fn(&mut Vec<u8>)) -> PathBuf {
    let bytes = std::fs::read(pkg).expect("read");
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut builder = tar::Builder::new(Vec::new());
    for file in archive.entries().expect("entries") {
        let mut file = file.expect("entry");
        let path = file.path().expect("path").into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).expect("read");
        if path == Path::new(entry) {
            change(&mut data);
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, &path, data.as_slice())
            .expect("append");
    }
    let out = pkg.with_extension(format!("{entry}.tampered.wpkg"));
    std::fs::write(&out, builder.into_inner().expect("tar")).expect("write");
    out
}

#[test]
fn tampered_packages_are_refused_and_nothing_changes() {
    let (w, pkg) = trusted_world();
    // Something installed already, so "untouched" is not trivially empty.
    let other = w.package(
        fs_bytes(),
        &fs_manifest("acme:other", "1.0.0"),
        "acme.key",
        "other.wpkg",
    );
    w.ok(&["install", "--from", other.to_str().expect("utf-8"), "--yes"]);

    let flip = |data: &mut Vec<u8>| {
        let mid = data.len() / 2;
        data[mid] ^= 0x01;
    };
    assert_refused(&w, &tamper(&pkg, "component.wasm", flip), "component");
    assert_refused(
        &w,
        &tamper(&pkg, "warden.toml", |d| {
            d.extend_from_slice(b"\n# changed\n")
        }),
        "manifest",
    );
    assert_refused(
        &w,
        &tamper(&pkg, "signature.json", |d| {
            let s = String::from_utf8_lossy(d).into_owned();
            // Flip one hex digit of the signature value.
            let i = s
                .rfind("\"signature\"")
                .map(|i| i + 20)
                .unwrap_or(s.len() / 2);
            let mut b = s.into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            *d = b;
        }),
        "signature",
    );
}

#[test]
fn unsigned_untrusted_and_wrong_namespace_packages_are_refused() {
    let (w, pkg) = trusted_world();
    // Unsigned: drop signature.json.
    let bytes = std::fs::read(&pkg).expect("read");
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut builder = tar::Builder::new(Vec::new());
    for file in archive.entries().expect("entries") {
        let mut file = file.expect("entry");
        let path = file.path().expect("path").into_owned();
        if path != Path::new("signature.json") {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut data).expect("read");
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, &path, data.as_slice())
                .expect("append");
        }
    }
    let unsigned = w.path("unsigned.wpkg");
    std::fs::write(&unsigned, builder.into_inner().expect("tar")).expect("write");
    assert_refused(&w, &unsigned, "signature");

    // Signed by a key nobody trusts.
    w.key("stranger.key");
    let stranger = w.package(
        fs_bytes(),
        &fs_manifest("acme:files", "1.0.1"),
        "stranger.key",
        "stranger.wpkg",
    );
    assert_refused(&w, &stranger, "warden trust add acme");

    // Signed by a key trusted for another namespace.
    let other_public = w.key("other.key");
    w.ok(&["trust", "add", "other", &other_public]);
    let wrong_ns = w.package(
        fs_bytes(),
        &fs_manifest("acme:files", "1.0.2"),
        "other.key",
        "wrong-ns.wpkg",
    );
    assert_refused(&w, &wrong_ns, "trusted only for `other`");
}

#[test]
fn downgrades_confusable_names_and_lying_manifests_are_refused() {
    let (w, _) = trusted_world();
    let v2 = w.package(
        fs_bytes(),
        &fs_manifest("acme:files", "2.0.0"),
        "acme.key",
        "files-2.wpkg",
    );
    let v1 = w.package(
        fs_bytes(),
        &fs_manifest("acme:files", "1.0.0"),
        "acme.key",
        "files-1.wpkg",
    );
    w.ok(&["install", "--from", v2.to_str().expect("utf-8"), "--yes"]);
    assert_refused(
        &w,
        &v1,
        "refusing to downgrade `acme:files` from 2.0.0 to 1.0.0",
    );
    assert_refused(&w, &v1, "hint: pass --allow-downgrade if you mean it");
    w.ok(&[
        "install",
        "--from",
        v1.to_str().expect("utf-8"),
        "--yes",
        "--allow-downgrade",
    ]);

    let confusable = w.package(
        fs_bytes(),
        &fs_manifest("acme:fi-les", "1.0.0"),
        "acme.key",
        "confusable.wpkg",
    );
    assert_refused(&w, &confusable, "only by case or separators");

    // An HTTP component whose manifest declares no hosts cannot even be packaged.
    let lying = fetch_manifest("acme:fetch", "1.0.0", "");
    std::fs::write(w.path("lying.toml"), lying).expect("write");
    std::fs::write(w.path("fetch.wasm"), warden::builtin::HTTP_FETCH).expect("write");
    w.fails(
        &[
            "package",
            "--manifest",
            w.path("lying.toml").to_str().expect("utf-8"),
            "--component",
            w.path("fetch.wasm").to_str().expect("utf-8"),
            "--key",
            w.path("acme.key").to_str().expect("utf-8"),
        ],
        "wasi:http",
    );
    // A malformed manifest names the problem.
    std::fs::write(w.path("bad.toml"), "name = \"acme:x\"\nversion = \"one\"\n").expect("write");
    w.fails(
        &[
            "package",
            "--manifest",
            w.path("bad.toml").to_str().expect("utf-8"),
            "--component",
            w.path("fetch.wasm").to_str().expect("utf-8"),
            "--key",
            w.path("acme.key").to_str().expect("utf-8"),
        ],
        "version",
    );
}

#[test]
fn an_upgrade_that_asks_for_more_needs_a_new_grant() {
    let (w, _) = trusted_world();
    let v1 = w.package(
        warden::builtin::HTTP_FETCH,
        &fetch_manifest("acme:fetch", "1.0.0", "\"a.example\""),
        "acme.key",
        "fetch-1.wpkg",
    );
    let v2 = w.package(
        warden::builtin::HTTP_FETCH,
        &fetch_manifest("acme:fetch", "1.1.0", "\"a.example\", \"b.example\""),
        "acme.key",
        "fetch-2.wpkg",
    );
    w.ok(&["install", "--from", v1.to_str().expect("utf-8"), "--yes"]);
    let before = w.snapshot();
    w.fails(
        &["upgrade", "--from", v2.to_str().expect("utf-8")],
        "b.example",
    );
    assert_eq!(w.snapshot(), before);
    w.ok(&["upgrade", "--from", v2.to_str().expect("utf-8"), "--yes"]);
    let list: serde_json::Value = serde_json::from_str(&w.ok(&["list", "--json"])).expect("json");
    assert_eq!(list["packages"][0]["version"], "1.1.0");
}

#[test]
fn a_directory_source_resolves_ranges_and_dependencies_and_locks_them() {
    let (w, _) = trusted_world();
    let source = w.path("team-registry");
    std::fs::create_dir_all(&source).expect("mkdir");
    for version in ["1.0.0", "1.2.0", "2.0.0"] {
        let pkg = w.package(
            fs_bytes(),
            &fs_manifest("acme:files", version),
            "acme.key",
            &format!("files-{version}.wpkg"),
        );
        std::fs::copy(&pkg, source.join(format!("files-{version}.wpkg"))).expect("copy");
    }
    let agent = format!(
        "{}\n[dependencies]\n\"acme:files\" = \"^1.0\"\n",
        fs_manifest("acme:agent", "0.1.0")
    );
    let pkg = w.package(fs_bytes(), &agent, "acme.key", "agent.wpkg");
    std::fs::copy(&pkg, source.join("agent.wpkg")).expect("copy");
    w.ok(&["index", source.to_str().expect("utf-8")]);

    w.ok(&[
        "install",
        "acme:agent",
        "--from",
        source.to_str().expect("utf-8"),
        "--yes",
    ]);
    let list: serde_json::Value = serde_json::from_str(&w.ok(&["list", "--json"])).expect("json");
    let versions: BTreeMap<String, String> = list["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_string(),
                p["version"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        versions.get("acme:files").map(String::as_str),
        Some("1.2.0"),
        "highest compatible: {versions:?}"
    );

    let lock =
        std::fs::read_to_string(w.workspace().join("warden.lock")).expect("lockfile written");
    assert!(
        lock.contains("acme:files") && lock.contains("1.2.0") && lock.contains("sha256:"),
        "{lock}"
    );

    // A fresh registry installs exactly what the lockfile pins, even when
    // a newer compatible version appears.
    let pkg = w.package(
        fs_bytes(),
        &fs_manifest("acme:files", "1.3.0"),
        "acme.key",
        "files-1.3.0.wpkg",
    );
    std::fs::copy(&pkg, source.join("files-1.3.0.wpkg")).expect("copy");
    w.ok(&["index", source.to_str().expect("utf-8")]);
    std::fs::remove_dir_all(w.home().join("blobs")).expect("rm");
    for f in ["index.json", "approvals.json"] {
        let _ = std::fs::remove_file(w.home().join(f));
    }
    w.ok(&[
        "install",
        "acme:agent",
        "--from",
        source.to_str().expect("utf-8"),
        "--yes",
        "--locked",
    ]);
    let list: serde_json::Value = serde_json::from_str(&w.ok(&["list", "--json"])).expect("json");
    assert!(list.to_string().contains("1.2.0"), "{list}");
    assert!(!list.to_string().contains("1.3.0"), "{list}");
}

#[test]
fn a_crash_at_any_step_leaves_the_registry_as_before_or_fully_updated() {
    let (w, v1) = trusted_world();
    w.ok(&["install", "--from", v1.to_str().expect("utf-8"), "--yes"]);
    let v2 = w.package(
        fs_bytes(),
        &fs_manifest("acme:files", "1.1.0"),
        "acme.key",
        "files-1.1.0.wpkg",
    );
    for step in [
        "after-component-blob",
        "after-package-blob",
        "after-approvals",
        "after-index",
    ] {
        let out = warden()
            .args(["install", "--from", v2.to_str().expect("utf-8"), "--yes"])
            .env("WARDEN_HOME", w.home())
            .env("WARDEN_FAULT_INJECT", step)
            .current_dir(w.workspace())
            .output()
            .expect("runs");
        assert_ne!(
            out.status.code(),
            Some(0),
            "{step}: the injected crash did not happen"
        );
        let verify: serde_json::Value =
            serde_json::from_str(&w.ok(&["verify", "--json"])).expect("json");
        assert_eq!(verify["ok"], true, "{step}: {verify}");
        let list: serde_json::Value =
            serde_json::from_str(&w.ok(&["list", "--json"])).expect("json");
        let version = list["packages"][0]["version"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let expected = if step == "after-index" {
            "1.1.0"
        } else {
            "1.0.0"
        };
        assert_eq!(version, expected, "{step}");
        // Back to 1.0.0 for the next step.
        if step == "after-index" {
            break;
        }
    }
    // Leftovers are reported and repaired.
    w.ok(&["verify", "--repair"]);
    let verify: serde_json::Value =
        serde_json::from_str(&w.ok(&["verify", "--json"])).expect("json");
    assert_eq!(
        verify["report"]["problems"],
        serde_json::json!([]),
        "{verify}"
    );
}

#[test]
fn a_blob_changed_on_disk_is_never_run_and_verify_finds_it() {
    let (w, pkg) = trusted_world();
    w.ok(&["install", "--from", pkg.to_str().expect("utf-8"), "--yes"]);
    // Replace the component blob with another valid tool (grep): a load
    // runs the bytes the signature covers, from the package file, so the
    // call is still the fs tool's.
    for blob in walk_files(&w.home().join("blobs")) {
        std::fs::write(&blob, warden::builtin::GREP).expect("write");
    }
    let data = w.path("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("hello.txt"), "hello").expect("write");
    let grant = format!("{}:/data", data.display());
    let out = w.ok(&[
        "tool",
        "call",
        "acme:files",
        "list_dir",
        r#"{"path":"/data"}"#,
        "--dir",
        &grant,
    ]);
    assert!(out.contains("hello.txt"), "{out}");
    w.fails(
        &[
            "tool",
            "call",
            "acme:files",
            "grep",
            r#"{"pattern":"hello"}"#,
            "--dir",
            &grant,
        ],
        "no tool named `grep`",
    );
    let out = w.run(&["verify"]);
    assert_ne!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CORRUPT"), "{stdout}");
    assert!(stdout.contains("changed on disk"), "{stdout}");

    // A changed package file (what a load does read) is refused.
    for file in walk_files(&w.home().join("packages")) {
        let mut bytes = std::fs::read(&file).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, bytes).expect("write");
    }
    let out = w.run(&[
        "tool",
        "call",
        "acme:files",
        "list_dir",
        r#"{"path":"/data"}"#,
        "--dir",
        &grant,
    ]);
    assert_eq!(out.status.code(), Some(12));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("acme:files@1.0.0"), "{stderr}");
    assert!(
        stderr.contains("package file has changed on disk"),
        "{stderr}"
    );
}

#[test]
fn two_processes_installing_at_once_both_succeed() {
    let (w, a) = trusted_world();
    let b = w.package(
        fs_bytes(),
        &fs_manifest("acme:second", "1.0.0"),
        "acme.key",
        "second.wpkg",
    );
    let spawn = |pkg: &Path| -> std::process::Child {
        warden()
            .args(["install", "--from", pkg.to_str().expect("utf-8"), "--yes"])
            .env("WARDEN_HOME", w.home())
            .current_dir(w.workspace())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (first, second) = (spawn(&a), spawn(&b));
    for child in [first, second] {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list: serde_json::Value = serde_json::from_str(&w.ok(&["list", "--json"])).expect("json");
    assert_eq!(list["packages"].as_array().map(Vec::len), Some(2), "{list}");
    w.ok(&["verify"]);
}

#[test]
fn installs_calls_and_denials_are_in_a_verifiable_audit_log() {
    let (w, pkg) = trusted_world();
    let data = w.path("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    w.ok(&["install", "--from", pkg.to_str().expect("utf-8"), "--yes"]);
    let grant = format!("{}:/data", data.display());
    w.ok(&[
        "tool",
        "call",
        "acme:files",
        "list_dir",
        r#"{"path":"/data/./"}"#,
        "--dir",
        &grant,
    ]);
    w.run(&[
        "tool",
        "call",
        "acme:files",
        "read_file",
        r#"{"path":"/etc/passwd"}"#,
        "--dir",
        &grant,
    ]);

    let tail = w.ok(&["audit", "tail", "--json"]);
    let events: Vec<serde_json::Value> = tail
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record per line"))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event"]["type"].as_str())
        .collect();
    // An answered call's record says what it used of its grant (one
    // record per call, no separate `used` record).
    assert_eq!(
        kinds,
        ["trust-add", "install", "call", "call", "denial"],
        "{tail}"
    );
    assert_eq!(events[2]["event"]["used"]["dirs"][0]["guest"], "/data");
    assert!(
        events[3]["event"].get("used").is_none(),
        "a call that used nothing records no `used`: {tail}"
    );
    let call = &events[2]["event"];
    assert_eq!(call["outcome"], "ok");
    assert!(
        call["argument_digest"]
            .as_str()
            .unwrap_or("")
            .starts_with("sha256:")
    );
    assert!(
        !tail.contains("/data/./"),
        "raw arguments are never logged: {tail}"
    );
    assert_eq!(events[4]["event"]["capability"], "filesystem");
    assert_eq!(events[4]["event"]["target"], "/etc/passwd");
    w.ok(&["audit", "verify"]);

    // Edit one record in the middle: verify names its line.
    let log = w.home().join("audit.jsonl");
    let text = std::fs::read_to_string(&log).expect("read");
    let edited: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 2 {
                l.replace("\"outcome\":\"ok\"", "\"outcome\":\"failed\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(edited.join("\n") + "\n", text, "the edit applied");
    std::fs::write(&log, edited.join("\n") + "\n").expect("write");
    let out = w.run(&["audit", "verify"]);
    assert_ne!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("line 3"), "{stdout}");
}

/// A tool manifest that asks for nothing at all.
fn bare_manifest(name: &str) -> String {
    format!(
        r#"name = "{name}"
version = "1.0.0"
kind = "tool"
description = "Imports sockets, declares no hosts"
world = "warden:plugin/tool@0.1.0"
"#
    )
}

/// Language runtimes (CPython under componentize-py) link `wasi:sockets`
/// whatever the code does, so a socket import without declared hosts is
/// packaged and installed, with a note; the manifest's empty `hosts` is
/// still the ceiling, so the installed tool gets no network, not even when
/// the caller's flags offer it.
#[test]
fn a_socket_importing_package_without_hosts_installs_with_a_note_and_gets_no_network() {
    let w = World::new();
    let public = w.key("acme.key");
    w.ok(&["trust", "add", "acme", &public]);
    let hostile = std::fs::read(warden_tests::components::HOSTILE).expect("hostile.wasm");
    std::fs::write(w.path("net.wasm"), &hostile).expect("write");
    std::fs::write(w.path("net.toml"), bare_manifest("acme:net")).expect("write");
    let pkg = w.path("net.wpkg");
    let packaged = w.run(&[
        "package",
        "--manifest",
        w.path("net.toml").to_str().expect("utf-8"),
        "--component",
        w.path("net.wasm").to_str().expect("utf-8"),
        "--key",
        w.path("acme.key").to_str().expect("utf-8"),
        "--out",
        pkg.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&packaged.stderr);
    assert_eq!(packaged.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("note: acme:net@1.0.0 imports `wasi:sockets/")
            && stderr.contains("every connection it attempts will be refused"),
        "{stderr}"
    );

    let installed = w.run(&["install", "--from", pkg.to_str().expect("utf-8"), "--yes"]);
    let stderr = String::from_utf8_lossy(&installed.stderr);
    assert_eq!(installed.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("declares no network hosts"), "{stderr}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr").to_string();
    let input = serde_json::json!({ "addr": addr }).to_string();

    // Without flags: the sandbox refuses the connect, as a typed denial.
    let out = w.run(&["tool", "call", "acme:net", "connect", &input, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let denied: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(denied["error"]["kind"], "denied", "{denied}");
    assert_eq!(denied["error"]["capability"], "network", "{denied}");
    // Offering the address on the command line does not lift the ceiling.
    let err = w.fails(
        &[
            "tool",
            "call",
            "acme:net",
            "connect",
            &input,
            "--allow-host",
            &addr,
        ],
        "not requested by the manifest",
    );
    assert!(err.contains(&addr), "{err}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing may have connected"
    );
}
