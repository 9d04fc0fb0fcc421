//! Local model servers: which OpenAI-compatible server on this machine an
//! agent talks to when the user names none, and how an endpoint on loopback
//! is granted to the model provider.
//!
//! - [`probe_local_servers`] asks the usual local servers (Ollama, llama.cpp,
//!   LM Studio, vLLM) for `GET /v1/models`, in that order, and returns the
//!   first that answers, with the models it lists. There is no cloud
//!   default: when none answers, the error names every address tried and
//!   what happened there.
//! - [`LoopbackEndpoint::of`] recognises an endpoint on loopback
//!   (`localhost`, `127.0.0.0/8`, `[::1]`) and gives the one address to
//!   connect to, so the provider's grant is exactly that scheme, address and
//!   port, never a name that could later resolve elsewhere.
//!
//! The probe is plain HTTP/1.1 over a blocking socket with short timeouts;
//! it runs on the host, before any component, and only ever connects to
//! loopback addresses.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// The usual local servers, probed in this order: (name, port on 127.0.0.1).
pub const KNOWN_LOCAL_SERVERS: [(&str, u16); 4] = [
    ("Ollama", 11434),
    ("llama.cpp", 8080),
    ("LM Studio", 1234),
    ("vLLM", 8000),
];

/// Test-only: replaces [`KNOWN_LOCAL_SERVERS`] with `name=port,name=port`,
/// so tests probe their own listeners on 127.0.0.1 and never depend on what
/// runs on the machine. Not meant for users (name the endpoint instead).
pub const PROBE_PORTS_TEST_VAR: &str = "WARDEN_TEST_LOCAL_SERVERS";

/// How long a probe waits to connect to a local port.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a probe waits for a reply to `GET /v1/models`.
const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// The most of a `/v1/models` reply that is read.
const MAX_REPLY_BYTES: usize = 1 << 20;

/// Why no local model server could be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalServerError {
    /// No known local server answered `GET /v1/models`.
    #[error("no local model server answered GET /v1/models; tried {}", describe(.tried))]
    NoneAnswered {
        /// Each address tried, with what happened there.
        tried: Vec<ProbeFailure>,
    },
    /// The test-only probe list is malformed.
    #[error("{PROBE_PORTS_TEST_VAR} (`{value}`) is not a list of name=port")]
    BadProbeList {
        /// The variable's value.
        value: String,
    },
}

/// One server that did not answer, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    /// The server's usual name, e.g. `Ollama`.
    pub name: String,
    /// The base URL tried, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// What happened, e.g. `connection refused`.
    pub reason: String,
}

fn describe(tried: &[ProbeFailure]) -> String {
    tried
        .iter()
        .map(|f| format!("{} at {} ({})", f.name, f.base_url, f.reason))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A local server that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalServer {
    /// The server's usual name, e.g. `llama.cpp` (what listens on its port).
    pub name: String,
    /// Its base URL, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The model ids `GET /v1/models` listed, in its order.
    pub models: Vec<String>,
}

/// The servers to probe: [`KNOWN_LOCAL_SERVERS`], or the test-only list in
/// [`PROBE_PORTS_TEST_VAR`].
pub fn servers_to_probe() -> Result<Vec<(String, u16)>, LocalServerError> {
    let Some(value) = std::env::var(PROBE_PORTS_TEST_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(KNOWN_LOCAL_SERVERS
            .iter()
            .map(|(n, p)| (n.to_string(), *p))
            .collect());
    };
    value
        .split(',')
        .map(|item| {
            let (name, port) = item.trim().split_once('=')?;
            Some((name.trim().to_string(), port.trim().parse().ok()?))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(LocalServerError::BadProbeList { value })
}

/// Probes `servers` on 127.0.0.1 in order and returns the first that
/// answers `GET /v1/models` with a model list.
pub fn probe_local_servers(servers: &[(String, u16)]) -> Result<LocalServer, LocalServerError> {
    let mut tried = Vec::new();
    for (name, port) in servers {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), *port);
        let base_url = format!("http://{addr}/v1");
        match list_models(addr, "/v1") {
            Ok(models) => {
                return Ok(LocalServer {
                    name: name.clone(),
                    base_url,
                    models,
                });
            }
            Err(reason) => tried.push(ProbeFailure {
                name: name.clone(),
                base_url,
                reason,
            }),
        }
    }
    Err(LocalServerError::NoneAnswered { tried })
}

/// The model ids a server at `addr` lists at `{base_path}/models`; the
/// error says what went wrong in a few words.
pub fn list_models(addr: SocketAddr, base_path: &str) -> Result<Vec<String>, String> {
    let path = format!("{}/models", base_path.trim_end_matches('/'));
    let body = get(addr, &path)?;
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| format!("GET {path} did not return JSON"))?;
    // OpenAI: {"data": [{"id": …}]}; Ollama's native API: {"models": [{"name": …}]}.
    let list = json
        .get("data")
        .or_else(|| json.get("models"))
        .and_then(|d| d.as_array())
        .ok_or_else(|| format!("GET {path} returned no model list"))?;
    Ok(list
        .iter()
        .filter_map(|m| {
            m.get("id")
                .or_else(|| m.get("name"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect())
}

/// `GET path` on `addr` over HTTP/1.1; the body of a 200 reply.
fn get(addr: SocketAddr, path: &str) -> Result<Vec<u8>, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::TimedOut => "no answer to connect".to_string(),
            _ => format!("cannot connect: {e}"),
        })?;
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nUser-Agent: warden\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                reply.extend_from_slice(&chunk[..n]);
                if reply.len() > MAX_REPLY_BYTES {
                    return Err(format!("GET {path} returned more than 1 MiB"));
                }
                // A server may keep the connection open despite `close`:
                // stop once the declared body is complete.
                if let Some(body) = complete_body(&reply) {
                    return finish(path, &reply, body);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("no reply to GET {path} in {READ_TIMEOUT:?}"));
            }
            Err(e) => return Err(format!("the reply to GET {path} broke off: {e}")),
        }
    }
    let head_end =
        find(&reply, b"\r\n\r\n").ok_or_else(|| format!("no HTTP reply to GET {path}"))?;
    let head = String::from_utf8_lossy(&reply[..head_end]).to_string();
    let raw = reply[head_end + 4..].to_vec();
    let body = if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(&raw).ok_or_else(|| format!("a malformed chunked reply to GET {path}"))?
    } else {
        raw
    };
    finish(path, &reply, body)
}

/// The status check: a 200 reply's body, or an error naming the status.
fn finish(path: &str, reply: &[u8], body: Vec<u8>) -> Result<Vec<u8>, String> {
    let status_line = reply
        .split(|b| *b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim().to_string())
        .unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP reply to GET {path}"))?;
    if status != 200 {
        return Err(format!("GET {path} answered {status}"));
    }
    Ok(body)
}

/// The body, when `reply` holds a head with `Content-Length` and all of the
/// body, or a whole chunked body.
fn complete_body(reply: &[u8]) -> Option<Vec<u8>> {
    let head_end = find(reply, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&reply[..head_end]).to_string();
    let raw = &reply[head_end + 4..];
    if let Some(length) = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        return (raw.len() >= length).then(|| raw[..length].to_vec());
    }
    if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return dechunk(raw);
    }
    None
}

/// The value of header `name` in `head` (lower-cased).
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_ascii_lowercase())
    })
}

/// A whole chunked body decoded; `None` while incomplete or malformed.
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(raw, b"\r\n")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if raw.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An endpoint on this machine's loopback interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackEndpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// The address to connect to (`localhost` becomes the loopback address
    /// that accepts a connection on the port, 127.0.0.1 first).
    pub addr: SocketAddr,
    /// The base URL the provider is given: the user's URL with `localhost`
    /// replaced by that address.
    pub base_url: String,
    /// The base URL's path, e.g. `/v1`.
    pub path: String,
}

impl LoopbackEndpoint {
    /// The loopback endpoint `url` names, or `None` when it is not a URL on
    /// loopback (a remote endpoint is granted by name as it is).
    pub fn of(url: &str) -> Option<LoopbackEndpoint> {
        let uri: http::Uri = url.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let ip = if host.eq_ignore_ascii_case("localhost") {
            Self::reachable_loopback(port)
        } else {
            match host.parse::<IpAddr>() {
                Ok(ip) if ip.is_loopback() => ip,
                _ => return None,
            }
        };
        let addr = SocketAddr::new(ip, port);
        let path = uri.path().trim_end_matches('/').to_string();
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        Some(LoopbackEndpoint {
            base_url: format!("{scheme}://{addr}{path}{query}"),
            scheme,
            addr,
            path,
        })
    }

    /// For `localhost`: 127.0.0.1 unless only `[::1]` accepts on `port`.
    fn reachable_loopback(port: u16) -> IpAddr {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let accepts =
            |ip| TcpStream::connect_timeout(&SocketAddr::new(ip, port), CONNECT_TIMEOUT).is_ok();
        if !accepts(v4) && accepts(v6) { v6 } else { v4 }
    }

    /// The one network grant the provider gets: `scheme://address:port`.
    pub fn grant(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints_are_granted_as_exactly_their_address() {
        let e = LoopbackEndpoint::of("http://127.0.0.1:11434/v1").expect("loopback");
        assert_eq!(e.grant(), "http://127.0.0.1:11434");
        assert_eq!(e.base_url, "http://127.0.0.1:11434/v1");
        let e = LoopbackEndpoint::of("http://[::1]:8080/v1/").expect("loopback");
        assert_eq!(e.grant(), "http://[::1]:8080");
        assert_eq!(e.base_url, "http://[::1]:8080/v1");
        let e = LoopbackEndpoint::of("https://127.0.0.2/api?x=1").expect("loopback");
        assert_eq!(e.grant(), "https://127.0.0.2:443");
        assert_eq!(e.base_url, "https://127.0.0.2:443/api?x=1");
        // Nothing listens on port 9 here: localhost falls back to 127.0.0.1.
        let e = LoopbackEndpoint::of("http://LOCALHOST:9/v1").expect("loopback");
        assert_eq!(e.grant(), "http://127.0.0.1:9");
    }

    #[test]
    fn remote_and_special_but_not_loopback_endpoints_are_not_loopback() {
        for url in [
            "https://api.example.com/v1",
            "http://10.0.0.1:8080/v1",
            "http://169.254.169.254/latest",
            "http://0.0.0.0:8080/v1",
            "http://localhost.example.com:11434/v1",
            "http://127.0.0.1.nip.io:11434/v1",
            "ftp://127.0.0.1/v1",
            "not a url",
        ] {
            assert_eq!(LoopbackEndpoint::of(url), None, "{url}");
        }
    }

    #[test]
    fn the_probe_list_is_the_known_servers_unless_tests_replace_it() {
        let names: Vec<&str> = KNOWN_LOCAL_SERVERS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["Ollama", "llama.cpp", "LM Studio", "vLLM"]);
        assert_eq!(
            KNOWN_LOCAL_SERVERS.map(|(_, p)| p),
            [11434, 8080, 1234, 8000]
        );
    }

    #[test]
    fn chunked_bodies_decode() {
        assert_eq!(
            dechunk(b"4\r\nabcd\r\n2;x=y\r\nef\r\n0\r\n\r\n").as_deref(),
            Some(&b"abcdef"[..])
        );
        assert_eq!(dechunk(b"4\r\nab"), None);
        assert_eq!(dechunk(b"zz\r\n"), None);
    }

    #[test]
    fn a_closed_port_is_reported_by_name() {
        // Bind then drop: the port is (almost certainly) closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        match probe_local_servers(&[("Ollama".into(), port)]) {
            Err(LocalServerError::NoneAnswered { tried }) => {
                assert_eq!(tried.len(), 1);
                assert_eq!(tried[0].base_url, format!("http://127.0.0.1:{port}/v1"));
                assert_eq!(tried[0].reason, "connection refused");
            }
            other => panic!("{other:?}"),
        }
    }
}
