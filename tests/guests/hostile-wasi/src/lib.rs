//! A warden `tool` component that attacks the host through WASI resources:
//! raw sockets, name lookups, `wasi:http` fields and bodies whose payload
//! lives on the host side, descriptors, and symbolic links. It uses `std`
//! and the raw `wasip2` bindings directly, with no checks of its own:
//! whatever it is refused, the host refused.
//!
//! | tool | input | what it does |
//! | --- | --- | --- |
//! | `tcp_connect` | `{addr}` | `TcpStream::connect(addr)` (names resolved through `ip-name-lookup`) → `{"connected": true}` |
//! | `udp_send` | `{addr}` | binds `0.0.0.0:0`, sends one datagram `warden` to `addr` → `{"sent": n}` |
//! | `bind` | `{proto, addr}` | `TcpListener::bind` / `UdpSocket::bind` on `addr`, holds it for the call → `{"bound": true}` |
//! | `lookups` | `{names}` | resolves each name → `{"resolved": [...], "failed": [...]}` (the error kinds) |
//! | `fields` | `{count, kib}` | creates `count` `wasi:http` fields holding a `kib` KiB value each, all kept alive → `{"created": n}` |
//! | `bodies` | `{count}` | creates `count` outgoing requests, takes each body and fills its buffer until it refuses more, all kept alive → `{"created": n, "buffered": bytes}` |
//! | `open_many` | `{path, count}` | opens `path` `count` times, keeping every descriptor → `{"opened": n}` |
//! | `sockets` | `{count}` | creates `count` TCP sockets, keeping them → `{"created": n}` |
//! | `symlink` | `{target, link}` | creates the symbolic link `link` -> `target` in the first preopened directory → `{"linked": true}` |
//! | `echo` | `{text}` | `{"text": text}`: the well-behaved call |

use std::io::ErrorKind;
use std::net::ToSocketAddrs;

use serde_json::{Value, json};
/// Bindings for `warden:plugin/tool@0.1.0`: this component keeps the 0.1.0
/// interface (one JSON document per result) so the host's 0.1.0 path is
/// tested; the SDK targets 0.2.0.
mod bindings {
    wit_bindgen::generate!({ world: "tool", path: "../../../wit" });
}

use bindings::exports::warden::plugin::tools::Guest as ToolsGuest;
use bindings::warden::plugin::types::{Capability, Denial, ToolError, ToolSpec};
use wasip2::http::types::{Fields, OutgoingRequest};

/// The component.
struct HostileWasi;

const ANY: &str = r#"{"type":"object"}"#;

/// Name and description of every tool (inputs are documented above).
const TOOLS: &[(&str, &str)] = &[
    ("tcp_connect", "Opens a TCP connection to `addr`."),
    ("udp_send", "Sends one UDP datagram to `addr`."),
    ("bind", "Binds a TCP or UDP socket to `addr`."),
    ("lookups", "Resolves each of `names`."),
    ("fields", "Creates `count` HTTP fields of `kib` KiB."),
    (
        "bodies",
        "Creates `count` outgoing bodies and fills their buffers.",
    ),
    ("open_many", "Opens `path` `count` times."),
    ("sockets", "Creates `count` TCP sockets."),
    ("symlink", "Creates a symbolic link."),
    ("echo", "Returns its input text."),
];

fn string<'a>(input: &'a Value, field: &str) -> Result<&'a str, ToolError> {
    input
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ToolError::InvalidInput(format!("`{field}` must be a string")))
}

fn number(input: &Value, field: &str) -> Result<u64, ToolError> {
    input
        .get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| ToolError::InvalidInput(format!("`{field}` must be a non-negative integer")))
}

fn io_error(what: &str, target: &str, e: &std::io::Error) -> ToolError {
    if e.kind() == ErrorKind::PermissionDenied {
        ToolError::Denied(Denial {
            capability: Capability::Network,
            target: target.to_string(),
            reason: format!("{what} was refused by the sandbox ({e})"),
        })
    } else {
        ToolError::Failed(format!("{what} {target} failed: {e}"))
    }
}

fn bind(proto: &str, addr: &str) -> Result<String, ToolError> {
    let held: Box<dyn std::any::Any> = match proto {
        "tcp" => {
            Box::new(std::net::TcpListener::bind(addr).map_err(|e| io_error("binding", addr, &e))?)
        }
        "udp" => {
            Box::new(std::net::UdpSocket::bind(addr).map_err(|e| io_error("binding", addr, &e))?)
        }
        other => return Err(ToolError::InvalidInput(format!("unknown proto `{other}`"))),
    };
    drop(held);
    Ok(json!({ "bound": true }).to_string())
}

fn lookups(names: &[Value]) -> Result<String, ToolError> {
    let (mut resolved, mut failed) = (Vec::new(), Vec::new());
    for name in names {
        let name = name.as_str().unwrap_or_default();
        match (name, 80u16).to_socket_addrs() {
            Ok(addrs) => resolved.push(json!({
                "name": name,
                "addrs": addrs.map(|a| a.ip().to_string()).collect::<Vec<_>>(),
            })),
            Err(e) => failed.push(json!({ "name": name, "error": format!("{:?}", e.kind()) })),
        }
    }
    Ok(json!({ "resolved": resolved, "failed": failed }).to_string())
}

fn fields(count: u64, kib: u64) -> Result<String, ToolError> {
    let value = vec![b'a'; (kib as usize) * 1024];
    let mut kept = Vec::new();
    for _ in 0..count {
        let fields = Fields::new();
        if fields.append("x-flood", &value).is_err() {
            break;
        }
        kept.push(fields);
    }
    Ok(json!({ "created": kept.len() }).to_string())
}

fn bodies(count: u64) -> Result<String, ToolError> {
    let chunk = vec![b'b'; 4096];
    let mut kept = Vec::new();
    let mut buffered = 0u64;
    for _ in 0..count {
        let request = OutgoingRequest::new(Fields::new());
        let Ok(body) = request.body() else { break };
        let Ok(stream) = body.write() else { break };
        loop {
            match stream.check_write() {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let n = (n as usize).min(chunk.len());
                    if stream.write(&chunk[..n]).is_err() {
                        break;
                    }
                    buffered += n as u64;
                }
            }
        }
        kept.push((request, body, stream));
    }
    Ok(json!({ "created": kept.len(), "buffered": buffered }).to_string())
}

fn open_many(path: &str, count: u64) -> Result<String, ToolError> {
    let mut kept = Vec::new();
    for _ in 0..count {
        match std::fs::File::open(path) {
            Ok(f) => kept.push(f),
            Err(e) => {
                return Err(ToolError::Failed(format!(
                    "open {path} failed after {} opens: {e}",
                    kept.len()
                )));
            }
        }
    }
    Ok(json!({ "opened": kept.len() }).to_string())
}

fn sockets(count: u64) -> Result<String, ToolError> {
    use wasip2::sockets::network::IpAddressFamily;
    use wasip2::sockets::tcp_create_socket::create_tcp_socket;
    let mut kept = Vec::new();
    for _ in 0..count {
        match create_tcp_socket(IpAddressFamily::Ipv4) {
            Ok(s) => kept.push(s),
            Err(e) => {
                return Err(ToolError::Failed(format!(
                    "creating a socket failed after {}: {e:?}",
                    kept.len()
                )));
            }
        }
    }
    Ok(json!({ "created": kept.len() }).to_string())
}

fn symlink(target: &str, link: &str) -> Result<String, ToolError> {
    let dirs = wasip2::filesystem::preopens::get_directories();
    let Some((dir, _)) = dirs.first() else {
        return Err(ToolError::Failed("no preopened directory".into()));
    };
    match dir.symlink_at(target, link) {
        Ok(()) => Ok(json!({ "linked": true }).to_string()),
        Err(e) => Err(ToolError::Failed(format!(
            "symlink {link} -> {target} failed: {e:?}"
        ))),
    }
}

fn call(name: &str, input: &Value) -> Result<String, ToolError> {
    match name {
        "tcp_connect" => {
            let addr = string(input, "addr")?;
            std::net::TcpStream::connect(addr).map_err(|e| io_error("connecting to", addr, &e))?;
            Ok(json!({ "connected": true }).to_string())
        }
        "udp_send" => {
            let addr = string(input, "addr")?;
            let socket = std::net::UdpSocket::bind("0.0.0.0:0")
                .map_err(|e| io_error("binding", "0.0.0.0:0", &e))?;
            let sent = socket
                .send_to(b"warden", addr)
                .map_err(|e| io_error("sending to", addr, &e))?;
            Ok(json!({ "sent": sent }).to_string())
        }
        "bind" => bind(string(input, "proto")?, string(input, "addr")?),
        "lookups" => lookups(
            input
                .get("names")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        ),
        "fields" => fields(number(input, "count")?, number(input, "kib")?),
        "bodies" => bodies(number(input, "count")?),
        "open_many" => open_many(string(input, "path")?, number(input, "count")?),
        "sockets" => sockets(number(input, "count")?),
        "symlink" => symlink(string(input, "target")?, string(input, "link")?),
        "echo" => Ok(json!({ "text": string(input, "text")? }).to_string()),
        other => Err(ToolError::UnknownTool(other.to_string())),
    }
}

impl ToolsGuest for HostileWasi {
    fn list_tools() -> Vec<ToolSpec> {
        TOOLS
            .iter()
            .map(|(name, description)| ToolSpec {
                name: name.to_string(),
                description: description.to_string(),
                input_schema: ANY.to_string(),
            })
            .collect()
    }

    fn call(name: String, input: String) -> Result<String, ToolError> {
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input is not JSON: {e}")))?;
        call(&name, &input)
    }
}

bindings::export!(HostileWasi with_types_in bindings);
