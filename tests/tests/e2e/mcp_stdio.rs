//! A minimal MCP client over stdio, for the tests that drive `warden mcp`
//! line by line (cancellation, approvals that never come, rich results, a
//! directory swapped under a running server): start it, initialize, send,
//! and read until a response.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use serde_json::{Value, json};

use super::cli::warden;

/// The server's stdout, a JSON-RPC message per line.
pub(super) type Lines = std::io::Lines<BufReader<ChildStdout>>;

/// A running, initialized `warden mcp` over stdio.
pub(super) struct McpStdio {
    pub(super) child: Child,
    pub(super) stdin: ChildStdin,
    pub(super) lines: Lines,
}

impl McpStdio {
    /// Starts `warden mcp ARGS…` with `home` as its `WARDEN_HOME`, and
    /// initializes a 2025-11-25 session as the client `name` declaring
    /// `capabilities`. Fails the test if the server offers no tools.
    pub(super) fn start(home: &Path, args: &[&str], name: &str, capabilities: Value) -> McpStdio {
        let mut child = warden()
            .env("WARDEN_HOME", home)
            .arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("warden mcp starts");
        let mut stdin = child.stdin.take().expect("stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        send(
            &mut stdin,
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": capabilities,
                "clientInfo": {"name": name, "version": "0"}}}),
        );
        let (init, _) = response(&mut lines, 1);
        assert!(
            init["result"]["capabilities"]["tools"].is_object(),
            "{init}"
        );
        send(
            &mut stdin,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        );
        McpStdio {
            child,
            stdin,
            lines,
        }
    }
}

/// Writes one JSON-RPC message.
pub(super) fn send(stdin: &mut impl Write, message: Value) {
    writeln!(stdin, "{message}").expect("write to warden mcp");
    stdin.flush().expect("flush");
}

/// Reads messages until the response with `id`; returns it and the
/// responses to other ids seen on the way.
pub(super) fn response(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    id: u64,
) -> (Value, Vec<Value>) {
    let mut others = Vec::new();
    for line in lines {
        let line = line.expect("read from warden mcp");
        let message: Value = serde_json::from_str(&line).expect("a JSON-RPC line");
        if message["id"] == json!(id) {
            return (message, others);
        }
        if message.get("id").is_some() {
            others.push(message);
        }
    }
    panic!("warden mcp closed stdout before answering {id}");
}
