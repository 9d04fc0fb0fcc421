//! Bounded capture of what a guest says: `log` calls, stdout and stderr.
//!
//! A guest never writes to the host's terminal. Everything it says goes into
//! a per-call [`LogCapture`] with a byte budget; past the budget lines are
//! dropped and counted, and writes still succeed (a chatty guest is not made
//! to fail, and cannot exhaust host memory).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use serde::Serialize;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::bindings::LogLevel;

/// Where a captured line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// The `warden:plugin/log` interface.
    Log,
    /// The guest's stdout.
    Stdout,
    /// The guest's stderr (where a Rust guest's panic message goes).
    Stderr,
}

/// One captured line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Where it came from.
    pub source: LogSource,
    /// Its level (`info` for stdout, `warn` for stderr).
    pub level: &'static str,
    /// The text, without a trailing newline.
    pub message: String,
}

/// The lines a guest produced during one call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CapturedLog {
    /// Lines kept, in order.
    pub lines: Vec<LogLine>,
    /// Bytes dropped because the budget was used up.
    pub dropped_bytes: u64,
}

#[derive(Debug, Default)]
struct Inner {
    log: CapturedLog,
    used: u64,
    budget: u64,
    partial_stdout: Vec<u8>,
    partial_stderr: Vec<u8>,
}

/// A per-call, bounded log buffer shared by the `log` import and the guest's
/// stdout and stderr.
#[derive(Debug, Clone)]
pub struct LogCapture(Arc<Mutex<Inner>>);

impl LogCapture {
    /// A capture that keeps at most `budget` bytes.
    pub fn new(budget: u64) -> LogCapture {
        LogCapture(Arc::new(Mutex::new(Inner {
            budget,
            ..Inner::default()
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-push; the
        // data is still a valid log.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a line from the `log` interface.
    pub fn push(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        self.lock().push(LogSource::Log, level, message);
    }

    fn write_stream(&self, source: LogSource, bytes: &[u8]) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let (partial, level) = match source {
            LogSource::Stderr => (&mut inner.partial_stderr, "warn"),
            _ => (&mut inner.partial_stdout, "info"),
        };
        // Bound the partial line too: a guest writing without newlines must
        // not grow it forever.
        let room = (inner.budget as usize).saturating_sub(partial.len());
        let take = bytes.len().min(room);
        partial.extend_from_slice(&bytes[..take]);
        let overflow = (bytes.len() - take) as u64;
        let mut lines = Vec::new();
        while let Some(pos) = partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = partial.drain(..=pos).collect();
            lines.push(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
        }
        inner.log.dropped_bytes += overflow;
        for line in lines {
            inner.push(source, level, &line);
        }
    }

    /// Takes the captured lines, flushing any unterminated stdout/stderr line.
    pub fn finish(&self) -> CapturedLog {
        let mut inner = self.lock();
        for source in [LogSource::Stdout, LogSource::Stderr] {
            let (partial, level) = match source {
                LogSource::Stderr => (std::mem::take(&mut inner.partial_stderr), "warn"),
                _ => (std::mem::take(&mut inner.partial_stdout), "info"),
            };
            if !partial.is_empty() {
                inner.push(source, level, &String::from_utf8_lossy(&partial));
            }
        }
        std::mem::take(&mut inner.log)
    }

    /// The guest's stderr so far (e.g. a panic message), for error reports.
    pub fn stderr_text(&self) -> String {
        let inner = self.lock();
        let mut text: Vec<&str> = inner
            .log
            .lines
            .iter()
            .filter(|l| l.source == LogSource::Stderr)
            .map(|l| l.message.as_str())
            .collect();
        let partial = String::from_utf8_lossy(&inner.partial_stderr).into_owned();
        if !partial.is_empty() {
            text.push(&partial);
            return text.join("\n");
        }
        text.join("\n")
    }

    /// A stdout or stderr stream for the guest that writes into this capture.
    pub fn stream(&self, source: LogSource) -> CaptureStream {
        CaptureStream {
            capture: self.clone(),
            source,
        }
    }
}

impl Inner {
    fn push(&mut self, source: LogSource, level: &'static str, message: &str) {
        let cost = message.len() as u64 + 1;
        if self.used + cost > self.budget {
            self.log.dropped_bytes += cost;
            return;
        }
        self.used += cost;
        self.log.lines.push(LogLine {
            source,
            level,
            message: message.to_string(),
        });
    }
}

/// The guest's stdout or stderr, captured. Writes always succeed.
#[derive(Debug, Clone)]
pub struct CaptureStream {
    capture: LogCapture,
    source: LogSource,
}

impl IsTerminal for CaptureStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CaptureStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CaptureStream {
    async fn ready(&mut self) {}
}

impl OutputStream for CaptureStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.capture.write_stream(self.source, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for CaptureStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.capture.write_stream(self.source, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_budget_are_dropped_and_counted() {
        let capture = LogCapture::new(10);
        capture.push(LogLevel::Info, "12345");
        capture.push(LogLevel::Info, "67890");
        let log = capture.finish();
        assert_eq!(log.lines.len(), 1);
        assert_eq!(log.lines[0].message, "12345");
        assert_eq!(log.dropped_bytes, 6);
    }

    #[test]
    fn stream_writes_are_split_into_lines_and_flushed_at_the_end() {
        let capture = LogCapture::new(1024);
        let mut err = capture.stream(LogSource::Stderr);
        OutputStream::write(
            &mut err,
            Bytes::from_static(b"panicked at src/lib.rs:3:\nboom"),
        )
        .expect("write");
        assert_eq!(capture.stderr_text(), "panicked at src/lib.rs:3:\nboom");
        let log = capture.finish();
        let messages: Vec<&str> = log.lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(messages, ["panicked at src/lib.rs:3:", "boom"]);
        assert!(log.lines.iter().all(|l| l.source == LogSource::Stderr));
    }

    #[test]
    fn a_guest_writing_without_newlines_is_bounded() {
        let capture = LogCapture::new(100);
        let mut out = capture.stream(LogSource::Stdout);
        for _ in 0..1000 {
            OutputStream::write(&mut out, Bytes::from_static(b"xxxxxxxxxx")).expect("write");
        }
        let log = capture.finish();
        let kept: usize = log.lines.iter().map(|l| l.message.len()).sum();
        assert!(kept <= 100, "kept {kept} bytes");
        assert!(log.dropped_bytes >= 9_900);
    }
}
