//! A tool written in JavaScript (`examples/js-words`, built with jco and
//! componentize-js against `wit/0.2.0`) is built from source, packaged,
//! signed, installed and called like any other tool, and its network grant
//! applies to it: a granted host answers, another is denied by the host.
//!
//! The toolchain is pinned in `examples/js-words/package.json` (+ lock).
//! `WARDEN_TEST_JS_TOOLCHAIN` names a directory where it is installed
//! (`.ci/run` makes one with `npm ci`; the pinned versions are checked);
//! otherwise the tests run `npm ci` under `CARGO_TARGET_TMPDIR`. Node from
//! `PATH` runs it and must be at least 20.19 (what the toolchain's native
//! parts require). Without Node, npm or the registry the tests skip through
//! `warden_test_skip` (a failure under `WARDEN_TEST_REQUIRE_ALL=1`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use warden_tests::TestServer;

use super::mcp::{repo_root, text};
use super::world::World;

const PACKAGE_JSON: &str = include_str!("../../../examples/js-words/package.json");
const PACKAGE_LOCK: &str = include_str!("../../../examples/js-words/package-lock.json");

/// The oldest Node the pinned toolchain runs on (its `oxc` parser's
/// `engines`: `^20.19.0 || >=22.12.0`).
const NODE_MIN: (u32, u32) = (20, 19);

#[track_caller]
fn skip(test: &str, reason: &str) {
    warden_test_skip::skip(warden_test_skip::Prerequisite::Node, test, reason);
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The directory holding `node_modules` with jco and componentize-js, once
/// per test binary, or why there is none.
fn toolchain() -> Result<PathBuf, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        check_node()?;
        install_toolchain()
    })
    .clone()
}

fn check_node() -> Result<(), String> {
    let out = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node is not on PATH ({e}); install Node.js >= 20.19 and npm"))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if found < NODE_MIN {
        return Err(format!(
            "node {version} is too old for jco and componentize-js; install Node.js >= {}.{}",
            NODE_MIN.0, NODE_MIN.1
        ));
    }
    Ok(())
}

fn install_toolchain() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("WARDEN_TEST_JS_TOOLCHAIN").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return check_pinned(&dir).map(|()| dir);
    }
    warden_tests::npm::ci_pinned(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("js-toolchain"),
        "examples/js-words",
        PACKAGE_JSON,
        PACKAGE_LOCK,
    )
}

/// Whether `dir` holds the versions `examples/js-words/package.json` pins.
fn check_pinned(dir: &Path) -> Result<(), String> {
    let again = || {
        format!(
            "run `npm ci` in {} with examples/js-words/package.json and package-lock.json",
            dir.display()
        )
    };
    let pinned: Value = serde_json::from_str(PACKAGE_JSON).expect("package.json is JSON");
    let pins = pinned["devDependencies"]
        .as_object()
        .expect("package.json pins devDependencies");
    for (name, version) in pins {
        let version = version.as_str().expect("a pinned version");
        let manifest = dir.join("node_modules").join(name).join("package.json");
        let installed = std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|v| v["version"].as_str().map(str::to_string));
        if installed.as_deref() != Some(version) {
            return Err(format!(
                "{name} {version} is not installed in {} (found: {}); {}",
                dir.display(),
                installed.as_deref().unwrap_or("none"),
                again()
            ));
        }
    }
    if !dir.join("node_modules/.bin/jco").is_file() {
        return Err(format!("no node_modules/.bin/jco; {}", again()));
    }
    Ok(())
}

/// Builds `examples/js-words/words.js` from a copy under `world`, with
/// `extra` options to `jco componentize`; the component's path. One build
/// at a time: each is a wizer run of the whole JS engine.
fn build(toolchain: &Path, world: &World, name: &str, extra: &[&str]) -> PathBuf {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = world.path(&format!("build-{name}"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(
        repo_root().join("examples/js-words/words.js"),
        dir.join("words.js"),
    )
    .expect("copy words.js");
    let wasm = world.path(&format!("{name}.wasm"));
    let out = Command::new(toolchain.join("node_modules/.bin/jco"))
        .args(["componentize", "words.js", "--world-name", "tool"])
        .args(["--wit", s(&repo_root().join("wit/0.2.0"))])
        .args(extra)
        .args(["-o", s(&wasm)])
        .current_dir(&dir)
        .output()
        .expect("jco runs");
    assert!(
        out.status.success(),
        "jco componentize failed:\n{}",
        text(&out)
    );
    let bytes = std::fs::read(&wasm).expect("jco wrote the component");
    // A component's preamble: magic, version 0x0d, layer 1.
    assert!(
        bytes.starts_with(b"\0asm\x0d\0\x01\0"),
        "not a component: {}",
        wasm.display()
    );
    wasm
}

fn manifest(hosts: &str) -> String {
    format!(
        r#"name = "acme:js-words"
version = "0.1.0"
kind = "tool"
description = "Word counts of texts and web pages, written in JavaScript"
world = "warden:plugin/tool@0.2.0"

[capabilities]
hosts = [{hosts}]
"#
    )
}

/// `warden package` of `wasm` with `manifest`, signed with `acme.key`.
fn package(w: &World, wasm: &Path, manifest: &str, out: &str) -> std::process::Output {
    let toml = w.path(&format!("{out}.toml"));
    std::fs::write(&toml, manifest).expect("write");
    w.run(&[
        "package",
        "--manifest",
        s(&toml),
        "--component",
        s(wasm),
        "--key",
        s(&w.path("acme.key")),
        "--out",
        s(&w.path(&format!("{out}.wpkg"))),
    ])
}

fn call(w: &World, tool: &str, input: &Value) -> (Option<i32>, Value, String) {
    let out = w.run(&[
        "tool",
        "call",
        "acme:js-words",
        tool,
        &input.to_string(),
        "--json",
    ]);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out)));
    (out.status.code(), v, text(&out))
}

#[test]
fn a_javascript_tool_built_with_jco_runs_under_its_grant() {
    let toolchain = match toolchain() {
        Ok(dir) => dir,
        Err(reason) => return skip("a JavaScript tool built with jco", &reason),
    };
    let w = World::new();
    let wasm = build(&toolchain, &w, "js_words", &[]);
    let granted = TestServer::start();
    let other = TestServer::start();
    let host = format!("127.0.0.1:{}", granted.port());

    // Signed, trusted and installed like any package; the manifest's host
    // is what the install grants.
    let public = w.key("acme.key");
    let packaged = package(&w, &wasm, &manifest(&format!("\"{host}\"")), "js-words");
    assert!(packaged.status.success(), "{}", text(&packaged));
    w.ok(&["trust", "add", "acme", &public]);
    let pkg = w.path("js-words.wpkg");
    let installed: Value =
        serde_json::from_str(&w.ok(&["install", "--from", s(&pkg), "--yes", "--json"]))
            .expect("json");
    assert_eq!(
        installed["packages"][0]["name"], "acme:js-words",
        "{installed}"
    );

    // Its tools, with the 0.2.0 metadata the JS code declares.
    let list: Value =
        serde_json::from_str(&w.ok(&["tool", "list", "acme:js-words", "--json"])).expect("json");
    let tools = list["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["word_count", "fetch_words"], "{list}");
    assert_eq!(tools[0]["meta"]["title"], "Count words", "{list}");
    assert_eq!(tools[0]["input_schema"]["required"][0], "text", "{list}");
    // The output schema is listed as the JSON object it is.
    let output_schema = &tools[1]["meta"]["output_schema"];
    assert!(output_schema.is_object(), "{list}");
    assert_eq!(output_schema["required"][1], "status", "{list}");

    // A pure call: the arguments are used, the output is structured.
    let (code, counted, out) = call(
        &w,
        "word_count",
        &serde_json::json!({ "text": "the cat and the hat.\nThe end", "top": 2 }),
    );
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(counted["output"]["words"], 7, "{out}");
    assert_eq!(counted["output"]["lines"], 2, "{out}");
    assert_eq!(counted["output"]["chars"], 28, "{out}");
    assert_eq!(
        counted["output"]["top"],
        serde_json::json!([{ "word": "the", "count": 3 }, { "word": "and", "count": 1 }]),
        "{out}"
    );

    // A typed error thrown by the JS code reaches the caller as one.
    let (code, bad, out) = call(&w, "word_count", &serde_json::json!({ "text": 5 }));
    assert_eq!(code, Some(3), "{out}");
    assert_eq!(bad["error"]["kind"], "invalid-input", "{out}");
    assert!(out.contains("`text` must be a string"), "{out}");

    // `fetch()` to the granted host works ...
    let url = format!("http://{host}/hello");
    let (code, fetched, out) = call(&w, "fetch_words", &serde_json::json!({ "url": url }));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(fetched["output"]["status"], 200, "{out}");
    assert_eq!(fetched["output"]["words"], 5, "{out}");
    assert_eq!(fetched["output"]["url"], url.as_str(), "{out}");
    // Its `log` import reaches the host's log, tagged with its level.
    assert_eq!(fetched["log"]["lines"][0]["level"], "info", "{out}");
    assert!(
        fetched["log"]["lines"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("status 200")),
        "{out}"
    );

    // ... and to any other is denied by the host, which reports its own
    // denial (capability, target) over the `failed` the JS code returned.
    let other_host = format!("127.0.0.1:{}", other.port());
    let (code, denied, out) = call(
        &w,
        "fetch_words",
        &serde_json::json!({ "url": format!("http://{other_host}/hello") }),
    );
    assert_eq!(code, Some(4), "{out}");
    assert_eq!(denied["error"]["kind"], "denied", "{out}");
    assert_eq!(denied["error"]["capability"], "network", "{out}");
    assert_eq!(denied["error"]["target"], other_host.as_str(), "{out}");
    assert!(!out.contains("hello from the test server"), "{out}");

    // Both fetches are in the audit log like any component's calls: the
    // host the granted one used, the refused one's call and denial.
    let events: Vec<Value> = std::fs::read_to_string(w.home().join("audit.jsonl"))
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("audit line is JSON")["event"].clone())
        .collect();
    let fetches: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "call" && e["function"] == "fetch_words")
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(fetches, ["ok", "denied"], "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "call" && e["used"]["hosts"][0]["port"] == granted.port()),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e["type"] == "denial"
            && e["capability"] == "network"
            && e["target"] == other_host.as_str()),
        "{events:?}"
    );
}

/// componentize-js links `wasi:http` for `fetch()` whether or not the code
/// calls it, and a package importing `wasi:http` must declare its hosts.
/// A JS tool that needs no network is built with `--disable http`: then it
/// packages without hosts.
#[test]
fn a_javascript_tool_without_network_is_built_with_http_disabled() {
    let toolchain = match toolchain() {
        Ok(dir) => dir,
        Err(reason) => return skip("a JavaScript tool without network", &reason),
    };
    let w = World::new();
    w.key("acme.key");
    let with_http = build(&toolchain, &w, "js_words", &[]);
    let refused = package(&w, &with_http, &manifest(""), "refused");
    assert_ne!(refused.status.code(), Some(0), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("wasi:http"),
        "{}",
        text(&refused)
    );

    let offline = build(&toolchain, &w, "js_words_offline", &["--disable", "http"]);
    let packaged = package(&w, &offline, &manifest(""), "offline");
    assert!(packaged.status.success(), "{}", text(&packaged));
    let out = w.run(&[
        "tool",
        "call",
        s(&offline),
        "word_count",
        r#"{"text": "one two three"}"#,
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["output"]["words"], 3, "{}", text(&out));
}
