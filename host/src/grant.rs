//! What a component may do: directories, network hosts, environment and
//! limits. Deny by default: [`Grant::default`] allows nothing.
//!
//! A [`Grant`] is built once per component per call site and is immutable;
//! everything that builds a sandbox takes a `&Grant` and nothing else.

use std::path::{Path, PathBuf};
use std::time::Duration;

use warden_policy::network::NetRuleError;
use warden_policy::{HostMatch, NetRule, Scheme};

use crate::error::{DirGrantProblem, EnvGrantProblem, GrantError, HostGrantProblem};

/// Everything one component is allowed to do during one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// Host directories the component sees, each at a guest path.
    pub dirs: Vec<DirGrant>,
    /// Outbound destinations the component may reach (HTTP and TCP).
    pub hosts: Vec<HostPattern>,
    /// Destinations it may never reach, whatever `hosts` allows: checked
    /// against the name a request uses and every address it resolves to.
    pub deny_hosts: Vec<HostPattern>,
    /// Environment variables the component sees, with their values.
    pub env: Vec<(String, String)>,
    /// Secrets injected into the component's outbound requests (the guest
    /// never sees their values).
    pub secrets: Vec<crate::secret::SecretGrant>,
    /// Resource limits.
    pub limits: Limits,
    /// Whether a subprocess tool source may start without the kernel's
    /// confinement (see [`crate::confine`]).
    pub confinement: crate::confine::Requirement,
    /// The remote MCP servers the org policy lets be used (`None`: the org
    /// policy does not limit them).
    pub remote_servers: Option<warden_policy::RemoteServers>,
}

impl Grant {
    /// The values of the secrets granted, to redact them from records.
    pub fn secret_values(&self) -> Vec<&str> {
        self.secrets.iter().map(|s| s.value.expose()).collect()
    }

    /// Refuses a grant with a directory that reaches `home`, warden's own
    /// home: the home itself, a directory inside it, or one containing it.
    /// A component that could see the home could read the audit signing key
    /// and secrets, or rewrite the trust store, grants and sessions.
    pub fn refuse_reserved(&self, component: &str, home: &Path) -> Result<(), GrantError> {
        if self.dirs.is_empty() {
            return Ok(());
        }
        let home = canonical_home(home);
        for dir in &self.dirs {
            let contains_home = home.starts_with(&dir.host);
            if contains_home || dir.host.starts_with(&home) {
                return Err(GrantError::ReservedDir {
                    component: component.to_string(),
                    dir: dir.host.clone(),
                    home,
                    contains_home,
                });
            }
        }
        Ok(())
    }
}

/// `home` made canonical, remembered per process: a long-running server
/// checks every call's grant against the same home, and `canonicalize`
/// costs a `readlink` per path component. (A home re-pointed while warden
/// runs is not followed; it is set when warden starts.)
fn canonical_home(home: &Path) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(c) = seen.lock().ok().and_then(|m| m.get(home).cloned()) {
        return c;
    }
    let Ok(canonical) = home.canonicalize() else {
        return home.to_path_buf();
    };
    if let Ok(mut m) = seen.lock() {
        // A process has one home or a few (tests): never let it grow.
        if m.len() >= 64 {
            m.clear();
        }
        m.insert(home.to_path_buf(), canonical.clone());
    }
    canonical
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
        let invalid = |problem| GrantError::InvalidDir {
            spec: spec.to_string(),
            problem,
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
            _ => return Err(invalid(DirGrantProblem::Syntax)),
        };
        if host.is_empty() {
            return Err(invalid(DirGrantProblem::EmptyHost));
        }
        DirGrant::new(Path::new(host), guest, mode).map_err(|e| match e {
            GrantError::InvalidDir { problem, .. } => invalid(problem),
            other => other,
        })
    }

    /// Grants `host` (which must be an existing directory) at `guest`
    /// (default: the canonical host path).
    pub fn new(host: &Path, guest: Option<&str>, mode: DirMode) -> Result<DirGrant, GrantError> {
        let invalid = |problem| GrantError::InvalidDir {
            spec: host.display().to_string(),
            problem,
        };
        let canonical = host.canonicalize().map_err(|e| {
            invalid(DirGrantProblem::Unopenable {
                path: host.to_path_buf(),
                error: e.to_string(),
            })
        })?;
        if !canonical.is_dir() {
            return Err(invalid(DirGrantProblem::NotADirectory {
                path: host.to_path_buf(),
            }));
        }
        let guest = match guest {
            Some(g) => g.to_string(),
            None => canonical
                .to_str()
                .ok_or_else(|| invalid(DirGrantProblem::NonUtf8Host))?
                .to_string(),
        };
        let guest = warden_policy::path::normalize_guest(&guest).map_err(|e| invalid(e.into()))?;
        Ok(DirGrant {
            host: canonical,
            guest,
            mode,
        })
    }
}

impl DirGrant {
    /// A directory of an effective grant, for one call: its host path was
    /// made canonical when the grant was loaded, so when it is an absolute
    /// path with no `.` or `..` it is kept as it is after one `stat` that it
    /// is a directory (no `canonicalize`, which costs a `readlink` per path
    /// component, on every call). The sandbox opens it refusing any
    /// symbolic link in the path (`granted_dir`), so a directory replaced by
    /// a link since is not followed. Any other path is resolved as by
    /// [`DirGrant::new`].
    pub fn granted(host: &Path, guest: &str, mode: DirMode) -> Result<DirGrant, GrantError> {
        use std::path::Component;
        let clean = host.is_absolute()
            && host
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        let guest_ok = warden_policy::path::normalize_guest(guest).is_ok_and(|g| g == guest);
        if !(clean && guest_ok) {
            return DirGrant::new(host, Some(guest), mode);
        }
        match std::fs::metadata(host) {
            Ok(meta) if meta.is_dir() => Ok(DirGrant {
                host: host.to_path_buf(),
                guest: guest.to_string(),
                mode,
            }),
            _ => DirGrant::new(host, Some(guest), mode),
        }
    }
}

/// An outbound destination a component may (or, in [`Grant::deny_hosts`],
/// may never) connect to: a scheme, a host and a port, with the matching
/// rules of the policy's [`NetRule`] (names, `*.domain`, IP literals and
/// CIDR networks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(NetRule);

impl HostPattern {
    /// Parses `HOST[:PORT]` (any scheme, and any port when none is given)
    /// or `SCHEME://HOST[:PORT]` (`http`, `https` or `*`). HOST is a name,
    /// `*.domain`, an IP literal (`[::1]` for IPv6 with a port) or a CIDR
    /// network such as `10.0.0.0/8`.
    pub fn parse(spec: &str) -> Result<HostPattern, GrantError> {
        let invalid = |problem| GrantError::InvalidHost {
            spec: spec.to_string(),
            problem,
        };
        if spec.contains("://") {
            let rule: NetRule = spec.parse().map_err(|e: NetRuleError| invalid(e.into()))?;
            return Ok(HostPattern(rule));
        }
        // `10.0.0.0/8` is a network; `example.com/path` is a URL.
        let path_like = spec
            .split_once('/')
            .is_some_and(|(_, rest)| !rest.starts_with(|c: char| c.is_ascii_digit()));
        if path_like {
            return Err(invalid(HostGrantProblem::Url));
        }
        NetRule::from_manifest_host(spec)
            .map(HostPattern)
            .map_err(|e| invalid(e.into()))
    }

    /// The pattern of a policy network rule.
    pub fn from_rule(rule: NetRule) -> HostPattern {
        HostPattern(rule)
    }

    /// The policy rule this pattern is.
    pub fn rule(&self) -> &NetRule {
        &self.0
    }

    /// Whether this pattern matches a connection with `scheme` (`http`,
    /// `https`, `tcp` or `udp`) to `host` (a name or an IP address) on `port`.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.0.allows(scheme, host, port)
    }

    /// Whether this pattern allows connecting to `host` on `port` with any
    /// scheme it covers.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.0.port.is_none_or(|p| p == port) && self.0.host.allows(host)
    }

    /// Whether the pattern's host part matches the DNS name `name`
    /// (whatever the scheme and port): the check for name lookups.
    pub fn matches_name(&self, name: &str) -> bool {
        !matches!(self.0.host, HostMatch::Net(_)) && self.0.host.allows(name)
    }

    /// Whether the pattern names addresses (an IP or a CIDR network) rather
    /// than host names: only such a grant lets a connection reach a
    /// loopback, link-local or private address.
    pub fn contains_address(&self, scheme: &str, addr: std::net::SocketAddr) -> bool {
        matches!(self.0.host, HostMatch::Net(_))
            && self.matches(scheme, &addr.ip().to_string(), addr.port())
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rule = &self.0;
        if rule.scheme != Scheme::Any {
            write!(f, "{}://", rule.scheme.as_str())?;
        }
        write!(f, "{}", rule.host)?;
        match rule.port {
            Some(p) => write!(f, ":{p}"),
            None => Ok(()),
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
    /// Calls of the component that may run at once in this host; a call
    /// beyond it is refused, not queued. Default: no limit.
    pub max_instances: Option<u32>,
    /// Calls of the component this host starts per rolling minute; a call
    /// beyond it is refused. Default: no limit.
    pub calls_per_minute: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            fuel: 50_000_000_000,
            timeout: Duration::from_secs(10),
            max_output_bytes: 1 << 20,
            max_log_bytes: 64 << 10,
            max_instances: None,
            calls_per_minute: None,
        }
    }
}

/// Parses a byte size: `65536`, `64K`, `64KiB`, `64M`, `64MiB`, `1G`, `1GiB`
/// (binary units: K = 1024).
pub fn parse_size(text: &str) -> Result<u64, warden_registry::units::SizeError> {
    warden_registry::units::parse_size(text)
}

/// Parses a duration: `500ms`, `10s`, `2m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, warden_registry::units::DurationError> {
    let ms = warden_registry::units::parse_duration_ms(
        text,
        warden_registry::units::BareNumber::Seconds,
    )?;
    if ms == 0 {
        return Err(warden_registry::units::DurationError::Zero {
            text: text.to_string(),
        });
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
                problem: EnvGrantProblem::NotSet {
                    name: spec.to_string(),
                },
            })?;
            (spec.to_string(), value)
        }
    };
    if !warden_policy::request::is_var_name(&name) {
        return Err(GrantError::InvalidEnv {
            spec: spec.to_string(),
            problem: EnvGrantProblem::BadName,
        });
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_reaching_wardens_home_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let home = root.path().join("home");
        let inside = home.join("workspaces");
        let beside = root.path().join("work");
        for dir in [&inside, &beside] {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        let grant_of = |dir: &Path| Grant {
            dirs: vec![DirGrant::new(dir, Some("/d"), DirMode::ReadOnly).expect("dir")],
            ..Grant::default()
        };
        grant_of(&beside)
            .refuse_reserved("t", &home)
            .expect("a sibling is fine");
        for (dir, contains) in [
            (&home, true),
            (&inside, false),
            (&root.path().to_path_buf(), true),
        ] {
            match grant_of(dir).refuse_reserved("t", &home) {
                Err(GrantError::ReservedDir { contains_home, .. }) => {
                    assert_eq!(contains_home, contains, "{}", dir.display());
                }
                other => panic!("{}: {other:?}", dir.display()),
            }
        }
        // The same home by another spelling.
        assert!(
            grant_of(&inside)
                .refuse_reserved("t", &home.join("."))
                .is_err()
        );
    }

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
    fn host_patterns_take_schemes_and_networks() {
        let p = HostPattern::parse("10.0.0.0/8:5432").expect("valid");
        assert!(p.matches("tcp", "10.1.2.3", 5432));
        assert!(!p.matches("tcp", "11.1.2.3", 5432));
        assert!(!p.matches("tcp", "10.1.2.3", 5433));
        let addr = "10.9.9.9:5432".parse().expect("addr");
        assert!(p.contains_address("tcp", addr));

        let p = HostPattern::parse("https://api.example.com").expect("valid");
        assert!(p.matches("https", "api.example.com", 443));
        assert!(!p.matches("http", "api.example.com", 443));
        assert!(!p.matches("https", "api.example.com", 8443));
        assert_eq!(p.to_string(), "https://api.example.com:443");

        let named = HostPattern::parse("localhost:8080").expect("valid");
        assert!(!named.contains_address("http", "127.0.0.1:8080".parse().expect("addr")));
    }

    #[test]
    fn host_patterns_reject_urls_and_bad_ports() {
        for bad in [
            "ftp://example.com",
            "example.com/path",
            "example.com/",
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
