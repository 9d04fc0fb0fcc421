//! Streamed completions through `warden run`: the provider asks for
//! `"stream": true`, hands each piece of text to the host as it arrives,
//! and `warden run` prints it on stderr while the model is still writing;
//! the completion that is recorded is the assembled message. A stream cut
//! mid-message is a clear error and leaves the session as it was.
//! (The same against llama.cpp's real server: `llama_server.rs`.)

use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use warden_tests::chat::{ChatServer, Gate, Reply};

use super::world::World;

#[test]
fn tokens_are_shown_while_the_model_writes_and_the_answer_is_their_concatenation() {
    let w = World::new();
    let gate = Gate::new();
    let events = Reply::streamed_events(&["Hel", "lo, ", "wör", "ld"]);
    // The role chunk and the first two pieces go at once; the rest only
    // once the test has seen those two on warden's stderr. If warden
    // waited for the whole reply before showing anything, the gate would
    // never open and the stream would be cut.
    let (before, after) = events.split_at(3);
    let script = Reply::GatedSse {
        before: before.to_vec(),
        gate: gate.clone(),
        after: after.to_vec(),
    };
    let server = ChatServer::scripted(vec![script]);
    let url = server.base_url();
    let mut child = w
        .command(&["run", "Say hello", "--endpoint", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden starts");
    let mut stderr = child.stderr.take().expect("stderr");
    let seen = Arc::new(Mutex::new(Vec::<u8>::new()));
    let reader = {
        let (seen, gate) = (Arc::clone(&seen), gate.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            let mut opened = false;
            loop {
                let n = match stderr.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut all = seen.lock().unwrap_or_else(|p| p.into_inner());
                all.extend_from_slice(&buf[..n]);
                if !opened && String::from_utf8_lossy(&all).contains("  model: Hello, ") {
                    opened = true;
                    gate.open();
                }
            }
            opened
        })
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    let status = child.wait().expect("warden ends");
    let opened = reader.join().expect("reader");
    let stderr =
        String::from_utf8_lossy(&seen.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(
        opened,
        "the first pieces never showed on stderr before the end: {stderr}"
    );
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.trim_end(), "Hello, wörld", "{stderr}");
    // Shown as one line, the pieces in order, before the turn's summary.
    let streamed = stderr
        .find("  model: Hello, wörld\n")
        .unwrap_or_else(|| panic!("no streamed line in {stderr}"));
    let answered = stderr.find("  model answered").expect("summary line");
    assert!(streamed < answered, "{stderr}");
    // The provider asked for a stream with its usage.
    let request = &server.requests()[0];
    assert_eq!(request["stream"], true, "{request}");
    assert_eq!(
        request["stream_options"]["include_usage"], true,
        "{request}"
    );
    // The session holds the assembled message (what was recorded), and
    // the usage the server streamed at the end.
    let id = session_id(&stderr);
    let session = w.session(&id);
    let last = session["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(last["role"], "assistant", "{session}");
    assert_eq!(last["content"], "Hello, wörld", "{session}");
    assert!(stderr.contains(", 14 tokens"), "{stderr}");
}

/// The session id from `warden run`'s last stderr line.
fn session_id(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("session "))
        .and_then(|l| l.split(':').next())
        .unwrap_or_else(|| panic!("no session line in {stderr}"))
        .to_string()
}

#[test]
fn with_json_the_output_is_unchanged_and_nothing_is_streamed_to_stderr() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::streamed(&["one ", "two"])]);
    let url = server.base_url();
    let out = w.run(&["run", "Count", "--endpoint", &url, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["answer"], "one two", "{json}");
    assert!(!stderr.contains("one"), "{stderr}");
}

#[test]
fn a_stream_cut_mid_message_is_a_clear_error_and_the_session_keeps_what_was_done() {
    let w = World::new();
    // Turn 1: a tool call, as one JSON document (a server that ignores
    // `stream`); turn 2: a stream cut in the middle of the message, every
    // time it is asked.
    let mut cut = Reply::streamed_events(&["It says", " hel"]);
    cut.truncate(3);
    cut.push("data: {\"choices\": [{\"delta\": {\"content\": \"lo fr".to_string());
    let server = ChatServer::scripted(vec![
        Reply::tool_calls(&[("c1", "read_file", json!({"path": "/workspace/hello.txt"}))]),
        Reply::Sse(cut),
    ]);
    let url = server.base_url();
    let out = w.run(&[
        "run",
        "What does hello.txt say?",
        "--endpoint",
        &url,
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["ok"], false, "{json}");
    let error = json["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("ended before the completion was finished")
            && error.contains(&format!("127.0.0.1:{}", server.port())),
        "{json}"
    );
    // Asked again (a cut stream may pass), never taken as an answer.
    assert!(server.requests().len() > 2, "{}", server.requests().len());
    let session = w.session(json["session"].as_str().expect("session"));
    assert_eq!(session["status"]["state"], "failed", "{session}");
    let messages = session["messages"].to_string();
    for kept in [
        "What does hello.txt say?",
        "read_file",
        "hello from the workspace",
    ] {
        assert!(messages.contains(kept), "`{kept}` lost: {messages}");
    }
    assert!(
        !messages.contains("It says"),
        "a cut message was kept: {messages}"
    );
}

#[test]
fn a_cut_stream_that_works_the_second_time_completes_the_run() {
    let w = World::new();
    let mut cut = Reply::streamed_events(&["partial"]);
    cut.truncate(2);
    let server = ChatServer::scripted(vec![Reply::Sse(cut), Reply::streamed(&["whole"])]);
    let url = server.base_url();
    let out = w.run(&["run", "Answer", "--endpoint", &url]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), "whole");
    // The cut attempt was shown as it streamed, then reported as failed.
    assert!(
        stderr.contains("  model: partial\n")
            && stderr.contains("model failed")
            && stderr.contains("ended before the completion was finished")
            && stderr.contains("  model: whole\n"),
        "{stderr}"
    );
    let session = w.session(&session_id(&stderr));
    let messages = session["messages"].to_string();
    assert!(!messages.contains("partial"), "{messages}");
}

#[test]
fn huge_deltas_are_cut_on_the_terminal_but_the_answer_is_whole() {
    let w = World::new();
    // 40 pieces of 64 KiB: the host forwards at most 16 KiB of each (the
    // unit tests of `stream_sink` prove the count and total bounds).
    let pieces: Vec<String> = (0..40u8)
        .map(|i| ((b'a' + i % 26) as char).to_string().repeat(64 * 1024))
        .collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let server = ChatServer::scripted(vec![Reply::streamed(&refs)]);
    let url = server.base_url();
    let out = w.run(&["run", "Talk", "--endpoint", &url]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let tail = &stderr[stderr.len().saturating_sub(2000)..];
    assert_eq!(out.status.code(), Some(0), "{tail}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        pieces.concat()
    );
    let streamed = stderr
        .lines()
        .find_map(|l| l.strip_prefix("  model: "))
        .expect("a streamed line");
    let expected: String = pieces.iter().map(|p| &p[..16 * 1024]).collect();
    assert_eq!(streamed.len(), expected.len());
    assert!(
        streamed == expected,
        "the streamed text is not the cut pieces in order"
    );
}
