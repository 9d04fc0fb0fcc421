//! MCP servers as tool sources: a stdio server is a subprocess warden
//! starts confined ([`crate::confine`]); a streamable HTTP server is a URL
//! reached only through the grant's network check (`http.rs`). Either way
//! warden talks to it with rmcp's client (`client.rs`).
//!
//! The client is compiled only with the library's `mcp-servers` feature
//! (the CLI turns it on); without it, [`crate::resolve`] refuses
//! `server:NAME` with [`crate::resolve::ResolveError::McpServersNotBuilt`]
//! and an [`McpServer`] built by hand fails every call with the same
//! explanation.

#[cfg(not(feature = "mcp-servers"))]
mod absent;
#[cfg(feature = "mcp-servers")]
mod client;
#[cfg(feature = "mcp-servers")]
mod http;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use warden_core::Digest;

use super::servers::{ServerDecl, subject_name};
use crate::admission::Admission;

#[cfg(not(feature = "mcp-servers"))]
use absent::State;
#[cfg(feature = "mcp-servers")]
use client::State;

/// The longest wait before a crashed server is started again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Whether this build of the library can reach MCP servers (the
/// `mcp-servers` feature).
pub const SUPPORTED: bool = cfg!(feature = "mcp-servers");

/// An MCP server, started (or connected to) on demand.
#[derive(Debug)]
pub struct McpServer {
    subject: String,
    decl: ServerDecl,
    digest: Digest,
    #[cfg_attr(not(feature = "mcp-servers"), allow(dead_code))]
    admission: Arc<Admission>,
    #[cfg_attr(not(feature = "mcp-servers"), allow(dead_code))]
    state: Mutex<State>,
}

impl McpServer {
    /// The server `name` as `decl` declares it.
    pub fn new(name: &str, decl: ServerDecl) -> McpServer {
        let text = toml::to_string(&decl).unwrap_or_default();
        McpServer {
            subject: subject_name(name),
            digest: Digest::of(text.as_bytes()),
            decl,
            admission: Arc::default(),
            state: Mutex::default(),
        }
    }

    /// Its policy name, `server:NAME`.
    pub fn name(&self) -> &str {
        &self.subject
    }

    /// The digest of its declaration.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Its declaration.
    pub fn declaration(&self) -> &ServerDecl {
        &self.decl
    }

    /// The command line that starts it, or its URL.
    pub fn origin(&self) -> String {
        match &self.decl.url {
            Some(url) => url.clone(),
            None => self.decl.command.join(" "),
        }
    }
}
