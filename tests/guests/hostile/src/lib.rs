//! A warden `tool` component that misbehaves on purpose.
//!
//! It implements the `tools` interface by hand instead of through
//! `warden_sdk::export_tools!`, so it can return whatever it likes, and it
//! uses `std` directly (files, environment, sockets) with no checks of its
//! own: whatever it is refused, the host's sandbox refused.
//!
//! | tool | input | what it does |
//! | --- | --- | --- |
//! | `echo` | `{text}` | returns `{"text": text}`: the well-behaved call |
//! | `spin` | `{}` | busy-loops forever (fuel/epoch limits must stop it) |
//! | `sleep` | `{ms}` | blocks in a host call for `ms` milliseconds, returns `{"slept_ms": ms}` |
//! | `hog` | `{step_kib?}` | allocates and touches memory `step_kib` KiB (default 1024) at a time without bound |
//! | `recurse` | `{}` | recurses without bound, exhausting the wasm stack |
//! | `flood` | `{bytes}` | returns a JSON string whose encoding is `bytes` bytes long (at least 2) |
//! | `bad_json` | `{}` | returns `this is {not json` as its "JSON" output |
//! | `panic` | `{}` | panics (a trap) |
//! | `read` | `{path}` | `std::fs::read_to_string(path)` → `{"content": ...}` |
//! | `write` | `{path, content}` | `std::fs::write(path, content)` → `{"bytes_written": n}` |
//! | `env` | `{name}` | `std::env::var(name)` → `{"value": string or null}` |
//! | `connect` | `{addr}` | `std::net::TcpStream::connect(addr)` → `{"connected": true}` |
//! | `log` | `{count}` | logs `count` lines at info level → `{"logged": count}` |
//! | `calls` | `{}` | counts calls to this instance → `{"calls": n}` (always 1 on a fresh instance) |
//! | `stash` | `{text}` | copies `text` into leaked heap memory → `{"addr": a, "len": n}` |
//! | `peek` | `{addr, len}` | reads `len` bytes of its own linear memory at `addr` → `{"bytes": "..."}` (lossy UTF-8) |
//! | `work` | `{rounds}` | a CPU-bound loop of `rounds` steps → `{"result": n}` (for fuel benchmarks) |

use std::hint::black_box;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
/// Bindings for `warden:plugin/tool@0.1.0`: this component keeps the 0.1.0
/// interface (one JSON document per result) so the host's 0.1.0 path is
/// tested; the SDK targets 0.2.0.
mod bindings {
    wit_bindgen::generate!({ world: "tool", path: "../../../wit" });
}

use bindings::exports::warden::plugin::tools::Guest as ToolsGuest;
use bindings::warden::plugin::types::{Capability, Denial, ToolError, ToolSpec};

/// The component.
struct Hostile;

/// Name, description and input schema of every tool.
const TOOLS: &[(&str, &str, &str)] = &[
    (
        "echo",
        "Returns its input text.",
        r#"{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"#,
    ),
    ("spin", "Busy-loops forever.", r#"{"type":"object"}"#),
    (
        "sleep",
        "Sleeps for `ms` milliseconds.",
        r#"{"type":"object","properties":{"ms":{"type":"integer","minimum":0}},"required":["ms"]}"#,
    ),
    (
        "hog",
        "Allocates memory without bound, `step_kib` KiB at a time.",
        r#"{"type":"object","properties":{"step_kib":{"type":"integer","minimum":1}}}"#,
    ),
    ("recurse", "Recurses without bound.", r#"{"type":"object"}"#),
    (
        "flood",
        "Returns a JSON string `bytes` bytes long.",
        r#"{"type":"object","properties":{"bytes":{"type":"integer","minimum":0}},"required":["bytes"]}"#,
    ),
    (
        "bad_json",
        "Returns output that is not JSON.",
        r#"{"type":"object"}"#,
    ),
    ("panic", "Panics.", r#"{"type":"object"}"#),
    (
        "read",
        "Reads a file with std::fs, without checks.",
        r#"{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}"#,
    ),
    (
        "write",
        "Writes a file with std::fs, without checks.",
        r#"{"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}"#,
    ),
    (
        "env",
        "Reads an environment variable.",
        r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"#,
    ),
    (
        "connect",
        "Opens a TCP connection to `addr` (host:port).",
        r#"{"type":"object","properties":{"addr":{"type":"string"}},"required":["addr"]}"#,
    ),
    (
        "log",
        "Logs `count` lines.",
        r#"{"type":"object","properties":{"count":{"type":"integer","minimum":0}},"required":["count"]}"#,
    ),
    (
        "calls",
        "Counts the calls this instance has answered, this one included.",
        r#"{"type":"object"}"#,
    ),
    (
        "stash",
        "Leaves `text` in heap memory and returns where.",
        r#"{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"#,
    ),
    (
        "peek",
        "Reads raw bytes of this instance's memory.",
        r#"{"type":"object","properties":{"addr":{"type":"integer"},"len":{"type":"integer"}},"required":["addr","len"]}"#,
    ),
    (
        "work",
        "Runs a CPU-bound loop of `rounds` steps.",
        r#"{"type":"object","properties":{"rounds":{"type":"integer","minimum":0}},"required":["rounds"]}"#,
    ),
];

/// Calls answered by this instance (see the `calls` tool).
static CALLS: AtomicU64 = AtomicU64::new(0);

/// A required string field of `input`.
fn string<'a>(input: &'a Value, field: &str) -> Result<&'a str, ToolError> {
    input
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ToolError::InvalidInput(format!("`{field}` must be a string")))
}

/// A required unsigned integer field of `input`.
fn number(input: &Value, field: &str) -> Result<u64, ToolError> {
    input
        .get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| ToolError::InvalidInput(format!("`{field}` must be a non-negative integer")))
}

/// Serialises a JSON value (which cannot fail for a `Value`).
fn ok(value: Value) -> Result<String, ToolError> {
    Ok(value.to_string())
}

fn spin() -> Result<String, ToolError> {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

fn hog(step_kib: u64) -> Result<String, ToolError> {
    let step = usize::try_from(step_kib.saturating_mul(1024))
        .map_err(|_| ToolError::InvalidInput("`step_kib` is too large".to_string()))?;
    if step == 0 {
        return Err(ToolError::InvalidInput(
            "`step_kib` must be at least 1".to_string(),
        ));
    }
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; step];
        // Write to every page so the memory is really used.
        for i in (0..step).step_by(4096) {
            chunk[i] = (chunks.len() & 0x7f) as u8 | 1;
        }
        chunks.push(black_box(chunk));
    }
}

/// Calls made by [`recurse`]; a global, so the frames stay free of
/// address-taken locals and live on the native wasm stack.
static DEPTH: AtomicU64 = AtomicU64::new(0);
/// Written after every call returns, so no call is a tail call.
static SINK: AtomicU64 = AtomicU64::new(0);

#[inline(never)]
fn recurse(n: u64) -> u64 {
    let depth = DEPTH.fetch_add(1, Ordering::Relaxed);
    if depth == u64::MAX {
        return n;
    }
    let below = recurse(
        n.wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407),
    );
    let result = below.rotate_left((n & 63) as u32) ^ depth;
    SINK.store(result, Ordering::Relaxed);
    result
}

fn flood(bytes: u64) -> Result<String, ToolError> {
    let len = usize::try_from(bytes)
        .map_err(|_| ToolError::InvalidInput("`bytes` is too large".to_string()))?
        .max(2);
    let mut out = String::with_capacity(len);
    out.push('"');
    out.extend(std::iter::repeat_n('x', len - 2));
    out.push('"');
    Ok(out)
}

fn connect(addr: &str) -> Result<String, ToolError> {
    match std::net::TcpStream::connect(addr) {
        Ok(_stream) => ok(json!({ "connected": true })),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Err(ToolError::Denied(Denial {
            capability: Capability::Network,
            target: addr.to_string(),
            reason: format!("connecting was refused by the sandbox ({e})"),
        })),
        Err(e) => Err(ToolError::Failed(format!(
            "connecting to {addr} failed: {e}"
        ))),
    }
}

/// Reads `len` bytes at `addr` of this instance's linear memory, whatever
/// is there (a trap if it is past the end).
fn peek(addr: u64, len: u64) -> Result<String, ToolError> {
    let (addr, len) = match (usize::try_from(addr), usize::try_from(len)) {
        (Ok(a), Ok(l)) if a > 0 && l <= 1 << 20 => (a, l),
        _ => {
            return Err(ToolError::InvalidInput(
                "`addr` or `len` out of range".into(),
            ));
        }
    };
    let mut bytes = vec![0u8; len];
    for (i, b) in bytes.iter_mut().enumerate() {
        // SAFETY: none; a hostile guest reading raw memory on purpose. The
        // reads are volatile so they really happen; past the end of memory
        // they trap, which the host reports.
        *b = unsafe { std::ptr::read_volatile((addr + i) as *const u8) };
    }
    ok(json!({ "bytes": String::from_utf8_lossy(&bytes) }))
}

fn call(name: &str, input: &Value) -> Result<String, ToolError> {
    match name {
        "echo" => ok(json!({ "text": string(input, "text")? })),
        "spin" => spin(),
        "sleep" => {
            let ms = number(input, "ms")?;
            std::thread::sleep(std::time::Duration::from_millis(ms));
            ok(json!({ "slept_ms": ms }))
        }
        "hog" => hog(input
            .get("step_kib")
            .and_then(Value::as_u64)
            .unwrap_or(1024)),
        "recurse" => ok(json!({ "depth": recurse(black_box(1)) })),
        "flood" => flood(number(input, "bytes")?),
        "bad_json" => Ok("this is {not json".to_string()),
        "panic" => panic!("the hostile component panics on purpose"),
        "read" => {
            let path = string(input, "path")?;
            match std::fs::read_to_string(path) {
                Ok(content) => ok(json!({ "content": content })),
                Err(e) => Err(from_io(path, &e)),
            }
        }
        "write" => {
            let path = string(input, "path")?;
            let content = string(input, "content")?;
            match std::fs::write(path, content) {
                Ok(()) => ok(json!({ "bytes_written": content.len() })),
                Err(e) => Err(from_io(path, &e)),
            }
        }
        "env" => ok(json!({ "value": std::env::var(string(input, "name")?).ok() })),
        "connect" => connect(string(input, "addr")?),
        "log" => {
            let count = number(input, "count")?;
            for i in 0..count {
                bindings::warden::plugin::log::log(
                    bindings::warden::plugin::log::Level::Info,
                    &format!("hostile log line {} of {count}", i + 1),
                );
            }
            ok(json!({ "logged": count }))
        }
        "calls" => ok(json!({ "calls": CALLS.fetch_add(1, Ordering::Relaxed) + 1 })),
        "stash" => {
            let text: &'static mut str = string(input, "text")?.to_string().leak();
            ok(json!({ "addr": text.as_ptr() as usize, "len": text.len() }))
        }
        "peek" => peek(number(input, "addr")?, number(input, "len")?),
        "work" => {
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for i in 0..number(input, "rounds")? {
                x = black_box(x.rotate_left(7) ^ i).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            }
            ok(json!({ "result": x }))
        }
        other => Err(ToolError::UnknownTool(other.to_string())),
    }
}

impl ToolsGuest for Hostile {
    fn list_tools() -> Vec<ToolSpec> {
        TOOLS
            .iter()
            .map(|(name, description, schema)| ToolSpec {
                name: name.to_string(),
                description: description.to_string(),
                input_schema: schema.to_string(),
            })
            .collect()
    }

    fn call(name: String, input: String) -> Result<String, ToolError> {
        if !TOOLS.iter().any(|(tool, _, _)| *tool == name) {
            return Err(ToolError::UnknownTool(name));
        }
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input is not JSON: {e}")))?;
        call(&name, &input)
    }
}

bindings::export!(Hostile with_types_in bindings);

/// An I/O error on `path` as a typed tool error: a permission error (how
/// WASI reports an access outside the grant) is a filesystem denial.
fn from_io(path: &str, err: &std::io::Error) -> ToolError {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => ToolError::Denied(Denial {
            capability: Capability::Filesystem,
            target: path.to_string(),
            reason: format!("the grant does not allow this access ({err})"),
        }),
        ErrorKind::NotFound => ToolError::NotFound(format!("{path}: {err}")),
        _ => ToolError::Failed(format!("{path}: {err}")),
    }
}
