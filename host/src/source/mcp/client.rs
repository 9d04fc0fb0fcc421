//! rmcp's client for an [`McpServer`] (the `mcp-servers` feature).
//!
//! The server is started (or connected to) at its first use and kept for
//! the next calls under the same grant; a different grant restarts it (its
//! confinement and network policy are built from the grant). A call that
//! outlives the grant's wall clock kills a stdio server's process group
//! (and drops an HTTP connection); a server that exited (crashed, killed,
//! flooded) is started again at the next use, after a backoff that doubles
//! with each consecutive failure (up to [`MAX_BACKOFF`]). Every message
//! the server sends is bounded: one over the limit closes the connection
//! and kills the server.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rmcp::service::{RoleClient, RunningService, ServiceExt};
use tokio::io::{AsyncRead, ReadBuf};

use super::{MAX_BACKOFF, McpServer};
use crate::bindings::{ToolError, ToolSpec};
use crate::call::CallReport;
use crate::confine::{ConfinedChild, Confinement};
use crate::error::CallError;
use crate::grant::Grant;
use crate::source::tool_not_allowed;
use crate::usage::UsageLog;

const FIRST_BACKOFF: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub(super) struct State {
    running: Option<Running>,
    /// Consecutive starts that ended in a failure, and when the last ended.
    failures: u32,
    last_failure: Option<Instant>,
    /// How many times the server was started.
    starts: u64,
}

struct Running {
    client: RunningService<RoleClient, ()>,
    grant: Grant,
    /// Set when the server wrote a line over the limit (and was cut off).
    flooded: Arc<AtomicBool>,
    /// The line limit.
    line_limit: u64,
    /// What its calls used of the grant (a remote server's connections
    /// and secrets; nothing is observed of a stdio server).
    usage: UsageLog,
    // Dropped last: kills the process group (none for an HTTP server).
    child: Option<ConfinedChild>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("pid", &self.child.as_ref().and_then(ConfinedChild::id))
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// How many times it was started (a restart after a crash counts).
    pub async fn starts(&self) -> u64 {
        self.state.lock().await.starts
    }

    /// The process id of the running server, if it runs.
    pub async fn pid(&self) -> Option<u32> {
        self.state
            .lock()
            .await
            .running
            .as_ref()
            .and_then(|r| r.child.as_ref().and_then(ConfinedChild::id))
    }

    /// Its tools that its declaration allows, listed under `grant`.
    pub(crate) async fn list_tools(&self, grant: &Grant) -> Result<Vec<ToolSpec>, CallError> {
        let work = async {
            let mut state = self.state.lock().await;
            let peer = self.connect(&mut state, grant).await?.client.peer().clone();
            drop(state);
            let tools = peer
                .list_all_tools()
                .await
                .map_err(|e| self.failed_call(e.to_string()))?;
            Ok(tools
                .into_iter()
                .filter(|t| self.decl.refuses(&t.name).is_none())
                .map(|t| ToolSpec {
                    name: t.name.to_string(),
                    description: t.description.map(|d| d.to_string()).unwrap_or_default(),
                    input_schema: serde_json::Value::Object((*t.input_schema).clone()).to_string(),
                })
                .collect())
        };
        self.bounded(grant, work).await
    }

    /// Calls `tool` (the record step is the caller's:
    /// [`crate::Runtime::call_source`]).
    pub(crate) async fn call(
        &self,
        tool: &str,
        input: &str,
        grant: &Grant,
    ) -> Result<CallReport, CallError> {
        if let Some(why) = self.decl.refuses(tool) {
            return Err(tool_not_allowed(&self.subject, tool, why));
        }
        let arguments = match serde_json::from_str(input) {
            Ok(serde_json::Value::Object(o)) => o,
            _ => {
                return Err(CallError::Tool {
                    component: self.subject.clone(),
                    tool: tool.to_string(),
                    error: ToolError::InvalidInput("the input must be a JSON object".into()),
                });
            }
        };
        let _ticket = self.admission.admit(&self.subject, &grant.limits)?;
        let started = Instant::now();
        let work = async {
            let mut state = self.state.lock().await;
            let running = self.connect(&mut state, grant).await?;
            let peer = running.client.peer().clone();
            let (flooded, limit) = (running.flooded.clone(), running.line_limit);
            let usage = running.usage.clone();
            drop(state);
            let params =
                rmcp::model::CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
            let result = peer.call_tool(params).await.map_err(|e| {
                if flooded.load(Ordering::Relaxed) {
                    CallError::InvalidOutput {
                        component: self.subject.clone(),
                        reason: format!(
                            "the server wrote a message over the limit of {} and was stopped",
                            crate::error::human_bytes(limit)
                        ),
                    }
                } else {
                    self.failed_call(e.to_string())
                }
            });
            result.map(|r| (r, usage.take()))
        };
        let (result, used) = self.bounded(grant, work).await?;
        let text = || {
            result
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect::<Vec<_>>()
                .join("\n")
        };
        if result.is_error == Some(true) {
            let mut message = text();
            truncate_tail(&mut message, grant.limits.max_output_bytes);
            return Err(CallError::Tool {
                component: self.subject.clone(),
                tool: tool.to_string(),
                error: ToolError::Failed(message),
            });
        }
        let output = match &result.structured_content {
            Some(v) => v.clone(),
            None => serde_json::json!({ "content": result.content }),
        };
        let size = output.to_string().len() as u64;
        if size > grant.limits.max_output_bytes {
            return Err(CallError::OutputTooLarge {
                component: self.subject.clone(),
                bytes: size,
                limit: grant.limits.max_output_bytes,
            });
        }
        let mut report = CallReport::of_subprocess(output, started.elapsed());
        report.used = used;
        Ok(report)
    }

    /// Runs `work` within the grant's wall clock; past it, the server is
    /// killed (it is restarted at the next use).
    async fn bounded<T>(
        &self,
        grant: &Grant,
        work: impl std::future::Future<Output = Result<T, CallError>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(grant.limits.timeout, work).await {
            Ok(Ok(v)) => Ok(v),
            // A flood cut the connection mid-message: what is left of it
            // cannot be trusted, so the server is started afresh.
            Ok(Err(e @ CallError::InvalidOutput { .. })) => {
                self.stop(true).await;
                Err(e)
            }
            Ok(Err(e)) => {
                self.stop_if_dead().await;
                Err(e)
            }
            Err(_) => {
                self.stop(true).await;
                Err(crate::call::timeout(&self.subject, grant))
            }
        }
    }

    /// Stops the server if its connection is closed (it exited).
    async fn stop_if_dead(&self) {
        let dead = {
            let state = self.state.lock().await;
            state
                .running
                .as_ref()
                .is_some_and(|r| r.client.is_transport_closed())
        };
        if dead {
            self.stop(true).await;
        }
    }

    /// Kills the server's process group; `failed` counts towards the
    /// backoff.
    async fn stop(&self, failed: bool) {
        let mut state = self.state.lock().await;
        if let Some(running) = state.running.take() {
            if let Some(child) = &running.child {
                child.kill_group();
            }
            drop(running);
        }
        if failed {
            state.failures = state.failures.saturating_add(1);
            state.last_failure = Some(Instant::now());
        }
    }

    fn failed_call(&self, reason: String) -> CallError {
        CallError::Instantiate {
            component: self.subject.clone(),
            reason: format!("the MCP server failed: {reason}"),
        }
    }

    /// The running server for `grant`, started (confined by it) if needed.
    async fn connect<'s>(
        &self,
        state: &'s mut State,
        grant: &Grant,
    ) -> Result<&'s Running, CallError> {
        let reusable = state
            .running
            .as_ref()
            .is_some_and(|r| &r.grant == grant && !r.client.is_transport_closed());
        if !reusable {
            if let Some(old) = state.running.take() {
                let crashed = old.client.is_transport_closed();
                drop(old);
                if crashed {
                    state.failures = state.failures.saturating_add(1);
                    state.last_failure = Some(Instant::now());
                }
            }
            if let (Some(last), n) = (state.last_failure, state.failures)
                && n > 0
            {
                let backoff = FIRST_BACKOFF
                    .saturating_mul(1 << n.min(8).saturating_sub(1))
                    .min(MAX_BACKOFF);
                let wait = backoff.saturating_sub(last.elapsed());
                tokio::time::sleep(wait).await;
            }
            let running = self.start(grant).await?;
            state.starts += 1;
            state.failures = 0;
            state.running = Some(running);
        }
        state
            .running
            .as_ref()
            .ok_or_else(|| self.failed_call("not running".into()))
    }

    async fn start(&self, grant: &Grant) -> Result<Running, CallError> {
        if let Some(url) = &self.decl.url {
            let flooded = Arc::new(AtomicBool::new(false));
            let line_limit = message_limit(grant);
            let usage = UsageLog::new(grant);
            let transport = super::http::transport(
                &self.subject,
                url,
                &self.decl.secrets,
                grant,
                line_limit,
                &flooded,
                &usage,
            )
            .await?;
            let client = ()
                .serve(transport)
                .await
                .map_err(|e| self.failed_call(format!("the MCP handshake failed: {e}")))?;
            return Ok(Running {
                client,
                grant: grant.clone(),
                flooded,
                line_limit,
                usage,
                child: None,
            });
        }
        let (program, args) = self
            .decl
            .command
            .split_first()
            .ok_or_else(|| self.failed_call("no command".into()))?;
        let confinement = Confinement::from_grant(
            &self.subject,
            program,
            args,
            self.decl.cwd.as_deref(),
            grant,
            None,
        )
        .map_err(|e| crate::source::command::confine_error(&self.subject, e))?;
        let mut child = confinement
            .spawn(grant.confinement)
            .map_err(|e| crate::source::command::confine_error(&self.subject, e))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(self.failed_call("its pipes are missing".into()));
        };
        // What it writes on stderr is drained (bounded) so it never blocks.
        tokio::spawn(crate::confine::tail(Some(stderr), 16 * 1024));
        let line_limit = message_limit(grant);
        let flooded = Arc::new(AtomicBool::new(false));
        let stdout = LineLimit {
            inner: stdout,
            limit: line_limit,
            line: 0,
            flooded: flooded.clone(),
        };
        let client = ()
            .serve((stdout, stdin))
            .await
            .map_err(|e| self.failed_call(format!("the MCP handshake failed: {e}")))?;
        Ok(Running {
            client,
            grant: grant.clone(),
            flooded,
            line_limit,
            usage: UsageLog::default(),
            child: Some(child),
        })
    }
}

/// The longest message a server may send under `grant`: twice the output
/// cap (JSON escaping) and room for the envelope.
fn message_limit(grant: &Grant) -> u64 {
    grant
        .limits
        .max_output_bytes
        .saturating_mul(2)
        .saturating_add(64 * 1024)
}

/// Cuts `text` to its last `max` bytes (at a character boundary).
fn truncate_tail(text: &mut String, max: u64) {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if text.len() > max {
        let mut cut = text.len() - max;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text.drain(..cut);
    }
}

/// A reader that fails once a line is longer than its limit, so a server
/// that floods its stdout is cut off instead of filling memory.
struct LineLimit<R> {
    inner: R,
    limit: u64,
    line: u64,
    flooded: Arc<AtomicBool>,
}

impl<R: AsyncRead + Unpin> AsyncRead for LineLimit<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let fresh = &buf.filled()[before..];
            let mut line = self.line;
            for b in fresh {
                line = if *b == b'\n' { 0 } else { line + 1 };
                if line > self.limit {
                    self.flooded.store(true, Ordering::Relaxed);
                    return Poll::Ready(Err(std::io::Error::other(format!(
                        "the server wrote a message over {} bytes",
                        self.limit
                    ))));
                }
            }
            self.line = line;
        }
        poll
    }
}
