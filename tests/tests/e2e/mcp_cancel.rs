//! `notifications/cancelled` stops a running call: a guest spinning
//! forever is dropped, the audit log records `cancelled`, and the same
//! server answers the next call. Driven by a minimal JSON-RPC client over
//! stdio (no prerequisites).

use std::io::BufReader;

use serde_json::{Value, json};
use warden_tests::components::HOSTILE;

use super::cli::warden;
use super::mcp_stdio::{McpStdio, response, send};

/// A `warden mcp HOSTILE ARGS…` over stdio with its own fresh home under
/// the target's temp dir, initialized; its stdin and stdout lines.
struct Server {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    home: std::path::PathBuf,
}

impl Server {
    fn start(home_name: &str, args: &[&str]) -> Server {
        let home = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(home_name);
        let _ = std::fs::remove_dir_all(&home);
        let mut all = vec![HOSTILE];
        all.extend_from_slice(args);
        let McpStdio {
            child,
            stdin,
            lines,
        } = McpStdio::start(&home, &all, "cancel-test", json!({}));
        Server {
            child,
            stdin,
            lines,
            home,
        }
    }
}

#[test]
fn a_cancelled_spinning_call_is_dropped_recorded_and_the_server_goes_on() {
    // A spin that is not cancelled ends at this deadline as `timeout`,
    // which the assertions below would catch.
    let Server {
        mut child,
        mut stdin,
        mut lines,
        home,
    } = Server::start("mcp-cancel-home", &["--timeout", "60s"]);

    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "spin", "arguments": {}}}),
    );
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 2, "reason": "test"}}),
    );
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "still here"}}}),
    );
    let (echo, others) = response(&mut lines, 3);
    assert_eq!(echo["result"]["isError"], json!(false), "{echo}");
    assert!(echo.to_string().contains("still here"), "{echo}");
    // A cancelled request gets no result the client must wait for; if one
    // came, it says cancelled, never a timeout.
    for other in &others {
        assert!(other.to_string().contains("cancelled"), "{other}");
    }
    // The cancelled call's record is written when its future is dropped,
    // which may come just after the echo's answer on a loaded machine: wait
    // for it (while the server still runs) before closing the server.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline
        && !std::fs::read_to_string(home.join("audit.jsonl"))
            .unwrap_or_default()
            .contains("\"spin\"")
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(stdin);
    let _ = child.wait();

    let log = std::fs::read_to_string(home.join("audit.jsonl")).expect("audit log");
    let spin: Vec<&str> = log.lines().filter(|l| l.contains("\"spin\"")).collect();
    assert_eq!(spin.len(), 1, "{log}");
    assert!(spin[0].contains("\"cancelled\""), "{}", spin[0]);
    let verify = warden()
        .env("WARDEN_HOME", &home)
        .args(["audit", "verify"])
        .output()
        .expect("warden audit verify");
    assert!(verify.status.success(), "{verify:?}");
}

/// `warden mcp` batches its audit syncs (group commit) but writes each
/// record before the client gets the answer: a `kill -9` in the middle of a
/// burst loses no record of any answered call, and the log still verifies.
#[test]
fn a_server_killed_mid_burst_has_recorded_every_answered_call() {
    let Server {
        mut child,
        mut stdin,
        mut lines,
        home,
    } = Server::start("mcp-kill-home", &[]);
    // 200 calls in flight; kill the server once 100 have been answered.
    for id in 2..202u64 {
        send(
            &mut stdin,
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": format!("call {id}")}}}),
        );
    }
    let mut answered = 0;
    for line in lines.by_ref() {
        let message: Value = serde_json::from_str(&line.expect("read")).expect("JSON-RPC");
        if message["result"]["isError"] == json!(false) {
            answered += 1;
        }
        if answered == 100 {
            break;
        }
    }
    // SIGKILL: no destructor, no final sync.
    child.kill().expect("kill -9");
    let _ = child.wait();

    let log = std::fs::read_to_string(home.join("audit.jsonl")).expect("audit log");
    let recorded = log
        .lines()
        .filter(|l| l.contains("\"function\":\"echo\"") && l.contains("\"outcome\":\"ok\""))
        .count();
    assert!(
        recorded >= answered,
        "{answered} calls were answered but only {recorded} recorded"
    );
    let verify = warden()
        .env("WARDEN_HOME", &home)
        .args(["audit", "verify"])
        .output()
        .expect("audit verify runs");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
