//! What a component may do: directories, network hosts, environment and
//! limits. Deny by default: [`Grant::default`] allows nothing.
//!
//! A [`Grant`] is built once per component per call site and is immutable;
//! everything that builds a sandbox takes a `&Grant` and nothing else.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::GrantError;

/// Everything one component is allowed to do during one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// Host directories the component sees, each at a guest path.
    pub dirs: Vec<DirGrant>,
    /// Outbound hosts the component may reach (HTTP and TCP).
    pub hosts: Vec<HostPattern>,
    /// Environment variables the component sees, with their values.
    pub env: Vec<(String, String)>,
    /// Secrets injected into the component's outbound requests (the guest
    /// never sees their values).
    pub secrets: Vec<crate::secret::SecretGrant>,
    /// Resource limits.
    pub limits: Limits,
}

/// Whether a granted directory may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirMode {
    /// Files may be read and directories listed; nothing may be changed.
    ReadOnly,
    /// Files and directories may also be created, written and removed.
    ReadWrite,
}

impl std::fmt::Display for DirMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DirMode::ReadOnly => "read-only",
            DirMode::ReadWrite => "read-write",
        })
    }
}

/// A host directory made visible to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host, canonicalised (symlinks resolved).
    pub host: PathBuf,
    /// Where the guest sees it: an absolute guest path such as `/repo`.
    pub guest: String,
    /// Read-only or read-write.
    pub mode: DirMode,
}

impl DirGrant {
    /// Parses `HOST[:GUEST][:ro|rw]`. The guest path defaults to the
    /// canonical host path and the mode to read-only. The host directory
    /// must exist.
    pub fn parse(spec: &str) -> Result<DirGrant, GrantError> {
        let invalid = |reason: &str| GrantError::InvalidDir {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let mut parts: Vec<&str> = spec.split(':').collect();
        let mode = match parts.last() {
            Some(&"ro") if parts.len() > 1 => {
                parts.pop();
                DirMode::ReadOnly
            }
            Some(&"rw") if parts.len() > 1 => {
                parts.pop();
                DirMode::ReadWrite
            }
            _ => DirMode::ReadOnly,
        };
        let (host, guest) = match parts.as_slice() {
            [host] => (*host, None),
            [host, guest] => (*host, Some(*guest)),
            _ => return Err(invalid("expected HOST[:GUEST][:ro|rw]")),
        };
        if host.is_empty() {
            return Err(invalid("the host directory is empty"));
        }
        DirGrant::new(Path::new(host), guest, mode).map_err(|e| match e {
            GrantError::InvalidDir { reason, .. } => invalid(&reason),
            other => other,
        })
    }

    /// Grants `host` (which must be an existing directory) at `guest`
    /// (default: the canonical host path).
    pub fn new(host: &Path, guest: Option<&str>, mode: DirMode) -> Result<DirGrant, GrantError> {
        let invalid = |reason: String| GrantError::InvalidDir {
            spec: host.display().to_string(),
            reason,
        };
        let canonical = host.canonicalize().map_err(|e| {
            invalid(format!(
                "cannot open host directory `{}`: {e}",
                host.display()
            ))
        })?;
        if !canonical.is_dir() {
            return Err(invalid(format!("`{}` is not a directory", host.display())));
        }
        let guest = match guest {
            Some(g) => g.to_string(),
            None => canonical
                .to_str()
                .ok_or_else(|| invalid("the host path is not UTF-8; give a guest path".into()))?
                .to_string(),
        };
        if !guest.starts_with('/') {
            return Err(invalid(format!(
                "guest path `{guest}` must be absolute, e.g. /data"
            )));
        }
        if guest.split('/').any(|c| c == "..") {
            return Err(invalid(format!(
                "guest path `{guest}` must not contain `..`"
            )));
        }
        Ok(DirGrant {
            host: canonical,
            guest: normalize_guest(&guest),
            mode,
        })
    }
}

fn normalize_guest(guest: &str) -> String {
    let parts: Vec<&str> = guest
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// An outbound host a component may connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// `example.com`, `*.example.com` (any subdomain, not the apex), or an IP literal.
    pub host: String,
    /// The port; `None` means any port.
    pub port: Option<u16>,
}

impl HostPattern {
    /// Parses `HOST[:PORT]`, where HOST is a name, `*.domain` or an IP
    /// literal (`[::1]` for IPv6 with a port).
    pub fn parse(spec: &str) -> Result<HostPattern, GrantError> {
        let invalid = |reason: &str| GrantError::InvalidHost {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        if spec.contains("://") || spec.contains('/') {
            return Err(invalid(
                "give a host name, not a URL (e.g. example.com or example.com:8080)",
            ));
        }
        let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| invalid("unclosed `[`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(invalid("unexpected text after `]`")),
            };
            (h.to_string(), port)
        } else if spec.matches(':').count() > 1 {
            // A bare IPv6 address without a port.
            (spec.to_string(), None)
        } else {
            match spec.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (spec.to_string(), None),
            }
        };
        let port = match port {
            None | Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| invalid("the port must be a number from 1 to 65535"))?,
            ),
        };
        if port == Some(0) {
            return Err(invalid("the port must be a number from 1 to 65535"));
        }
        let host = host.to_ascii_lowercase();
        let name = host.strip_prefix("*.").unwrap_or(&host);
        let valid_name = !name.is_empty()
            && (name.parse::<std::net::IpAddr>().is_ok()
                || name.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                }));
        if !valid_name {
            return Err(invalid("not a valid host name or IP address"));
        }
        Ok(HostPattern { host, port })
    }

    /// Whether this pattern allows connecting to `host` on `port`.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        match self.host.strip_prefix("*.") {
            Some(domain) => {
                host.len() > domain.len()
                    && host.ends_with(domain)
                    && host[..host.len() - domain.len()].ends_with('.')
            }
            None => match (
                self.host.parse::<std::net::IpAddr>(),
                host.parse::<std::net::IpAddr>(),
            ) {
                (Ok(a), Ok(b)) => a == b,
                _ => self.host == host,
            },
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => write!(f, "{host}:{p}"),
            None => write!(f, "{host}"),
        }
    }
}

/// Resource limits for one call. Every field has a conservative default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total linear memory the component may use, in bytes. Default 64 MiB.
    pub memory_bytes: u64,
    /// CPU budget in fuel units (about one per WebAssembly instruction).
    /// Default 50,000,000,000: roughly 20 s of CPU on a current core, so the
    /// wall-clock limit binds first unless a tighter budget is set.
    pub fuel: u64,
    /// Wall-clock time for the whole call, including time blocked in host
    /// calls (I/O, sleeps). Default 10 s.
    pub timeout: Duration,
    /// Largest JSON output accepted from the component, in bytes. Default 1 MiB.
    pub max_output_bytes: u64,
    /// Log bytes kept per call (guest `log` calls, stdout and stderr); the
    /// rest is dropped and counted. Default 64 KiB.
    pub max_log_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            fuel: 50_000_000_000,
            timeout: Duration::from_secs(10),
            max_output_bytes: 1 << 20,
            max_log_bytes: 64 << 10,
        }
    }
}

/// Parses a byte size: `65536`, `64K`, `64KiB`, `64M`, `64MiB`, `1G`, `1GiB`
/// (binary units: K = 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    warden_registry::units::parse_size(text)
}

/// Parses a duration: `500ms`, `10s`, `2m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let ms = warden_registry::units::parse_duration_ms(
        text,
        warden_registry::units::BareNumber::Seconds,
    )?;
    if ms == 0 {
        return Err(format!("`{text}`: the duration must be greater than zero"));
    }
    Ok(Duration::from_millis(ms))
}

/// Parses an `--env` flag: `NAME=VALUE`, or `NAME` to pass the host's value
/// (read through `lookup`).
pub fn parse_env(
    spec: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(String, String), GrantError> {
    let (name, value) = match spec.split_once('=') {
        Some((n, v)) => (n.to_string(), v.to_string()),
        None => {
            let value = lookup(spec).ok_or_else(|| GrantError::InvalidEnv {
                spec: spec.to_string(),
                reason: format!(
                    "`{spec}` is not set in this environment; pass NAME=VALUE to set it explicitly"
                ),
            })?;
            (spec.to_string(), value)
        }
    };
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(GrantError::InvalidEnv {
            spec: spec.to_string(),
            reason: "a variable name is letters, digits and `_`".into(),
        });
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_spec_defaults_to_read_only_at_the_canonical_path() {
        let tmp = std::env::temp_dir();
        let spec = tmp.to_str().unwrap_or("/tmp");
        let grant = DirGrant::parse(spec).expect("temp dir is grantable");
        assert_eq!(grant.mode, DirMode::ReadOnly);
        assert_eq!(grant.host, tmp.canonicalize().expect("canonical"));
        assert_eq!(grant.guest, grant.host.to_str().expect("utf-8"));
    }

    #[test]
    fn dir_spec_parses_guest_path_and_mode() {
        let tmp = std::env::temp_dir();
        let t = tmp.to_str().unwrap_or("/tmp");
        let g = DirGrant::parse(&format!("{t}:/data:rw")).expect("valid");
        assert_eq!((g.guest.as_str(), g.mode), ("/data", DirMode::ReadWrite));
        let g = DirGrant::parse(&format!("{t}:/data/")).expect("valid");
        assert_eq!((g.guest.as_str(), g.mode), ("/data", DirMode::ReadOnly));
        let g = DirGrant::parse(&format!("{t}:rw")).expect("valid");
        assert_eq!(g.mode, DirMode::ReadWrite);
    }

    #[test]
    fn dir_spec_rejects_bad_input_with_a_reason() {
        let err = DirGrant::parse("/definitely/not/here").expect_err("missing dir");
        assert!(
            err.to_string().contains("cannot open host directory"),
            "{err}"
        );
        let tmp = std::env::temp_dir();
        let t = tmp.to_str().unwrap_or("/tmp");
        let err = DirGrant::parse(&format!("{t}:relative")).expect_err("relative guest");
        assert!(err.to_string().contains("must be absolute"), "{err}");
        let err = DirGrant::parse(&format!("{t}:/a/../b")).expect_err("dotdot");
        assert!(err.to_string().contains(".."), "{err}");
        let err = DirGrant::parse(&format!("{t}:/a:rw:extra")).expect_err("too many parts");
        assert!(err.to_string().contains("HOST[:GUEST]"), "{err}");
    }

    #[test]
    fn host_patterns_match_exactly_what_they_name() {
        let p = HostPattern::parse("example.com").expect("valid");
        assert!(p.allows("example.com", 443));
        assert!(p.allows("EXAMPLE.com.", 80));
        assert!(!p.allows("api.example.com", 443));
        assert!(!p.allows("example.com.evil.net", 443));

        let p = HostPattern::parse("*.example.com:8443").expect("valid");
        assert!(p.allows("api.example.com", 8443));
        assert!(!p.allows("api.example.com", 443));
        assert!(!p.allows("example.com", 8443));
        assert!(!p.allows("badexample.com", 8443));

        let p = HostPattern::parse("127.0.0.1:8080").expect("valid");
        assert!(p.allows("127.0.0.1", 8080));
        assert!(!p.allows("127.0.0.2", 8080));

        let p = HostPattern::parse("[::1]:8080").expect("valid");
        assert!(p.allows("[::1]", 8080));
        assert!(p.allows("::1", 8080));
    }

    #[test]
    fn host_patterns_reject_urls_and_bad_ports() {
        for bad in [
            "https://example.com",
            "example.com/path",
            "example.com:0",
            "example.com:http",
            "",
            "exa mple.com",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn sizes_and_durations_parse_with_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("12 parsecs").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn env_specs_take_explicit_values_or_the_hosts() {
        let lookup = |n: &str| (n == "HOME").then(|| "/home/ada".to_string());
        assert_eq!(parse_env("A=1", lookup), Ok(("A".into(), "1".into())));
        assert_eq!(
            parse_env("HOME", lookup),
            Ok(("HOME".into(), "/home/ada".into()))
        );
        assert!(parse_env("UNSET_VAR", lookup).is_err());
        assert!(parse_env("BAD-NAME=1", lookup).is_err());
    }
}
