//! `warden mcp` driven by a client no one here wrote (the official MCP
//! Python SDK, through `tests/mcp/client.py`), and a tool written in Python
//! (`components/py-example`, built with componentize-py) that installs as a
//! signed package, passes the capability checks and runs.
//!
//! Both need Python 3 with `venv` and `pip`, and PyPI (the packages are in
//! `tests/mcp/requirements.txt`). Where they are missing the tests skip
//! through `warden_test_skip` (`skipped: <why and how to fix it>`, counted
//! by `tests/skips`) and pass, unless `WARDEN_TEST_REQUIRE_ALL=1` or
//! `WARDEN_TEST_REQUIRE_PYTHON=1` (`.ci/run` installs them and sets the
//! first), where a skip is a failure. `WARDEN_TEST_PYTHON` names a Python
//! that already has the packages (no venv is made, nothing is installed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use super::cli::{expect_ok, warden};

/// What the tests install from PyPI, one requirement a line; `.ci/run`
/// installs the same file.
const REQUIREMENTS: &str = include_str!("../../mcp/requirements.txt");

/// The line of [`REQUIREMENTS`] for `package`: the MCP SDK the client
/// script is written against (`mcp`), or the componentize-py the example is
/// built with (`componentize-py`: its generated bindings' names are what
/// `app.py` imports).
pub(super) fn requirement(package: &str) -> &'static str {
    REQUIREMENTS
        .lines()
        .map(str::trim)
        .find(|line| {
            line.strip_prefix(package)
                .is_some_and(|rest| rest.starts_with(['<', '>', '=', '~', '!']))
        })
        .unwrap_or_else(|| panic!("tests/mcp/requirements.txt has no line for `{package}`"))
}

pub(super) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Skips `test` for want of Python (see `warden_test_skip`).
#[track_caller]
pub(super) fn skip(test: &str, reason: &str) {
    warden_test_skip::skip(warden_test_skip::Prerequisite::Python, test, reason);
}

pub(super) fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The Python (and its bin directory) to run with, or why there is none.
#[derive(Debug, Clone)]
pub(super) struct Python {
    pub(super) python: PathBuf,
    bin: PathBuf,
}

/// A venv under `CARGO_TARGET_TMPDIR` (made once per test binary, reused
/// across runs), or `WARDEN_TEST_PYTHON`.
pub(super) fn python() -> Result<Python, String> {
    static PYTHON: OnceLock<Result<Python, String>> = OnceLock::new();
    PYTHON.get_or_init(make_python).clone()
}

fn make_python() -> Result<Python, String> {
    if let Some(p) = std::env::var_os("WARDEN_TEST_PYTHON").filter(|p| !p.is_empty()) {
        let python = PathBuf::from(p);
        let bin = python
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        return Ok(Python { python, bin });
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv");
    let bin = venv.join("bin");
    let python = bin.join("python");
    if !python.is_file() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .map_err(|e| {
                format!(
                    "python3 is not available ({e}); install Python 3 with venv and pip \
                     (Debian: apt-get install python3 python3-venv python3-pip)"
                )
            })?;
        if !made.status.success() {
            let _ = std::fs::remove_dir_all(&venv);
            return Err(format!(
                "`python3 -m venv` failed; install the venv module (Debian: apt-get install \
                 python3-venv):\n{}",
                text(&made)
            ));
        }
    }
    Ok(Python { python, bin })
}

/// Installs `requirement` into the venv (once per test binary and
/// requirement), or says why it cannot.
pub(super) fn pip_install(py: &Python, requirement: &str, import: &str) -> Result<(), String> {
    static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.iter().any(|r| r == requirement) {
        return Ok(());
    }
    // Not from tests/, whose `mcp/` folder would pass for the package.
    let present = Command::new(&py.python)
        .args(["-c", &format!("import {import}")])
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        if std::env::var_os("WARDEN_TEST_PYTHON").is_some() {
            return Err(format!(
                "WARDEN_TEST_PYTHON={} cannot import `{import}`; install `{requirement}` into it \
                 or unset WARDEN_TEST_PYTHON to let the test make a venv",
                py.python.display()
            ));
        }
        let out = Command::new(&py.python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ])
            .output()
            .map_err(|e| format!("cannot run pip ({e}); install python3-pip"))?;
        if !out.status.success() {
            return Err(format!(
                "`pip install '{requirement}'` failed (no network to PyPI, or no pip: \
                 apt-get install python3-pip); run it by hand in {} to see why:\n{}",
                py.python.display(),
                text(&out)
            ));
        }
    }
    done.push(requirement.to_string());
    Ok(())
}

/// The `warden` binary the tests run (the one `cargo test` just built).
pub(super) fn warden_bin() -> PathBuf {
    PathBuf::from(warden().get_program())
}

/// A warden home and a data directory with one file.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new(hello: &str) -> Scratch {
        let s = Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(s.path("home")).expect("mkdir");
        std::fs::create_dir_all(s.path("data")).expect("mkdir");
        std::fs::write(s.path("data/hello.txt"), hello).expect("write");
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        warden()
            .args(args)
            .env("WARDEN_HOME", self.path("home"))
            .current_dir(self.dir.path())
            .output()
            .expect("warden runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        expect_ok(&self.run(args), args)
    }

    /// The audit log's records, parsed.
    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("home/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }
}

pub(super) fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn the_official_mcp_python_client_lists_calls_and_sees_denials_over_stdio_and_http() {
    let py = match python().and_then(|py| pip_install(&py, requirement("mcp"), "mcp").map(|()| py))
    {
        Ok(py) => py,
        Err(reason) => return skip("the official MCP Python client", &reason),
    };
    let scratch = Scratch::new("hello from the MCP test");
    let data = scratch.path("data").canonicalize().expect("canonical");
    let out = Command::new(&py.python)
        .arg(repo_root().join("tests/mcp/client.py"))
        .args(["--warden", s(&warden_bin())])
        .args(["--data", s(&data)])
        .args(["--home", s(&scratch.path("home"))])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the client script runs");
    let report = text(&out);
    assert!(out.status.success(), "the MCP client failed:\n{report}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "ok: stdio (auto): tools/list has the fs tools",
        "ok: stdio (auto): the error names the capability, the target and the reason",
        "ok: stdio (legacy): read_file inside the grant succeeds",
        "ok: stdio (legacy): the server still answers after the refusals",
        "ok: http: the bound URL is on loopback",
        "ok: http: the denial is also structured",
        "ok: http: a second client is served too",
        "mcp client: all checks passed",
    ] {
        assert!(stdout.contains(needle), "`{needle}` missing:\n{report}");
    }

    // Every call was recorded like `warden tool call` records it, denials
    // with what was refused.
    let records = scratch.audit();
    let of_type = |t: &str| -> Vec<&serde_json::Value> {
        records
            .iter()
            .map(|r| &r["event"])
            .filter(|e| e["type"] == t)
            .collect()
    };
    let calls = of_type("call");
    // Per client run (stdio twice, HTTP once): a read, a read outside the
    // grant, a write to the read-only grant, invalid input and a listing;
    // then one read by a second HTTP client.
    assert_eq!(calls.len(), 3 * 5 + 1, "{records:#?}");
    assert!(calls.iter().all(|c| c["component"] == "fs"), "{records:#?}");
    let denied_calls = calls.iter().filter(|c| c["outcome"] == "denied").count();
    assert_eq!(denied_calls, 3 * 2, "{records:#?}");
    let denials = of_type("denial");
    assert_eq!(denials.len(), 3 * 2, "{records:#?}");
    assert!(
        denials
            .iter()
            .any(|d| d["target"] == "/etc/passwd" && d["capability"] == "filesystem"),
        "{records:#?}"
    );
    let verify = scratch.run(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
}

#[test]
fn warden_mcp_refuses_what_it_cannot_serve() {
    let scratch = Scratch::new("x");
    // A non-loopback address without --allow-remote.
    let out = scratch.run(&["mcp", "builtin:fs", "--http", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--allow-remote"),
        "{}",
        text(&out)
    );
    // Nothing installed and nothing named.
    let out = scratch.run(&["mcp"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no tool packages are installed"),
        "{}",
        text(&out)
    );
    // A component that does not exist.
    let out = scratch.run(&["mcp", "builtin:nope"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no built-in component `nope`"),
        "{}",
        text(&out)
    );
}

const PY_MANIFEST: &str = r#"name = "acme:py-words"
version = "0.1.0"
kind = "tool"
description = "Word counts and text files, written in Python"
world = "warden:plugin/tool@0.1.0"

[capabilities]
dirs = [{ path = "/data", mode = "ro", purpose = "the text files to read" }]
"#;

#[test]
fn a_python_tool_built_with_componentize_py_runs_under_its_grant() {
    let py = match python().and_then(|py| {
        pip_install(&py, requirement("componentize-py"), "componentize_py").map(|()| py)
    }) {
        Ok(py) => py,
        Err(reason) => return skip("a Python tool built with componentize-py", &reason),
    };
    let scratch = Scratch::new("one two three\nfour");

    // Build components/py-example from a copy, so the source tree stays clean.
    let build = scratch.path("build");
    std::fs::create_dir_all(&build).expect("mkdir");
    std::fs::copy(
        repo_root().join("components/py-example/app.py"),
        build.join("app.py"),
    )
    .expect("copy app.py");
    let wasm = scratch.path("py_example.wasm");
    let out = Command::new(py.bin.join("componentize-py"))
        .args(["-d", s(&repo_root().join("wit")), "-w", "tool"])
        .args(["componentize", "app", "-p", s(&build), "-o", s(&wasm)])
        .current_dir(&build)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("componentize-py runs");
    assert!(
        out.status.success(),
        "componentize-py failed:\n{}",
        text(&out)
    );

    // Package, trust, install: the same flow as any signed package. CPython's
    // wasi-libc imports the whole `wasi:sockets` set; with no hosts in the
    // manifest that is accepted and said, and the tool gets no network.
    let manifest = scratch.path("warden.toml");
    std::fs::write(&manifest, PY_MANIFEST).expect("write");
    let key = scratch.path("acme.key");
    let public = scratch.ok(&["key", "generate", "--out", s(&key)]);
    let pkg = scratch.path("py-words.wpkg");
    let packaged = scratch.run(&[
        "package",
        "--manifest",
        s(&manifest),
        "--component",
        s(&wasm),
        "--key",
        s(&key),
        "--out",
        s(&pkg),
    ]);
    assert!(packaged.status.success(), "{}", text(&packaged));
    assert!(
        String::from_utf8_lossy(&packaged.stderr)
            .contains("acme:py-words@0.1.0 imports `wasi:sockets/"),
        "{}",
        text(&packaged)
    );
    scratch.ok(&["trust", "add", "acme", public.trim()]);
    let installed: serde_json::Value =
        serde_json::from_str(&scratch.ok(&["install", "--from", s(&pkg), "--yes", "--json"]))
            .expect("json");
    assert_eq!(
        installed["packages"][0]["name"], "acme:py-words",
        "{installed}"
    );
    assert!(
        installed["packages"][0]["note"]
            .as_str()
            .is_some_and(|n| n.contains("declares no network hosts")),
        "{installed}"
    );
    let component = "acme:py-words".to_string();

    let list: serde_json::Value =
        serde_json::from_str(&scratch.ok(&["tool", "list", &component, "--json"])).expect("json");
    let names = super::tool_sources::tool_names(&list);
    assert_eq!(names, ["word_count", "read_text"], "{list}");
    assert_eq!(list["tools"][0]["input_schema"]["type"], "object");

    let counted: serde_json::Value = serde_json::from_str(&scratch.ok(&[
        "tool",
        "call",
        &component,
        "word_count",
        r#"{"text": "one two three\nfour"}"#,
        "--json",
    ]))
    .expect("json");
    assert_eq!(counted["output"]["words"], 4, "{counted}");
    assert_eq!(counted["output"]["lines"], 2, "{counted}");

    // Reading inside the grant works ...
    let data = format!("{}:/data", s(&scratch.path("data")));
    let read: serde_json::Value = serde_json::from_str(&scratch.ok(&[
        "tool",
        "call",
        &component,
        "read_text",
        r#"{"path": "/data/hello.txt"}"#,
        "--dir",
        &data,
        "--json",
    ]))
    .expect("json");
    assert_eq!(read["output"]["content"], "one two three\nfour", "{read}");

    // ... and climbing out of it is refused by the sandbox, which plain
    // `open()` reports and the tool returns as a typed denial (exit 4).
    let out = scratch.run(&[
        "tool",
        "call",
        &component,
        "read_text",
        r#"{"path": "/data/../../../../etc/passwd"}"#,
        "--dir",
        &data,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(v["error"]["kind"], "denied", "{v}");
    assert_eq!(v["error"]["capability"], "filesystem", "{v}");
    assert_eq!(v["error"]["target"], "/data/../../../../etc/passwd", "{v}");
    assert!(!v.to_string().contains("root:"), "{v}");
}
