//! warden's `http-fetch` component: `fetch` GETs a URL over `wasi:http`.
//!
//! The host decides which hosts are reachable: a request to a host outside
//! the grant comes back as `HTTP-request-denied`, which the tool reports as a
//! typed `denied` error naming `host:port`, so the model can ask for a grant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::{Position, Url};
use warden_sdk::{JsonSchema, ToolError, export_tools};
use wasi::clocks::monotonic_clock::Duration;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, HeaderError, IncomingResponse, Method, OutgoingRequest, RequestOptions,
    Scheme,
};
use wasi::io::streams::StreamError;

/// Default for `max_bytes`.
const DEFAULT_MAX_BYTES: u64 = 256 * 1024;
/// Upper bound for `max_bytes`.
const MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Redirects followed before giving up.
const MAX_REDIRECTS: u32 = 5;
/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = 30_000_000_000;
/// How long to wait for the response to start, and between body chunks.
const RESPONSE_TIMEOUT: Duration = 60_000_000_000;
/// The `user-agent` sent unless `headers` sets one.
const USER_AGENT: &str = concat!("warden-http-fetch/", env!("CARGO_PKG_VERSION"));

/// Input of `fetch`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Fetch {
    /// The URL to GET; `http://` or `https://` only. Its host must be granted to this tool.
    url: String,
    /// Extra request headers, e.g. `{"accept": "application/json"}`. Some headers (such as `host` or `connection`) are set by the host and refused.
    headers: Option<BTreeMap<String, String>>,
    /// Maximum number of body bytes to return (default 262144 = 256 KiB, at most 8388608 = 8 MiB; above about 1 MiB the host's output limit, --max-output, must be raised too); a longer body is cut and `truncated` is true.
    max_bytes: Option<u64>,
    /// Follow redirects (301, 302, 303, 307, 308), at most 5 (default true). Each redirect target must be granted too.
    follow_redirects: Option<bool>,
}

/// Output of `fetch`.
#[derive(Serialize)]
struct FetchOutput {
    /// The URL that answered (after redirects).
    url: String,
    /// The HTTP status code. A non-2xx status is returned, not treated as an error.
    status: u16,
    /// The `content-type` header, if any.
    content_type: Option<String>,
    /// The body as text (invalid UTF-8 replaced by U+FFFD).
    body: String,
    /// Whether the body was cut at `max_bytes`.
    truncated: bool,
}

/// Where a URL is sent: `host:port`, as grants and denials name it.
fn target(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// Checks that `url` is something `fetch` may send.
fn check_url(url: &Url) -> Result<(), ToolError> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(ToolError::InvalidInput(format!(
                "unsupported URL scheme `{other}`: fetch only supports http and https"
            )));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ToolError::InvalidInput(format!(
            "the URL `{url}` has no host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ToolError::InvalidInput(
            "credentials in the URL are not supported; send them in an `authorization` header instead".to_string(),
        ));
    }
    Ok(())
}

/// Turns a `wasi:http` error for a request to `url` into a tool error.
fn http_error(url: &Url, err: ErrorCode) -> ToolError {
    let target = target(url);
    let host = url.host_str().unwrap_or_default();
    match err {
        ErrorCode::HttpRequestDenied => ToolError::denied_net(
            &target,
            format!("`{host}` is not in this tool's network grant; ask the user to grant it"),
        ),
        ErrorCode::DestinationIpProhibited => ToolError::denied_net(
            &target,
            format!("connecting to the address of `{host}` is prohibited by the sandbox"),
        ),
        ErrorCode::DnsTimeout => ToolError::NotFound(format!(
            "looking up the host `{host}` timed out; check the host name or try again later"
        )),
        ErrorCode::DnsError(payload) => {
            let detail = payload.rcode.map(|r| format!(" ({r})")).unwrap_or_default();
            ToolError::NotFound(format!(
                "the host `{host}` could not be resolved{detail}; check the host name in the URL"
            ))
        }
        ErrorCode::DestinationNotFound => {
            ToolError::NotFound(format!("the host `{host}` was not found; check the URL"))
        }
        ErrorCode::ConnectionRefused => ToolError::Failed(format!(
            "connection to {target} was refused: nothing accepts connections there; check the URL's host and port"
        )),
        ErrorCode::ConnectionTimeout => ToolError::Failed(format!(
            "connecting to {target} timed out; the host may be down or unreachable, try again later"
        )),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => ToolError::Failed(
            format!("{target} accepted the connection but did not answer in time; try again later"),
        ),
        ErrorCode::ConnectionTerminated | ErrorCode::HttpResponseIncomplete => ToolError::Failed(
            format!("{target} closed the connection before the response was complete; try again"),
        ),
        ErrorCode::DestinationUnavailable | ErrorCode::DestinationIpUnroutable => {
            ToolError::Failed(format!("{target} is unreachable from here"))
        }
        ErrorCode::TlsCertificateError => ToolError::Failed(format!(
            "the TLS certificate of {target} was rejected (invalid, expired or for another host)"
        )),
        ErrorCode::TlsProtocolError | ErrorCode::TlsAlertReceived(_) => {
            ToolError::Failed(format!("the TLS handshake with {target} failed: {err:?}"))
        }
        ErrorCode::HttpRequestUriInvalid | ErrorCode::HttpRequestUriTooLong => {
            ToolError::InvalidInput(format!("the URL `{url}` was refused as invalid ({err:?})"))
        }
        ErrorCode::HttpResponseBodySize(_)
        | ErrorCode::HttpResponseHeaderSectionSize(_)
        | ErrorCode::HttpResponseHeaderSize(_) => ToolError::Failed(format!(
            "the response from {target} exceeds a size limit of the sandbox ({err:?})"
        )),
        other => ToolError::Failed(format!("fetching {url} failed: {other:?}")),
    }
}

/// The request headers, with a default user agent.
fn request_headers(headers: &BTreeMap<String, String>) -> Result<Fields, ToolError> {
    let fields = Fields::new();
    let has_user_agent = headers.keys().any(|k| k.eq_ignore_ascii_case("user-agent"));
    let defaults = (!has_user_agent).then_some(("user-agent", USER_AGENT));
    let given = headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    for (name, value) in defaults.into_iter().chain(given) {
        fields.append(name, value.as_bytes()).map_err(|e| match e {
            HeaderError::Forbidden => ToolError::InvalidInput(format!(
                "the header `{name}` may not be set by a tool; leave it out"
            )),
            HeaderError::InvalidSyntax => ToolError::InvalidInput(format!(
                "the header `{name}: {value}` is not a valid HTTP header"
            )),
            HeaderError::Immutable => {
                ToolError::Failed("request headers are immutable".to_string())
            }
        })?;
    }
    Ok(fields)
}

/// Sends one GET request for `url` and waits for the response head.
fn send(url: &Url, headers: &BTreeMap<String, String>) -> Result<IncomingResponse, ToolError> {
    let request = OutgoingRequest::new(request_headers(headers)?);
    let scheme = if url.scheme() == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let authority = &url[Position::BeforeHost..Position::AfterPort];
    let path_with_query = &url[Position::BeforePath..Position::AfterQuery];
    let invalid =
        |what: &str| ToolError::InvalidInput(format!("the URL's {what} was refused: `{url}`"));
    request
        .set_method(&Method::Get)
        .map_err(|()| invalid("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| invalid("host"))?;
    request
        .set_path_with_query(Some(path_with_query))
        .map_err(|()| invalid("path"))?;

    // Timeouts are advisory: a host that does not support one keeps its own.
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let _ = options.set_first_byte_timeout(Some(RESPONSE_TIMEOUT));
    let _ = options.set_between_bytes_timeout(Some(RESPONSE_TIMEOUT));

    let future =
        outgoing_handler::handle(request, Some(options)).map_err(|e| http_error(url, e))?;
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(e))) => Err(http_error(url, e)),
        Some(Err(())) => Err(ToolError::Failed(
            "the HTTP response was already taken".to_string(),
        )),
        None => Err(ToolError::Failed(format!(
            "the request to {} did not complete",
            target(url)
        ))),
    }
}

/// The first value of the response header `name`, as text.
fn header(response: &IncomingResponse, name: &str) -> Option<String> {
    let headers = response.headers();
    let value = headers.get(name).into_iter().next();
    value.map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// Reads up to `max_bytes` of the body; returns it and whether it was cut.
fn read_body(
    url: &Url,
    response: IncomingResponse,
    max_bytes: u64,
) -> Result<(Vec<u8>, bool), ToolError> {
    let failed = || {
        ToolError::Failed(format!(
            "could not read the response body from {}",
            target(url)
        ))
    };
    let body = response.consume().map_err(|()| failed())?;
    let stream = body.stream().map_err(|()| failed())?;
    let mut bytes = Vec::new();
    let mut truncated = false;
    loop {
        // Ask for one byte past the limit to tell "exactly max_bytes" from "more".
        let want = (max_bytes + 1 - bytes.len() as u64).min(64 * 1024);
        match stream.blocking_read(want) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > max_bytes {
                    bytes.truncate(max_bytes as usize);
                    truncated = true;
                    break;
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(ToolError::Failed(format!(
                    "reading the response body from {} failed after {} bytes: {}",
                    target(url),
                    bytes.len(),
                    e.to_debug_string()
                )));
            }
        }
    }
    // Child resources go before their parents.
    drop(stream);
    drop(body);
    drop(response);
    Ok((bytes, truncated))
}

/// Text of a body cut at `max_bytes`: a character split by the cut is dropped.
fn body_text(bytes: &[u8], truncated: bool) -> String {
    let end = match std::str::from_utf8(bytes) {
        Err(e) if truncated && e.error_len().is_none() => e.valid_up_to(),
        _ => bytes.len(),
    };
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn fetch(input: Fetch) -> Result<FetchOutput, ToolError> {
    let mut url = Url::parse(&input.url)
        .map_err(|e| ToolError::InvalidInput(format!("`{}` is not a valid URL: {e}", input.url)))?;
    let headers = input.headers.unwrap_or_default();
    let max_bytes = input.max_bytes.unwrap_or(DEFAULT_MAX_BYTES).min(MAX_BYTES);
    let follow = input.follow_redirects.unwrap_or(true);

    let mut redirects = 0;
    loop {
        check_url(&url)?;
        let response = send(&url, &headers)?;
        let status = response.status();
        let location = match status {
            301 | 302 | 303 | 307 | 308 if follow => header(&response, "location"),
            _ => None,
        };
        if let Some(location) = location {
            if redirects == MAX_REDIRECTS {
                return Err(ToolError::Failed(format!(
                    "{url} redirected more than {MAX_REDIRECTS} times; the last redirect pointed to {location}"
                )));
            }
            let next = url.join(&location).map_err(|e| {
                ToolError::Failed(format!(
                    "{url} redirected to an invalid location `{location}`: {e}"
                ))
            })?;
            warden_sdk::log::debug(&format!("{url} redirected ({status}) to {next}"));
            drop(response);
            url = next;
            redirects += 1;
            continue;
        }
        let content_type = header(&response, "content-type");
        let (bytes, truncated) = read_body(&url, response, max_bytes)?;
        return Ok(FetchOutput {
            url: url.to_string(),
            status,
            content_type,
            body: body_text(&bytes, truncated),
            truncated,
        });
    }
}

export_tools! {
    /// Fetches a URL with an HTTP GET request and returns the status, content type and
    /// body as text.
    ///
    /// Only http and https URLs; only hosts granted to this tool are reachable (another
    /// host gives a `denied` error naming it). Redirects are followed (at most 5). A
    /// non-2xx status is returned as is, not as an error. The body is cut at `max_bytes`
    /// (default 256 KiB, at most 8 MiB); `truncated` says when it was.
    "fetch" => fetch,
}
