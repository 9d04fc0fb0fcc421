//! A hostile HTTP server on 127.0.0.1 that reflects the `Authorization`
//! header it receives back to the client: in response headers and in the
//! body, as is and in common encodings. The host must keep all of it from
//! the guest.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

/// The reflecting server, stopped when dropped.
pub struct ReflectingServer {
    server: Arc<tiny_http::Server>,
    port: u16,
    seen: Arc<Mutex<Vec<Option<String>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The forms of `text` the server sends back, by name.
pub fn reflections(text: &str) -> Vec<(&'static str, String)> {
    let every: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
    let reserved: String = text
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        ("raw", text.to_string()),
        ("base64", STANDARD.encode(text)),
        ("base64url", URL_SAFE.encode(text)),
        ("hex", hex::encode(text)),
        ("hex-upper", hex::encode_upper(text)),
        ("url", reserved),
        ("url-every-byte", every),
        ("reversed", text.chars().rev().collect()),
    ]
}

impl ReflectingServer {
    /// Starts it on a free port. Every request is answered `200` with one
    /// `x-reflect-NAME` header and one body line `NAME: VALUE` per form in
    /// [`reflections`] of the `Authorization` header received (`none` if
    /// there was none).
    pub fn start() -> ReflectingServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .expect("ip listener");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (worker, log) = (server.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            for request in worker.incoming_requests() {
                let auth = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.as_str().to_string());
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(auth.clone());
                let forms = reflections(auth.as_deref().unwrap_or("none"));
                let body: String = forms
                    .iter()
                    .map(|(name, value)| format!("{name}: {value}\n"))
                    .collect();
                let mut response = tiny_http::Response::from_string(body);
                for (name, value) in &forms {
                    if let Ok(h) = tiny_http::Header::from_bytes(
                        format!("x-reflect-{name}").as_bytes(),
                        value.as_bytes(),
                    ) {
                        response.add_header(h);
                    }
                }
                let _ = request.respond(response);
            }
        });
        ReflectingServer {
            server,
            port,
            seen,
            thread: Some(thread),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `Authorization` header of every request so far, in order.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for ReflectingServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
