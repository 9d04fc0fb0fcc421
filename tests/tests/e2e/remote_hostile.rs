//! A hostile streamable-HTTP MCP server: it completes the handshake and
//! lists its tools like any server, then answers each tool with an attack
//! on the client (a response that never ends, an endless event stream, a
//! redirect to another host, a huge header). Each is refused within the
//! grant's limits, and the same server (one [`warden::McpServer`], one
//! tokio runtime, like a long-lived host) serves the next call. The server
//! is hand-written: no real server misbehaves on demand.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use warden::error::CallError;
use warden::source::servers::ServerDecl;
use warden::{Grant, ToolSource};

use super::remote_servers::Untouched;

/// What the hostile server does for each tool.
const TOOLS: &[&str] = &["ok", "hang", "endless", "redirect", "huge-header"];

/// The hand-written server: one thread per connection.
struct Hostile {
    port: u16,
    /// Each request seen: `METHOD jsonrpc-method`.
    seen: Arc<Mutex<Vec<String>>>,
}

impl Hostile {
    fn start(redirect_to: u16) -> Hostile {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || serve(stream, redirect_to, &log));
            }
        });
        Hostile { port, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Serves requests on one connection until it closes.
fn serve(stream: TcpStream, redirect_to: u16, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut out = stream;
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            head.push(line);
        }
        let method = head
            .first()
            .and_then(|l| l.split(' ').next())
            .unwrap_or_default()
            .to_string();
        let length = head
            .iter()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let rpc = message["method"].as_str().unwrap_or_default().to_string();
        seen.lock()
            .expect("lock")
            .push(format!("{method} {rpc}").trim().to_string());
        let answered = match (method.as_str(), rpc.as_str()) {
            ("GET", _) => respond(&mut out, "405 Method Not Allowed", "", None),
            ("DELETE", _) => respond(&mut out, "200 OK", "", None),
            (_, "initialize") => {
                let result = json!({
                    "protocolVersion": message["params"]["protocolVersion"],
                    "capabilities": { "tools": {} },
                    "serverInfo": { "name": "hostile", "version": "1" },
                });
                respond(&mut out, "200 OK", "", Some(reply(&message, result)))
            }
            (_, "tools/list") => {
                let tools: Vec<Value> = TOOLS
                    .iter()
                    .map(|t| json!({ "name": t, "inputSchema": { "type": "object" } }))
                    .collect();
                respond(
                    &mut out,
                    "200 OK",
                    "",
                    Some(reply(&message, json!({ "tools": tools }))),
                )
            }
            (_, "tools/call") => attack(&mut out, &message, redirect_to),
            // Notifications (and anything else) are accepted.
            _ => respond(&mut out, "202 Accepted", "", None),
        };
        if !answered {
            return;
        }
    }
}

fn reply(request: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": request["id"], "result": result })
}

/// Writes a response; false once the connection is unusable.
fn respond(out: &mut TcpStream, status: &str, extra_headers: &str, body: Option<Value>) -> bool {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let kind = if body.is_empty() {
        ""
    } else {
        "content-type: application/json\r\n"
    };
    let response = format!(
        "HTTP/1.1 {status}\r\n{kind}mcp-session-id: hostile-1\r\n{extra_headers}\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    out.write_all(response.as_bytes()).is_ok()
}

/// Answers a tool call with the tool's attack.
fn attack(out: &mut TcpStream, call: &Value, redirect_to: u16) -> bool {
    let content = |text: &str| {
        reply(
            call,
            json!({ "content": [{ "type": "text", "text": text }] }),
        )
    };
    match call["params"]["name"].as_str().unwrap_or_default() {
        "hang" => {
            // An event stream that never sends an event nor ends.
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nmcp-session-id: hostile-1\r\n\r\n",
            );
            let mut probe = [0u8; 1];
            // Held until the client gives up and closes.
            let _ = out.set_read_timeout(None);
            let _ = out.read(&mut probe);
            false
        }
        "endless" => {
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nmcp-session-id: hostile-1\r\n\r\n",
            );
            let event = format!(
                "data: {}\n\n",
                json!({
                    "jsonrpc": "2.0",
                    "method": "notifications/message",
                    "params": { "level": "info", "data": "x".repeat(4096) },
                })
            );
            // Until the client stops reading.
            while out.write_all(event.as_bytes()).is_ok() {}
            false
        }
        "redirect" => respond(
            out,
            "307 Temporary Redirect",
            &format!("location: http://127.0.0.1:{redirect_to}/mcp\r\n"),
            None,
        ),
        "huge-header" => {
            let junk = format!("x-junk: {}\r\n", "a".repeat(4 * 1024 * 1024));
            respond(out, "200 OK", &junk, Some(content("after the header")))
        }
        _ => respond(out, "200 OK", "", Some(content("fine"))),
    }
}

fn text(report: &warden::CallReport) -> String {
    report.output.to_string()
}

#[test]
fn a_hostile_remote_server_is_cut_off_and_the_next_call_is_served() {
    let untouched = Untouched::new();
    let hostile = Hostile::start(untouched.port());
    let decl = ServerDecl {
        url: Some(format!("http://127.0.0.1:{}/mcp", hostile.port)),
        ..ServerDecl::default()
    };
    let warden::resolve::Resolved::Source { source, .. } = warden::resolve::server("hostile", decl)
    else {
        unreachable!("a server is a source")
    };
    let mut grant: Grant =
        warden_tests::grant_hosts(&[&format!("http://127.0.0.1:{}", hostile.port)]);
    grant.limits.timeout = Duration::from_secs(5);
    grant.limits.max_output_bytes = 64 * 1024;
    let runtime = warden_tests::runtime();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let call = |tool: &str| tokio.block_on(runtime.call_source(&source, tool, "{}", &grant));
    let ToolSource::McpServer(server) = &source else {
        unreachable!("an MCP server")
    };

    let ok = call("ok").expect("the well-behaved tool works");
    assert!(text(&ok).contains("fine"), "{}", text(&ok));

    // A response that never ends: the wall clock.
    let hung = call("hang").expect_err("a hung response fails");
    // Known race (left open in docs/security.md): rmcp's client sometimes
    // reports the held stream as a closed transport before the wall
    // clock; either way the call fails and the next one is served.
    assert!(
        matches!(hung, CallError::Timeout { .. })
            || matches!(&hung, CallError::Instantiate { reason, .. } if reason.contains("Transport closed")),
        "{hung:?} {:?}",
        hostile.seen()
    );
    let after = call("ok");
    assert!(after.is_ok(), "{after:?} {:?}", hostile.seen());
    assert!(text(&after.expect("served after a hang")).contains("fine"));

    // An endless event stream: cut at the message limit.
    let endless = call("endless").expect_err("an endless stream fails");
    assert!(
        matches!(endless, CallError::InvalidOutput { .. }),
        "{endless:?}"
    );
    let after = call("ok");
    assert!(after.is_ok(), "{after:?} {:?}", hostile.seen());
    assert!(text(&after.expect("served after a flood")).contains("fine"));

    // A redirect to another host: not followed, nothing connects there.
    let redirected = call("redirect").expect_err("a redirect fails");
    assert!(redirected.to_string().contains("307"), "{redirected}");
    untouched.assert_untouched();
    assert!(text(&call("ok").expect("served after a redirect")).contains("fine"));

    // A 4 MiB header: refused by the HTTP client, not buffered whole.
    let huge = call("huge-header").expect_err("a huge header fails");
    assert!(!huge.to_string().contains("after the header"), "{huge}");
    assert!(text(&call("ok").expect("served after a huge header")).contains("fine"));

    // The server was connected again after the hang (its session was
    // dropped), and at most once after each other attack.
    let starts = tokio.block_on(server.starts());
    assert!((2..=5).contains(&starts), "{starts} starts");
    // Each session asked for the standing event stream (GET) once; the
    // server's 405 left the calls unaffected.
    let seen = hostile.seen();
    assert!(seen.iter().any(|s| s == "GET"), "{seen:?}");
}
