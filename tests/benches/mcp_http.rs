//! The streamable HTTP round trip of `warden mcp --http`: a minimal
//! keep-alive HTTP/1.1 client (one TCP connection, `POST /mcp` per call,
//! chunked or sized bodies, the JSON-RPC response taken from the SSE
//! `data:` line or the JSON body). Included by `suite.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// A `warden mcp --http` process and one keep-alive connection to it.
pub struct HttpMcp {
    child: Child,
    host: String,
    path: String,
    conn: BufReader<TcpStream>,
    session: Option<String>,
    next_id: u64,
}

impl HttpMcp {
    /// Starts `command` (which must print `http://HOST:PORT/PATH` on
    /// stderr), connects and initializes a session.
    pub fn start(mut command: Command) -> Result<HttpMcp, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let mut stderr = BufReader::new(child.stderr.take().ok_or("no stderr")?);
        let mut url = None;
        let mut line = String::new();
        while url.is_none() {
            line.clear();
            if stderr.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                let _ = child.kill();
                return Err("warden mcp --http printed no URL".into());
            }
            url = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("http://"))
                .map(str::to_string);
        }
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let url = url.unwrap_or_default();
        let (host, path) = url
            .split_once('/')
            .map(|(h, p)| (h.to_string(), format!("/{p}")))
            .ok_or("no path in the URL")?;
        let stream = TcpStream::connect(&host).map_err(|e| format!("connect {host}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut client = HttpMcp {
            child,
            host,
            path,
            conn: BufReader::new(stream),
            session: None,
            next_id: 1,
        };
        client.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "warden-bench-http", "version": "0" },
            }),
        )?;
        client.post(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))?;
        Ok(client)
    }

    /// POSTs one message; returns the response body (empty for 202).
    fn post(&mut self, message: &Value) -> Result<String, String> {
        let body = message.to_string();
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
            self.path,
            self.host,
            body.len()
        );
        if let Some(s) = &self.session {
            head.push_str(&format!(
                "Mcp-Session-Id: {s}\r\nMCP-Protocol-Version: 2025-06-18\r\n"
            ));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        let io = |e: std::io::Error| e.to_string();
        self.conn.get_mut().write_all(head.as_bytes()).map_err(io)?;
        let mut line = String::new();
        self.conn.read_line(&mut line).map_err(io)?;
        let status = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let (mut chunked, mut length) = (false, 0usize);
        loop {
            line.clear();
            if self.conn.read_line(&mut line).map_err(io)? == 0 {
                return Err("the server closed the connection".into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            let (k, v) = (k.to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "content-length" => length = v.parse().unwrap_or(0),
                "mcp-session-id" => self.session = Some(v.to_string()),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.conn.read_line(&mut line).map_err(io)?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(|e| e.to_string())?;
                let mut chunk = vec![0; size + 2];
                self.conn.read_exact(&mut chunk).map_err(io)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length, 0);
            self.conn.read_exact(&mut body).map_err(io)?;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        if !status.starts_with('2') {
            return Err(format!("HTTP {status}: {body}"));
        }
        Ok(body)
    }

    /// Sends a request and returns its result.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let body =
            self.post(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))?;
        let message = body
            .lines()
            .map(|l| l.strip_prefix("data:").unwrap_or(l).trim())
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|m| m["id"] == json!(id))
            .ok_or_else(|| format!("no response to `{method}` in {body}"))?;
        if let Some(error) = message.get("error") {
            return Err(format!("`{method}` failed: {error}"));
        }
        Ok(message["result"].clone())
    }

    /// Calls `tool`; an `isError` result is an error.
    pub fn call(&mut self, tool: &str, arguments: Value) -> Result<(), String> {
        let result = self.request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )?;
        if result["isError"] == json!(true) {
            return Err(format!("the `{tool}` call failed: {result}"));
        }
        Ok(())
    }
}

impl Drop for HttpMcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
