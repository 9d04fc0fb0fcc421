//! What a component asks for: the capability vocabulary shared by package
//! manifests (the *manifest request*), the user's grants and the org policy
//! — directories with their access, hosts, env vars, secrets and limits.

use std::fmt;
use std::net::IpAddr;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use warden_core::units::{
    BareNumber, DurationError, SizeError, format_duration, format_size, parse_duration_ms,
    parse_size,
};

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

/// A capability list that names the same entry twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` lists `{entry}` twice")]
pub struct DuplicateEntry {
    /// The list (`dirs`, `hosts`, `env`, `secrets`).
    pub field: &'static str,
    /// The entry listed twice, as written.
    pub entry: String,
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
    type Error = DuplicateEntry;

    fn try_from(raw: RawCapabilities) -> Result<Self, DuplicateEntry> {
        let mut seen = std::collections::BTreeSet::new();
        for dir in &raw.dirs {
            if !seen.insert(dir.path.as_str()) {
                return Err(DuplicateEntry {
                    field: "dirs",
                    entry: dir.path.clone(),
                });
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for host in &raw.hosts {
            if !seen.insert(host.1.to_string()) {
                return Err(DuplicateEntry {
                    field: "hosts",
                    entry: host.0.clone(),
                });
            }
        }
        let env: Vec<String> = raw.env.into_iter().map(|v| v.0).collect();
        let secrets: Vec<String> = raw.secrets.into_iter().map(|v| v.0).collect();
        for (field, names) in [("env", &env), ("secrets", &secrets)] {
            let mut seen = std::collections::BTreeSet::new();
            for name in names {
                if !seen.insert(name) {
                    return Err(DuplicateEntry {
                        field,
                        entry: name.clone(),
                    });
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
    crate::path::normalize_guest(&text).map_err(de::Error::custom)
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

/// Why a manifest `hosts` entry is not a host pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum HostSpecError {
    #[error("give a host name, not a URL (e.g. example.com or example.com:8080)")]
    Url,
    #[error("unclosed `[`")]
    UnclosedBracket,
    #[error("unexpected text after `]`")]
    TextAfterBracket,
    #[error("only an IPv6 address may be written in `[ ]`")]
    NotIpv6InBrackets,
    #[error("the port must be a number from 1 to 65535, or `*`")]
    BadPort,
    #[error("not a valid host name, `*.domain` or IP address")]
    NotAHost,
    #[error("a wildcard applies to domain names, not IP addresses")]
    WildcardAddress,
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
    fn parse(spec: &str) -> Result<HostSpec, HostSpecError> {
        if spec.contains("://") || spec.contains('/') {
            return Err(HostSpecError::Url);
        }
        let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or(HostSpecError::UnclosedBracket)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(HostSpecError::TextAfterBracket),
            };
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(HostSpecError::NotIpv6InBrackets);
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
                    return Err(HostSpecError::BadPort);
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
            return Err(HostSpecError::NotAHost);
        }
        if host.starts_with("*.") && name.parse::<IpAddr>().is_ok() {
            return Err(HostSpecError::WildcardAddress);
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

/// The one rule for environment variable and secret names, wherever one
/// is read (manifests, grants, org policy, agent manifests, `--env`):
/// 1 to 128 ASCII letters, digits and `_`, not starting with a digit.
pub fn is_var_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// An environment variable (`SECRET = false`) or secret (`true`) name
/// ([`is_var_name`]).
struct VarName<const SECRET: bool>(String);

impl<'de, const SECRET: bool> Deserialize<'de> for VarName<SECRET> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let field = if SECRET { "secrets" } else { "env" };
        if is_var_name(&text) {
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
                        0 => Err(SizeError::Zero {
                            text: v.to_string(),
                        }),
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
                0 => Err(DurationError::Zero { text: text.clone() }),
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
