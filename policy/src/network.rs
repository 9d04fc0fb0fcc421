//! Network rules: which scheme, host and port a component may reach.
//!
//! Written `SCHEME://HOST:PORT` in messages and on the command line, and as
//! a table in policy files:
//!
//! ```toml
//! network = [
//!   { scheme = "https", host = "api.example.com", port = 443 },
//!   { scheme = "*", host = "10.0.0.0/8", port = "*" },
//! ]
//! ```
//!
//! - `scheme`: `https`, `http`, or `*`. `http`/`https` match only HTTP
//!   requests of that scheme; `*` matches any, including raw TCP/UDP
//!   sockets (which the host checks with scheme `tcp`/`udp`).
//! - `host`: a name (`api.example.com`), `*.example.com` (any subdomain, not
//!   the apex), an IP address, a CIDR network (`10.0.0.0/8`, `::1/128`), or
//!   `*` (any host).
//! - `port`: a number, or `*` (any port).
//!
//! Left out, `scheme` and `port` default by the rule's effect, so that an
//! open rule is always the safe reading: in an allow rule `scheme` is
//! `https` and `port` the scheme's (443 for https, 80 for http; required
//! for `*`); in a deny rule both mean any. A loopback host (`localhost`,
//! `127.0.0.0/8`, `::1`) in an allow rule defaults to `http` instead: local
//! model servers (Ollama, llama.cpp, LM Studio, vLLM) speak plain HTTP, and
//! the traffic never leaves the machine.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::cidr::{CidrError, IpNet};
use super::rules::Effect;

/// A network rule, host, scheme or port that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetRuleError {
    /// A scheme other than `https`, `http` or `*`.
    #[error(
        "scheme `{scheme}` is not supported: use `https`, `http` or `*` (any, including raw sockets)"
    )]
    UnknownScheme {
        /// The scheme as given.
        scheme: String,
    },
    /// A host with a `/` that is not a CIDR network.
    #[error("`{text}` is not a CIDR network: {error}")]
    NotANetwork {
        /// The host as given.
        text: String,
        /// What is wrong with the network.
        error: CidrError,
    },
    /// Text that is not a host name, wildcard, address or network.
    #[error(
        "`{text}` is not a host: use a name (api.example.com), `*.domain`, an IP address, \
         a CIDR network (10.0.0.0/8) or `*`"
    )]
    NotAHost {
        /// The host as given.
        text: String,
    },
    /// A `*.` wildcard in front of an IP address.
    #[error("`{text}`: a `*.` wildcard applies to domain names; for addresses use a CIDR network")]
    WildcardAddress {
        /// The host as given.
        text: String,
    },
    /// An allow rule with scheme `*` and no port.
    #[error(
        "network rule for `{host}` with scheme `*` needs a `port` (a number, or \
         `*` for any port)"
    )]
    PortRequired {
        /// The rule's host.
        host: HostMatch,
    },
    /// `[v6` without the closing bracket.
    #[error("`{spec}`: unclosed `[`")]
    UnclosedBracket {
        /// The text as given.
        spec: String,
    },
    /// Something other than `:PORT` after `[v6]`.
    #[error("`{spec}`: unexpected text after `]`")]
    TextAfterBracket {
        /// The text as given.
        spec: String,
    },
    /// A port that is not 1-65535 or `*`.
    #[error("port `{text}` is not a number from 1 to 65535, or `*` (any port)")]
    BadPort {
        /// The port as given.
        text: String,
    },
    /// `SCHEME://` with nothing after it.
    #[error("`{spec}` names no host")]
    NoHost {
        /// The text as given.
        spec: String,
    },
}

/// Which URL scheme a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// `*`: any scheme, and raw sockets.
    Any,
    /// `http`.
    Http,
    /// `https`.
    Https,
}

impl Scheme {
    /// `*`, `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Any => "*",
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The scheme's well-known port (`None` for `*`).
    pub fn default_port(self) -> Option<u16> {
        match self {
            Scheme::Any => None,
            Scheme::Http => Some(80),
            Scheme::Https => Some(443),
        }
    }

    fn intersect(self, other: Scheme) -> Option<Scheme> {
        match (self, other) {
            (Scheme::Any, s) | (s, Scheme::Any) => Some(s),
            (a, b) if a == b => Some(a),
            _ => None,
        }
    }

    /// Whether a connection of `scheme` (`https`, `http`, `tcp`, ...) matches.
    fn allows(self, scheme: &str) -> bool {
        match self {
            Scheme::Any => true,
            s => s.as_str().eq_ignore_ascii_case(scheme),
        }
    }
}

impl FromStr for Scheme {
    type Err = NetRuleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "*" => Ok(Scheme::Any),
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            _ => Err(NetRuleError::UnknownScheme {
                scheme: s.to_string(),
            }),
        }
    }
}

/// Which hosts a rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostMatch {
    /// `*`: every host, by name or address.
    Any,
    /// Exactly this name (lowercase, without a trailing dot).
    Name(String),
    /// `*.domain`: every name under `domain`, not `domain` itself.
    Subdomains(String),
    /// Every address in this network (a single IP is a `/32` or `/128`).
    Net(IpNet),
}

impl HostMatch {
    /// Whether every host this matches is on the local machine's loopback:
    /// `localhost` (and names under it), or a network inside `127.0.0.0/8`
    /// or `::1`.
    pub fn is_loopback(&self) -> bool {
        match self {
            HostMatch::Name(n) => n == "localhost" || n.ends_with(".localhost"),
            HostMatch::Net(net) => match net.addr() {
                IpAddr::V4(v4) => v4.is_loopback() && net.prefix() >= 8,
                IpAddr::V6(v6) => v6.is_loopback() && net.prefix() == 128,
            },
            HostMatch::Any | HostMatch::Subdomains(_) => false,
        }
    }

    /// Parses `*`, a name, `*.domain`, an IP address (optionally in `[ ]`)
    /// or a CIDR network.
    pub fn parse(text: &str) -> Result<HostMatch, NetRuleError> {
        if text == "*" {
            return Ok(HostMatch::Any);
        }
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        if bare.contains('/') {
            return bare.parse::<IpNet>().map(HostMatch::Net).map_err(|error| {
                NetRuleError::NotANetwork {
                    text: text.to_string(),
                    error,
                }
            });
        }
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(HostMatch::Net(IpNet::host(ip)));
        }
        let lower = text.to_ascii_lowercase();
        let lower = lower.strip_suffix('.').unwrap_or(&lower);
        let (name, wildcard) = match lower.strip_prefix("*.") {
            Some(domain) => (domain, true),
            None => (lower, false),
        };
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(NetRuleError::NotAHost {
                text: text.to_string(),
            });
        }
        if wildcard && name.parse::<IpAddr>().is_ok() {
            return Err(NetRuleError::WildcardAddress {
                text: text.to_string(),
            });
        }
        Ok(if wildcard {
            HostMatch::Subdomains(name.to_string())
        } else {
            HostMatch::Name(name.to_string())
        })
    }

    /// The hosts both match, if any. A name and an address never
    /// intersect: names are matched by name, addresses by address.
    pub fn intersect(&self, other: &HostMatch) -> Option<HostMatch> {
        use HostMatch::*;
        match (self, other) {
            (Any, h) | (h, Any) => Some(h.clone()),
            (Name(a), Name(b)) => (a == b).then(|| Name(a.clone())),
            (Name(n), Subdomains(d)) | (Subdomains(d), Name(n)) => {
                under(n, d).then(|| Name(n.clone()))
            }
            (Subdomains(a), Subdomains(b)) => {
                if a == b || under(a, b) {
                    Some(Subdomains(a.clone()))
                } else if under(b, a) {
                    Some(Subdomains(b.clone()))
                } else {
                    None
                }
            }
            (Net(a), Net(b)) => a.intersect(b).map(Net),
            (Net(_), Name(_) | Subdomains(_)) | (Name(_) | Subdomains(_), Net(_)) => None,
        }
    }

    /// Whether a connection to `host` (a name, or an IP address, optionally
    /// in `[ ]`) matches.
    pub fn allows(&self, host: &str) -> bool {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        match (self, host.parse::<IpAddr>()) {
            (HostMatch::Any, _) => true,
            (HostMatch::Net(net), Ok(ip)) => net.contains(&ip),
            (HostMatch::Name(n), Err(_)) => n == host,
            (HostMatch::Subdomains(d), Err(_)) => under(host, d),
            _ => false,
        }
    }
}

/// Whether `name` is a proper subdomain of `domain`.
fn under(name: &str, domain: &str) -> bool {
    name.len() > domain.len()
        && name.ends_with(domain)
        && name[..name.len() - domain.len()].ends_with('.')
}

impl fmt::Display for HostMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostMatch::Any => f.write_str("*"),
            HostMatch::Name(n) => f.write_str(n),
            HostMatch::Subdomains(d) => write!(f, "*.{d}"),
            HostMatch::Net(net) if net.addr().is_ipv6() => write!(f, "[{net}]"),
            HostMatch::Net(net) => write!(f, "{net}"),
        }
    }
}

/// A network rule: scheme, host and port (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetRule {
    /// The scheme.
    pub scheme: Scheme,
    /// The hosts.
    pub host: HostMatch,
    /// The port; `None` is any port.
    pub port: Option<u16>,
}

impl NetRule {
    /// The connections both rules match, if any.
    pub fn intersect(&self, other: &NetRule) -> Option<NetRule> {
        let port = match (self.port, other.port) {
            (None, p) | (p, None) => p,
            (Some(a), Some(b)) if a == b => Some(a),
            _ => return None,
        };
        Some(NetRule {
            scheme: self.scheme.intersect(other.scheme)?,
            host: self.host.intersect(&other.host)?,
            port,
        })
    }

    /// Whether every connection `other` matches, this rule matches too.
    pub fn covers(&self, other: &NetRule) -> bool {
        self.intersect(other).as_ref() == Some(other)
    }

    /// Whether a connection with `scheme` (`https`, `http`, `tcp`, `udp`)
    /// to `host` (a name or an IP address) on `port` matches.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.scheme.allows(scheme) && self.port.is_none_or(|p| p == port) && self.host.allows(host)
    }

    /// Parses a manifest `hosts` entry (`HOST[:PORT]`, `*.domain`, an IP,
    /// `[v6]:port`): the manifest names no scheme, so any scheme matches.
    pub fn from_manifest_host(spec: &str) -> Result<NetRule, NetRuleError> {
        let (host, port) = split_host_port(spec)?;
        Ok(NetRule {
            scheme: Scheme::Any,
            host: HostMatch::parse(host)?,
            port: port.map(parse_port).transpose()?.flatten(),
        })
    }

    /// Applies the defaults of an `effect` rule to what was written (see
    /// the module docs).
    pub(crate) fn with_defaults(
        scheme: Option<Scheme>,
        host: HostMatch,
        port: Option<Option<u16>>,
        effect: Effect,
    ) -> Result<NetRule, NetRuleError> {
        let grants = effect.grants();
        let scheme = scheme.unwrap_or(match grants {
            true if host.is_loopback() => Scheme::Http,
            true => Scheme::Https,
            false => Scheme::Any,
        });
        let port = match (port, grants) {
            (Some(port), _) => port,
            (None, false) => None,
            (None, true) => match scheme.default_port() {
                Some(p) => Some(p),
                None => {
                    return Err(NetRuleError::PortRequired { host });
                }
            },
        };
        Ok(NetRule { scheme, host, port })
    }
}

/// Splits `HOST[:PORT]` (`[v6]:port` for IPv6 with a port; a bare IPv6
/// address or network has no port).
fn split_host_port(spec: &str) -> Result<(&str, Option<&str>), NetRuleError> {
    if let Some(rest) = spec.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| NetRuleError::UnclosedBracket {
                spec: spec.to_string(),
            })?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(NetRuleError::TextAfterBracket {
                spec: spec.to_string(),
            }),
        };
    }
    if spec.matches(':').count() > 1 {
        return Ok((spec, None));
    }
    Ok(match spec.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (spec, None),
    })
}

/// `*` → `None` (any port); a number from 1 to 65535 → that port.
fn parse_port(text: &str) -> Result<Option<u16>, NetRuleError> {
    if text == "*" {
        return Ok(None);
    }
    match text.parse::<u16>() {
        Ok(p) if p > 0 && text.chars().all(|c| c.is_ascii_digit()) => Ok(Some(p)),
        _ => Err(NetRuleError::BadPort {
            text: text.to_string(),
        }),
    }
}

impl FromStr for NetRule {
    type Err = NetRuleError;

    /// Parses `[SCHEME://]HOST[:PORT]` with the defaults of an allow rule:
    /// `api.example.com` is `https://api.example.com:443`; write
    /// `*://10.0.0.0/8:*` for any scheme and port.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.parse::<Scheme>()?), rest),
            None => (None, s),
        };
        if rest.is_empty() {
            return Err(NetRuleError::NoHost {
                spec: s.to_string(),
            });
        }
        let (host, port) = split_host_port(rest)?;
        let host = HostMatch::parse(host)?;
        let port = port.map(parse_port).transpose()?;
        NetRule::with_defaults(scheme, host, port, Effect::Allow)
    }
}

impl fmt::Display for NetRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:", self.scheme.as_str(), self.host)?;
        match self.port {
            Some(p) => write!(f, "{p}"),
            None => f.write_str("*"),
        }
    }
}

/// The table form in policy files, validated field by field (so a bad
/// value is reported at its line); defaults are applied by the rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetRule {
    pub(crate) scheme: Option<SchemeField>,
    pub(crate) host: HostField,
    pub(crate) port: Option<PortField>,
}

/// A `scheme` value.
pub(crate) struct SchemeField(pub(crate) Scheme);

impl<'de> Deserialize<'de> for SchemeField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(SchemeField).map_err(de::Error::custom)
    }
}

/// A `host` value.
pub(crate) struct HostField(pub(crate) HostMatch);

impl<'de> Deserialize<'de> for HostField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        HostMatch::parse(&text)
            .map(HostField)
            .map_err(de::Error::custom)
    }
}

/// A `port` value: a number or `"*"`.
pub(crate) struct PortField(pub(crate) Option<u16>);

impl<'de> Deserialize<'de> for PortField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PortField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number from 1 to 65535, or \"*\" (any port)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortField, E> {
                parse_port(&v.to_string()).map(PortField).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortField, E> {
                parse_port(&v.to_string()).map(PortField).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortField, E> {
                parse_port(v).map(PortField).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> NetRule {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn a_loopback_host_without_a_scheme_is_plain_http() {
        assert_eq!(rule("127.0.0.1:8080").to_string(), "http://127.0.0.1:8080");
        assert_eq!(
            rule("localhost:11434").to_string(),
            "http://localhost:11434"
        );
        assert_eq!(rule("[::1]:1234").to_string(), "http://[::1]:1234");
        assert_eq!(rule("127.0.0.1").to_string(), "http://127.0.0.1:80");
        // Named explicitly, the scheme stays; other hosts keep https.
        assert_eq!(
            rule("https://127.0.0.1:8443").to_string(),
            "https://127.0.0.1:8443"
        );
        assert_eq!(rule("10.0.0.1:8080").to_string(), "https://10.0.0.1:8080");
        assert_eq!(
            rule("localhost.example.com:80").to_string(),
            "https://localhost.example.com:80"
        );
        // A deny rule still means any scheme.
        let deny = NetRule::with_defaults(
            None,
            HostMatch::parse("127.0.0.1").expect("host"),
            None,
            Effect::Deny,
        )
        .expect("deny");
        assert_eq!(deny.to_string(), "*://127.0.0.1:*");
    }

    #[test]
    fn specs_parse_with_allow_defaults_and_print_explicitly() {
        assert_eq!(
            rule("api.example.com").to_string(),
            "https://api.example.com:443"
        );
        assert_eq!(
            rule("http://Example.COM.").to_string(),
            "http://example.com:80"
        );
        assert_eq!(rule("*://10.0.0.0/8:*").to_string(), "*://10.0.0.0/8:*");
        assert_eq!(rule("https://[::1]:8443").to_string(), "https://[::1]:8443");
        assert_eq!(
            rule("*://[2001:db8::/32]:53").to_string(),
            "*://[2001:db8::/32]:53"
        );
        assert_eq!(rule("https://*:*").to_string(), "https://*:*");
        let err = "*://example.com"
            .parse::<NetRule>()
            .expect_err("no port")
            .to_string();
        assert!(err.contains("needs a `port`"), "{err}");
        for bad in [
            "ftp://example.com",
            "https://exa mple.com",
            "https://example.com:0",
            "https://example.com:http",
            "*.10.0.0.1",
            "https://",
        ] {
            assert!(bad.parse::<NetRule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_match_scheme_host_and_port() {
        let r = rule("https://*.example.com:443");
        assert!(r.allows("https", "api.example.com", 443));
        assert!(r.allows("HTTPS", "API.example.com.", 443));
        assert!(!r.allows("http", "api.example.com", 443));
        assert!(!r.allows("https", "api.example.com", 8443));
        assert!(!r.allows("https", "example.com", 443), "not the apex");
        assert!(!r.allows("https", "badexample.com", 443));
        assert!(!r.allows("tcp", "api.example.com", 443));

        let r = rule("*://10.0.0.0/8:*");
        assert!(r.allows("tcp", "10.1.2.3", 5432));
        assert!(r.allows("https", "[::ffff:10.1.2.3]", 443));
        assert!(!r.allows("tcp", "11.0.0.1", 5432));
        assert!(
            !r.allows("tcp", "ten.example", 5432),
            "names never match addresses"
        );

        assert!(rule("*://*:*").allows("udp", "anything.example", 1));
    }

    #[test]
    fn intersections_keep_the_narrower_rule() {
        let wide = rule("*://*.example.com:*");
        let narrow = rule("https://api.example.com:443");
        assert_eq!(wide.intersect(&narrow), Some(narrow.clone()));
        assert_eq!(narrow.intersect(&wide), Some(narrow.clone()));
        assert!(wide.covers(&narrow));
        assert!(!narrow.covers(&wide));
        assert_eq!(
            rule("https://*.a.example.com:443").intersect(&rule("*://*.example.com:*")),
            Some(rule("https://*.a.example.com:443"))
        );
        assert_eq!(
            rule("https://a.com").intersect(&rule("http://a.com:443")),
            None
        );
        assert_eq!(
            rule("https://a.com").intersect(&rule("https://a.com:8443")),
            None
        );
        assert_eq!(
            rule("https://a.com").intersect(&rule("https://b.com")),
            None
        );
        assert_eq!(
            rule("*://10.0.0.0/8:*").intersect(&rule("*://10.9.0.0/16:22")),
            Some(rule("*://10.9.0.0/16:22"))
        );
        assert_eq!(
            rule("*://10.0.0.0/8:*").intersect(&rule("*://a.com:*")),
            None
        );
    }

    #[test]
    fn manifest_hosts_match_any_scheme() {
        let r = NetRule::from_manifest_host("api.example.com:443").expect("valid");
        assert_eq!(r.to_string(), "*://api.example.com:443");
        let r = NetRule::from_manifest_host("*.example.org").expect("valid");
        assert_eq!(r.to_string(), "*://*.example.org:*");
        let r = NetRule::from_manifest_host("[::1]:8080").expect("valid");
        assert_eq!(r.to_string(), "*://[::1]:8080");
    }
}
