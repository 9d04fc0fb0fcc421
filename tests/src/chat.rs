//! A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for
//! end-to-end agent tests: the test decides every reply (tool calls, a
//! final answer, malformed JSON, a 500, a slow reply, a truncated body) and
//! can read back every request the provider sent.
//!
//! It speaks just enough HTTP/1.1 for a client that sends one request per
//! connection with a `Content-Length` body, which is what the provider does.
//! `GET …/models` lists the models set with [`ChatServer::set_models`]
//! (`scripted` by default; none: 404), as warden's local-server probe expects.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// One reply of the server.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this JSON body.
    Json(Value),
    /// This status with this text body.
    Status(u16, String),
    /// 200 with this body, verbatim (e.g. malformed JSON).
    Raw(String),
    /// Waits, then sends the reply.
    Slow(Duration, Box<Reply>),
    /// 200 announcing a longer body than it sends, then closes.
    Truncated(String),
    /// 200 `text/event-stream`: each string written (and flushed) on its
    /// own, then the connection closed. Made with [`Reply::streamed`],
    /// [`Reply::sse_event`] and [`Reply::sse_text`].
    Sse(Vec<String>),
    /// Like [`Reply::Sse`], but the events after the first `before` wait
    /// until the [`Gate`] opens: the test opens it once it has seen what
    /// the first ones should have produced.
    GatedSse {
        /// The events sent at once.
        before: Vec<String>,
        /// What the rest wait for.
        gate: Gate,
        /// The events sent once the gate is open.
        after: Vec<String>,
    },
}

/// A gate the server waits at ([`Reply::GatedSse`]); clones share it.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Opens it for good.
    pub fn open(&self) {
        let (open, wake) = &*self.0;
        *open.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
    }

    /// Waits until it is open, at most `limit` (so a broken client fails
    /// the test instead of hanging it); whether it opened.
    pub fn wait(&self, limit: Duration) -> bool {
        let (open, wake) = &*self.0;
        let guard = open.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = wake
            .wait_timeout_while(guard, limit, |open| !*open)
            .unwrap_or_else(|p| p.into_inner());
        *guard
    }
}

impl Reply {
    /// A completion whose message calls `calls` (`(id, tool, arguments)`).
    pub fn tool_calls(calls: &[(&str, &str, Value)]) -> Reply {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, args)| {
                json!({"id": id, "type": "function",
                       "function": {"name": name, "arguments": args.to_string()}})
            })
            .collect();
        Reply::Json(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": null, "tool_calls": calls}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        }))
    }

    /// One SSE event carrying `chunk` (a `chat.completion.chunk`).
    pub fn sse_event(chunk: &Value) -> String {
        format!("data: {chunk}\n\n")
    }

    /// The SSE event of a chunk whose delta is the text `text`.
    pub fn sse_text(text: &str) -> String {
        Reply::sse_event(&json!({
            "object": "chat.completion.chunk", "model": "scripted",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
        }))
    }

    /// The events of a complete streamed answer made of `pieces`, as
    /// llama.cpp's server sends them: a role chunk, one chunk per piece,
    /// a `stop` chunk, the usage, `[DONE]`.
    pub fn streamed_events(pieces: &[&str]) -> Vec<String> {
        let mut events = vec![Reply::sse_event(&json!({
            "object": "chat.completion.chunk", "model": "scripted",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}]
        }))];
        events.extend(pieces.iter().map(|p| Reply::sse_text(p)));
        events.push(Reply::sse_event(&json!({
            "object": "chat.completion.chunk", "model": "scripted",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]
        })));
        events.push(Reply::sse_event(&json!({
            "object": "chat.completion.chunk", "model": "scripted", "choices": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": pieces.len()}
        })));
        events.push("data: [DONE]\n\n".to_string());
        events
    }

    /// A complete streamed answer made of `pieces`.
    pub fn streamed(pieces: &[&str]) -> Reply {
        Reply::Sse(Reply::streamed_events(pieces))
    }

    /// A completion with a final answer.
    pub fn answer(text: &str) -> Reply {
        Reply::Json(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        }))
    }
}

type Script = dyn Fn(usize, &Value) -> Reply + Send + Sync;

/// A running server; stops when dropped.
pub struct ChatServer {
    port: u16,
    requests: Arc<Mutex<Vec<Value>>>,
    headers: Arc<Mutex<Vec<String>>>,
    models: Arc<Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl ChatServer {
    /// Replies with `replies` in order, then with the last one forever.
    pub fn scripted(replies: Vec<Reply>) -> ChatServer {
        let replies = Arc::new(replies);
        ChatServer::start(move |i, _| {
            replies
                .get(i)
                .or(replies.last())
                .cloned()
                .unwrap_or_else(|| Reply::Status(500, "no script".into()))
        })
    }

    /// Replies with whatever `script(n, request)` says for the n-th request
    /// (counting from 0).
    pub fn start(script: impl Fn(usize, &Value) -> Reply + Send + Sync + 'static) -> ChatServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let headers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let models = Arc::new(Mutex::new(vec!["scripted".to_string()]));
        let script: Arc<Script> = Arc::new(script);
        let (r, h, s, m) = (
            requests.clone(),
            headers.clone(),
            stop.clone(),
            models.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (r, h, m, script) = (r.clone(), h.clone(), m.clone(), script.clone());
                std::thread::spawn(move || serve(stream, &r, &h, &m, &*script));
            }
        });
        ChatServer {
            port,
            requests,
            headers,
            models,
            stop,
        }
    }

    /// What `GET …/models` lists from now on; with none it answers 404,
    /// like a web server that is not a model server.
    pub fn set_models(&self, models: &[&str]) {
        *self.models.lock().unwrap_or_else(|p| p.into_inner()) =
            models.iter().map(|m| m.to_string()).collect();
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The base URL a provider is configured with (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Every request body received so far, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The `Authorization` header of every request (empty if none).
    pub fn authorizations(&self) -> Vec<String> {
        self.headers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    stream: TcpStream,
    requests: &Mutex<Vec<Value>>,
    headers: &Mutex<Vec<String>>,
    models: &Mutex<Vec<String>>,
    script: &Script,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut length = 0usize;
    let mut auth = String::new();
    let mut line = String::new();
    let mut request_line = None;
    // Request line, then headers.
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if request_line.is_none() {
            request_line = Some(trimmed.to_string());
            continue;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            if name.eq_ignore_ascii_case("authorization") {
                auth = value.trim().to_string();
            }
        }
    }
    if let Some(line) = &request_line
        && line.starts_with("GET ")
    {
        let listed = models.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let reply = if line.contains("/models") && !listed.is_empty() {
            let data: Vec<Value> = listed
                .iter()
                .map(|id| json!({"id": id, "object": "model", "owned_by": "test"}))
                .collect();
            Reply::Json(json!({"object": "list", "data": data}))
        } else {
            Reply::Status(404, "not found".into())
        };
        return respond(stream, reply);
    }
    let mut body = vec![0u8; length.min(64 << 20)];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let index = {
        let mut all = requests.lock().unwrap_or_else(|p| p.into_inner());
        all.push(request.clone());
        headers.lock().unwrap_or_else(|p| p.into_inner()).push(auth);
        all.len() - 1
    };
    respond(stream, script(index, &request));
}

/// Writes an event stream: the head, then each event flushed on its own;
/// between `before` and `after`, waits for `gate`.
fn respond_sse(mut stream: TcpStream, before: Vec<String>, gate: Option<(Gate, Vec<String>)>) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.flush();
    let send = |stream: &mut TcpStream, events: Vec<String>| {
        for event in events {
            let _ = stream.write_all(event.as_bytes());
            let _ = stream.flush();
        }
    };
    send(&mut stream, before);
    if let Some((gate, after)) = gate {
        if !gate.wait(Duration::from_secs(120)) {
            // Never opened: close mid-stream, which fails the run.
            return;
        }
        send(&mut stream, after);
    }
}

fn respond(mut stream: TcpStream, reply: Reply) {
    let (status, body, declared) = match reply {
        Reply::Sse(events) => return respond_sse(stream, events, None),
        Reply::GatedSse {
            before,
            gate,
            after,
        } => return respond_sse(stream, before, Some((gate, after))),
        Reply::Slow(wait, inner) => {
            std::thread::sleep(wait);
            return respond(stream, *inner);
        }
        Reply::Json(v) => (200, v.to_string(), None),
        Reply::Raw(text) => (200, text, None),
        Reply::Status(code, text) => (code, text, None),
        Reply::Truncated(text) => {
            let declared = text.len() + 1000;
            (200, text, Some(declared))
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        declared.unwrap_or(body.len())
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}
