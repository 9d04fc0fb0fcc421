//! Support for warden's end-to-end tests: the test components' paths, a
//! shared runtime, grants, and a real HTTP server on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use warden::{
    AuditSink, DirGrant, DirMode, EngineConfig, Grant, HostPattern, Runtime, ToolComponent,
};

pub mod chat;
pub mod npm;
pub mod oci_registry;
pub mod reflect;
pub mod tls;

/// Paths of the test components built by `tests/build.rs`.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/test_components.rs"));
}

/// The directory holding WAT fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// One runtime for a whole test binary, as a host process would have.
pub fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        // The library tests call the sandbox directly and check what it
        // records where it matters (e2e::record); the rest keep no trail.
        .get_or_init(|| {
            Runtime::new(EngineConfig::default(), AuditSink::disabled()).expect("engine starts")
        })
        .clone()
}

/// Loads a built-in component.
pub fn builtin(name: &str) -> ToolComponent {
    let bytes = warden::builtin::lookup(name).expect("built-in exists");
    runtime().load_tool(name, bytes).expect("built-in loads")
}

/// Loads the hostile test component.
pub fn hostile() -> ToolComponent {
    runtime()
        .load_tool_file(Path::new(components::HOSTILE))
        .expect("hostile component loads")
}

/// Loads the `hostile-sizes` test component (oversized lists, errors and
/// denials; a `fetch` that reports every response header).
pub fn hostile_sizes() -> ToolComponent {
    runtime()
        .load_tool_file(Path::new(components::HOSTILE_SIZES))
        .expect("hostile-sizes component loads")
}

/// The peak resident memory (`VmHWM`) of process `pid` so far, in bytes, or
/// `None` once it has exited.
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A grant with the given directories (`(host, guest, mode)`) and nothing else.
pub fn grant_dirs(dirs: &[(&Path, &str, DirMode)]) -> Grant {
    Grant {
        dirs: dirs
            .iter()
            .map(|(host, guest, mode)| {
                DirGrant::new(host, Some(guest), *mode).expect("grantable dir")
            })
            .collect(),
        ..Grant::default()
    }
}

/// A grant allowing the given hosts.
pub fn grant_hosts(hosts: &[&str]) -> Grant {
    Grant {
        hosts: hosts
            .iter()
            .map(|h| HostPattern::parse(h).expect("valid host"))
            .collect(),
        ..Grant::default()
    }
}

/// A grant with a short timeout, for tests that expect one.
pub fn with_timeout(mut grant: Grant, timeout: Duration) -> Grant {
    grant.limits.timeout = timeout;
    grant
}

/// Calls `tool` of `component` with the JSON `input` under `grant`, on the
/// shared runtime.
pub fn call(
    component: &ToolComponent,
    tool: &str,
    input: serde_json::Value,
    grant: &Grant,
) -> Result<warden::CallReport, warden::CallError> {
    block_on(runtime().call_tool(component, tool, &input.to_string(), grant))
}

/// After any failure the same loaded component serves a normal call (its
/// `echo` tool, as every hostile test guest has).
pub fn assert_next_call_works(component: &ToolComponent) {
    let out = call(
        component,
        "echo",
        serde_json::json!({"text": "still here"}),
        &Grant::default(),
    )
    .expect("the host serves the next call");
    assert_eq!(out.output["text"], "still here");
}

/// Runs a future on a fresh multi-threaded tokio runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// A real HTTP/1.1 server on 127.0.0.1 serving a few fixed routes, stopped
/// when dropped.
pub struct TestServer {
    server: Arc<tiny_http::Server>,
    port: u16,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on `127.0.0.1` on a free port. Routes:
    /// `/hello` (200, text), `/json` (200, JSON), `/big` (200, 3 MiB),
    /// `/redirect?to=URL` (302 to URL), `/echo-auth` (the `Authorization`
    /// header it received, echoed back), anything else 404.
    pub fn start() -> TestServer {
        Self::start_on("127.0.0.1")
    }

    /// Starts the server on another loopback address, such as `127.0.0.2`.
    pub fn start_on(ip: &str) -> TestServer {
        let server =
            Arc::new(tiny_http::Server::http(format!("{ip}:0")).expect("bind test server"));
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .expect("ip listener");
        let worker = server.clone();
        let thread = std::thread::spawn(move || {
            for request in worker.incoming_requests() {
                if let Some(target) = request.url().strip_prefix("/redirect?to=") {
                    let response = tiny_http::Response::from_string("moved")
                        .with_status_code(302)
                        .with_header(
                            tiny_http::Header::from_bytes(&b"Location"[..], target.as_bytes())
                                .expect("header"),
                        );
                    let _ = request.respond(response);
                    continue;
                }
                if request.url() == "/echo-auth" {
                    let auth = request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Authorization"))
                        .map(|h| h.value.as_str().to_string())
                        .unwrap_or_else(|| "none".to_string());
                    let _ =
                        request.respond(tiny_http::Response::from_string(format!("auth: {auth}")));
                    continue;
                }
                let response = match request.url() {
                    "/hello" => tiny_http::Response::from_string("hello from the test server\n"),
                    "/json" => tiny_http::Response::from_string("{\"answer\":42}").with_header(
                        tiny_http::Header::from_bytes(
                            &b"Content-Type"[..],
                            &b"application/json"[..],
                        )
                        .expect("header"),
                    ),
                    "/big" => tiny_http::Response::from_string("x".repeat(3 << 20)),
                    _ => tiny_http::Response::from_string("not here").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
        TestServer {
            server,
            port,
            thread: Some(thread),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
