//! Bounded sizes on every path a guest can feed: tool lists are refused
//! over their bounds, error texts are cut to the output limit, the audit log
//! records every decision however big, and `warden mcp` starts in linear
//! time and serves the next call after a hostile one.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warden::bindings::ToolError;
use warden::bounds::{MAX_TOOLS, SpecLimit};
use warden::{CallError, Grant};
use warden_tests::components::HOSTILE_SIZES;
use warden_tests::{block_on, hostile_sizes, peak_rss_bytes, runtime};

use super::cli::warden;

/// A grant passing `env` to the component, and nothing else.
fn with_env(env: &[(&str, &str)]) -> Grant {
    Grant {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Grant::default()
    }
}

fn call(tool: &str, input: Value, grant: &Grant) -> Result<warden::CallReport, CallError> {
    block_on(runtime().call_tool(&hostile_sizes(), tool, &input.to_string(), grant))
}

/// The same host serves a normal call.
fn assert_next_call_works() {
    let out = call("echo", json!({"text": "still here"}), &Grant::default())
        .expect("the host serves the next call");
    assert_eq!(out.output["text"], "still here");
}

#[test]
fn a_tool_list_over_a_bound_is_refused_naming_the_component_and_the_limit() {
    let component = hostile_sizes();
    let list = |env: &[(&str, &str)]| block_on(runtime().list_tools(&component, &with_env(env)));

    let count = (MAX_TOOLS + 1).to_string();
    let err = list(&[("SIZES_TOOLS", &count)]).expect_err("too many tools");
    assert!(
        matches!(
            &err,
            CallError::ToolListTooLarge { limit: SpecLimit::ToolCount, size, tool: None, .. }
                if *size == MAX_TOOLS as u64 + 1
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("hostile_sizes")
            && message.contains("lists 1025 tools, over the limit of 1024"),
        "{message}"
    );
    assert_eq!(err.kind(), "invalid-output");

    let err = list(&[("SIZES_DESCRIPTION_BYTES", "20000")]).expect_err("long description");
    assert!(
        matches!(&err, CallError::ToolListTooLarge { limit: SpecLimit::Description, tool: Some(t), size: 20000, .. } if t == "echo"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("over the limit of 16 KiB"),
        "{err}"
    );

    // At the bound it is served, and so is the next call.
    let count = MAX_TOOLS.to_string();
    let ok = list(&[("SIZES_TOOLS", &count)]).expect("exactly the limit");
    assert_eq!(ok.tools.len(), MAX_TOOLS);
    assert_next_call_works();
}

#[test]
fn every_error_text_a_guest_returns_is_cut_to_the_output_limit() {
    let mut grant = Grant::default();
    grant.limits.memory_bytes = 256 << 20;
    grant.limits.max_output_bytes = 64 << 10;
    let big = 20 << 20;
    let err = call("deny", json!({"bytes": big}), &grant).expect_err("denied");
    let denial = err.denial().expect("a denial");
    assert!(denial.target.len() <= 4 << 10, "{}", denial.target.len());
    assert!(
        denial
            .target
            .contains("truncated by warden: 20971520 bytes in all, over the limit of 4 KiB"),
        "{}",
        &denial.target[denial.target.len() - 200..]
    );
    assert!(denial.reason.len() <= 64 << 10, "{}", denial.reason.len());
    assert!(
        denial
            .reason
            .contains("truncated by warden: 20971520 bytes in all, over the limit of 64 KiB"),
        "{}",
        &denial.reason[denial.reason.len() - 200..]
    );
    for kind in ["failed", "invalid-input", "not-found", "unknown-tool"] {
        let err = call("fail", json!({"bytes": big, "kind": kind}), &grant).expect_err(kind);
        let CallError::Tool { error, .. } = &err else {
            panic!("{kind}: not a tool error: {}", err.kind());
        };
        let text = match error {
            ToolError::InvalidInput(m)
            | ToolError::UnknownTool(m)
            | ToolError::NotFound(m)
            | ToolError::Failed(m) => m,
            ToolError::Denied(d) => &d.reason,
        };
        assert_eq!(err.kind(), kind);
        assert!(text.len() <= 64 << 10, "{kind}: {}", text.len());
        assert!(text.contains("truncated by warden"), "{kind}");
        assert!(err.to_string().len() < 70 << 10, "{kind}");
    }
    assert_next_call_works();
}

/// `warden tool list` of a component listing a million tools is refused
/// with a typed error, and the process stays far from the 1.7 GiB the
/// unbounded list once took.
#[test]
fn a_list_of_a_million_tools_is_refused_within_bounded_memory() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = warden()
        .args(["tool", "list", HOSTILE_SIZES, "--json"])
        .args(["--env", "SIZES_TOOLS=1000000", "--memory", "512MiB"])
        .env("WARDEN_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden runs");
    let peak = watch_peak_rss(&mut child);
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(9), "{stdout}");
    assert!(
        stdout.contains("lists 1000000 tools, over the limit of 1024"),
        "{stdout}"
    );
    eprintln!("warden tool list, 1e6 specs: peak RSS {} MiB", peak >> 20);
    assert!(peak < 900 << 20, "peak RSS {} MiB", peak >> 20);
}

/// Polls `child`'s peak RSS until it exits; the last reading.
fn watch_peak_rss(child: &mut Child) -> u64 {
    let mut peak = 0;
    while child.try_wait().ok().flatten().is_none() {
        if let Some(now) = peak_rss_bytes(child.id()) {
            peak = peak.max(now);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    peak
}

/// A minimal MCP client over a `warden mcp` child's stdio.
struct Mcp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Mcp {
    /// Starts `warden mcp ARGS` with `home` as WARDEN_HOME; returns it once
    /// it has loaded everything (its start-up line), and how long that took.
    fn start(args: &[&str], home: &Path) -> (Mcp, Duration) {
        let started = Instant::now();
        let mut child = warden()
            .arg("mcp")
            .args(args)
            .env("WARDEN_HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("warden mcp runs");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("warden mcp: serving") => break,
                Some(Ok(_)) => {}
                _ => panic!("warden mcp stopped before serving: {:?}", child.wait()),
            }
        }
        let elapsed = started.elapsed();
        std::thread::spawn(move || for _ in lines {});
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut mcp = Mcp {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        mcp.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bounds-test", "version": "0"}
            }),
        );
        mcp.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        (mcp, elapsed)
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").expect("write to warden mcp");
        self.stdin.flush().expect("flush");
    }

    /// Sends a request and returns its `result`.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).expect("read");
            assert!(n > 0, "warden mcp closed stdout");
            let message: Value = serde_json::from_str(&line).expect("JSON-RPC");
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{message}");
                return message["result"].clone();
            }
        }
    }

    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `copies` copies of the hostile-sizes component under `dir`, `c0.wasm`...
fn copies(dir: &Path, copies: usize) -> Vec<String> {
    let bytes = std::fs::read(HOSTILE_SIZES).expect("hostile-sizes built");
    (0..copies)
        .map(|i| {
            let path: PathBuf = dir.join(format!("c{i}.wasm"));
            std::fs::write(&path, &bytes).expect("write");
            path.to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn mcp_serves_5000_tools_and_a_hostile_denial_is_bounded_and_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let files = copies(dir.path(), 5);
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["--env", "SIZES_TOOLS=1000", "--memory", "256MiB"]);
    let (mut mcp, startup) = Mcp::start(&args, &home);
    eprintln!("warden mcp, 5 components x 1000 tools: ready in {startup:?}");

    let tools = mcp.request("tools/list", json!({}));
    let tools = tools["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 5000);
    // Every name is shared by the five copies, so all are prefixed.
    assert!(
        tools.iter().any(|t| t["name"] == "c3__t999"),
        "{:?}",
        tools[0]
    );

    let result = mcp.call("c0__deny", json!({"bytes": 20 << 20}));
    assert_eq!(result["isError"], true);
    // The reason (at most --max-output, 1 MiB) is in the text, the message
    // and the structured reason: about 3 MiB, never the 40 MB returned.
    let text = result.to_string();
    assert!(
        text.len() < (3 << 20) + (64 << 10),
        "{} bytes went back",
        text.len()
    );
    assert!(text.contains("truncated by warden: 20971520 bytes"));
    let detail = &result["structuredContent"]["error"];
    assert_eq!(detail["kind"], "denied");
    assert!(detail["target"].as_str().expect("target").len() <= 4 << 10);

    // The same server answers the next call normally.
    let result = mcp.call("c4__echo", json!({"text": "next"}));
    assert_eq!(result["structuredContent"]["text"], "next", "{result}");
    drop(mcp);

    // The denial is in the audit log, cut and marked, and the log verifies.
    let log = std::fs::read_to_string(home.join("audit.jsonl")).expect("audit log");
    let denial = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("record"))
        .find(|r| r["event"]["type"] == "denial")
        .expect("the denial was recorded");
    // The library cut the reason to --max-output (1 MiB): still too big
    // for a log line, so the log cut it again, with its length and digest.
    let reason = denial["event"]["reason"].as_str().expect("reason");
    assert!(reason.len() <= 16 << 10, "{}", reason.len());
    assert!(
        reason.contains("…[truncated: 1048576 bytes, sha256:"),
        "{}",
        &reason[reason.len() - 120..]
    );
    let target = denial["event"]["target"].as_str().expect("target");
    assert!(target.contains("truncated by warden: 20971520 bytes"));
    let verified = warden()
        .args(["audit", "verify"])
        .env("WARDEN_HOME", &home)
        .output()
        .expect("warden audit verify");
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn mcp_refuses_to_start_over_its_tool_limit_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = copies(dir.path(), 9);
    let mut args = vec!["mcp"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--env", "SIZES_TOOLS=1024"]);
    let out = warden()
        .args(&args)
        .env("WARDEN_HOME", dir.path().join("home"))
        .stdin(Stdio::null())
        .output()
        .expect("warden mcp runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("would serve 9216 tools, over the limit of 8192"),
        "{stderr}"
    );
}
