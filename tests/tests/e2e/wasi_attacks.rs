//! A hostile component attacking the host through WASI resources: raw
//! sockets to loopback under `*`, binding ports, name lookups outside the
//! grant, host-side memory through `wasi:http` fields and bodies, descriptor
//! floods, FIFOs that would block a host thread, and planted symlinks. Each
//! test asserts the typed refusal, what did *not* happen (checked at the
//! listener or on disk), and that the same host serves the next call.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use warden::bindings::Capability;
use warden::{CallError, DirMode, Grant, ToolComponent};
use warden_tests::{
    assert_next_call_works, block_on, call, components, grant_dirs, grant_hosts, runtime,
    with_timeout,
};

fn hostile_wasi() -> ToolComponent {
    runtime()
        .load_tool_file(Path::new(components::HOSTILE_WASI))
        .expect("hostile-wasi loads")
}

/// A denial of `capability` whose reason contains `needle`.
fn assert_denied(
    result: Result<warden::CallReport, CallError>,
    capability: Capability,
    needle: &str,
) {
    let err = result.expect_err("the attack must be refused");
    let denial = err
        .denial()
        .unwrap_or_else(|| panic!("expected a denial, got: {err}"));
    assert_eq!(denial.capability, capability, "{err}");
    assert!(
        denial.reason.contains(needle),
        "reason lacks `{needle}`: {err}"
    );
}

/// A listener on 127.0.0.1 that records whether anything connected.
fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind listener");
    l.set_nonblocking(true).expect("nonblocking");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

fn nobody_connected(l: &TcpListener) -> bool {
    matches!(l.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[test]
fn raw_tcp_under_star_never_reaches_loopback() {
    let h = hostile_wasi();
    let (l, port) = listener();
    for addr in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let r = call(
            &h,
            "tcp_connect",
            json!({"addr": addr}),
            &grant_hosts(&["*"]),
        );
        assert_denied(r, Capability::Network, "loopback");
        assert!(nobody_connected(&l), "{addr} reached the listener");
    }
    // The IPv4-mapped IPv6 form is refused too (by wasmtime-wasi itself).
    let r = call(
        &h,
        "tcp_connect",
        json!({"addr": format!("[::ffff:127.0.0.1]:{port}")}),
        &grant_hosts(&["*"]),
    );
    assert!(r.is_err(), "the mapped form connected");
    assert!(nobody_connected(&l), "the mapped form reached the listener");
    // Granted by explicit IP, the same connection is allowed.
    let ok = call(
        &h,
        "tcp_connect",
        json!({"addr": format!("127.0.0.1:{port}")}),
        &grant_hosts(&[&format!("127.0.0.1:{port}")]),
    )
    .expect("an explicit IP grant reaches loopback");
    assert_eq!(ok.output["connected"], true);
    l.set_nonblocking(false).expect("blocking");
    l.accept().expect("the granted connection arrived");
    assert_next_call_works(&h);
}

#[test]
fn raw_udp_under_star_never_reaches_loopback() {
    let h = hostile_wasi();
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    receiver
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let port = receiver.local_addr().expect("addr").port();
    let r = call(
        &h,
        "udp_send",
        json!({"addr": format!("127.0.0.1:{port}")}),
        &grant_hosts(&["*"]),
    );
    assert_denied(r, Capability::Network, "loopback");
    let mut buf = [0u8; 16];
    assert!(
        receiver.recv_from(&mut buf).is_err(),
        "a datagram reached the receiver"
    );
    assert_next_call_works(&h);
}

#[test]
fn binding_a_chosen_port_is_refused_and_the_port_stays_free() {
    let h = hostile_wasi();
    // A port that is free now: take one, release it.
    let port = TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    for proto in ["tcp", "udp"] {
        let r = call(
            &h,
            "bind",
            json!({"proto": proto, "addr": format!("0.0.0.0:{port}")}),
            &grant_hosts(&["*"]),
        );
        assert_denied(r, Capability::Network, "bind");
    }
    TcpListener::bind(format!("0.0.0.0:{port}")).expect("the TCP port stayed free");
    UdpSocket::bind(format!("0.0.0.0:{port}")).expect("the UDP port stayed free");
    assert_next_call_works(&h);
}

#[test]
fn without_a_network_grant_no_socket_is_created() {
    let h = hostile_wasi();
    let r = call(&h, "sockets", json!({"count": 1}), &Grant::default());
    let err = r.expect_err("no socket without a grant");
    assert!(
        err.to_string().contains("creating a socket failed after 0"),
        "{err}"
    );
    assert_next_call_works(&h);
}

#[test]
fn only_names_the_grant_matches_are_looked_up() {
    let h = hostile_wasi();
    let grant = grant_hosts(&["localhost:9"]);
    let r = call(
        &h,
        "lookups",
        json!({"names": ["localhost", "c2VjcmV0.exfil.example", "metadata.google.internal"]}),
        &grant,
    );
    // The guest carried on, but the host saw and reports each refusal; the
    // refused names never reached a resolver.
    let report = r.expect("the guest recovers from the refusals");
    let failed = report.output["failed"].as_array().expect("failed list");
    assert_eq!(failed.len(), 2, "{}", report.output);
    assert!(
        failed.iter().all(|f| f["error"] == "PermissionDenied"),
        "{}",
        report.output
    );
    let targets: Vec<&str> = report.denials.iter().map(|d| d.target.as_str()).collect();
    assert_eq!(
        targets,
        ["c2vjcmv0.exfil.example", "metadata.google.internal"]
    );
    for d in &report.denials {
        assert_eq!(d.capability, Capability::Network);
        assert!(
            d.reason.contains("only names the network grant matches"),
            "{}",
            d.reason
        );
    }
    // The granted name alone resolves.
    let ok = call(&h, "lookups", json!({"names": ["localhost"]}), &grant).expect("granted lookup");
    assert_eq!(ok.output["resolved"][0]["name"], "localhost");
    assert_next_call_works(&h);
}

#[test]
fn name_lookups_per_call_are_bounded() {
    let h = hostile_wasi();
    let names: Vec<String> = (0..200).map(|_| "localhost".to_string()).collect();
    let err = call(
        &h,
        "lookups",
        json!({"names": names}),
        &grant_hosts(&["localhost"]),
    )
    .expect_err("200 lookups exceed the per-call limit");
    assert!(
        matches!(&err, CallError::HostLimit { what, limit: 64, .. } if what.contains("name lookups")),
        "{err:?}"
    );
    assert_next_call_works(&h);
}

/// The peak resident memory of this process so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .expect("VmHWM")
}

#[test]
fn http_fields_cannot_make_the_host_hold_more_than_the_memory_limit() {
    let h = hostile_wasi();
    let mut grant = Grant::default();
    grant.limits.memory_bytes = 64 << 20;
    let before = peak_rss();
    // 30,000 fields of 120 KiB took the host to 3.5 GiB before the budget.
    let err = call(&h, "fields", json!({"count": 30_000, "kib": 120}), &grant)
        .expect_err("the flood exceeds the budget");
    assert!(
        matches!(&err, CallError::HostLimit { what, limit, .. } if what.contains("HTTP header fields") && *limit == 64 << 20),
        "{err:?}"
    );
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 512 << 20,
        "host peak memory grew by {} MiB",
        grown >> 20
    );
    assert_next_call_works(&h);
}

#[test]
fn unsent_http_bodies_cannot_make_the_host_hold_more_than_the_memory_limit() {
    let h = hostile_wasi();
    let mut grant = Grant::default();
    grant.limits.memory_bytes = 64 << 20;
    let before = peak_rss();
    let err = call(&h, "bodies", json!({"count": 1000}), &grant)
        .expect_err("a thousand buffered bodies exceed the budget");
    assert!(matches!(&err, CallError::HostLimit { .. }), "{err:?}");
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 512 << 20,
        "host peak memory grew by {} MiB",
        grown >> 20
    );
    assert_next_call_works(&h);
}

#[test]
fn one_call_cannot_exhaust_the_hosts_descriptors() {
    let h = hostile_wasi();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("f.txt"), "x").expect("write");
    let grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);
    let err = call(
        &h,
        "open_many",
        json!({"path": "/data/f.txt", "count": 20_000}),
        &grant,
    )
    .expect_err("20k open files exceed the cap");
    assert!(
        matches!(&err, CallError::HostLimit { what, limit: 256, .. } if what.contains("open files")),
        "{err:?}"
    );
    let err = call(&h, "sockets", json!({"count": 5_000}), &grant_hosts(&["*"]))
        .expect_err("5k sockets exceed the cap");
    assert!(
        matches!(&err, CallError::HostLimit { limit: 256, .. }),
        "{err:?}"
    );
    // The host itself can still open files (e.g. its own configuration).
    std::fs::read(dir.path().join("f.txt")).expect("the host still opens files");
    assert_next_call_works(&h);
}

#[test]
fn a_fifo_inside_a_grant_is_refused_without_blocking_a_host_thread() {
    let h = warden_tests::hostile();
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let grant = with_timeout(
        grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]),
        Duration::from_secs(2),
    );
    // Many at once: before the guard each one parked a blocking thread in
    // open(2) for good.
    let results = block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (h, grant) = (h.clone(), grant.clone());
                tokio::spawn(async move {
                    runtime()
                        .call_tool(&h, "read", r#"{"path": "/data/pipe"}"#, &grant)
                        .await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    for r in results {
        assert_denied(r, Capability::Filesystem, "special file");
    }
    let out = block_on(runtime().call_tool(&h, "echo", r#"{"text": "next"}"#, &Grant::default()))
        .expect("the host serves the next call");
    assert_eq!(out.output["text"], "next");
}

#[test]
fn no_symlink_is_planted_in_a_writable_grant() {
    let h = hostile_wasi();
    let root = tempfile::tempdir().expect("tempdir");
    let granted = root.path().join("granted");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(&granted).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.txt"), "secret").expect("write");
    let grant = grant_dirs(&[(&granted, "/work", DirMode::ReadWrite)]);
    for (target, link) in [
        ("../outside/secret.txt", "esc"),
        ("../../../../etc/passwd", "pw"),
        ("inside.txt", "harmless"),
    ] {
        let r = call(
            &h,
            "symlink",
            json!({"target": target, "link": link}),
            &grant,
        );
        assert_denied(r, Capability::Filesystem, "symbolic link");
        assert!(
            std::fs::symlink_metadata(granted.join(link)).is_err(),
            "`{link}` was created on disk"
        );
    }
    let mut secret = String::new();
    std::fs::File::open(outside.join("secret.txt"))
        .and_then(|mut f| f.read_to_string(&mut secret))
        .expect("read");
    assert_eq!(secret, "secret");
    assert_next_call_works(&h);
}
