//! `warden mcp` reads and writes pipes on its event loop
//! (`cli/src/mcp/stdio_pipes.rs`); any other standard output keeps tokio's
//! own stdio. These tests drive the two other shapes a user can give it —
//! stdout and stderr as one pipe (`2>&1`), and stdout redirected to a file —
//! and check the answers arrive whole, the diagnostics too, and the server
//! keeps serving. (Every other stdio test drives the pipe path.)

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warden_tests::components::HOSTILE;

use super::cli::warden;
use super::mcp_stdio::send;

/// The requests of a short session: initialize, then two echo calls.
fn session(stdin: &mut impl Write) {
    send(
        stdin,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "stdio-kinds", "version": "0"}}}),
    );
    send(
        stdin,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    for (id, text) in [(2, "first"), (3, "second")] {
        send(
            stdin,
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": text}}}),
        );
    }
}

/// Whether both calls are answered (in either order: the two calls run
/// at once, and either may finish first).
fn answered(messages: &[Value]) -> bool {
    [2, 3]
        .iter()
        .all(|id| messages.iter().any(|m| m["id"] == json!(id)))
}

/// Both calls answered what they were sent.
fn assert_both_echoed(messages: &[Value]) {
    assert_eq!(
        echoed(messages, 2).as_deref(),
        Some("first"),
        "{messages:?}"
    );
    assert_eq!(
        echoed(messages, 3).as_deref(),
        Some("second"),
        "{messages:?}"
    );
}

/// What the echo call with `id` answered, from JSON-RPC `messages`.
fn echoed(messages: &[Value], id: u64) -> Option<String> {
    let m = messages.iter().find(|m| m["id"] == json!(id))?;
    m["result"]["structuredContent"]["text"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn stdout_and_stderr_as_one_pipe_get_the_answers_and_the_diagnostics() {
    let home = tempfile::tempdir().expect("home");
    let (reader, writer) = std::io::pipe().expect("pipe");
    let mut child = warden()
        .env("WARDEN_HOME", home.path())
        .args(["mcp", HOSTILE])
        .stdin(Stdio::piped())
        .stdout(writer.try_clone().expect("clone"))
        .stderr(writer)
        .spawn()
        .expect("warden mcp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    session(&mut stdin);
    let mut messages = Vec::new();
    let mut diagnostics = Vec::new();
    for line in BufReader::new(reader).lines() {
        let line = line.expect("read");
        match serde_json::from_str::<Value>(&line) {
            Ok(message) => messages.push(message),
            Err(_) => diagnostics.push(line),
        }
        if answered(&messages) {
            break;
        }
    }
    drop(stdin);
    let _ = child.wait();
    assert_both_echoed(&messages);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.starts_with("warden mcp: serving")),
        "the startup line reached the shared pipe: {diagnostics:?}"
    );
}

#[test]
fn stdout_redirected_to_a_file_gets_every_answer() {
    let home = tempfile::tempdir().expect("home");
    let out_path = home.path().join("answers.jsonl");
    let out = std::fs::File::create(&out_path).expect("create");
    let mut child = warden()
        .env("WARDEN_HOME", home.path())
        .args(["mcp", HOSTILE])
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("warden mcp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    session(&mut stdin);
    // Wait for both answers in the file (the server keeps running while
    // stdin is open).
    let deadline = Instant::now() + Duration::from_secs(60);
    let messages = loop {
        let text = std::fs::read_to_string(&out_path).expect("read answers");
        let messages: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if answered(&messages) || Instant::now() > deadline {
            break messages;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let _ = child.wait();
    assert_both_echoed(&messages);
}
