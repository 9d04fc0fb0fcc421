//! The *resolve* step of the call path: a name as a user, an agent or an
//! MCP client gives it becomes a tool source and the subject policy knows
//! it by.
//!
//! - `builtin:NAME` — a first-party component shipped with warden;
//! - a `.wasm`/`.wat` path — a component file (`file:STEM` for policy);
//! - `NAME[@RANGE]` — an installed package, verified against its signature;
//! - `server:NAME` — an MCP server of the user's `servers.toml`;
//! - `command:NAME` — a native command tool (built-in: `git_status`,
//!   `git_diff`, `git_log`, `run_tests`).
//!
//! Components come back as bytes to compile (through the artifact cache);
//! servers and commands ready to call. Either way the next step is the
//! same: [`crate::authorize`] for the subject, then
//! [`Runtime::call_source`](crate::Runtime::call_source).

use std::path::PathBuf;
use std::sync::Arc;

use semver::{Version, VersionReq};
use warden_core::name::PackageName;
use warden_policy::ComponentId;
use warden_registry::store::{Installed, Registry};

use crate::authorize::{AuthorizeError, Subject};
use crate::source::servers::{ServersError, ServersFile};
use crate::source::{CommandTool, McpServer};

/// A resolved name: what runs, and who it is for policy.
#[derive(Debug)]
pub enum Resolved {
    /// A component to compile.
    Component(Located),
    /// A tool source that is not a component.
    Source {
        /// The source.
        source: crate::source::ToolSource,
        /// Who it is, for policy.
        subject: Subject,
    },
}

/// A component found but not yet compiled, and who it is, for policy.
#[derive(Debug)]
pub struct Located {
    /// The name it is loaded as.
    pub name: String,
    /// The component's bytes (verified against the recorded digest).
    pub bytes: Vec<u8>,
    /// Who it is, for policy.
    pub subject: Subject,
}

/// Why a name does not resolve.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No built-in component of that name.
    #[error("there is no built-in component `{name}` (built-ins: {})", known.join(", "))]
    NoBuiltin {
        /// The name.
        name: String,
        /// The built-ins there are.
        known: Vec<&'static str>,
    },
    /// No built-in command tool of that name (and none declared).
    #[error("there is no command tool `{name}` (built-in: {})", known.join(", "))]
    NoCommand {
        /// The name.
        name: String,
        /// The built-in command tools.
        known: Vec<&'static str>,
    },
    /// A component file that cannot be read.
    #[error(transparent)]
    Read(#[from] crate::error::LoadError),
    /// Not a valid `NAME[@RANGE]`.
    #[error("invalid package `{spec}`: {reason}")]
    Spec {
        /// As given.
        spec: String,
        /// Why.
        reason: String,
    },
    /// No installed version matches.
    #[error(
        "no installed version of `{name}` matches `{req}` (see `warden list`, `warden install`)"
    )]
    NotInstalled {
        /// The package.
        name: PackageName,
        /// The range.
        req: VersionReq,
    },
    /// No installed part of that kind matches, and no built-in either.
    #[error(
        "no installed {kind} `{name}` matches `{req}`; install it (`warden install {name}@{req}`) \
         or use a first-party part such as `warden:{example}`"
    )]
    NoPart {
        /// The kind asked for.
        kind: String,
        /// The package.
        name: PackageName,
        /// The range.
        req: VersionReq,
        /// A first-party part of that kind.
        example: &'static str,
    },
    /// An installed package of another kind.
    #[error("`{name}` is a {is}, not a {wanted}")]
    WrongKind {
        /// The package.
        name: PackageName,
        /// Its kind.
        is: String,
        /// The kind asked for.
        wanted: String,
    },
    /// A built-in whose version is outside the range asked for.
    #[error(
        "the built-in `{name}` is version {version}, which does not match `{req}`; install a \
         matching version (`warden install {name}@{req}`)"
    )]
    BuiltinVersion {
        /// The part.
        name: PackageName,
        /// Its version.
        version: Version,
        /// The range.
        req: VersionReq,
    },
    /// The registry cannot be read, or a package does not verify.
    #[error(transparent)]
    Store(#[from] warden_registry::error::StoreError),
    /// The subject cannot be named.
    #[error(transparent)]
    Subject(#[from] AuthorizeError),
    /// The servers file cannot be used, or names no such server.
    #[error(transparent)]
    Servers(#[from] ServersError),
    /// `server:NAME` in a build of the library without MCP-server support
    /// (its `mcp-servers` feature is off).
    #[error(
        "`server:{name}` names an MCP server, but this build of the warden library has no \
         MCP-server support (its `mcp-servers` feature is off)"
    )]
    McpServersNotBuilt {
        /// The server's name.
        name: String,
    },
}

/// Resolves `spec` (see the module docs) in `registry`'s home.
pub fn resolve(spec: &str, registry: &Registry) -> Result<Resolved, ResolveError> {
    if let Some(name) = spec.strip_prefix("server:") {
        if !crate::source::mcp::SUPPORTED {
            return Err(ResolveError::McpServersNotBuilt {
                name: name.to_string(),
            });
        }
        let servers = ServersFile::load(registry.root())?;
        let decl = servers
            .servers
            .get(name)
            .cloned()
            .ok_or_else(|| ServersError::Unknown {
                name: name.to_string(),
            })?;
        return Ok(server(name, decl));
    }
    if let Some(name) = spec.strip_prefix("command:") {
        let tool = CommandTool::builtin(&name.replace('-', "_")).ok_or_else(|| {
            ResolveError::NoCommand {
                name: name.to_string(),
                known: crate::source::command::BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect(),
            }
        })?;
        return Ok(command(tool));
    }
    locate(spec, registry).map(Resolved::Component)
}

/// The resolved MCP server `name` as `decl` declares it.
pub fn server(name: &str, decl: crate::source::servers::ServerDecl) -> Resolved {
    let server = McpServer::new(name, decl);
    let subject = source_subject(server.name(), *server.digest());
    Resolved::Source {
        source: crate::source::ToolSource::McpServer(Arc::new(server)),
        subject,
    }
}

/// The resolved command tool `tool`.
pub fn command(tool: CommandTool) -> Resolved {
    let subject = source_subject(tool.subject_name(), *tool.digest());
    Resolved::Source {
        source: crate::source::ToolSource::Command(Arc::new(tool)),
        subject,
    }
}

/// The subject of a server or command: its `kind:name`, version 0.0.0,
/// the digest of its declaration; it requests nothing (what it gets is
/// what the user's grants and the org policy give it).
fn source_subject(name: &str, digest: warden_core::Digest) -> Subject {
    Subject {
        id: ComponentId {
            name: name
                .parse()
                .unwrap_or_else(|_| unreachable!("source names are checked when declared")),
            version: Version::new(0, 0, 0),
            digest,
        },
        requested: None,
    }
}

/// Finds a component: `builtin:NAME`, a file path, or an installed package
/// `NAME[@RANGE]` (its bytes verified against the recorded digest).
pub fn locate(spec: &str, registry: &Registry) -> Result<Located, ResolveError> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        let bytes = crate::builtin::lookup(name).ok_or_else(|| ResolveError::NoBuiltin {
            name: name.to_string(),
            known: crate::builtin::NAMES.to_vec(),
        })?;
        return Ok(Located {
            name: name.to_string(),
            subject: Subject::builtin(name, bytes)?,
            bytes: bytes.to_vec(),
        });
    }
    let path = PathBuf::from(spec);
    let looks_like_file =
        path.exists() || spec.contains('/') || spec.ends_with(".wasm") || spec.ends_with(".wat");
    if looks_like_file || !spec.contains(':') {
        let bytes = std::fs::read(&path).map_err(|source| crate::error::LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.to_string());
        return Ok(Located {
            name,
            subject: Subject::file(&path, &bytes),
            bytes,
        });
    }
    let (name, req) = parse_spec(spec)?;
    let installed = registry
        .find(&name, &req)?
        .ok_or_else(|| ResolveError::NotInstalled {
            name: name.clone(),
            req: req.clone(),
        })?;
    if installed.kind != "tool" {
        return Err(ResolveError::WrongKind {
            name,
            is: installed.kind,
            wanted: "tool".into(),
        });
    }
    located_installed(registry, &installed)
}

/// Finds an agent part: the installed package matching `name@req` (which
/// must be of `kind`), or else, for the first-party `warden` namespace, the
/// built-in component of that name.
pub fn locate_part(
    name: &PackageName,
    req: &VersionReq,
    kind: &str,
    registry: &Registry,
) -> Result<Located, ResolveError> {
    if let Some(installed) = registry.find(name, req)? {
        if installed.kind != kind {
            return Err(ResolveError::WrongKind {
                name: name.clone(),
                is: installed.kind,
                wanted: kind.to_string(),
            });
        }
        return located_installed(registry, &installed);
    }
    if name.namespace() == "warden"
        && let Some(bytes) = crate::builtin::lookup(name.name())
    {
        let subject = Subject::builtin(name.name(), bytes)?;
        if !req.matches(&subject.id.version) {
            return Err(ResolveError::BuiltinVersion {
                name: name.clone(),
                version: subject.id.version,
                req: req.clone(),
            });
        }
        return Ok(Located {
            name: name.name().to_string(),
            subject,
            bytes: bytes.to_vec(),
        });
    }
    Err(ResolveError::NoPart {
        kind: kind.to_string(),
        name: name.clone(),
        req: req.clone(),
        example: match kind {
            "planner" => "planner@^0.1",
            "model-provider" => "openai-provider@^0.1",
            _ => "fs@^0.1",
        },
    })
}

/// `NAME[@RANGE]` (no range: any version).
pub fn parse_spec(spec: &str) -> Result<(PackageName, VersionReq), ResolveError> {
    let invalid = |reason: String| ResolveError::Spec {
        spec: spec.to_string(),
        reason,
    };
    let (name, req) = spec.split_once('@').unwrap_or((spec, "*"));
    let name = name.parse::<PackageName>().map_err(|e| invalid(e.reason))?;
    let req: VersionReq = req.parse().map_err(|_| {
        invalid(format!(
            "invalid version range `{req}` (e.g. ^1.2, =1.2.3, >=1, *)"
        ))
    })?;
    Ok((name, req))
}

/// An installed package, located through [`Registry::load`]: the bytes
/// that run and the manifest are those of the signed package file, checked
/// against the index entry and the trust store as it is now.
fn located_installed(registry: &Registry, installed: &Installed) -> Result<Located, ResolveError> {
    let verified = registry.load(installed)?;
    let id = ComponentId {
        name: verified.manifest().name.clone(),
        version: verified.manifest().version.clone(),
        digest: verified.component_digest(),
    };
    let requested = verified.manifest().capabilities.clone();
    Ok(Located {
        name: id.name.to_string(),
        bytes: verified.into_component(),
        subject: Subject {
            id,
            requested: Some(requested),
        },
    })
}

#[cfg(all(test, not(feature = "mcp-servers")))]
mod without_mcp_servers {
    use super::*;

    #[test]
    fn a_server_is_a_typed_error_when_support_is_compiled_out() {
        let home = tempfile::tempdir().expect("tempdir");
        let registry = Registry::open(home.path()).expect("registry");
        match resolve("server:everything", &registry) {
            Err(ResolveError::McpServersNotBuilt { name }) => assert_eq!(name, "everything"),
            other => panic!("expected McpServersNotBuilt, got {other:?}"),
        }
    }
}
