//! Sending a guest's HTTP request to exactly the address the policy
//! checked.
//!
//! The `wasi:http` send hook (`net.rs`) resolves the request's host and
//! checks every address against the grant. The request must then go to
//! that address and no other: a connector that resolved the name again
//! would open a window in which DNS could answer differently (DNS
//! rebinding) and reach loopback, link-local or private addresses the check
//! refused. [`send`] therefore connects to the given [`SocketAddr`] and, for
//! HTTPS, verifies the server's certificate for the URL's host name (SNI and
//! name check), never for the address.
//!
//! Responses to a component granted secrets are scrubbed on the way back:
//! a header value carrying a secret (or a common encoding of one) becomes
//! `[REDACTED]`, and so does every occurrence in the body, found as it
//! streams (see [`Reflection`]).
//!
//! Trusted roots are the Mozilla set (`webpki-roots`) plus, when the
//! environment names one, the PEM certificates in `WARDEN_CA_FILE` (a
//! corporate CA, or a test CA).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions};

use crate::secret::{REDACTED, Reflection, StreamScrub};

/// The environment variable naming extra trusted roots (a PEM file).
pub const CA_FILE_ENV: &str = "WARDEN_CA_FILE";

/// Where a checked request goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// The address the policy allowed; the only one connected to.
    pub addr: SocketAddr,
    /// The URL's host (a name or an IP literal, without brackets): the TLS
    /// server name the certificate must match.
    pub host: String,
    /// Whether to speak TLS.
    pub https: bool,
}

/// A response body that fails when the server pauses longer than the
/// between-bytes timeout and, for a component granted secrets, has them
/// (and their encodings) replaced as it streams (see [`Reflection`]).
pub struct ResponseBody {
    incoming: hyper::body::Incoming,
    between_bytes: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    scrub: Option<StreamScrub>,
    /// A trailers frame that arrived while scrubbed bytes were still held
    /// back; passed on after them.
    held_trailers: Option<Frame<Bytes>>,
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if let Some(trailers) = self.held_trailers.take() {
            return Poll::Ready(Some(Ok(trailers)));
        }
        loop {
            match Pin::new(&mut self.incoming).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let next = tokio::time::Instant::now() + self.limit;
                    self.between_bytes.as_mut().reset(next);
                    let Some(scrub) = self.scrub.as_mut() else {
                        return Poll::Ready(Some(Ok(frame)));
                    };
                    match frame.into_data() {
                        Ok(data) => {
                            let out = scrub.push(&data);
                            if out.is_empty() {
                                continue;
                            }
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                        }
                        Err(other) => {
                            let rest = scrub.finish();
                            let other = scrub_trailers(other, scrub);
                            if rest.is_empty() {
                                return Poll::Ready(Some(Ok(other)));
                            }
                            self.held_trailers = Some(other);
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(rest)))));
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(Err(if e.is_timeout() {
                        Error::HttpResponseTimeout
                    } else {
                        Error::from(e)
                    })));
                }
                Poll::Ready(None) => {
                    let rest = self.scrub.as_mut().map(StreamScrub::finish);
                    return match rest {
                        Some(rest) if !rest.is_empty() => {
                            Poll::Ready(Some(Ok(Frame::data(Bytes::from(rest)))))
                        }
                        _ => Poll::Ready(None),
                    };
                }
                Poll::Pending => {
                    ready!(self.between_bytes.as_mut().poll(cx));
                    return Poll::Ready(Some(Err(Error::ConnectionReadTimeout)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held_trailers.is_none()
            && self.scrub.as_ref().is_none_or(|s| !s.has_pending())
            && self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.scrub {
            // Scrubbing may change the length.
            Some(_) => SizeHint::default(),
            None => self.incoming.size_hint(),
        }
    }
}

/// A trailers frame with every value that carries a secret replaced.
fn scrub_trailers(frame: Frame<Bytes>, scrub: &StreamScrub) -> Frame<Bytes> {
    match frame.into_trailers() {
        Ok(mut trailers) => {
            scrub_headers(&mut trailers, scrub.reflection());
            Frame::trailers(trailers)
        }
        Err(frame) => frame,
    }
}

/// Replaces the value of every header that carries a secret (or an
/// encoding of one) with `[REDACTED]`.
fn scrub_headers(headers: &mut http::HeaderMap, reflection: &Reflection) {
    for value in headers.values_mut() {
        if reflection.found_in(value.as_bytes()) {
            *value = http::HeaderValue::from_static(REDACTED);
        }
    }
}

/// The future that drives the connection after the response head arrived;
/// its error, if any, reaches the guest through the request's result.
pub type Driver = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// Sends `request` to `target.addr` (and nowhere else), over TLS for the
/// host name when `target.https`. Timeouts come from `options` (each
/// phase defaults to 600 s, as wasmtime's own sender does).
pub async fn send<B>(
    mut request: Request<B>,
    target: &Target,
    options: &RequestOptions,
) -> Result<(Response<ResponseBody>, Driver), Error>
where
    B: Body<Data = Bytes, Error = Error> + Send + 'static,
{
    let default = Duration::from_secs(600);
    let connect_timeout = options.connect_timeout.unwrap_or(default);
    let first_byte = options.first_byte_timeout.unwrap_or(default);
    let between_bytes = options.between_bytes_timeout.unwrap_or(default);

    // The secrets to keep out of the response, put there by the send hook.
    let reflection = request.extensions_mut().remove::<Arc<Reflection>>();

    let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(target.addr))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::Connect)?;
    let stream: Box<dyn Stream> = if target.https {
        let name = server_name(&target.host)?;
        let tls = tokio::time::timeout(
            connect_timeout,
            tokio_rustls::TlsConnector::from(client_config()).connect(name, tcp),
        )
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::Tls)?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::Builder::new().handshake::<_, B>(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;
    let mut connection = Some(Box::pin(connection));

    // Origin form: the request line carries only the path (the Host
    // header, set by wasmtime from the guest's authority, names the host).
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;

    // Drive the connection while waiting for the response head.
    let mut response = std::pin::pin!(tokio::time::timeout(
        first_byte,
        sender.send_request(request)
    ));
    let head = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = response.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        if let Some(conn) = connection.as_mut()
            && let Poll::Ready(done) = conn.as_mut().poll(cx)
        {
            connection = None;
            if let Err(e) = done {
                return Poll::Ready(Ok(Err(e)));
            }
            // The connection ended cleanly; the response may still be ready.
            return response.as_mut().poll(cx);
        }
        Poll::Pending
    })
    .await
    .map_err(|_| Error::ConnectionReadTimeout)?
    .map_err(Error::from)?;

    let mut head = head;
    if let Some(reflection) = &reflection {
        scrub_headers(head.headers_mut(), reflection);
        // The body may change length as it is scrubbed.
        head.headers_mut().remove(http::header::CONTENT_LENGTH);
    }
    let response = head.map(|incoming| ResponseBody {
        incoming,
        between_bytes: Box::pin(tokio::time::sleep(between_bytes)),
        limit: between_bytes,
        scrub: reflection.as_ref().map(Reflection::stream),
        held_trailers: None,
    });
    let driver: Driver = Box::pin(async move {
        match connection {
            None => Ok(()),
            Some(conn) => conn.await.map_err(|e| {
                if e.is_timeout() {
                    Error::HttpResponseTimeout
                } else {
                    Error::from(e)
                }
            }),
        }
    });
    Ok((response, driver))
}

/// A connection's byte stream: plain TCP or TLS over it.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// The TLS server name for `host`: an IP literal as an address, anything
/// else as a DNS name.
fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(ServerName::from(ip));
    }
    ServerName::try_from(bare.to_string()).map_err(|_| Error::HttpRequestUriInvalid)
}

/// The client configuration, built once per process: the Mozilla roots plus
/// those in `WARDEN_CA_FILE`.
fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            if let Some(path) = std::env::var_os(CA_FILE_ENV).filter(|p| !p.is_empty()) {
                add_pem_roots(&mut roots, std::path::Path::new(&path));
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                // Not input-dependent: ring implements every default version.
                .expect("the ring provider supports TLS 1.2 and 1.3")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// Reads the PEM certificates in `path` into `roots`, logging what it could
/// not use (a bad file must not silently widen or break trust: it adds
/// nothing).
fn add_pem_roots(roots: &mut rustls::RootCertStore, path: &std::path::Path) {
    let certs = match rustls::pki_types::CertificateDer::pem_file_iter(path) {
        Ok(certs) => certs,
        Err(e) => {
            tracing::error!(
                "{CA_FILE_ENV}={}: cannot read the certificates ({e}); no extra roots added",
                path.display()
            );
            return;
        }
    };
    let mut added = 0;
    for cert in certs {
        match cert
            .map_err(|e| e.to_string())
            .and_then(|c| roots.add(c).map_err(|e| e.to_string()))
        {
            Ok(()) => added += 1,
            Err(e) => tracing::error!(
                "{CA_FILE_ENV}={}: skipping a certificate ({e})",
                path.display()
            ),
        }
    }
    tracing::debug!(
        "{CA_FILE_ENV}: {added} extra root(s) from {}",
        path.display()
    );
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use http_body_util::{BodyExt, Empty};

    use super::*;

    /// A one-request HTTP server on 127.0.0.1 that reports the request it
    /// received.
    fn one_shot_server() -> (SocketAddr, std::sync::mpsc::Receiver<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Ok((mut tcp, _)) = listener.accept() else {
                return;
            };
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match tcp.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tcp
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = tx.send(String::from_utf8_lossy(&seen).into_owned());
        });
        (addr, rx)
    }

    #[tokio::test]
    async fn connects_to_the_checked_address_never_to_what_the_name_resolves_to() {
        let (checked, seen) = one_shot_server();
        // The URL names a port where nothing listens: had the sender
        // resolved `localhost` and used the URL's port, it would fail.
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let request = Request::get(format!("http://localhost:{dead}/path?q=1"))
            .header(http::header::HOST, format!("localhost:{dead}"))
            .body(Empty::<Bytes>::new().map_err(|never| match never {}))
            .expect("request");
        let target = Target {
            addr: checked,
            host: "localhost".into(),
            https: false,
        };
        let (response, driver) = send(request, &target, &RequestOptions::default())
            .await
            .expect("sent to the checked address");
        assert_eq!(response.status(), 200);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(&body[..], b"ok");
        driver.await.expect("the connection ends cleanly");
        let seen = seen.recv().expect("the server saw the request");
        // Origin form on the request line; the Host header names the host.
        assert!(seen.starts_with("GET /path?q=1 HTTP/1.1\r\n"), "{seen}");
        assert!(
            seen.to_ascii_lowercase()
                .contains(&format!("host: localhost:{dead}\r\n")),
            "{seen}"
        );
    }

    #[test]
    fn tls_names_are_the_urls_host_never_the_address() {
        assert_eq!(
            server_name("api.example.com").expect("name"),
            ServerName::try_from("api.example.com").expect("name")
        );
        assert_eq!(
            server_name("[::1]").expect("ip"),
            ServerName::from("::1".parse::<std::net::IpAddr>().expect("ip"))
        );
        assert_eq!(
            server_name("10.0.0.1").expect("ip"),
            ServerName::from("10.0.0.1".parse::<std::net::IpAddr>().expect("ip"))
        );
        assert!(server_name("not a name!").is_err());
    }
}
