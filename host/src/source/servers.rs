//! The user's MCP servers: `servers.toml` in warden's home, written by
//! `warden server add|remove`, and `[servers.NAME]` tables of `agent.toml`
//! (same shape).
//!
//! ```toml
//! [servers.everything]
//! command = ["node", "/opt/mcp/server-everything/dist/index.js", "stdio"]
//! cwd = "."                 # inside the first granted directory (default)
//! allow = ["echo", "add"]   # only these tools (default: all)
//! deny = ["printEnv"]       # never these
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The servers file's name in warden's home.
pub const FILE_NAME: &str = "servers.toml";

/// How one MCP server is reached and which of its tools may be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerDecl {
    /// The command that starts a stdio server: program, then arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The working directory, relative to the first granted directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Only these tools may be listed and called (default: every tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// These tools may never be listed or called.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl ServerDecl {
    /// Why `tool` may not be used, if it may not.
    pub fn refuses(&self, tool: &str) -> Option<&'static str> {
        if self.deny.iter().any(|t| t == tool) {
            return Some("the server's declaration denies this tool");
        }
        match &self.allow {
            Some(allowed) if !allowed.iter().any(|t| t == tool) => {
                Some("the server's declaration does not allow this tool")
            }
            _ => None,
        }
    }
}

/// Why the servers file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ServersError {
    /// It cannot be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not valid.
    #[error("invalid {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A server name that cannot name a policy subject.
    #[error("invalid server name `{name}`: {reason}")]
    Name {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A declaration with no command.
    #[error("server `{name}` has no command")]
    NoCommand {
        /// The name.
        name: String,
    },
    /// No such server.
    #[error("there is no server `{name}`")]
    Unknown {
        /// The name.
        name: String,
    },
}

/// The servers declared in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServersFile {
    /// By name.
    #[serde(default)]
    pub servers: BTreeMap<String, ServerDecl>,
}

impl ServersFile {
    /// Reads `home`'s servers file (empty when there is none).
    pub fn load(home: &Path) -> Result<ServersFile, ServersError> {
        let path = home.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(ServersError::Io { path, source }),
        };
        let file: ServersFile = toml::from_str(&text).map_err(|e| ServersError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        for (name, decl) in &file.servers {
            check(name, decl)?;
        }
        Ok(file)
    }

    /// Writes it to `home` (temp file, fsync, rename).
    pub fn save(&self, home: &Path) -> Result<(), ServersError> {
        let path = home.join(FILE_NAME);
        let text = toml::to_string_pretty(self).map_err(|e| ServersError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        warden_core::fsutil::write_atomic(&path, text.as_bytes())
            .map_err(|source| ServersError::Io { path, source })
    }

    /// Adds (or replaces) server `name`.
    pub fn add(&mut self, name: &str, decl: ServerDecl) -> Result<(), ServersError> {
        check(name, &decl)?;
        self.servers.insert(name.to_string(), decl);
        Ok(())
    }

    /// Removes server `name`.
    pub fn remove(&mut self, name: &str) -> Result<ServerDecl, ServersError> {
        self.servers
            .remove(name)
            .ok_or_else(|| ServersError::Unknown {
                name: name.to_string(),
            })
    }
}

/// The policy name of server `name`: `server:NAME`.
pub fn subject_name(name: &str) -> String {
    format!("server:{name}")
}

fn check(name: &str, decl: &ServerDecl) -> Result<(), ServersError> {
    subject_name(name)
        .parse::<warden_core::name::PackageName>()
        .map_err(|e| ServersError::Name {
            name: name.to_string(),
            reason: e.reason,
        })?;
    if decl.command.is_empty() || decl.command[0].is_empty() {
        return Err(ServersError::NoCommand {
            name: name.to_string(),
        });
    }
    Ok(())
}
