//! One `POST` over `wasi:http`, with a bounded read of the reply and every
//! failure turned into a typed [`ModelError`] naming the URL.

use chat_wire::{
    Capability, Completion, Denial, Endpoint, MAX_RESPONSE_BYTES, ModelError, StreamAssembler,
    body_interrupted, too_large,
};
use wasi::clocks::monotonic_clock::Duration;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest, RequestOptions,
    Scheme, http_error_code,
};
use wasi::io::streams::StreamError;

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = 30_000_000_000;
/// How long to wait for the reply to start: a local model may take minutes
/// to read a long prompt.
const FIRST_BYTE_TIMEOUT: Duration = 600_000_000_000;
/// How long to wait between chunks of the reply.
const BETWEEN_BYTES_TIMEOUT: Duration = 120_000_000_000;
/// How much of an error reply is read (only its message is used).
const MAX_ERROR_BYTES: u64 = 64 * 1024;
/// The largest write `blocking-write-and-flush` accepts.
const WRITE_CHUNK: usize = 4096;
/// The `user-agent` sent with every request.
const USER_AGENT: &str = concat!("warden-openai-provider/", env!("CARGO_PKG_VERSION"));

/// What came back.
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `retry-after` header, if any.
    pub retry_after: Option<String>,
    /// The body: all of it for a 2xx reply (at most [`MAX_RESPONSE_BYTES`]),
    /// the first [`MAX_ERROR_BYTES`] otherwise.
    pub body: Vec<u8>,
}

/// Sends `body` (JSON) to `endpoint` and reads the whole reply.
pub fn post_json(endpoint: &Endpoint, body: &[u8]) -> Result<Reply, ModelError> {
    let response = send(endpoint, body, "application/json")?;
    read_reply(&endpoint.url, response)
}

/// What came back for a streamed request.
pub enum Streamed {
    /// A `text/event-stream` reply that ended (or broke) before its first
    /// event; how many bytes came.
    Nothing(u64),
    /// A `text/event-stream` reply, read to its end.
    Completion(Completion),
    /// Any other reply (an error status, or a server that ignored
    /// `"stream": true` and sent one JSON document), read whole.
    Reply(Reply),
}

/// Sends `body` (a streaming request) to `endpoint` and reads the event
/// stream as it arrives, handing each piece of text to `on_text`. At most
/// [`MAX_RESPONSE_BYTES`] of stream are read.
pub fn post_streaming(
    endpoint: &Endpoint,
    body: &[u8],
    fallback_model: &str,
    on_text: &mut dyn FnMut(&str),
) -> Result<Streamed, ModelError> {
    let url = endpoint.url.as_str();
    let response = send(endpoint, body, "text/event-stream, application/json")?;
    let event_stream = header(&response, "content-type").is_some_and(|t| {
        t.trim()
            .to_ascii_lowercase()
            .starts_with("text/event-stream")
    });
    if !(200..300).contains(&response.status()) || !event_stream {
        return read_reply(url, response).map(Streamed::Reply);
    }
    let unreadable =
        || ModelError::Unavailable(format!("the reply body from {url} could not be read"));
    let incoming = response.consume().map_err(|()| unreadable())?;
    let stream = incoming.stream().map_err(|()| unreadable())?;
    let mut assembler = StreamAssembler::new(url);
    let mut received: u64 = 0;
    loop {
        match stream.blocking_read(16 * 1024) {
            Ok(chunk) => {
                received += chunk.len() as u64;
                if received > MAX_RESPONSE_BYTES {
                    return Err(too_large(url, MAX_RESPONSE_BYTES));
                }
                assembler.feed(&chunk, on_text)?;
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(_)) if assembler.events() == 0 => {
                return Ok(Streamed::Nothing(received));
            }
            Err(StreamError::LastOperationFailed(e)) => {
                let cause = match http_error_code(&e) {
                    Some(code) => format!("{code:?}"),
                    None => e.to_debug_string(),
                };
                return Err(body_interrupted(
                    url,
                    usize::try_from(received).unwrap_or(usize::MAX),
                    &format!("{cause}; the streamed completion was cut and nothing of it was used"),
                ));
            }
        }
    }
    // Child resources go before their parents.
    drop(stream);
    drop(incoming);
    drop(response);
    if assembler.events() == 0 {
        return Ok(Streamed::Nothing(received));
    }
    assembler
        .finish(fallback_model, body.len(), on_text)
        .map(Streamed::Completion)
}

/// Sends `body` (JSON) to `endpoint`, asking for `accept`; the response
/// once its head has arrived.
fn send(endpoint: &Endpoint, body: &[u8], accept: &str) -> Result<IncomingResponse, ModelError> {
    let url = endpoint.url.as_str();
    let headers = Fields::new();
    let length = body.len().to_string();
    for (name, value) in [
        ("content-type", "application/json"),
        ("accept", accept),
        ("user-agent", USER_AGENT),
        ("content-length", length.as_str()),
    ] {
        // A host may reserve some headers; the request works without them.
        if let Err(e) = headers.append(name, value.as_bytes()) {
            warden_log_debug(&format!("the header `{name}` was not set: {e:?}"));
        }
    }
    let request = OutgoingRequest::new(headers);
    let refused = |what: &str| {
        ModelError::InvalidRequest(format!(
            "the {what} of {url} was refused by wasi:http; check WARDEN_MODEL_ENDPOINT"
        ))
    };
    request
        .set_method(&Method::Post)
        .map_err(|()| refused("method"))?;
    let scheme = if endpoint.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| refused("scheme"))?;
    request
        .set_authority(Some(&endpoint.authority))
        .map_err(|()| refused("host"))?;
    request
        .set_path_with_query(Some(&endpoint.path_with_query))
        .map_err(|()| refused("path"))?;
    let outgoing = request.body().map_err(|()| {
        ModelError::Unavailable(format!("could not open the request body for {url}"))
    })?;

    // Timeouts are advisory: a host that does not support one keeps its own.
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let _ = options.set_first_byte_timeout(Some(FIRST_BYTE_TIMEOUT));
    let _ = options.set_between_bytes_timeout(Some(BETWEEN_BYTES_TIMEOUT));

    // Send first, then stream the body, so a large body never waits on a
    // request that has not started.
    let future =
        outgoing_handler::handle(request, Some(options)).map_err(|e| http_error(endpoint, e))?;
    let sent = write_body(outgoing, body);
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(http_error(endpoint, e)),
        Some(Err(())) => {
            return Err(ModelError::Unavailable(format!(
                "the response from {url} was already taken"
            )));
        }
        None => {
            return Err(ModelError::Unavailable(format!(
                "the request to {url} did not complete"
            )));
        }
    };
    // The server answered; if writing the body failed, the answer explains
    // it better than the write error, unless it claims success.
    if let Err(cause) = sent
        && (200..300).contains(&response.status())
    {
        return Err(ModelError::Unavailable(format!(
            "sending the request body to {url} failed: {cause}"
        )));
    }
    Ok(response)
}

/// Reads a whole reply: all of a 2xx body (at most [`MAX_RESPONSE_BYTES`]),
/// the first [`MAX_ERROR_BYTES`] of another.
fn read_reply(url: &str, response: IncomingResponse) -> Result<Reply, ModelError> {
    let status = response.status();
    let retry_after = header(&response, "retry-after");
    let success = (200..300).contains(&status);
    let limit = if success {
        MAX_RESPONSE_BYTES
    } else {
        MAX_ERROR_BYTES
    };
    if success
        && let Some(length) = header(&response, "content-length")
        && length.trim().parse::<u64>().is_ok_and(|n| n > limit)
    {
        return Err(too_large(url, limit));
    }
    let body = read_body(url, response, limit, success)?;
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

/// Writes `body` and finishes the request; the error says what failed.
fn write_body(outgoing: OutgoingBody, body: &[u8]) -> Result<(), String> {
    let stream = outgoing
        .write()
        .map_err(|()| "the body stream could not be opened".to_string())?;
    for chunk in body.chunks(WRITE_CHUNK) {
        if let Err(e) = stream.blocking_write_and_flush(chunk) {
            return Err(match e {
                StreamError::Closed => "the connection was closed".to_string(),
                StreamError::LastOperationFailed(e) => e.to_debug_string(),
            });
        }
    }
    // The stream is a child of the body and goes first.
    drop(stream);
    OutgoingBody::finish(outgoing, None).map_err(|e| format!("{e:?}"))
}

/// The first value of the response header `name`, as text.
fn header(response: &IncomingResponse, name: &str) -> Option<String> {
    let headers = response.headers();
    let value = headers.get(name).into_iter().next();
    value.map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// Reads the body, up to `limit` bytes. Past the limit, a `strict` read
/// fails with `bad-response`; otherwise the body is cut.
fn read_body(
    url: &str,
    response: IncomingResponse,
    limit: u64,
    strict: bool,
) -> Result<Vec<u8>, ModelError> {
    let unreadable =
        || ModelError::Unavailable(format!("the reply body from {url} could not be read"));
    let body = response.consume().map_err(|()| unreadable())?;
    let stream = body.stream().map_err(|()| unreadable())?;
    let mut bytes = Vec::new();
    loop {
        // Ask for one byte past the limit to tell "exactly the limit" from "more".
        let want = (limit + 1)
            .saturating_sub(bytes.len() as u64)
            .min(64 * 1024);
        match stream.blocking_read(want) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > limit {
                    if strict {
                        return Err(too_large(url, limit));
                    }
                    bytes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                    break;
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                let cause = match http_error_code(&e) {
                    Some(code) => format!("{code:?}"),
                    None => e.to_debug_string(),
                };
                return Err(body_interrupted(url, bytes.len(), &cause));
            }
        }
    }
    // Child resources go before their parents.
    drop(stream);
    drop(body);
    drop(response);
    Ok(bytes)
}

/// Turns a `wasi:http` error for a request to `endpoint` into a model error.
fn http_error(endpoint: &Endpoint, err: ErrorCode) -> ModelError {
    let url = &endpoint.url;
    let target = &endpoint.target;
    let host = &endpoint.host;
    match err {
        ErrorCode::HttpRequestDenied => ModelError::Denied(Denial {
            capability: Capability::Network,
            target: target.clone(),
            reason: format!(
                "the model endpoint {url} is not in the provider's network grant; ask the user to grant `{host}`"
            ),
        }),
        ErrorCode::DestinationIpProhibited => ModelError::Denied(Denial {
            capability: Capability::Network,
            target: target.clone(),
            reason: format!(
                "connecting to the address of `{host}` ({url}) is prohibited by the sandbox"
            ),
        }),
        ErrorCode::DnsTimeout | ErrorCode::DnsError(_) | ErrorCode::DestinationNotFound => {
            ModelError::Unavailable(format!(
                "the host `{host}` of {url} could not be resolved ({err:?}); check WARDEN_MODEL_ENDPOINT"
            ))
        }
        ErrorCode::ConnectionRefused => ModelError::Unavailable(format!(
            "connection to {target} was refused: is the model server at {url} running?"
        )),
        ErrorCode::ConnectionTimeout => ModelError::Unavailable(format!(
            "connecting to {target} for {url} timed out; the server may be down or unreachable"
        )),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            ModelError::Unavailable(format!(
                "{url} accepted the request but did not answer in time"
            ))
        }
        ErrorCode::ConnectionTerminated | ErrorCode::HttpResponseIncomplete => {
            ModelError::Unavailable(format!(
                "{url} closed the connection before the reply was complete"
            ))
        }
        ErrorCode::DestinationUnavailable | ErrorCode::DestinationIpUnroutable => {
            ModelError::Unavailable(format!("{target} ({url}) is unreachable from here"))
        }
        ErrorCode::TlsCertificateError => ModelError::Unavailable(format!(
            "the TLS certificate of {target} was rejected (invalid, expired or for another host); requested {url}"
        )),
        ErrorCode::TlsProtocolError | ErrorCode::TlsAlertReceived(_) => ModelError::Unavailable(
            format!("the TLS handshake with {target} for {url} failed: {err:?}"),
        ),
        ErrorCode::HttpRequestUriInvalid | ErrorCode::HttpRequestUriTooLong => {
            ModelError::InvalidRequest(format!(
                "the URL {url} was refused as invalid ({err:?}); check WARDEN_MODEL_ENDPOINT"
            ))
        }
        ErrorCode::HttpRequestBodySize(_) => ModelError::InvalidRequest(format!(
            "the request to {url} is larger than the host allows ({err:?})"
        )),
        ErrorCode::HttpResponseBodySize(_)
        | ErrorCode::HttpResponseHeaderSectionSize(_)
        | ErrorCode::HttpResponseHeaderSize(_) => ModelError::BadResponse(format!(
            "the reply from {url} exceeds a size limit of the sandbox ({err:?})"
        )),
        other => ModelError::Unavailable(format!("the request to {url} failed: {other:?}")),
    }
}

/// Logs at debug level.
fn warden_log_debug(message: &str) {
    crate::log(crate::Level::Debug, message);
}
