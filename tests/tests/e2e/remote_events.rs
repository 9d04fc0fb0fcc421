//! The standing event stream of a streamable-HTTP MCP server (the spec's
//! optional `GET`, for messages the server sends outside any request): warden
//! opens it once the session exists, through the same grant check and
//! address, and reads what the server sends on it. The server is the npm
//! `@modelcontextprotocol/server-everything` in its `streamableHttp` mode,
//! whose `toggle-simulated-logging` tool makes it send log notifications to
//! the session (on the standing stream: they belong to no request). A
//! recording proxy of the test's own sits between warden and the server, so
//! the test sees the bytes each way. Prerequisite: `WARDEN_TEST_MCP_SERVERS`
//! (as for `remote_servers.rs`).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use warden::source::servers::ServerDecl;
use warden_test_skip::{Prerequisite, skip};

use super::remote_servers::{HttpEverything, mcp_servers};

/// The bytes of one proxied connection: what the client sent, what the
/// server answered.
#[derive(Debug, Default, Clone)]
struct Exchange {
    sent: Vec<u8>,
    received: Vec<u8>,
}

/// A TCP proxy to `upstream` on a free loopback port, recording every
/// connection.
struct Recorder {
    port: u16,
    connections: Arc<Mutex<Vec<Arc<Mutex<Exchange>>>>>,
}

impl Recorder {
    fn start(upstream: u16) -> Recorder {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections: Arc<Mutex<Vec<Arc<Mutex<Exchange>>>>> = Arc::default();
        let all = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)) else {
                    continue;
                };
                let exchange = Arc::new(Mutex::new(Exchange::default()));
                all.lock().expect("lock").push(exchange.clone());
                pump(&client, &server, exchange.clone(), true);
                pump(&server, &client, exchange, false);
            }
        });
        Recorder { port, connections }
    }

    fn exchanges(&self) -> Vec<Exchange> {
        self.connections
            .lock()
            .expect("lock")
            .iter()
            .map(|e| e.lock().expect("lock").clone())
            .collect()
    }

    /// The connections that opened the standing stream: a `GET` of the
    /// endpoint.
    fn standing(&self) -> Vec<Exchange> {
        self.exchanges()
            .into_iter()
            .filter(|e| e.sent.starts_with(b"GET /mcp "))
            .collect()
    }
}

/// Copies `from` to `to`, recording the bytes.
fn pump(from: &TcpStream, to: &TcpStream, exchange: Arc<Mutex<Exchange>>, sent: bool) {
    let (mut from, mut to) = (
        from.try_clone().expect("clone"),
        to.try_clone().expect("clone"),
    );
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            {
                let mut e = exchange.lock().expect("lock");
                let side = if sent { &mut e.sent } else { &mut e.received };
                side.extend_from_slice(&buf[..n]);
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_ascii_lowercase()
}

#[test]
fn the_standing_event_stream_carries_server_everythings_notifications() {
    let root = match mcp_servers() {
        Ok(r) => r,
        Err(why) => return skip(Prerequisite::Node, "standing event stream", &why),
    };
    let everything = HttpEverything::start(&root);
    let proxy = Recorder::start(
        everything
            .grant()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port"),
    );
    let origin = format!("http://127.0.0.1:{}", proxy.port);
    let decl = ServerDecl {
        url: Some(format!("{origin}/mcp")),
        ..ServerDecl::default()
    };
    let warden::resolve::Resolved::Source { source, .. } =
        warden::resolve::server("everything", decl)
    else {
        unreachable!("a server is a source")
    };
    let grant = warden_tests::grant_hosts(&[&origin]);
    let runtime = warden_tests::runtime();
    // One runtime for the whole test, as in a long-lived host: the
    // session (and its standing stream) lives between calls.
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let call = |tool: &str, input: &str| {
        tokio
            .block_on(runtime.call_source(&source, tool, input, &grant))
            .unwrap_or_else(|e| panic!("{tool}: {e}"))
    };

    let toggled = call("toggle-simulated-logging", "{}");
    assert!(
        toggled.output.to_string().contains("Started simulated"),
        "{:?}",
        toggled.output
    );
    // Readiness, not timing: wait (bounded) for a log notification to
    // cross the proxy on the standing stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    let standing = loop {
        let standing = proxy.standing();
        if standing
            .iter()
            .any(|e| text(&e.received).contains("notifications/message"))
        {
            break standing;
        }
        assert!(
            Instant::now() < deadline,
            "no notification on a standing stream: {:?}",
            proxy
                .exchanges()
                .iter()
                .map(|e| text(&e.sent))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let opened = standing
        .iter()
        .find(|e| text(&e.received).contains("notifications/message"))
        .expect("the stream that carried it");
    let request = text(&opened.sent);
    assert!(
        request.contains("accept: text/event-stream") && request.contains("mcp-session-id: "),
        "{request}"
    );
    let answer = text(&opened.received);
    assert!(
        answer.starts_with("http/1.1 200") && answer.contains("content-type: text/event-stream"),
        "{answer}"
    );

    // The session still serves calls, with the stream open beside them.
    let echo = call("echo", r#"{"message": "still here"}"#);
    assert!(
        echo.output.to_string().contains("Echo: still here"),
        "{:?}",
        echo.output
    );
    call("toggle-simulated-logging", "{}");
    // One standing stream per session, not one per call.
    assert_eq!(proxy.standing().len(), 1, "{:?}", proxy.standing().len());
}
