//! The package manifest, `warden.toml`: what a package is and what it needs.
//!
//! ```toml
//! name = "acme:grep"
//! version = "1.2.0"
//! kind = "tool"                          # tool | skill | model-provider | planner
//! description = "Regex search over a granted tree"
//! world = "warden:plugin/tool@0.1.0"     # the world of `kind`
//!
//! [capabilities]
//! dirs = [{ path = "/src", mode = "ro", purpose = "the tree to search" }]
//! hosts = ["api.example.com:443", "*.example.org"]
//! env = ["RUST_LOG"]
//! secrets = ["EXAMPLE_API_KEY"]
//!
//! [capabilities.limits]                  # all optional
//! memory = "128MiB"
//! timeout = "30s"
//! fuel = 100000000000
//!
//! [dependencies]
//! "acme:fs" = "^1.0"
//! ```
//!
//! [`Manifest::parse`] refuses unknown fields and says which field is wrong,
//! why, and where (line and column). The capabilities a manifest declares
//! are what the user is asked to grant; [`Capabilities::exceeding`] lists
//! what a new version asks for beyond an earlier grant.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use semver::{Version, VersionReq};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::error::ManifestError;
use crate::name::PackageName;
use crate::units::{BareNumber, format_duration, format_size, parse_duration_ms, parse_size};

/// The WIT package every warden world lives in.
pub const WIT_PACKAGE: &str = "warden:plugin";

/// The version of [`WIT_PACKAGE`] this build implements.
pub const WIT_VERSION: Version = Version::new(0, 1, 0);

/// A parsed and validated `warden.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// The package name, `namespace:name`.
    pub name: PackageName,
    /// The package version.
    pub version: Version,
    /// What kind of component the package holds.
    pub kind: Kind,
    /// One line on what the package does.
    pub description: String,
    /// The WIT world the component implements (always the world of `kind`).
    pub world: WorldRef,
    /// What the component needs to be granted to work.
    #[serde(skip_serializing_if = "Capabilities::is_empty")]
    pub capabilities: Capabilities,
    /// Other packages it needs, with the versions it accepts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<PackageName, VersionReq>,
}

/// The raw shape of `warden.toml`; field values are validated as they are
/// deserialized so that toml attaches the location of a bad value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: PackageName,
    #[serde(deserialize_with = "de_version")]
    version: Version,
    kind: Kind,
    description: toml::Spanned<String>,
    world: toml::Spanned<WorldRef>,
    #[serde(default)]
    capabilities: Capabilities,
    #[serde(default)]
    dependencies: BTreeMap<toml::Spanned<PackageName>, Requirement>,
}

/// A dependency requirement, validated with a message naming the field.
struct Requirement(VersionReq);

impl<'de> Deserialize<'de> for Requirement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(Requirement).map_err(|e| {
            de::Error::custom(format!(
                "dependency requirement `{text}` is not a semver requirement (e.g. `^1.0`, `>=1.2, <2`): {e}"
            ))
        })
    }
}

fn de_version<'de, D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|e| {
        de::Error::custom(format!(
            "`version` `{text}` is not a semantic version (e.g. 1.2.0): {e}"
        ))
    })
}

/// 1-based line and column of byte offset `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Manifest {
    /// Parses and validates `warden.toml` text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_column(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            ManifestError::Invalid {
                line,
                column,
                reason: e.message().trim_end().to_string(),
            }
        })?;
        let at = |span: std::ops::Range<usize>, reason: String| {
            let (line, column) = line_column(text, span.start);
            ManifestError::Invalid {
                line: Some(line),
                column: Some(column),
                reason,
            }
        };
        if raw.description.get_ref().trim().is_empty() {
            return Err(at(
                raw.description.span(),
                "`description` must not be empty: say in one line what the package does".into(),
            ));
        }
        let world_span = raw.world.span();
        let world = raw.world.into_inner();
        world
            .check_for(raw.kind)
            .map_err(|reason| at(world_span, reason))?;
        let mut dependencies = BTreeMap::new();
        for (name, req) in raw.dependencies {
            if *name.get_ref() == raw.name {
                return Err(at(
                    name.span(),
                    format!("`dependencies` lists the package itself (`{}`)", raw.name),
                ));
            }
            dependencies.insert(name.into_inner(), req.0);
        }
        Ok(Manifest {
            name: raw.name,
            version: raw.version,
            kind: raw.kind,
            description: raw.description.into_inner(),
            world,
            capabilities: raw.capabilities,
            dependencies,
        })
    }

    /// The manifest as `warden.toml` text; [`Manifest::parse`] reads it back
    /// to an equal manifest.
    pub fn to_toml(&self) -> String {
        // Every value is a string, a bounded integer (fuel is at most
        // i64::MAX), a table or an array, all of which TOML can express.
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# cannot serialize manifest: {e}\n"))
    }

    /// `name@version`, as used in messages.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// What kind of component a package holds; each kind has its own world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Provides tools to agents (world `tool`, exports `tools`).
    Tool,
    /// Provides skills (world `skill`, exports `skills`).
    Skill,
    /// Gives an agent a language model (world `model-provider`, exports `model`).
    ModelProvider,
    /// The agent loop (world `planner`, exports `agent`).
    Planner,
}

impl Kind {
    /// Every kind, in the order used in messages.
    pub const ALL: [Kind; 4] = [Kind::Tool, Kind::Skill, Kind::ModelProvider, Kind::Planner];

    /// The manifest spelling: `tool`, `skill`, `model-provider`, `planner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tool => "tool",
            Kind::Skill => "skill",
            Kind::ModelProvider => "model-provider",
            Kind::Planner => "planner",
        }
    }

    /// The name of this kind's world in `warden:plugin`.
    pub fn world_name(self) -> &'static str {
        self.as_str()
    }

    /// The interface a component of this kind must export
    /// (`tools`, `skills`, `model`, `agent`).
    pub fn export_interface(self) -> &'static str {
        match self {
            Kind::Tool => "tools",
            Kind::Skill => "skills",
            Kind::ModelProvider => "model",
            Kind::Planner => "agent",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ManifestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ManifestError::Invalid {
                line: None,
                column: None,
                reason: format!(
                    "`kind` must be one of tool, skill, model-provider, planner, not `{s}`"
                ),
            })
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e: ManifestError| match e {
            ManifestError::Invalid { reason, .. } => de::Error::custom(reason),
        })
    }
}

/// A WIT world reference, `namespace:package/world@version`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorldRef {
    /// The package, e.g. `warden:plugin`.
    pub package: String,
    /// The world, e.g. `tool`.
    pub name: String,
    /// The package version, e.g. `0.1.0`.
    pub version: Version,
}

impl WorldRef {
    /// The world a component of `kind` implements in this build.
    pub fn for_kind(kind: Kind) -> WorldRef {
        WorldRef {
            package: WIT_PACKAGE.to_string(),
            name: kind.world_name().to_string(),
            version: WIT_VERSION,
        }
    }

    /// Checks that this is the world of `kind`; the error says what to write.
    fn check_for(&self, kind: Kind) -> Result<(), String> {
        let expected = WorldRef::for_kind(kind);
        if self.package != WIT_PACKAGE {
            return Err(format!(
                "`world` `{self}` is not a warden world: kind = \"{kind}\" needs `{expected}`"
            ));
        }
        if self.name != expected.name {
            return Err(format!(
                "`world` is `{self}`, but kind = \"{kind}\" needs the `{}` world: `{expected}`",
                expected.name
            ));
        }
        if self.version != WIT_VERSION {
            return Err(format!(
                "`world` `{self}` asks for {WIT_PACKAGE}@{}, but this warden implements \
                 {WIT_PACKAGE}@{WIT_VERSION}: use `{expected}`",
                self.version
            ));
        }
        Ok(())
    }
}

impl fmt::Display for WorldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.package, self.name, self.version)
    }
}

impl FromStr for WorldRef {
    type Err = ManifestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ManifestError::Invalid {
            line: None,
            column: None,
            reason: format!(
                "`world` `{s}` is not a WIT world reference like `warden:plugin/tool@0.1.0`"
            ),
        };
        let (path, version) = s.split_once('@').ok_or_else(invalid)?;
        let (package, name) = path.split_once('/').ok_or_else(invalid)?;
        let (namespace, pkg) = package.split_once(':').ok_or_else(invalid)?;
        let ident = |t: &str| {
            !t.is_empty()
                && t.split('-').all(|seg| {
                    !seg.is_empty()
                        && seg
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
        };
        if ![namespace, pkg, name].into_iter().all(ident) {
            return Err(invalid());
        }
        let version = version.parse().map_err(|_| invalid())?;
        Ok(WorldRef {
            package: package.to_string(),
            name: name.to_string(),
            version,
        })
    }
}

impl Serialize for WorldRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WorldRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e: ManifestError| match e {
            ManifestError::Invalid { reason, .. } => de::Error::custom(reason),
        })
    }
}

/// What a component needs (in a manifest) or was allowed (in a grant).
///
/// Deserializing validates every entry, whatever the format (TOML manifest,
/// JSON grant record).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCapabilities")]
pub struct Capabilities {
    /// Directories, at the guest paths the component expects them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<DirRequest>,
    /// Outbound hosts, each `HOST[:PORT]`, `*.domain[:PORT]`, an IP, or `[v6]:port`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Environment variables (names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Secrets (names), provided by the host from its secret store.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Resource limits.
    #[serde(skip_serializing_if = "LimitRequest::is_empty")]
    pub limits: LimitRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapabilities {
    #[serde(default)]
    dirs: Vec<DirRequest>,
    #[serde(default)]
    hosts: Vec<HostEntry>,
    #[serde(default)]
    env: Vec<VarName<false>>,
    #[serde(default)]
    secrets: Vec<VarName<true>>,
    #[serde(default)]
    limits: LimitRequest,
}

impl TryFrom<RawCapabilities> for Capabilities {
    type Error = String;

    fn try_from(raw: RawCapabilities) -> Result<Self, String> {
        let mut seen = std::collections::BTreeSet::new();
        for dir in &raw.dirs {
            if !seen.insert(dir.path.as_str()) {
                return Err(format!("`dirs` lists `{}` twice", dir.path));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for host in &raw.hosts {
            if !seen.insert(host.1.to_string()) {
                return Err(format!("`hosts` lists `{}` twice", host.0));
            }
        }
        let env: Vec<String> = raw.env.into_iter().map(|v| v.0).collect();
        let secrets: Vec<String> = raw.secrets.into_iter().map(|v| v.0).collect();
        for (field, names) in [("env", &env), ("secrets", &secrets)] {
            let mut seen = std::collections::BTreeSet::new();
            for name in names {
                if !seen.insert(name) {
                    return Err(format!("`{field}` lists `{name}` twice"));
                }
            }
        }
        Ok(Capabilities {
            dirs: raw.dirs,
            hosts: raw.hosts.into_iter().map(|h| h.0).collect(),
            env,
            secrets,
            limits: raw.limits,
        })
    }
}

impl Capabilities {
    /// One line per capability, in words, for people deciding whether to
    /// grant it (`warden install`, `warden inspect`).
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for d in &self.dirs {
            let mode = match d.mode {
                Access::ReadOnly => "read-only",
                Access::ReadWrite => "read-write",
            };
            if d.purpose.is_empty() {
                lines.push(format!("directory {} ({mode})", d.path));
            } else {
                lines.push(format!("directory {} ({mode}): {}", d.path, d.purpose));
            }
        }
        for h in &self.hosts {
            lines.push(format!("network: {h}"));
        }
        for e in &self.env {
            lines.push(format!("environment variable {e}"));
        }
        for s in &self.secrets {
            lines.push(format!("secret {s}"));
        }
        if let Some(m) = self.limits.memory_bytes {
            lines.push(format!("memory up to {} MiB", m >> 20));
        }
        if let Some(t) = self.limits.timeout_ms {
            lines.push(format!("up to {} ms per call", t));
        }
        if let Some(f) = self.limits.fuel {
            lines.push(format!("up to {f} fuel per call"));
        }
        lines
    }

    /// Whether nothing at all is requested.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
            && self.hosts.is_empty()
            && self.env.is_empty()
            && self.secrets.is_empty()
            && self.limits.is_empty()
    }

    /// Each capability in `self` that `granted` does not cover, in words.
    /// Empty when `granted` covers everything.
    ///
    /// A granted directory covers itself and everything under it; a
    /// read-write request needs a read-write grant. A granted host pattern
    /// covers a requested one when it allows every host and port the
    /// requested one does (`*.example.com` covers `api.example.com:443`; a
    /// pattern without a port covers any port). Environment variables and
    /// secrets must be granted by name. A requested limit needs a granted
    /// limit at least as large; a limit the grant does not set is the
    /// host's conservative default, so it covers no request.
    pub fn exceeding(&self, granted: &Capabilities) -> Vec<String> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            let covering: Vec<&DirRequest> = granted
                .dirs
                .iter()
                .filter(|g| path_within(&dir.path, &g.path))
                .collect();
            if covering.is_empty() {
                out.push(format!("{} access to directory {}", dir.mode, dir.path));
            } else if dir.mode == Access::ReadWrite
                && !covering.iter().any(|g| g.mode == Access::ReadWrite)
            {
                out.push(format!(
                    "write access to directory {} (only read access was granted)",
                    dir.path
                ));
            }
        }
        let granted_hosts: Vec<HostSpec> = granted
            .hosts
            .iter()
            .filter_map(|h| HostSpec::parse(h).ok())
            .collect();
        for host in &self.hosts {
            let covered = HostSpec::parse(host)
                .map(|want| granted_hosts.iter().any(|g| g.covers(&want)))
                .unwrap_or(false);
            if !covered {
                out.push(format!("network access to {host}"));
            }
        }
        for var in &self.env {
            if !granted.env.contains(var) {
                out.push(format!("environment variable {var}"));
            }
        }
        for secret in &self.secrets {
            if !granted.secrets.contains(secret) {
                out.push(format!("secret {secret}"));
            }
        }
        let limits = [
            (
                "memory",
                self.limits.memory_bytes,
                granted.limits.memory_bytes,
                format_size as fn(u64) -> String,
            ),
            (
                "time",
                self.limits.timeout_ms,
                granted.limits.timeout_ms,
                format_duration,
            ),
            ("fuel", self.limits.fuel, granted.limits.fuel, |n: u64| {
                n.to_string()
            }),
        ];
        for (what, want, have, show) in limits {
            match (want, have) {
                (Some(want), Some(have)) if want > have => {
                    out.push(format!(
                        "{what} limit of {} (granted: {})",
                        show(want),
                        show(have)
                    ));
                }
                (Some(want), None) => {
                    out.push(format!(
                        "{what} limit of {} (granted: the default)",
                        show(want)
                    ));
                }
                _ => {}
            }
        }
        out
    }
}

/// Whether guest path `path` is `base` or under it (both normalized).
fn path_within(path: &str, base: &str) -> bool {
    base == "/"
        || path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether a directory may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// Read only (`ro`).
    ReadOnly,
    /// Read and write (`rw`).
    ReadWrite,
}

impl Access {
    /// The manifest spelling, `ro` or `rw`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadOnly => "ro",
            Access::ReadWrite => "rw",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::ReadOnly => "read-only",
            Access::ReadWrite => "read-write",
        })
    }
}

impl Serialize for Access {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Access {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.as_str() {
            "ro" => Ok(Access::ReadOnly),
            "rw" => Ok(Access::ReadWrite),
            other => Err(de::Error::custom(format!(
                "`mode` must be `ro` (read-only) or `rw` (read-write), not `{other}`"
            ))),
        }
    }
}

/// A directory the component needs, at the guest path it expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirRequest {
    /// The absolute guest path, normalized (`/src`).
    #[serde(deserialize_with = "de_guest_path")]
    pub path: String,
    /// Read-only or read-write.
    pub mode: Access,
    /// Why the component needs it, shown when asking for the grant.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purpose: String,
}

fn de_guest_path<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    normalize_guest_path(&text).map_err(de::Error::custom)
}

/// Checks a guest path (absolute, no `..`) and normalizes it (`/a//b/./` → `/a/b`).
fn normalize_guest_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "`path` `{text}` must be an absolute guest path, e.g. `/data`"
        ));
    }
    if text.split('/').any(|c| c == "..") {
        return Err(format!("`path` `{text}` must not contain `..`"));
    }
    if text.chars().any(|c| c.is_control() || c == '\\') {
        return Err(format!(
            "`path` {text:?} must not contain control characters or `\\`"
        ));
    }
    let parts: Vec<&str> = text
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    Ok(format!("/{}", parts.join("/")))
}

/// A validated host pattern as written (the text is kept, the parse compared).
struct HostEntry(String, HostSpec);

impl<'de> Deserialize<'de> for HostEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match HostSpec::parse(&text) {
            Ok(spec) => Ok(HostEntry(text, spec)),
            Err(reason) => Err(de::Error::custom(format!(
                "`hosts` entry `{text}` is not a host pattern: {reason}"
            ))),
        }
    }
}

/// `HOST[:PORT]`, the syntax of the host's `HostPattern`: a name, `*.domain`
/// (any subdomain, not the apex) or an IP literal (`[v6]` with a port); the
/// port is a number or `*` (any).
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostSpec {
    host: String,
    port: Option<u16>,
}

impl HostSpec {
    fn parse(spec: &str) -> Result<HostSpec, String> {
        if spec.contains("://") || spec.contains('/') {
            return Err(
                "give a host name, not a URL (e.g. example.com or example.com:8080)".into(),
            );
        }
        let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or("unclosed `[`")?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err("unexpected text after `]`".into()),
            };
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("only an IPv6 address may be written in `[ ]`".into());
            }
            (h, port)
        } else if spec.matches(':').count() > 1 {
            (spec, None)
        } else {
            match spec.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (spec, None),
            }
        };
        let port = match port {
            None | Some("*") => None,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => {
                    return Err("the port must be a number from 1 to 65535, or `*`".into());
                }
                Ok(n) => Some(n),
            },
        };
        let host = host.to_ascii_lowercase();
        let name = host.strip_prefix("*.").unwrap_or(&host);
        let valid = !name.is_empty()
            && (name.parse::<IpAddr>().is_ok()
                || name.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                }));
        if !valid {
            return Err("not a valid host name, `*.domain` or IP address".into());
        }
        if host.starts_with("*.") && name.parse::<IpAddr>().is_ok() {
            return Err("a wildcard applies to domain names, not IP addresses".into());
        }
        Ok(HostSpec { host, port })
    }

    /// Whether every host and port `want` allows is also allowed by `self`.
    fn covers(&self, want: &HostSpec) -> bool {
        let port_ok = match (self.port, want.port) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        if !port_ok {
            return false;
        }
        let under = |name: &str, domain: &str| {
            name.len() > domain.len()
                && name.ends_with(domain)
                && name[..name.len() - domain.len()].ends_with('.')
        };
        match (self.host.strip_prefix("*."), want.host.strip_prefix("*.")) {
            (Some(mine), Some(theirs)) => theirs == mine || under(theirs, mine),
            (Some(mine), None) => under(&want.host, mine),
            (None, Some(_)) => false,
            (None, None) => match (self.host.parse::<IpAddr>(), want.host.parse::<IpAddr>()) {
                (Ok(a), Ok(b)) => a == b,
                _ => self.host == want.host,
            },
        }
    }
}

impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => write!(f, "{host}:{p}"),
            None => f.write_str(&host),
        }
    }
}

/// An environment variable (`SECRET = false`) or secret (`true`) name:
/// letters, digits and `_`.
struct VarName<const SECRET: bool>(String);

impl<'de, const SECRET: bool> Deserialize<'de> for VarName<SECRET> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let field = if SECRET { "secrets" } else { "env" };
        let valid = !text.is_empty()
            && text.len() <= 128
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !text.starts_with(|c: char| c.is_ascii_digit());
        if valid {
            Ok(VarName(text))
        } else {
            Err(de::Error::custom(format!(
                "`{field}` entry `{text}` is not a valid name: use letters, digits and `_`, not starting with a digit"
            )))
        }
    }
}

/// Resource limits a component needs (in a manifest) or was granted.
/// `None` leaves the host's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitRequest {
    /// Linear memory, in bytes (`memory = "128MiB"`).
    pub memory_bytes: Option<u64>,
    /// Wall-clock time per call, in milliseconds (`timeout = "30s"`).
    pub timeout_ms: Option<u64>,
    /// CPU budget in fuel units (`fuel = 100000000000`).
    pub fuel: Option<u64>,
}

impl LimitRequest {
    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        self.memory_bytes.is_none() && self.timeout_ms.is_none() && self.fuel.is_none()
    }
}

impl Serialize for LimitRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(m) = self.memory_bytes {
            map.serialize_entry("memory", &format_size(m))?;
        }
        if let Some(t) = self.timeout_ms {
            map.serialize_entry("timeout", &format_duration(t))?;
        }
        if let Some(f) = self.fuel {
            map.serialize_entry("fuel", &f)?;
        }
        map.end()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory: Option<Size>,
    timeout: Option<Timeout>,
    fuel: Option<Fuel>,
}

impl<'de> Deserialize<'de> for LimitRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawLimits::deserialize(d)?;
        Ok(LimitRequest {
            memory_bytes: raw.memory.map(|s| s.0),
            timeout_ms: raw.timeout.map(|t| t.0),
            fuel: raw.fuel.map(|f| f.0),
        })
    }
}

/// `memory`: a size string with a binary unit, or a number of bytes.
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"128MiB\", \"512K\" or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                if v == 0 {
                    return Err(E::custom("`memory` must be greater than zero"));
                }
                Ok(Size(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom("`memory` must be greater than zero")),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v)
                    .and_then(|b| match b {
                        0 => Err(format!("`{v}`: the size must be greater than zero")),
                        b => Ok(b),
                    })
                    .map(Size)
                    .map_err(|e| E::custom(format!("`memory`: {e}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// `timeout`: a duration string.
struct Timeout(u64);

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d).map_err(|_| {
            de::Error::custom("`timeout` must be a string such as \"30s\" or \"500ms\"")
        })?;
        parse_duration_ms(&text, BareNumber::Seconds)
            .and_then(|ms| match ms {
                0 => Err(format!("`{text}`: the duration must be greater than zero")),
                ms => Ok(ms),
            })
            .map(Timeout)
            .map_err(|e| de::Error::custom(format!("`timeout`: {e}")))
    }
}

/// `fuel`: a positive integer that TOML can hold.
struct Fuel(u64);

impl<'de> Deserialize<'de> for Fuel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Fuel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "`fuel` as a whole number from 1 to {}", i64::MAX)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Fuel, E> {
                if n == 0 || n > i64::MAX as u64 {
                    return Err(E::custom(format!(
                        "`fuel` must be from 1 to {}, not {n}",
                        i64::MAX
                    )));
                }
                Ok(Fuel(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Fuel, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "`fuel` must be from 1 to {}, not {n}",
                        i64::MAX
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "acme:grep"
version = "1.2.0"
kind = "tool"
description = "Regex search over a granted tree"
world = "warden:plugin/tool@0.1.0"

[capabilities]
dirs = [{ path = "/src", mode = "ro", purpose = "the tree to search" }]
hosts = ["api.example.com:443", "*.example.org", "10.0.0.1", "[::1]:8080"]
env = ["RUST_LOG"]
secrets = ["EXAMPLE_API_KEY"]

[capabilities.limits]
memory = "128MiB"
timeout = "30s"
fuel = 100000000000

[dependencies]
"acme:fs" = "^1.0"
"#;

    fn parse(text: &str) -> Manifest {
        Manifest::parse(text).unwrap_or_else(|e| panic!("should parse: {e}\n{text}"))
    }

    fn error(text: &str) -> String {
        match Manifest::parse(text) {
            Ok(m) => panic!("should be refused: {m:?}\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    fn assert_refused(text: &str, needles: &[&str]) {
        let msg = error(text);
        for needle in needles {
            assert!(msg.contains(needle), "`{needle}` not in: {msg}");
        }
    }

    #[test]
    fn a_full_manifest_parses() {
        let m = parse(GOOD);
        assert_eq!(m.name.to_string(), "acme:grep");
        assert_eq!(m.version, Version::new(1, 2, 0));
        assert_eq!(m.kind, Kind::Tool);
        assert_eq!(m.world, WorldRef::for_kind(Kind::Tool));
        assert_eq!(m.world.to_string(), "warden:plugin/tool@0.1.0");
        let c = &m.capabilities;
        assert_eq!(
            c.dirs,
            vec![DirRequest {
                path: "/src".into(),
                mode: Access::ReadOnly,
                purpose: "the tree to search".into()
            }]
        );
        assert_eq!(c.hosts.len(), 4);
        assert_eq!(c.env, vec!["RUST_LOG"]);
        assert_eq!(c.secrets, vec!["EXAMPLE_API_KEY"]);
        assert_eq!(
            c.limits,
            LimitRequest {
                memory_bytes: Some(128 << 20),
                timeout_ms: Some(30_000),
                fuel: Some(100_000_000_000)
            }
        );
        let fs: PackageName = "acme:fs".parse().expect("name");
        assert_eq!(m.dependencies.get(&fs), Some(&"^1.0".parse().expect("req")));
    }

    #[test]
    fn a_minimal_manifest_parses_and_every_kind_has_its_world() {
        for kind in Kind::ALL {
            let text = format!(
                "name = \"acme:x\"\nversion = \"0.1.0-beta.1\"\nkind = \"{kind}\"\ndescription = \"d\"\nworld = \"warden:plugin/{kind}@0.1.0\"\n"
            );
            let m = parse(&text);
            assert_eq!(m.kind, kind);
            assert!(m.capabilities.is_empty() && m.dependencies.is_empty());
        }
    }

    #[test]
    fn to_toml_round_trips() {
        for text in [
            GOOD,
            "name = \"a:b\"\nversion = \"1.0.0\"\nkind = \"planner\"\ndescription = \"x\"\nworld = \"warden:plugin/planner@0.1.0\"\n",
        ] {
            let m = parse(text);
            let again = parse(&m.to_toml());
            assert_eq!(m, again, "{}", m.to_toml());
        }
    }

    #[test]
    fn paths_are_normalized() {
        let m = parse(&GOOD.replace("path = \"/src\"", "path = \"/src//a/./\""));
        assert_eq!(m.capabilities.dirs[0].path, "/src/a");
    }

    #[test]
    fn a_bad_version_is_refused_with_its_location() {
        assert_refused(
            &GOOD.replace("version = \"1.2.0\"", "version = \"1.x\""),
            &["line 3", "`version` `1.x` is not a semantic version"],
        );
    }

    #[test]
    fn a_bad_name_is_refused() {
        assert_refused(
            &GOOD.replace("\"acme:grep\"", "\"Acme:grep\""),
            &["line 2", "invalid package name `Acme:grep`"],
        );
        assert_refused(
            &GOOD.replace("\"acme:fs\" = ", "\"acme\" = "),
            &["invalid package name `acme`", "namespace:name"],
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert_refused(
            &format!("license = \"MIT\"\n{GOOD}"),
            &["line 1", "unknown field `license`"],
        );
        assert_refused(
            &GOOD.replace("env = [", "environment = ["),
            &["unknown field `environment`"],
        );
        assert_refused(&GOOD.replace("fuel =", "cpu ="), &["unknown field `cpu`"]);
        assert_refused(
            &GOOD.replace("purpose =", "why ="),
            &["unknown field `why`"],
        );
    }

    #[test]
    fn missing_fields_are_refused() {
        assert_refused(
            &GOOD.replace("kind = \"tool\"\n", ""),
            &["missing field `kind`"],
        );
    }

    #[test]
    fn the_world_must_be_the_world_of_the_kind() {
        assert_refused(
            &GOOD.replace("plugin/tool@", "plugin/skill@"),
            &[
                "line 6",
                "`world` is `warden:plugin/skill@0.1.0`",
                "kind = \"tool\" needs",
                "`warden:plugin/tool@0.1.0`",
            ],
        );
        assert_refused(
            &GOOD.replace("warden:plugin/tool@0.1.0", "acme:plugin/tool@0.1.0"),
            &["not a warden world"],
        );
        assert_refused(
            &GOOD.replace("tool@0.1.0", "tool@0.2.0"),
            &["this warden implements warden:plugin@0.1.0"],
        );
        assert_refused(
            &GOOD.replace("warden:plugin/tool@0.1.0", "warden:plugin/tool"),
            &["is not a WIT world reference"],
        );
        assert_refused(
            &GOOD.replace("kind = \"tool\"", "kind = \"tools\""),
            &["`kind` must be one of", "not `tools`"],
        );
    }

    #[test]
    fn bad_host_patterns_are_refused() {
        for (bad, why) in [
            ("https://api.example.com", "not a URL"),
            ("api.example.com:0", "port must be a number"),
            ("api.example.com:http", "port must be a number"),
            ("api.*.com", "not a valid host name"),
            ("*", "not a valid host name"),
            ("[::1", "unclosed `[`"),
            ("under_score.com", "not a valid host name"),
            ("*.10.0.0.1", "not IP addresses"),
        ] {
            let text = GOOD.replace("\"*.example.org\"", &format!("{bad:?}"));
            assert_refused(
                &text,
                &[
                    "line 10",
                    &format!("`hosts` entry `{bad}` is not a host pattern"),
                    why,
                ],
            );
        }
    }

    #[test]
    fn a_bad_mode_is_refused() {
        assert_refused(
            &GOOD.replace("mode = \"ro\"", "mode = \"write\""),
            &[
                "line 9",
                "`mode` must be `ro` (read-only) or `rw` (read-write), not `write`",
            ],
        );
    }

    #[test]
    fn other_bad_values_are_refused() {
        assert_refused(
            &GOOD.replace("path = \"/src\"", "path = \"src\""),
            &["must be an absolute guest path"],
        );
        assert_refused(
            &GOOD.replace("path = \"/src\"", "path = \"/src/../etc\""),
            &["must not contain `..`"],
        );
        assert_refused(
            &GOOD.replace("\"RUST_LOG\"", "\"RUST-LOG\""),
            &["`env` entry `RUST-LOG` is not a valid name"],
        );
        assert_refused(
            &GOOD.replace("\"RUST_LOG\"", "\"A\", \"A\""),
            &["`env` lists `A` twice"],
        );
        assert_refused(
            &GOOD.replace("\"128MiB\"", "\"128XB\""),
            &["`memory`", "unknown size unit `xb`"],
        );
        assert_refused(
            &GOOD.replace("\"128MiB\"", "0"),
            &["`memory` must be greater than zero"],
        );
        assert_refused(
            &GOOD.replace("\"30s\"", "\"30 days\""),
            &["`timeout`", "unknown duration unit"],
        );
        assert_refused(
            &GOOD.replace("\"30s\"", "30"),
            &["`timeout` must be a string"],
        );
        assert_refused(
            &GOOD.replace("100000000000", "0"),
            &["`fuel` must be from 1"],
        );
        assert_refused(
            &GOOD.replace("100000000000", "-5"),
            &["`fuel` must be from 1", "not -5"],
        );
        assert_refused(
            &GOOD.replace("100000000000", "\"lots\""),
            &["line 17", "expected `fuel` as a whole number"],
        );
        assert_refused(
            &GOOD.replace("\"^1.0\"", "\"one\""),
            &["dependency requirement `one` is not a semver requirement"],
        );
        assert_refused(
            &GOOD.replace("\"acme:fs\"", "\"acme:grep\""),
            &["lists the package itself"],
        );
        assert_refused(
            &GOOD.replace("Regex search over a granted tree", " "),
            &["`description` must not be empty"],
        );
        assert_refused("name = ", &["line 1"]);
    }

    #[test]
    fn memory_accepts_a_number_of_bytes() {
        let m = parse(&GOOD.replace("\"128MiB\"", "1000"));
        assert_eq!(m.capabilities.limits.memory_bytes, Some(1000));
        assert_eq!(parse(&m.to_toml()), m);
    }

    fn caps(toml_text: &str) -> Capabilities {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn capabilities_within_the_grant_exceed_nothing() {
        let want = caps(
            r#"
dirs = [{ path = "/src/sub", mode = "ro" }, { path = "/out", mode = "rw" }]
hosts = ["api.example.com:443", "a.b.example.org", "*.x.example.org", "[::1]:80", "10.0.0.1:8080"]
env = ["A"]
secrets = ["K"]
limits = { memory = "64MiB", timeout = "1s", fuel = 10 }
"#,
        );
        let granted = caps(
            r#"
dirs = [{ path = "/src", mode = "ro" }, { path = "/out", mode = "rw" }]
hosts = ["api.example.com", "*.example.org", "::1", "10.0.0.1:*"]
env = ["A", "B"]
secrets = ["K"]
limits = { memory = "128MiB", timeout = "1000ms", fuel = 10 }
"#,
        );
        assert_eq!(want.exceeding(&granted), Vec::<String>::new());
        assert_eq!(want.exceeding(&want), Vec::<String>::new());
    }

    #[test]
    fn capabilities_beyond_the_grant_are_listed_in_words() {
        let want = caps(
            r#"
dirs = [{ path = "/src", mode = "rw" }, { path = "/srcx", mode = "ro" }, { path = "/etc", mode = "ro" }]
hosts = ["api.example.com", "example.org", "*.example.org", "evil.com:443"]
env = ["A"]
secrets = ["K"]
limits = { memory = "256MiB", timeout = "1m", fuel = 11 }
"#,
        );
        let granted = caps(
            r#"
dirs = [{ path = "/src", mode = "ro" }]
hosts = ["api.example.com:443", "*.example.org"]
limits = { memory = "128MiB", fuel = 10 }
"#,
        );
        assert_eq!(
            want.exceeding(&granted),
            vec![
                "write access to directory /src (only read access was granted)",
                "read-only access to directory /srcx",
                "read-only access to directory /etc",
                "network access to api.example.com",
                "network access to example.org",
                "network access to evil.com:443",
                "environment variable A",
                "secret K",
                "memory limit of 256MiB (granted: 128MiB)",
                "time limit of 1m (granted: the default)",
                "fuel limit of 11 (granted: 10)",
            ]
        );
    }

    #[test]
    fn capabilities_round_trip_through_json() {
        let m = parse(GOOD);
        let json = serde_json::to_string(&m.capabilities).expect("json");
        let back: Capabilities = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, m.capabilities);
        let bad = serde_json::from_str::<Capabilities>(r#"{"hosts":["http://x"]}"#)
            .expect_err("bad host");
        assert!(bad.to_string().contains("not a URL"), "{bad}");
    }
}
