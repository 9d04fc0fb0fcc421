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
//!
//! [servers.remote]
//! url = "https://mcp.example.com/mcp"   # a streamable HTTP server
//! # the secrets it needs, each sent by warden in its header
//! secrets = [{ name = "API_KEY", header = "x-api-key" }]
//! ```
//!
//! A URL is a network capability like a component's: the grant of
//! `server:NAME` must allow its scheme, host and port, the address it
//! connects to is checked (special ranges only by IP), secrets granted for
//! that host are injected by warden, and an org policy can forbid remote
//! servers or allow only listed ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The servers file's name in warden's home.
pub const FILE_NAME: &str = "servers.toml";

/// How one MCP server is reached and which of its tools may be used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerDecl {
    /// The command that starts a stdio server: program, then arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The URL of a streamable HTTP server (instead of a command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The working directory, relative to the first granted directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Only these tools may be listed and called (default: every tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// These tools may never be listed or called.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
    /// The secrets a streamable HTTP server needs: each must be granted to
    /// `server:NAME` for the server's URL, or nothing is connected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<ServerSecret>,
}

/// A secret a streamable HTTP server needs, and the header warden sends it
/// in (the value never leaves the host otherwise; see [`crate::secret`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSecret {
    /// The secret's name, as granted (`--secret NAME@URL`).
    pub name: String,
    /// The request header it is sent in (default `authorization`).
    #[serde(default = "default_secret_header")]
    pub header: String,
    /// The header's value, `{}` standing for the secret (default
    /// `Bearer {}` in `authorization`, `{}` in any other header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

fn default_secret_header() -> String {
    "authorization".into()
}

/// Headers warden itself sets on a request to a server: a secret may not
/// replace them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

impl ServerSecret {
    /// A secret sent in `header` (`authorization` as `Bearer VALUE`,
    /// any other header as the bare value).
    pub fn new(name: &str, header: Option<&str>) -> ServerSecret {
        ServerSecret {
            name: name.to_string(),
            header: header.map_or_else(default_secret_header, str::to_ascii_lowercase),
            format: None,
        }
    }

    /// The header value's template, `{}` standing for the secret.
    pub fn value_format(&self) -> &str {
        match &self.format {
            Some(f) => f,
            None if self.header.eq_ignore_ascii_case("authorization") => "Bearer {}",
            None => "{}",
        }
    }

    /// Why it cannot be used, if it cannot.
    fn problem(&self) -> Option<String> {
        if !warden_policy::request::is_var_name(&self.name) {
            return Some(
                "a secret's name is letters, digits and `_`, not starting with a digit".into(),
            );
        }
        if http::HeaderName::try_from(self.header.as_str()).is_err() {
            return Some(format!("`{}` is not a header name", self.header));
        }
        if RESERVED_HEADERS
            .iter()
            .any(|h| self.header.eq_ignore_ascii_case(h))
        {
            return Some(format!("warden sets the `{}` header itself", self.header));
        }
        if !self.value_format().contains("{}") {
            return Some("its format has no `{}` for the value".into());
        }
        None
    }
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
    /// A declaration with no command (and no URL).
    #[error("server `{name}` has no command")]
    NoCommand {
        /// The name.
        name: String,
    },
    /// A declaration with both a command and a URL.
    #[error("server `{name}` has both a command and a URL; it is one or the other")]
    CommandAndUrl {
        /// The name.
        name: String,
    },
    /// A URL that is not an absolute `http://` or `https://` URL with a host.
    #[error("server `{name}` has an invalid URL `{url}`: {reason}")]
    Url {
        /// The name.
        name: String,
        /// As given.
        url: String,
        /// Why.
        reason: String,
    },
    /// A secret a stdio server declares (it would get an env var instead),
    /// or one that cannot be sent.
    #[error("server `{name}` cannot be sent the secret `{secret}`: {reason}")]
    Secret {
        /// The server.
        name: String,
        /// The secret.
        secret: String,
        /// Why.
        reason: String,
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

    /// The servers an agent manifest declares (`[servers.NAME]` tables of
    /// `agent.toml` at `path`), each checked as in a servers file.
    pub fn from_tables(
        tables: &BTreeMap<String, warden_agent::manifest::ServerTable>,
        path: &Path,
    ) -> Result<ServersFile, ServersError> {
        let mut file = ServersFile::default();
        for (name, table) in tables {
            let decl: ServerDecl =
                table
                    .0
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| ServersError::Invalid {
                        path: path.to_path_buf(),
                        reason: format!("[servers.{name}]: {}", e.message().trim_end()),
                    })?;
            file.add(name, decl)?;
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
    for secret in &decl.secrets {
        let reason = match &decl.url {
            None => Some("only a server reached by URL is sent secrets".to_string()),
            Some(_) => secret.problem(),
        };
        if let Some(reason) = reason {
            return Err(ServersError::Secret {
                name: name.to_string(),
                secret: secret.name.clone(),
                reason,
            });
        }
    }
    if let Some(url) = &decl.url {
        if !decl.command.is_empty() {
            return Err(ServersError::CommandAndUrl {
                name: name.to_string(),
            });
        }
        return parse_url(url)
            .map(|_| ())
            .map_err(|reason| ServersError::Url {
                name: name.to_string(),
                url: url.clone(),
                reason,
            });
    }
    if decl.command.is_empty() || decl.command[0].is_empty() {
        return Err(ServersError::NoCommand {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// A server URL's parts, as the network check sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The host (a lower-case name, or an IP literal without brackets).
    pub host: String,
    /// The port (the scheme's default when the URL has none).
    pub port: u16,
}

/// Parses a server URL: absolute, `http` or `https`, with a host, without
/// user info.
pub fn parse_url(url: &str) -> Result<ServerUrl, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    let scheme = match uri.scheme_str() {
        Some("http") => "http",
        Some("https") => "https",
        Some(other) => return Err(format!("the scheme `{other}` is not http or https")),
        None => return Err("it is not an absolute URL (http://… or https://…)".into()),
    };
    let authority = uri.authority().ok_or("it has no host")?;
    if authority.as_str().contains('@') {
        return Err("user info in the URL is not allowed; grant a secret instead".into());
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host.is_empty() {
        return Err("it has no host".into());
    }
    let port = authority
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Ok(ServerUrl { scheme, host, port })
}
