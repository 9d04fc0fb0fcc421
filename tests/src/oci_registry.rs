//! A real OCI registry for tests: Debian's `docker-registry` (the CNCF
//! distribution server) on 127.0.0.1 with storage in a temp dir, killed on
//! drop; and [`TamperProxy`], a small HTTP proxy in front of it that
//! changes, truncates or pads one blob, or demands credentials.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `docker-registry` binary: `$WARDEN_TEST_DOCKER_REGISTRY`, else
/// `/usr/bin/docker-registry`, else one on `PATH`.
pub fn docker_registry_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WARDEN_TEST_DOCKER_REGISTRY") {
        return Some(PathBuf::from(path));
    }
    let default = PathBuf::from("/usr/bin/docker-registry");
    if default.is_file() {
        return Some(default);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("docker-registry"))
            .find(|p| p.is_file())
    })
}

/// A running `docker-registry`, stopped when dropped.
pub struct DockerRegistry {
    child: Child,
    addr: String,
    _storage: tempfile::TempDir,
}

impl DockerRegistry {
    /// Starts one on a free loopback port and waits until `/v2/` answers.
    /// `Err` says why it could not be started (the caller skips).
    pub fn start() -> Result<DockerRegistry, String> {
        let binary = docker_registry_binary().ok_or_else(|| {
            "docker-registry is not installed (apt-get install docker-registry)".to_string()
        })?;
        let mut last_error = String::new();
        for _ in 0..3 {
            let storage = tempfile::tempdir().map_err(|e| e.to_string())?;
            let port = free_port().map_err(|e| e.to_string())?;
            let addr = format!("127.0.0.1:{port}");
            let config = storage.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: {addr}\n",
                    storage.path().join("data").display()
                ),
            )
            .map_err(|e| e.to_string())?;
            let log = std::fs::File::create(storage.path().join("registry.log"))
                .map_err(|e| e.to_string())?;
            let child = Command::new(&binary)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
            let mut registry = DockerRegistry {
                child,
                addr,
                _storage: storage,
            };
            match registry.wait_ready(Duration::from_secs(15)) {
                Ok(()) => return Ok(registry),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self._storage.path().join("registry.log"))
                    .unwrap_or_default();
                return Err(format!("docker-registry exited ({status}): {log}"));
            }
            if let Ok(response) = http_request(&self.addr, "GET", "/v2/", &[], &[])
                && response.status == 200
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "docker-registry did not answer on {} within {timeout:?}",
            self.addr
        ))
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A response read from the registry.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers (names lowercased), in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// One HTTP/1.1 request with `Connection: close`, read to the end.
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    let mut has_host = false;
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "connection" | "content-length" | "transfer-encoding" | "accept-encoding"
        ) {
            continue;
        }
        has_host |= lower == "host";
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_host {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().to_string();
            if name == "content-length" {
                length = value.parse::<usize>().ok();
            }
            if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
            headers.push((name, value));
        }
    }
    let mut body = Vec::new();
    if method == "HEAD" || status == 204 || status == 304 {
        // No body.
    } else if chunked {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            let size = usize::from_str_radix(size_line.trim(), 16)
                .map_err(|e| std::io::Error::other(format!("bad chunk size: {e}")))?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = String::new();
            reader.read_line(&mut crlf)?;
        }
    } else if let Some(length) = length {
        body = vec![0; length];
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// What [`TamperProxy`] does to the blob it targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tamper {
    /// Pass everything through.
    None,
    /// Flip one byte in the middle of the blob (same length).
    FlipByte,
    /// Serve only the first half (with a matching Content-Length).
    Truncate,
    /// Serve the blob followed by this many extra bytes.
    Oversize(usize),
}

struct ProxyState {
    tamper: Tamper,
    /// Blob digests (`sha256:…`) to tamper with.
    targets: Vec<String>,
    /// Basic credentials required (`Authorization` header value), if any.
    required_auth: Option<String>,
    /// Authorization headers seen, for assertions.
    seen_auth: Vec<String>,
}

/// An HTTP proxy in front of a registry that tampers with chosen blobs and
/// can require HTTP Basic credentials. Stops when dropped.
pub struct TamperProxy {
    server: Arc<tiny_http::Server>,
    addr: String,
    state: Arc<Mutex<ProxyState>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TamperProxy {
    /// A proxy on a free loopback port forwarding to `upstream`.
    pub fn start(upstream: &str) -> TamperProxy {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("proxy binds"));
        let addr = format!(
            "127.0.0.1:{}",
            server.server_addr().to_ip().expect("ip address").port()
        );
        let state = Arc::new(Mutex::new(ProxyState {
            tamper: Tamper::None,
            targets: Vec::new(),
            required_auth: None,
            seen_auth: Vec::new(),
        }));
        let upstream = upstream.to_string();
        let thread = {
            let server = server.clone();
            let state = state.clone();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    serve(request, &upstream, &state);
                }
            })
        };
        TamperProxy {
            server,
            addr,
            state,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Tampers with the blobs `digests` from now on.
    pub fn set(&self, tamper: Tamper, digests: &[String]) {
        let mut state = self.state.lock().expect("proxy state");
        state.tamper = tamper;
        state.targets = digests.to_vec();
    }

    /// Requires HTTP Basic `user:password` on every request.
    pub fn require_basic_auth(&self, user: &str, password: &str) {
        let token = base64(format!("{user}:{password}").as_bytes());
        self.state.lock().expect("proxy state").required_auth = Some(format!("Basic {token}"));
    }

    /// The `Authorization` headers received so far.
    pub fn seen_auth(&self) -> Vec<String> {
        self.state.lock().expect("proxy state").seen_auth.clone()
    }
}

impl Drop for TamperProxy {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut request: tiny_http::Request, upstream: &str, state: &Mutex<ProxyState>) {
    let method = request.method().as_str().to_string();
    let path = request.url().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
        .collect();
    let auth = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.clone());
    let (tamper, targets, required) = {
        let mut state = state.lock().expect("proxy state");
        if let Some(auth) = &auth {
            state.seen_auth.push(auth.clone());
        }
        (
            state.tamper.clone(),
            state.targets.clone(),
            state.required_auth.clone(),
        )
    };
    if let Some(required) = required
        && auth.as_deref() != Some(required.as_str())
    {
        let header = tiny_http::Header::from_bytes("WWW-Authenticate", "Basic realm=\"test\"")
            .expect("header");
        let _ = request.respond(
            tiny_http::Response::from_string("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}")
                .with_status_code(401)
                .with_header(header),
        );
        return;
    }
    let mut body = Vec::new();
    if request.as_reader().read_to_end(&mut body).is_err() {
        return;
    }
    let forwarded: Vec<(String, String)> = headers
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization"))
        .collect();
    let response = match http_request(upstream, &method, &path, &forwarded, &body) {
        Ok(r) => r,
        Err(e) => {
            let _ = request.respond(
                tiny_http::Response::from_string(format!("upstream failed: {e}"))
                    .with_status_code(502),
            );
            return;
        }
    };
    let mut out = response.body;
    let is_target = path.contains("/blobs/") && targets.iter().any(|d| path.ends_with(d.as_str()));
    if is_target && response.status == 200 && method == "GET" {
        match tamper {
            Tamper::None => {}
            Tamper::FlipByte => {
                let middle = out.len() / 2;
                if let Some(byte) = out.get_mut(middle) {
                    *byte ^= 0x20;
                }
            }
            Tamper::Truncate => out.truncate(out.len() / 2),
            Tamper::Oversize(extra) => out.extend(std::iter::repeat_n(0u8, extra)),
        }
    }
    let mut seen = HashMap::new();
    let mut reply = tiny_http::Response::from_data(out).with_status_code(response.status);
    for (name, value) in response.headers {
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "date"
        ) || seen.insert(name.clone(), ()).is_some()
        {
            continue;
        }
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            reply = reply.with_header(header);
        }
    }
    let _ = request.respond(reply);
}

/// Standard base64 with padding (for Basic credentials and Docker configs).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
