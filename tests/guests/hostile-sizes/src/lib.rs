//! A warden `tool` component that hands the host oversized data on purpose,
//! so the host's bounds (tool lists, error texts, audit records) and its
//! secret redaction can be tested.
//!
//! Like `hostile`, it implements the `tools` interface by hand, so it can
//! return whatever it likes.
//!
//! What `list-tools` returns is set by environment variables (grant them
//! with `--env`): `SIZES_TOOLS=N` lists `N` tools in all (the four below,
//! then `t4`, `t5`, ...), `SIZES_DESCRIPTION_BYTES=N` makes the description
//! of `echo` `N` bytes long.
//!
//! | tool | input | what it does |
//! | --- | --- | --- |
//! | `echo` | `{text}` | returns `{"text": text}`: the well-behaved call |
//! | `deny` | `{bytes}` | returns a `denied` error whose target and reason are `bytes` bytes each |
//! | `fail` | `{bytes, kind}` | returns the tool error `kind` (`failed`, `invalid-input`, `not-found`, `unknown-tool`) with a message of `bytes` bytes |
//! | `fetch` | `{url, headers?}` | GETs `url` over `wasi:http` with `headers` (an object) → `{"status", "headers": [[name, value], ...], "body"}` |

use serde_json::{Value, json};
/// Bindings for `warden:plugin/tool@0.1.0`: this component keeps the 0.1.0
/// interface (one JSON document per result) so the host's 0.1.0 path is
/// tested; the SDK targets 0.2.0.
mod bindings {
    wit_bindgen::generate!({ world: "tool", path: "../../../wit" });
}

use bindings::exports::warden::plugin::tools::Guest as ToolsGuest;
use bindings::warden::plugin::types::{Capability, Denial, ToolError, ToolSpec};
use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, Method, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// The component.
struct HostileSizes;

/// Name, description and input schema of every fixed tool.
const TOOLS: &[(&str, &str, &str)] = &[
    (
        "echo",
        "Returns its input text.",
        r#"{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"#,
    ),
    (
        "deny",
        "Returns a denial whose target and reason are `bytes` bytes each.",
        r#"{"type":"object","properties":{"bytes":{"type":"integer","minimum":0}},"required":["bytes"]}"#,
    ),
    (
        "fail",
        "Returns the tool error `kind` with a message of `bytes` bytes.",
        r#"{"type":"object","properties":{"bytes":{"type":"integer","minimum":0},"kind":{"type":"string"}},"required":["bytes","kind"]}"#,
    ),
    (
        "fetch",
        "GETs `url` and returns the status, every response header and the body.",
        r#"{"type":"object","properties":{"url":{"type":"string"},"headers":{"type":"object"}},"required":["url"]}"#,
    ),
];

/// A numeric environment variable, if set.
fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// A required unsigned integer field of `input`, as a length.
fn number(input: &Value, field: &str) -> Result<usize, ToolError> {
    input
        .get(field)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| ToolError::InvalidInput(format!("`{field}` must be a non-negative integer")))
}

/// A required string field of `input`.
fn string<'a>(input: &'a Value, field: &str) -> Result<&'a str, ToolError> {
    input
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ToolError::InvalidInput(format!("`{field}` must be a string")))
}

fn fail(bytes: usize, kind: &str) -> Result<String, ToolError> {
    let message = "m".repeat(bytes);
    Err(match kind {
        "failed" => ToolError::Failed(message),
        "invalid-input" => ToolError::InvalidInput(message),
        "not-found" => ToolError::NotFound(message),
        "unknown-tool" => ToolError::UnknownTool(message),
        other => ToolError::InvalidInput(format!("unknown kind `{other}`")),
    })
}

/// Splits `url` (`http[s]://AUTHORITY/PATH`) into its scheme, authority
/// and path with query.
fn split_url(url: &str) -> Result<(Scheme, &str, &str), ToolError> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        return Err(ToolError::InvalidInput(format!("`{url}` is not http(s)")));
    };
    Ok(match rest.find('/') {
        Some(i) => (scheme, &rest[..i], &rest[i..]),
        None => (scheme, rest, "/"),
    })
}

fn fetch(url: &str, headers: Option<&serde_json::Map<String, Value>>) -> Result<String, ToolError> {
    let failed = |what: &str| ToolError::Failed(format!("{what} ({url})"));
    let (scheme, authority, path) = split_url(url)?;
    let fields = Fields::new();
    for (name, value) in headers.into_iter().flatten() {
        let value = value.as_str().unwrap_or_default();
        fields
            .append(name, value.as_bytes())
            .map_err(|_| ToolError::InvalidInput(format!("header `{name}` refused")))?;
    }
    let request = OutgoingRequest::new(fields);
    request
        .set_method(&Method::Get)
        .map_err(|()| failed("method refused"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| failed("scheme refused"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| failed("authority refused"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| failed("path refused"))?;
    let future = outgoing_handler::handle(request, None)
        .map_err(|e| ToolError::Failed(format!("request refused: {e:?}")))?;
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(ToolError::Failed(format!("request failed: {e:?}"))),
        _ => return Err(failed("no response")),
    };
    let status = response.status();
    let headers: Vec<(String, String)> = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let body = response.consume().map_err(|()| failed("no body"))?;
    let stream = body.stream().map_err(|()| failed("no body stream"))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(ToolError::Failed(format!(
                    "reading the body failed: {}",
                    e.to_debug_string()
                )));
            }
        }
    }
    drop(stream);
    drop(body);
    drop(response);
    Ok(json!({
        "status": status,
        "headers": headers,
        "body": String::from_utf8_lossy(&bytes),
    })
    .to_string())
}

fn call(name: &str, input: &Value) -> Result<String, ToolError> {
    match name {
        "echo" => Ok(json!({ "text": string(input, "text")? }).to_string()),
        "deny" => {
            let bytes = number(input, "bytes")?;
            Err(ToolError::Denied(Denial {
                capability: Capability::Network,
                target: "t".repeat(bytes),
                reason: "r".repeat(bytes),
            }))
        }
        "fail" => fail(number(input, "bytes")?, string(input, "kind")?),
        "fetch" => fetch(
            string(input, "url")?,
            input.get("headers").and_then(Value::as_object),
        ),
        other => Err(ToolError::UnknownTool(other.to_string())),
    }
}

impl ToolsGuest for HostileSizes {
    fn list_tools() -> Vec<ToolSpec> {
        let count = env_number("SIZES_TOOLS").unwrap_or(TOOLS.len());
        let description = env_number("SIZES_DESCRIPTION_BYTES");
        let mut specs: Vec<ToolSpec> = TOOLS
            .iter()
            .take(count)
            .map(|(name, description, schema)| ToolSpec {
                name: name.to_string(),
                description: description.to_string(),
                input_schema: schema.to_string(),
            })
            .collect();
        if let (Some(bytes), Some(first)) = (description, specs.first_mut()) {
            first.description = "d".repeat(bytes);
        }
        specs.extend((TOOLS.len()..count).map(|i| ToolSpec {
            name: format!("t{i}"),
            description: format!("Generated tool number {i}."),
            input_schema: r#"{"type":"object"}"#.to_string(),
        }));
        specs
    }

    fn call(name: String, input: String) -> Result<String, ToolError> {
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input is not JSON: {e}")))?;
        call(&name, &input)
    }
}

bindings::export!(HostileSizes with_types_in bindings);
