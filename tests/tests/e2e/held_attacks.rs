//! Attacks from the hostile corpus that the sandbox already stopped, kept
//! as tests so they stay stopped: IP-literal and `localhost.` forms of
//! loopback over HTTP under `*`, and path tricks against a read-only
//! grant. Each asserts what did not happen (no connection at the listener,
//! no byte changed or read on disk) and that the host serves the next call.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::json;
use warden::{CallError, DirMode, Grant};
use warden_tests::{block_on, builtin, grant_dirs, grant_hosts, hostile, runtime, with_timeout};

fn nobody_connected(l: &TcpListener) -> bool {
    matches!(l.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[test]
fn every_spelling_of_loopback_over_http_is_refused_under_star() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let fetch = builtin("http-fetch");
    let grant = with_timeout(grant_hosts(&["*"]), Duration::from_secs(2));
    for host in [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.0.0.2",
        "localhost",
        "localhost.",
        "LOCALHOST",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "0.0.0.0",
    ] {
        let url = format!("http://{host}:{port}/");
        let input = json!({ "url": url }).to_string();
        let result = block_on(runtime().call_tool(&fetch, "fetch", &input, &grant));
        assert!(
            result.is_err(),
            "{url} was fetched: {:?}",
            result.map(|r| r.output)
        );
        assert!(nobody_connected(&listener), "{url} reached the listener");
    }
    let ok =
        block_on(runtime().call_tool(&hostile(), "echo", r#"{"text": "next"}"#, &Grant::default()))
            .expect("the host serves the next call");
    assert_eq!(ok.output["text"], "next");
}

#[test]
fn path_tricks_never_leave_or_change_a_read_only_grant() {
    let h = hostile();
    let ws = tempfile::tempdir().expect("tempdir");
    let data = ws.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::write(data.join("inside.txt"), "inside").expect("write");
    std::fs::write(ws.path().join("secret.txt"), "TOP SECRET").expect("write");
    let grant = grant_dirs(&[(&data, "/data", DirMode::ReadOnly)]);
    let long = format!("/data/{}", "a/".repeat(2048));
    let reads = [
        "/data/../secret.txt",
        "/data/./../secret.txt",
        "/data//..//secret.txt",
        "/data/inside.txt/../../secret.txt",
        "/data/\u{2025}/secret.txt",
        "/data/%2e%2e/secret.txt",
        "/data/inside.txt\0/../../secret.txt",
        "/data/../data/../secret.txt",
        "/secret.txt",
        long.as_str(),
    ];
    for path in reads {
        match block_on(runtime().call_tool(
            &h,
            "read",
            &json!({ "path": path }).to_string(),
            &grant,
        )) {
            Ok(out) => assert!(
                !out.output.to_string().contains("TOP SECRET"),
                "{path:?} read the secret"
            ),
            Err(e) => assert!(!e.to_string().contains("TOP SECRET"), "{e}"),
        }
    }
    for path in [
        "/data/inside.txt",
        "/data/inside.txt/",
        "/data/new.txt",
        "/data/../data/inside.txt",
        "/data/sub/new.txt",
    ] {
        let input = json!({ "path": path, "content": "changed" }).to_string();
        let result = block_on(runtime().call_tool(&h, "write", &input, &grant));
        assert!(
            matches!(
                result,
                Err(CallError::Denied { .. }) | Err(CallError::Tool { .. })
            ),
            "{path:?} was written: {:?}",
            result.map(|r| r.output)
        );
    }
    assert_eq!(
        std::fs::read_to_string(data.join("inside.txt")).expect("read"),
        "inside"
    );
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["inside.txt"],
        "something was created in the read-only grant"
    );
}
