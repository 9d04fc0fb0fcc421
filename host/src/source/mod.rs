//! Tool sources: everything a tool can come from, behind one call path.
//!
//! A tool is provided by a sandboxed component ([`ToolComponent`]), by an
//! MCP server warden starts or connects to ([`McpServer`]), or by a native
//! command declared by a manifest ([`CommandTool`]). Whatever the kind,
//! [`Runtime::call_source`] is the only way to call one: the grant it is
//! given comes from [`crate::authorize`], the tool must be allowed by the
//! source's own allow/deny lists, a subprocess is started only through
//! [`crate::confine`], and the call is recorded by [`crate::record`] however
//! it ends (dropped unfinished included), exactly as a component's call.

pub mod command;
pub mod mcp;
pub mod servers;

use std::sync::Arc;

use serde::Serialize;
use warden_core::Digest;

use crate::bindings::{Capability, Denial, ToolSpec};
use crate::call::CallReport;
use crate::component::ToolComponent;
use crate::engine::Runtime;
use crate::error::CallError;
use crate::grant::Grant;

pub use command::CommandTool;
pub use mcp::McpServer;

/// What kind of thing provides a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A sandboxed WebAssembly component.
    Component,
    /// An MCP server (a stdio subprocess or a streamable HTTP URL).
    McpServer,
    /// A native command declared by a manifest.
    Command,
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceKind::Component => "component",
            SourceKind::McpServer => "mcp-server",
            SourceKind::Command => "command",
        })
    }
}

/// Something that provides tools, ready to be called.
#[derive(Debug, Clone)]
pub enum ToolSource {
    /// A compiled component.
    Component(ToolComponent),
    /// An MCP server.
    McpServer(Arc<McpServer>),
    /// A native command.
    Command(Arc<CommandTool>),
}

impl ToolSource {
    /// The name its calls are recorded under (e.g. `fs`,
    /// `server:everything`, `command:git-status`).
    pub fn name(&self) -> &str {
        match self {
            ToolSource::Component(c) => c.name(),
            ToolSource::McpServer(s) => s.name(),
            ToolSource::Command(c) => c.subject_name(),
        }
    }

    /// The digest its calls are recorded with: the component's bytes, or
    /// the server's or command's declaration.
    pub fn digest(&self) -> &Digest {
        match self {
            ToolSource::Component(c) => &c.digest,
            ToolSource::McpServer(s) => s.digest(),
            ToolSource::Command(c) => c.digest(),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> SourceKind {
        match self {
            ToolSource::Component(_) => SourceKind::Component,
            ToolSource::McpServer(_) => SourceKind::McpServer,
            ToolSource::Command(_) => SourceKind::Command,
        }
    }

    /// Where it comes from: the component's digest, the server's command
    /// line or URL, the command's program and argv template.
    pub fn origin(&self) -> String {
        match self {
            ToolSource::Component(c) => c.digest.to_string(),
            ToolSource::McpServer(s) => s.origin(),
            ToolSource::Command(c) => c.origin(),
        }
    }
}

/// A tool as listed, whatever its source.
#[derive(Debug, Clone, Serialize)]
pub struct ListedTool {
    /// The tool's name within its source.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON schema of its input.
    pub input_schema: serde_json::Value,
    /// The source's kind.
    pub kind: SourceKind,
    /// The source's name.
    pub source: String,
    /// Where the source comes from.
    pub origin: String,
    /// What a `warden:plugin@0.2.0` tool declares beyond its spec (title,
    /// output schema, destructive hint); empty for other tools.
    pub meta: crate::ToolMeta,
}

/// The denial of a tool its source's declaration does not allow.
pub(crate) fn tool_not_allowed(source: &str, tool: &str, why: &str) -> CallError {
    CallError::Denied {
        component: source.to_string(),
        denial: Denial {
            capability: Capability::Component,
            target: format!("{source}/{tool}"),
            reason: why.to_string(),
        },
    }
}

impl Runtime {
    /// Lists the tools of `source`, run under `grant` (a component in its
    /// sandbox, a server through its confined subprocess or URL). Tools its
    /// declaration does not allow are left out.
    pub async fn list_source(
        &self,
        source: &ToolSource,
        grant: &Grant,
    ) -> Result<Vec<ListedTool>, CallError> {
        let specs: Vec<(ToolSpec, crate::ToolMeta)> = match source {
            ToolSource::Component(c) => {
                let list = self.list_tools(c, grant).await?;
                list.tools.into_iter().zip(list.meta).collect()
            }
            ToolSource::McpServer(s) => s
                .list_tools(grant)
                .await?
                .into_iter()
                .map(|t| (t, crate::ToolMeta::default()))
                .collect(),
            ToolSource::Command(c) => vec![(c.spec(), crate::ToolMeta::default())],
        };
        Ok(specs
            .into_iter()
            .map(|(t, meta)| ListedTool {
                input_schema: serde_json::from_str(&t.input_schema)
                    .unwrap_or(serde_json::Value::Null),
                name: t.name,
                description: t.description,
                kind: source.kind(),
                source: source.name().to_string(),
                origin: source.origin(),
                meta,
            })
            .collect())
    }

    /// Calls tool `tool` of `source` with the JSON `input` under `grant`:
    /// the one call path for every kind. The call is recorded in the
    /// runtime's audit sink however it ends, also when dropped unfinished.
    pub fn call_source<'a>(
        &'a self,
        source: &'a ToolSource,
        tool: &'a str,
        input: &'a str,
        grant: &'a Grant,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<CallReport, CallError>> + Send + 'a>,
    > {
        self.call_source_reporting(source, tool, input, grant, None)
    }

    /// [`Runtime::call_source`], with the progress a `warden:plugin@0.2.0`
    /// component reports sent to `progress` (other sources report none).
    pub fn call_source_reporting<'a>(
        &'a self,
        source: &'a ToolSource,
        tool: &'a str,
        input: &'a str,
        grant: &'a Grant,
        progress: Option<crate::progress::ProgressSender>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<CallReport, CallError>> + Send + 'a>,
    > {
        match source {
            ToolSource::Component(c) => {
                Box::pin(self.call_tool_reporting(c, tool, input, grant, progress))
            }
            ToolSource::McpServer(s) => Box::pin(self.recorded(
                source.name(),
                source.digest(),
                tool,
                input,
                grant,
                s.call(tool, input, grant),
            )),
            ToolSource::Command(c) => Box::pin(self.recorded(
                source.name(),
                source.digest(),
                tool,
                input,
                grant,
                c.call(tool, input, grant),
            )),
        }
    }
}
