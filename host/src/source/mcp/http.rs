//! Streamable HTTP MCP servers, reached exactly as a component's outbound
//! HTTP is: the URL's scheme, host and port must be granted
//! ([`NetworkPolicy::check_url`]), the name is resolved once and the
//! address connected to is checked (special ranges only when granted by
//! IP, deny rules win: [`NetworkPolicy::resolve_checked`]), every request
//! goes to that address and no other ([`crate::outbound::send`], which
//! verifies TLS for the name), secrets granted for the host are injected
//! by warden and scrubbed from what comes back
//! ([`NetworkPolicy::inject_secrets`]). An org policy's
//! `[remote-servers]` is checked first: a URL it does not list is refused
//! before anything is resolved or connected, and so is a server whose
//! declared secrets the grant does not give for its URL. Every response is
//! bounded: a body or event stream over the limit fails the request and
//! marks the server flooded. The standing event stream (the spec's optional
//! `GET`) goes through the same check and address; each of its events is
//! bounded by the same limit, and rmcp reopens it at most
//! `STANDING_REOPENS` times in a row. Redirects are never followed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
    StreamableHttpPostResponse,
};
use sse_stream::{Error as SseError, Sse, SseStream};
use wasmtime_wasi_http::RequestOptions;

use crate::error::CallError;
use crate::grant::Grant;
use crate::net::{DenialLog, NetworkPolicy};
use crate::outbound::Target;
use crate::secret::SecretGrant;
use crate::source::servers::{ServerSecret, ServerUrl, parse_url};
use crate::usage::UsageLog;

const SESSION_HEADER: &str = "mcp-session-id";
const LAST_EVENT_HEADER: &str = "last-event-id";
const JSON: &str = "application/json";
/// How long the standing event stream may stay silent before warden
/// drops it (and rmcp opens it again).
const STANDING_IDLE: std::time::Duration = std::time::Duration::from_secs(300);
/// How many times the standing stream is reopened in a row.
const STANDING_REOPENS: usize = 3;
const EVENT_STREAM: &str = "text/event-stream";

/// Why a request to the server failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum HttpError {
    /// Sending it or reading the answer failed.
    #[error("{0}")]
    Send(#[from] wasmtime_wasi_http::Error),
    /// The request could not be built.
    #[error("{0}")]
    Build(#[from] http::Error),
    /// The message could not be encoded.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The answer is over the limit.
    #[error("the server sent a response over {0} bytes")]
    TooLarge(u64),
}

/// rmcp's HTTP client, over warden's checked connection.
#[derive(Clone)]
pub(super) struct GuardedHttp {
    target: Target,
    url: ServerUrl,
    authority: HeaderValue,
    policy: NetworkPolicy,
    options: RequestOptions,
    limit: u64,
    flooded: Arc<AtomicBool>,
}

/// The transport to the server at `url` under `grant`: refused (a
/// [`CallError::Denied`], nothing connected) unless the grant allows the
/// URL and the address its host resolves to.
pub(super) async fn transport(
    subject: &str,
    url: &str,
    declared: &[ServerSecret],
    grant: &Grant,
    limit: u64,
    flooded: &Arc<AtomicBool>,
    usage: &UsageLog,
) -> Result<StreamableHttpClientTransport<GuardedHttp>, CallError> {
    let parsed = parse_url(url).map_err(|reason| CallError::Instantiate {
        component: subject.to_string(),
        reason: format!("invalid server URL `{url}`: {reason}"),
    })?;
    if let Some(org) = &grant.remote_servers
        && !org.permits(url)
    {
        return Err(CallError::Denied {
            component: subject.to_string(),
            denial: crate::bindings::Denial {
                capability: crate::bindings::Capability::Network,
                target: url.to_string(),
                reason: org.explain(),
            },
        });
    }
    let secrets = secrets_to_send(subject, &parsed, declared, &grant.secrets)?;
    let denials = DenialLog::default();
    let policy = NetworkPolicy::new(&grant.hosts, denials.clone(), grant.limits.timeout)
        .with_deny(&grant.deny_hosts)
        .with_secrets(&secrets)
        .with_usage(usage.clone());
    let denied = |denials: &DenialLog, fallback: String| {
        let denial = denials.take().pop();
        match denial {
            Some(denial) => CallError::Denied {
                component: subject.to_string(),
                denial,
            },
            None => CallError::Instantiate {
                component: subject.to_string(),
                reason: fallback,
            },
        }
    };
    if !policy.check_url(parsed.scheme, &parsed.host, parsed.port) {
        return Err(denied(&denials, format!("`{url}` is not granted")));
    }
    let addr = policy
        .resolve_checked(parsed.scheme, &parsed.host, parsed.port)
        .await
        .map_err(|e| denied(&denials, format!("cannot reach `{url}`: {e}")))?;
    let authority = url
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.authority().cloned())
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        .ok_or_else(|| CallError::Instantiate {
            component: subject.to_string(),
            reason: format!("invalid server URL `{url}`"),
        })?;
    let timeout = Some(grant.limits.timeout);
    let client = GuardedHttp {
        target: Target {
            addr,
            host: parsed.host.clone(),
            https: parsed.scheme == "https",
        },
        url: parsed,
        authority,
        policy,
        options: RequestOptions {
            connect_timeout: timeout,
            first_byte_timeout: timeout,
            between_bytes_timeout: timeout,
        },
        limit,
        flooded: flooded.clone(),
    };
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    config.max_sse_event_size = cap;
    config.max_json_response_size = cap;
    let mut reopen = rmcp::transport::common::client_side_sse::ExponentialBackoff::default();
    reopen.max_times = Some(STANDING_REOPENS);
    reopen.max_delay = Some(super::MAX_BACKOFF);
    config.retry_config = Arc::new(reopen);
    Ok(StreamableHttpClientTransport::with_client(client, config))
}

type ClientError = StreamableHttpError<HttpError>;

/// The grant's secrets, each declared one sent in its declared header: a
/// declared secret the grant does not give for the server's scheme, host
/// and port is a [`CallError::Denied`] naming it (target `NAME@ORIGIN`,
/// the form that grants it), before anything is resolved or connected.
fn secrets_to_send(
    subject: &str,
    url: &ServerUrl,
    declared: &[ServerSecret],
    granted: &[SecretGrant],
) -> Result<Vec<SecretGrant>, CallError> {
    let mut secrets = granted.to_vec();
    for wanted in declared {
        let given = secrets
            .iter_mut()
            .find(|s| s.name == wanted.name && s.applies_to(url.scheme, &url.host, url.port));
        let Some(given) = given else {
            let host = if url.host.contains(':') {
                format!("[{}]", url.host)
            } else {
                url.host.clone()
            };
            let origin = format!("{}://{host}:{}", url.scheme, url.port);
            return Err(CallError::Denied {
                component: subject.to_string(),
                denial: crate::bindings::Denial {
                    capability: crate::bindings::Capability::Secret,
                    target: format!("{}@{origin}", wanted.name),
                    reason: format!(
                        "the server needs the secret `{}` and it is not granted for {origin}",
                        wanted.name
                    ),
                },
            });
        };
        given.header = wanted.header.to_ascii_lowercase();
        given.format = wanted.value_format().to_string();
    }
    Ok(secrets)
}

impl GuardedHttp {
    /// Sends `request` to the checked address, with the granted secrets.
    async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
    ) -> Result<http::Response<crate::outbound::ResponseBody>, ClientError> {
        self.prepare(&mut request)?;
        let request = request.map(|b| b.map_err(|e| match e {}));
        let (response, driver) = crate::outbound::send(request, &self.target, &self.options)
            .await
            .map_err(|e| StreamableHttpError::Client(HttpError::Send(e)))?;
        tokio::spawn(driver);
        Ok(response)
    }

    /// Checks the request's destination again (noting the use, for
    /// `warden policy suggest`), names the host and adds the secrets.
    fn prepare(&self, request: &mut Request<Full<Bytes>>) -> Result<(), ClientError> {
        let (scheme, host, port) = (self.url.scheme, &self.url.host, self.url.port);
        if !self.policy.check_url(scheme, host, port) {
            return Err(StreamableHttpError::Client(HttpError::Send(
                wasmtime_wasi_http::Error::HttpRequestDenied,
            )));
        }
        request
            .headers_mut()
            .insert(http::header::HOST, self.authority.clone());
        self.policy.inject_secrets(request, scheme, host, port);
        Ok(())
    }

    /// Sends the standing GET: bounded while it connects and until its
    /// head arrives, then open for as long as the session lives (idle is
    /// normal for it).
    async fn send_standing(
        &self,
        mut request: Request<Full<Bytes>>,
    ) -> Result<http::Response<crate::outbound::ResponseBody>, ClientError> {
        self.prepare(&mut request)?;
        let request = request.map(|b| b.map_err(|e| match e {}));
        let options = RequestOptions {
            between_bytes_timeout: Some(STANDING_IDLE),
            ..self.options
        };
        let (response, driver) = crate::outbound::send(request, &self.target, &options)
            .await
            .map_err(|e| StreamableHttpError::Client(HttpError::Send(e)))?;
        tokio::spawn(driver);
        Ok(response)
    }

    /// Reads a body, failing past the limit.
    async fn read(&self, body: crate::outbound::ResponseBody) -> Result<Vec<u8>, ClientError> {
        let mut body = std::pin::pin!(body);
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| StreamableHttpError::Client(HttpError::Send(e)))?;
            if let Ok(data) = frame.into_data() {
                if (bytes.len() + data.len()) as u64 > self.limit {
                    self.flooded.store(true, Ordering::Relaxed);
                    return Err(StreamableHttpError::Client(HttpError::TooLarge(self.limit)));
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(bytes)
    }

    /// An event stream, failing once it carried more than the limit.
    fn events(
        &self,
        body: crate::outbound::ResponseBody,
    ) -> BoxStream<'static, Result<Sse, SseError>> {
        let limit = self.limit;
        let flooded = self.flooded.clone();
        let mut seen = 0u64;
        let bytes = body.into_data_stream().map(move |chunk| {
            let chunk = chunk.map_err(HttpError::Send)?;
            seen = seen.saturating_add(chunk.len() as u64);
            if seen > limit {
                flooded.store(true, Ordering::Relaxed);
                return Err(HttpError::TooLarge(limit));
            }
            Ok(chunk)
        });
        SseStream::from_bytes_stream(bytes).boxed()
    }

    fn request(
        &self,
        method: Method,
        uri: &str,
        session_id: Option<&str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> http::request::Builder {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(auth) = auth_header {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {auth}"));
        }
        for (name, value) in custom_headers {
            builder = builder.header(name, value);
        }
        if let Some(sid) = session_id {
            builder = builder.header(SESSION_HEADER, sid);
        }
        builder
    }
}

fn media_type_is(value: Option<&HeaderValue>, wanted: &str) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted))
}

impl StreamableHttpClient for GuardedHttp {
    type Error = HttpError;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, ClientError> {
        let body = serde_json::to_vec(&message)
            .map_err(|e| StreamableHttpError::Client(HttpError::Json(e)))?;
        let request = self
            .request(
                Method::POST,
                &uri,
                session_id.as_deref(),
                auth_header,
                custom_headers,
            )
            .header(http::header::CONTENT_TYPE, JSON)
            .header(http::header::ACCEPT, format!("{EVENT_STREAM}, {JSON}"))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| StreamableHttpError::Client(HttpError::Build(e)))?;
        let response = self.send(request).await?;
        let status = response.status();
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        let content_type = response.headers().get(http::header::CONTENT_TYPE).cloned();
        let session = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let awaits_nothing = !matches!(message, ClientJsonRpcMessage::Request(_));
        if !status.is_success() {
            let body = self.read(response.into_body()).await.unwrap_or_default();
            if media_type_is(content_type.as_ref(), JSON)
                && let Ok(error) = serde_json::from_slice::<ServerJsonRpcMessage>(&body)
            {
                return Ok(StreamableHttpPostResponse::Json(error, session));
            }
            let text = String::from_utf8_lossy(&body[..body.len().min(1024)]).into_owned();
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("HTTP {status}: {text}"),
            )));
        }
        if media_type_is(content_type.as_ref(), EVENT_STREAM) {
            return Ok(StreamableHttpPostResponse::Sse(
                self.events(response.into_body()),
                session,
            ));
        }
        if media_type_is(content_type.as_ref(), JSON) {
            let body = self.read(response.into_body()).await?;
            return match serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
                Ok(parsed) => Ok(StreamableHttpPostResponse::Json(parsed, session)),
                Err(_) if awaits_nothing => Ok(StreamableHttpPostResponse::Accepted),
                Err(e) => Err(StreamableHttpError::Client(HttpError::Json(e))),
            };
        }
        if awaits_nothing {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        Err(StreamableHttpError::UnexpectedContentType(
            content_type.and_then(|v| v.to_str().ok().map(str::to_string)),
        ))
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), ClientError> {
        let request = self
            .request(
                Method::DELETE,
                &uri,
                Some(&session_id),
                auth_header,
                custom_headers,
            )
            .body(Full::new(Bytes::new()))
            .map_err(|e| StreamableHttpError::Client(HttpError::Build(e)))?;
        // Best effort: the session ends with the connection anyway.
        let _ = self.send(request).await;
        Ok(())
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, ClientError> {
        // The standing stream for server-initiated messages (the spec's
        // optional GET): rmcp opens it once the session exists and reopens
        // it (a bounded number of times) when it ends.
        let mut builder = self
            .request(
                Method::GET,
                &uri,
                session_id.as_deref(),
                auth_header,
                custom_headers,
            )
            .header(http::header::ACCEPT, EVENT_STREAM);
        if let Some(id) = last_event_id {
            builder = builder.header(LAST_EVENT_HEADER, id);
        }
        let request = builder
            .body(Full::new(Bytes::new()))
            .map_err(|e| StreamableHttpError::Client(HttpError::Build(e)))?;
        let response = self.send_standing(request).await?;
        let status = response.status();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if !status.is_success() {
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("HTTP {status} to the event stream request"),
            )));
        }
        let content_type = response.headers().get(http::header::CONTENT_TYPE);
        if !media_type_is(content_type, EVENT_STREAM) {
            return Err(StreamableHttpError::UnexpectedContentType(
                content_type.and_then(|v| v.to_str().ok().map(str::to_string)),
            ));
        }
        Ok(standing_events(response.into_body(), self.limit))
    }
}

/// The events of the standing stream, each bounded by `limit` bytes: the
/// stream lives as long as the session, so its total is not bounded (a
/// POST's is), but an event over the limit ends it.
fn standing_events(
    body: crate::outbound::ResponseBody,
    limit: u64,
) -> BoxStream<'static, Result<Sse, SseError>> {
    let mut event = EventSize::default();
    let bytes = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(HttpError::Send)?;
        if event.grows_past(&chunk, limit) {
            return Err(HttpError::TooLarge(limit));
        }
        Ok(chunk)
    });
    SseStream::from_bytes_stream(bytes).boxed()
}

/// The size of the event being read from a stream of chunks: an event
/// ends at an empty line (`\n\n`, `\r` ignored; a server ending lines
/// with a bare `\r` only is cut at the limit, never let through).
#[derive(Debug, Default)]
struct EventSize {
    bytes: u64,
    after_newline: bool,
}

impl EventSize {
    /// Counts `chunk`; true once an event is longer than `limit`.
    fn grows_past(&mut self, chunk: &[u8], limit: u64) -> bool {
        for &b in chunk {
            match b {
                b'\r' => {}
                b'\n' if self.after_newline => {
                    self.bytes = 0;
                    self.after_newline = false;
                    continue;
                }
                b'\n' => self.after_newline = true,
                _ => self.after_newline = false,
            }
            self.bytes += 1;
            if self.bytes > limit {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::EventSize;

    #[test]
    fn an_event_is_bounded_and_the_count_restarts_at_each_empty_line() {
        let mut size = EventSize::default();
        // Many small events: never over, however long the stream.
        for _ in 0..10_000 {
            assert!(!size.grows_past(b"data: {\"n\": 1}\n\n", 32));
        }
        // CRLF line ends end events too, also split across chunks.
        for _ in 0..1_000 {
            assert!(!size.grows_past(b"data: 12345678901234567890\r\n", 32));
            assert!(!size.grows_past(b"\r\n", 32));
        }
        // One event of 40 bytes, in chunks of 8, is over 32.
        let over = (0..5).any(|_| size.grows_past(b"data: xx", 32));
        assert!(over);
        // A stream that never ends its line is cut.
        let mut endless = EventSize::default();
        assert!((0..100).any(|_| endless.grows_past(&[b'x'; 16], 1024)));
    }
}
