//! Secrets of a remote (streamable HTTP) MCP server: the declaration names
//! the secret and its header (`warden server add NAME --url … --secret
//! API_KEY=x-api-key`), the grant of `server:NAME` gives it for the URL,
//! and warden puts the value into that header of every request. The server
//! is the official Python SDK's streamable-HTTP server
//! (`tests/mcp/header_server.py`) behind a middleware recording every
//! request's headers, with a tool echoing them back (a server reflecting
//! what it was sent). Prerequisite: Python with the `mcp` package (as for
//! `mcp.rs`: `WARDEN_TEST_PYTHON`, or a venv the test makes); missing, the
//! test skips through `warden_test_skip` (a failure under
//! `WARDEN_TEST_REQUIRE_ALL=1`).

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use warden_test_skip::{Prerequisite, skip};

use super::mcp::{Python, pip_install, python, repo_root, requirement};
use super::remote_servers::{World, free_port};

/// The secret's value: what must reach the server's `x-api-key` header and
/// appear nowhere else.
const VALUE: &str = "sk-live-7Qx9R2mPaW4v";

/// `tests/mcp/header_server.py` on a free loopback port, killed on drop.
struct HeaderServer {
    child: Child,
    port: u16,
    record: PathBuf,
}

impl HeaderServer {
    fn start(py: &Python, record: PathBuf) -> HeaderServer {
        let port = free_port();
        let child = std::process::Command::new(&py.python)
            .arg(repo_root().join("tests/mcp/header_server.py"))
            .arg(port.to_string())
            .arg(&record)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python runs");
        let server = HeaderServer {
            child,
            port,
            record,
        };
        // Readiness, not timing: wait until it accepts connections.
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(Instant::now() < deadline, "header_server.py never listened");
            std::thread::sleep(Duration::from_millis(100));
        }
        // The readiness probe itself is no request: start the record clean.
        let _ = std::fs::remove_file(&server.record);
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request it received: method and headers.
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a recorded request is JSON"))
            .collect()
    }
}

impl Drop for HeaderServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_with_mcp() -> Result<Python, String> {
    python().and_then(|py| pip_install(&py, requirement("mcp"), "mcp").map(|()| py))
}

/// Every file under `dir`, read as text (lossy).
fn every_file(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

#[test]
fn a_granted_secret_reaches_the_server_in_its_header_and_nowhere_else() {
    let py = match python_with_mcp() {
        Ok(py) => py,
        Err(why) => return skip(Prerequisite::Python, "remote server secrets", &why),
    };
    let w = World::new();
    let server = HeaderServer::start(&py, w.path("requests.jsonl"));
    let (url, origin) = (server.url(), server.origin());
    let env = [("API_KEY", VALUE), ("OTHER_KEY", "sk-other-never-sent")];
    let added = w.ok(&[
        "server",
        "add",
        "keyed",
        "--url",
        &url,
        "--secret",
        "API_KEY=x-api-key",
        "--json",
    ]);
    assert_eq!(added["declaration"]["secrets"][0]["header"], "x-api-key");

    // The network granted, the secret not: refused with a denial naming
    // the secret (and how to grant it), before anything is sent.
    let out = w.run_env(
        &[
            "tool",
            "call",
            "server:keyed",
            "add",
            r#"{"a": 1, "b": 2}"#,
            "--allow-host",
            &origin,
        ],
        &env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("needs the secret `API_KEY`"),
        "names the secret: {stderr}"
    );
    assert!(
        stderr.contains(&format!("--secret API_KEY@{origin}")),
        "{stderr}"
    );
    // Granted for another port of the same host: still not for this server.
    let elsewhere = format!("API_KEY@http://127.0.0.1:{}", free_port());
    let out = w.run_env(
        &[
            "tool",
            "call",
            "server:keyed",
            "add",
            r#"{"a": 1, "b": 2}"#,
            "--allow-host",
            &origin,
            "--secret",
            &elsewhere,
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(
        server.requests().is_empty(),
        "nothing reaches the server without the secret: {:?}",
        server.requests()
    );

    // Granted for the server's origin: listed and called.
    let secret = format!("API_KEY@{origin}");
    let grant = ["--allow-host", origin.as_str(), "--secret", secret.as_str()];
    let run_json = |args: &[&str]| -> Value {
        let args: Vec<&str> = args.iter().chain(grant.iter()).copied().collect();
        let out = w.run_env(&args, &env);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    };
    let list = run_json(&["tool", "list", "server:keyed", "--json"]);
    let names = super::tool_sources::tool_names(&list);
    assert!(
        names.contains(&"add") && names.contains(&"echo_headers"),
        "{list}"
    );
    assert!(!list.to_string().contains(VALUE), "{list}");
    let sum = run_json(&[
        "tool",
        "call",
        "server:keyed",
        "add",
        r#"{"a": 40, "b": 2}"#,
        "--json",
    ]);
    assert!(sum["output"].to_string().contains("42"), "{sum}");

    // The server echoes the headers it got: the value is scrubbed from
    // the result, the header it came in is there.
    let echo = run_json(&[
        "tool",
        "call",
        "server:keyed",
        "echo_headers",
        "{}",
        "--json",
    ]);
    let echoed = echo["output"].to_string();
    assert!(!echoed.contains(VALUE), "the secret came back: {echoed}");
    assert!(
        echoed.contains("x-api-key") && echoed.contains("[REDACTED]"),
        "{echoed}"
    );

    // What the server saw: the secret in `x-api-key` on every request,
    // in no other header, and the other secret (not declared, not
    // granted) never.
    let requests = server.requests();
    assert!(requests.len() >= 3, "{requests:?}");
    for request in &requests {
        let headers = request["headers"].as_object().expect("headers");
        assert_eq!(
            headers.get("x-api-key"),
            Some(&Value::from(VALUE)),
            "{request}"
        );
        for (name, value) in headers {
            if name != "x-api-key" {
                assert!(
                    !value.as_str().unwrap_or_default().contains(VALUE),
                    "the secret in `{name}`: {request}"
                );
            }
        }
        assert!(headers.get("authorization").is_none(), "{request}");
        assert!(!request.to_string().contains("sk-other-never-sent"));
    }

    // The audit log (and everything else warden wrote) never holds it.
    let outcomes: Vec<String> = w
        .calls_of("server:keyed")
        .iter()
        .map(|r| {
            r["event"]["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(outcomes, ["denied", "denied", "ok", "ok"], "{outcomes:?}");
    for (path, text) in every_file(&w.path("home")) {
        assert!(!text.contains(VALUE), "the secret is in {}", path.display());
    }
    let verified = w.run(&["audit", "verify"]);
    assert!(verified.status.success());

    // `policy suggest` learns the remote server's grant from the audit
    // log: its URL's origin and the secret sent there, no value; the
    // refusals listed apart.
    let suggested = w.ok(&["policy", "suggest", "--audit", "--since", "1h", "--json"]);
    let keyed = &suggested["components"]["server:keyed"];
    let grants = keyed["grants"].to_string();
    assert!(
        grants.contains(&format!("network {origin}"))
            && grants.contains(&format!("secret API_KEY for {origin}")),
        "{suggested:#}"
    );
    assert!(
        keyed["denied"].to_string().contains(&secret),
        "{suggested:#}"
    );
    assert!(
        suggested["grants_toml"]
            .as_str()
            .is_some_and(|t| t.contains(&format!("secrets = [\"{secret}\"]"))),
        "{suggested:#}"
    );
    assert!(!suggested.to_string().contains(VALUE));
}

#[test]
fn a_declared_secret_the_grant_lacks_refuses_the_server_and_sends_none() {
    let py = match python_with_mcp() {
        Ok(py) => py,
        Err(why) => return skip(Prerequisite::Python, "remote server secrets", &why),
    };
    let w = World::new();
    let server = HeaderServer::start(&py, w.path("requests.jsonl"));
    let (url, origin) = (server.url(), server.origin());
    w.ok(&[
        "server",
        "add",
        "two-keys",
        "--url",
        &url,
        "--secret",
        "API_KEY",
        "--secret",
        "OTHER_KEY=x-other",
        "--json",
    ]);
    // One of the two granted: refused, naming the other; the granted one
    // is not sent either (nothing is connected).
    let secret = format!("API_KEY@{origin}");
    let out = w.run_env(
        &[
            "tool",
            "call",
            "server:two-keys",
            "add",
            r#"{"a": 1, "b": 2}"#,
            "--allow-host",
            &origin,
            "--secret",
            &secret,
            "--json",
        ],
        &[("API_KEY", VALUE), ("OTHER_KEY", "sk-other")],
    );
    assert_eq!(out.status.code(), Some(4));
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let text = result.to_string();
    assert!(text.contains("OTHER_KEY"), "{text}");
    assert!(!text.contains(VALUE), "{text}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    // `policy explain` says what the server needs and what is missing.
    let explain = w.run(&["policy", "explain", "server:two-keys"]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.contains("needs    secret OTHER_KEY in the `x-other` header: not granted"),
        "{text}"
    );

    // A stdio server is given env vars, not secrets: the declaration is
    // refused when added.
    let out = w.run(&[
        "server",
        "add",
        "local",
        "--secret",
        "API_KEY",
        "--",
        "node",
        "server.js",
    ]);
    assert!(!out.status.success());
    // A secret may not replace a header warden sets itself.
    let out = w.run(&[
        "server",
        "add",
        "sneaky",
        "--url",
        &url,
        "--secret",
        "API_KEY=mcp-session-id",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("sets the `mcp-session-id` header itself"),
        "{stderr}"
    );
}
