//! The rules model shared by `grants.toml` and the org policy: a [`Rule`]
//! targets components and allows or denies capabilities.
//!
//! ```toml
//! [[rule]]
//! component = "acme:grep"        # a package name, `namespace:*` or `*`
//! version = "^1.2"               # optional: a semver requirement
//! digest = "sha256:…"            # optional: exactly these component bytes
//! effect = "allow"               # or "deny"; "ask" (grants.toml) or "no-ask" (org policy)
//! dirs = [{ host = "/home/me/src", guest = "/src", mode = "ro" }]
//! network = [{ scheme = "https", host = "api.example.com", port = 443 }]
//! env = ["RUST_LOG"]
//! secrets = ["GITHUB_TOKEN"]
//! limits = { memory = "256MiB", wall-clock = "30s" }
//! ```
//!
//! Directories: `host` is a path or a pattern (see [`PathPattern`]); `mode`
//! is `ro` or `rw`, default `ro` in an allow rule. In a deny rule, `mode =
//! "rw"` denies only writing (read-only access stays possible) and no mode
//! (or `ro`) denies all access. Network fields are described in
//! [`super::network`], limits in [`super::limits`]. Env and secret names
//! are letters, digits and `_`; `*` (any name) is allowed where patterns
//! are (deny rules, org policies). A deny rule sets no limits: limits are
//! ceilings, set by allow rules.
//!
//! An `ask` rule (user grants only) reads like an allow rule, but what it
//! names is granted only when the user approves it at call time (see
//! [`crate::ask`]); a `no-ask` rule (org policy only) matches like a deny
//! rule and forbids asking for what it covers, so an `ask` for it is a deny.
//! Neither sets limits.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::limits::{LimitError, LimitKind, Limits};
use super::network::{NetRule, NetRuleError, RawNetRule};
use super::path::{GuestPathError, PathPattern, PathPatternError, normalize_guest};
use super::target::{NamePattern, Target, TargetError};
use crate::error::PolicyError;
use crate::request::Access;
use warden_core::digest::Digest;

/// A rule, capability or name that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A directory spec not of the form `HOST[:GUEST][:ro|rw]`.
    #[error("`{spec}`: expected HOST[:GUEST][:ro|rw]")]
    DirSpec {
        /// The spec as given.
        spec: String,
    },
    /// A bad guest path.
    #[error(transparent)]
    GuestPath(#[from] GuestPathError),
    /// A bad host path or pattern.
    #[error(transparent)]
    PathPattern(#[from] PathPatternError),
    /// A bad network rule.
    #[error(transparent)]
    Network(#[from] NetRuleError),
    /// A bad limit.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// A capability kind other than dir, network, env, secret or limit.
    #[error("`{kind}` is not a capability kind; use dir, network, env, secret or limit")]
    UnknownKind {
        /// The kind as given.
        kind: String,
    },
    /// `*` where a grant must name each variable.
    #[error("`{field}`: `*` is a pattern; a grant names each variable")]
    PatternNotAllowed {
        /// The list (`env`, `secrets`).
        field: String,
    },
    /// An env or secret name that breaks the name rule.
    #[error(
        "`{field}` entry `{name}` is not a valid name: use letters, digits and `_`, not \
         starting with a digit (or `*` for any)"
    )]
    BadName {
        /// The list (`env`, `secrets`).
        field: String,
        /// The name as given.
        name: String,
    },
    /// A secret destination with scheme `*`.
    #[error("secret `{entry}`: a secret is sent over one scheme; write https:// or http://")]
    SecretAnyScheme {
        /// The `secrets` entry as given.
        entry: String,
    },
    /// A deny rule with `limits`.
    #[error("a deny rule cannot set `limits`: limits are ceilings, set by allow rules")]
    DenyWithLimits,
    /// An `ask` or `no-ask` rule with `limits`.
    #[error("an `{effect}` rule cannot set `limits`: limits are ceilings, set by allow rules")]
    LimitsInAsk {
        /// `ask` or `no-ask`.
        effect: &'static str,
    },
}

/// Whether a rule allows or denies what it names. Deny always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants (user layer) or sets a ceiling (org layer).
    Allow,
    /// Forbids, whatever any allow rule says.
    Deny,
    /// Grants only what the user approves when a call needs it (user
    /// grants only; see [`crate::ask`]).
    Ask,
    /// Forbids asking: what it covers is denied when a user rule says to
    /// ask for it (org policy only; matches like a deny rule).
    NoAsk,
}

impl Effect {
    /// `allow`, `deny`, `ask` or `no-ask`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::Ask => "ask",
            Effect::NoAsk => "no-ask",
        }
    }

    /// Whether the rule names what it grants (allow, ask) rather than what
    /// it matches (deny, no-ask: patterns, "no mode" means all access).
    pub fn grants(self) -> bool {
        matches!(self, Effect::Allow | Effect::Ask)
    }
}

impl<'de> Deserialize<'de> for Effect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.as_str() {
            "allow" => Ok(Effect::Allow),
            "deny" => Ok(Effect::Deny),
            "ask" => Ok(Effect::Ask),
            "no-ask" => Ok(Effect::NoAsk),
            other => Err(de::Error::custom(format!(
                "`effect` must be \"allow\", \"deny\", \"ask\" or \"no-ask\", not \"{other}\""
            ))),
        }
    }
}

/// A directory rule (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DirRule {
    /// The host directory, or a pattern of host paths.
    pub host: PathPattern,
    /// Where the guest sees it (grants only).
    pub guest: Option<String>,
    /// The access allowed, or (in a deny rule) the least access denied;
    /// `None` in a deny rule denies all access.
    pub mode: Option<Access>,
}

impl DirRule {
    /// Parses `HOST[:GUEST][:ro|rw]`, as on the host's command line: the
    /// guest path defaults to the host path, the mode to read-only.
    pub fn parse(spec: &str) -> Result<DirRule, RuleError> {
        let mut parts: Vec<&str> = spec.split(':').collect();
        let mode = match parts.last() {
            Some(&"ro") if parts.len() > 1 => {
                parts.pop();
                Access::ReadOnly
            }
            Some(&"rw") if parts.len() > 1 => {
                parts.pop();
                Access::ReadWrite
            }
            _ => Access::ReadOnly,
        };
        let (host, guest) = match parts.as_slice() {
            [host] => (*host, None),
            [host, guest] => (*host, Some(normalize_guest(guest)?)),
            _ => {
                return Err(RuleError::DirSpec {
                    spec: spec.to_string(),
                });
            }
        };
        Ok(DirRule {
            host: PathPattern::parse(host)?,
            guest,
            mode: Some(mode),
        })
    }
}

/// One capability: what rules allow or deny, and what decisions are about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// A host directory (or pattern), optionally at a guest path.
    Dir(DirRule),
    /// A directory the manifest asks for at a guest path, which no grant
    /// maps to a host directory (appears only in decisions).
    RequestedDir {
        /// The guest path.
        guest: String,
        /// The access asked for.
        mode: Access,
    },
    /// Outbound network access.
    Network(NetRule),
    /// An environment variable, by name (`*` is any).
    Env(String),
    /// A secret, by name (`*` is any).
    Secret(String),
    /// A resource limit: at most this much.
    Limit(LimitKind, u64),
}

impl Capability {
    /// Parses a capability as given on a command line: `kind` is `dir`
    /// (`HOST[:GUEST][:ro|rw]`), `network` (`[SCHEME://]HOST[:PORT]`), `env`
    /// (`NAME`), `secret` (`NAME@[SCHEME://]HOST[:PORT]`, see
    /// [`secret_host`]; `NAME` alone in deny rules and org policies) or
    /// `limit` (`KIND=VALUE`).
    pub fn parse(kind: &str, spec: &str) -> Result<Capability, PolicyError> {
        let invalid = |error: RuleError| PolicyError::InvalidCapability {
            spec: format!("{kind} {spec}"),
            error,
        };
        match kind {
            "dir" => DirRule::parse(spec).map(Capability::Dir),
            "network" => spec
                .parse()
                .map(Capability::Network)
                .map_err(RuleError::from),
            "env" => check_name(spec, "env", true).map(|()| Capability::Env(spec.to_string())),
            "secret" => check_secret(spec, true).map(|()| Capability::Secret(spec.to_string())),
            "limit" => LimitKind::parse_setting(spec)
                .map(|(k, v)| Capability::Limit(k, v))
                .map_err(RuleError::from),
            other => Err(RuleError::UnknownKind {
                kind: other.to_string(),
            }),
        }
        .map_err(invalid)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Dir(d) => {
                write!(f, "directory {}", d.host)?;
                if let Some(g) = &d.guest {
                    write!(f, " at {g}")?;
                }
                match d.mode {
                    Some(m) => write!(f, " ({m})"),
                    None => Ok(()),
                }
            }
            Capability::RequestedDir { guest, mode } => {
                write!(f, "directory {guest} in the guest ({mode})")
            }
            Capability::Network(n) => write!(f, "network {n}"),
            Capability::Env(n) if n == "*" => f.write_str("any environment variable"),
            Capability::Env(n) => write!(f, "environment variable {n}"),
            Capability::Secret(n) if n == "*" => f.write_str("any secret"),
            Capability::Secret(n) => match secret_host(n) {
                Some(Ok(host)) => write!(f, "secret {} for {host}", secret_name(n)),
                _ => write!(f, "secret {n}"),
            },
            Capability::Limit(k, v) => write!(f, "{k} limit {}", k.format(*v)),
        }
    }
}

/// One rule: a target, an effect, and the capabilities it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The components it applies to.
    pub target: Target,
    /// Allow or deny.
    pub effect: Effect,
    /// Directories.
    pub dirs: Vec<DirRule>,
    /// Network access.
    pub network: Vec<NetRule>,
    /// Environment variable names.
    pub env: Vec<String>,
    /// Secret names.
    pub secrets: Vec<String>,
    /// Limits (allow rules only).
    pub limits: Limits,
}

impl Rule {
    /// An empty rule for `target`.
    pub fn new(target: Target, effect: Effect) -> Rule {
        Rule {
            target,
            effect,
            dirs: Vec::new(),
            network: Vec::new(),
            env: Vec::new(),
            secrets: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// Every capability the rule names, in file order.
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut out: Vec<Capability> = self.dirs.iter().cloned().map(Capability::Dir).collect();
        out.extend(self.network.iter().cloned().map(Capability::Network));
        out.extend(self.env.iter().cloned().map(Capability::Env));
        out.extend(self.secrets.iter().cloned().map(Capability::Secret));
        out.extend(self.limits.iter().map(|(k, v)| Capability::Limit(k, v)));
        out
    }

    /// Whether the rule names nothing.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
            && self.network.is_empty()
            && self.env.is_empty()
            && self.secrets.is_empty()
            && self.limits.is_empty()
    }

    /// The rule as a `[[rule]]` table.
    pub(crate) fn to_toml(&self) -> String {
        let mut out = String::from("[[rule]]\n");
        out += &format!(
            "component = {}\n",
            quote(&self.target.component.to_string())
        );
        if let Some(v) = &self.target.version {
            out += &format!("version = {}\n", quote(&v.to_string()));
        }
        if let Some(d) = &self.target.digest {
            out += &format!("digest = {}\n", quote(&d.to_string()));
        }
        out += &format!("effect = \"{}\"\n", self.effect.as_str());
        let dirs: Vec<String> = self
            .dirs
            .iter()
            .map(|d| {
                let mut fields = vec![format!("host = {}", quote(&d.host.to_string()))];
                if let Some(g) = &d.guest {
                    fields.push(format!("guest = {}", quote(g)));
                }
                if let Some(m) = d.mode {
                    fields.push(format!("mode = \"{}\"", m.as_str()));
                }
                format!("{{ {} }}", fields.join(", "))
            })
            .collect();
        out += &array("dirs", &dirs);
        let network: Vec<String> = self
            .network
            .iter()
            .map(|n| {
                let port = n.port.map_or("\"*\"".to_string(), |p| p.to_string());
                format!(
                    "{{ scheme = \"{}\", host = {}, port = {port} }}",
                    n.scheme.as_str(),
                    quote(&n.host.to_string())
                )
            })
            .collect();
        out += &array("network", &network);
        let quoted = |names: &[String]| names.iter().map(|n| quote(n)).collect::<Vec<_>>();
        out += &array("env", &quoted(&self.env));
        out += &array("secrets", &quoted(&self.secrets));
        if !self.limits.is_empty() {
            out += &format!("limits = {}\n", self.limits.to_inline_toml());
        }
        out
    }
}

/// A TOML string literal.
pub(crate) fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// `key = [ … ]`, one item per line; nothing when empty.
fn array(key: &str, items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] if one.len() < 60 => format!("{key} = [{one}]\n"),
        _ => format!(
            "{key} = [\n{}]\n",
            items
                .iter()
                .map(|i| format!("  {i},\n"))
                .collect::<String>()
        ),
    }
}

/// Checks an env or secret name; `*` only where `pattern` is allowed.
/// The name of a `secrets` entry: `NAME` of `NAME` or `NAME@HOST`.
pub fn secret_name(entry: &str) -> &str {
    entry.split_once('@').map_or(entry, |(name, _)| name)
}

/// The one destination a `secrets` entry `NAME@[SCHEME://]HOST[:PORT]` is
/// sent to, `None` for a bare `NAME`. The scheme defaults to `https` and
/// the port to the scheme's (`api.example.com` is
/// `https://api.example.com:443`); `*://` is refused: a secret goes over
/// one scheme.
pub fn secret_host(entry: &str) -> Option<Result<NetRule, RuleError>> {
    let (_, host) = entry.split_once('@')?;
    Some(
        host.parse::<NetRule>()
            .map_err(RuleError::from)
            .and_then(|rule| {
                if rule.scheme == super::network::Scheme::Any {
                    Err(RuleError::SecretAnyScheme {
                        entry: entry.to_string(),
                    })
                } else {
                    Ok(rule)
                }
            }),
    )
}

/// Checks a `secrets` entry: a name (or, where `pattern`, `*`), optionally
/// followed by `@HOST` ([`secret_host`]).
pub(crate) fn check_secret(entry: &str, pattern: bool) -> Result<(), RuleError> {
    match secret_host(entry) {
        None => check_name(entry, "secrets", pattern),
        Some(host) => {
            check_name(secret_name(entry), "secrets", false)?;
            host.map(drop)
        }
    }
}

pub(crate) fn check_name(name: &str, field: &str, pattern: bool) -> Result<(), RuleError> {
    if name == "*" {
        return if pattern {
            Ok(())
        } else {
            Err(RuleError::PatternNotAllowed {
                field: field.to_string(),
            })
        };
    }
    if crate::request::is_var_name(name) {
        Ok(())
    } else {
        Err(RuleError::BadName {
            field: field.to_string(),
            name: name.to_string(),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    host: PatternField,
    guest: Option<GuestField>,
    mode: Option<Access>,
}

struct PatternField(PathPattern);

impl<'de> Deserialize<'de> for PatternField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PathPattern::parse(&text)
            .map(PatternField)
            .map_err(|e| de::Error::custom(format!("`host`: {e}")))
    }
}

struct GuestField(String);

impl<'de> Deserialize<'de> for GuestField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        normalize_guest(&text)
            .map(GuestField)
            .map_err(de::Error::custom)
    }
}

struct ComponentField(NamePattern);

impl<'de> Deserialize<'de> for ComponentField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map(ComponentField)
            .map_err(|e: TargetError| de::Error::custom(format!("`component`: {e}")))
    }
}

struct VersionField(semver::VersionReq);

impl<'de> Deserialize<'de> for VersionField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(VersionField).map_err(|e| {
            de::Error::custom(format!(
                "`version` `{text}` is not a semver requirement (e.g. `^1.2`, `=1.2.0`): {e}"
            ))
        })
    }
}

/// An `env` (`SECRET = false`) or `secrets` (`true`) entry.
struct NameField<const SECRET: bool>(String);

impl<'de, const SECRET: bool> Deserialize<'de> for NameField<SECRET> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let checked = if SECRET {
            check_secret(&text, true)
        } else {
            check_name(&text, "env", true)
        };
        checked.map(|()| NameField(text)).map_err(de::Error::custom)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    component: ComponentField,
    version: Option<VersionField>,
    digest: Option<Digest>,
    effect: Effect,
    #[serde(default)]
    dirs: Vec<RawDir>,
    #[serde(default)]
    network: Vec<RawNetRule>,
    #[serde(default)]
    env: Vec<NameField<false>>,
    #[serde(default)]
    secrets: Vec<NameField<true>>,
    #[serde(default)]
    limits: Limits,
}

impl TryFrom<RawRule> for Rule {
    type Error = RuleError;

    fn try_from(raw: RawRule) -> Result<Rule, RuleError> {
        let effect = raw.effect;
        if !raw.limits.is_empty() {
            match effect {
                Effect::Allow => {}
                Effect::Deny => return Err(RuleError::DenyWithLimits),
                Effect::Ask | Effect::NoAsk => {
                    return Err(RuleError::LimitsInAsk {
                        effect: effect.as_str(),
                    });
                }
            }
        }
        let dirs = raw
            .dirs
            .into_iter()
            .map(|d| DirRule {
                host: d.host.0,
                guest: d.guest.map(|g| g.0),
                mode: match (d.mode, effect.grants()) {
                    (None, true) => Some(Access::ReadOnly),
                    (Some(Access::ReadOnly), false) => None,
                    (mode, _) => mode,
                },
            })
            .collect();
        let network = raw
            .network
            .into_iter()
            .map(|n| {
                NetRule::with_defaults(n.scheme.map(|s| s.0), n.host.0, n.port.map(|p| p.0), effect)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rule {
            target: Target {
                component: raw.component.0,
                version: raw.version.map(|v| v.0),
                digest: raw.digest,
            },
            effect,
            dirs,
            network,
            env: raw.env.into_iter().map(|n| n.0).collect(),
            secrets: raw.secrets.into_iter().map(|n| n.0).collect(),
            limits: raw.limits,
        })
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Rule::try_from(RawRule::deserialize(d)?).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{parse_document, write_document};

    fn doc(text: &str) -> Result<Vec<Rule>, String> {
        parse_document(text, "test.toml")
            .map(|d| d.rules.into_iter().map(|(r, _)| r).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_rule_parses_with_defaults_applied_and_round_trips() {
        let text = r#"
[[rule]]
component = "acme:*"
version = "^1.2"
effect = "allow"
dirs = [{ host = "/home/me/src/", guest = "/src" }]
network = [{ host = "api.example.com" }, { scheme = "*", host = "10.0.0.0/8", port = "*" }]
env = ["RUST_LOG"]
secrets = ["TOKEN"]
limits = { memory = "256MiB" }

[[rule]]
component = "*"
effect = "deny"
dirs = [{ host = "/home/*/.ssh" }, { host = "/etc", mode = "rw" }]
network = [{ host = "*.internal" }]
"#;
        let rules = doc(text).expect("valid");
        assert_eq!(rules.len(), 2);
        let allow = &rules[0];
        assert_eq!(allow.dirs[0].host.to_string(), "/home/me/src");
        assert_eq!(allow.dirs[0].mode, Some(Access::ReadOnly));
        assert_eq!(allow.network[0].to_string(), "https://api.example.com:443");
        assert_eq!(allow.network[1].to_string(), "*://10.0.0.0/8:*");
        let deny = &rules[1];
        assert_eq!(
            deny.dirs[0].mode, None,
            "a deny rule without mode denies all"
        );
        assert_eq!(deny.dirs[1].mode, Some(Access::ReadWrite));
        assert_eq!(deny.network[0].to_string(), "*://*.internal:*");

        let written = write_document("", None, &rules, &Default::default());
        assert_eq!(doc(&written).expect("round trip"), rules, "{written}");
    }

    #[test]
    fn bad_rules_say_what_and_where() {
        for (text, why) in [
            (
                "[[rule]]\ncomponent = \"acme:*\"\n",
                "missing field `effect`",
            ),
            (
                "[[rule]]\ncomponent = \"acme\"\neffect = \"allow\"\n",
                "not a component pattern",
            ),
            (
                "[[rule]]\ncomponent = \"*\"\neffect = \"forbid\"\n",
                "must be \"allow\", \"deny\", \"ask\" or \"no-ask\"",
            ),
            (
                "[[rule]]\ncomponent = \"*\"\neffect = \"deny\"\nlimits = { memory = 1 }\n",
                "a deny rule cannot set `limits`",
            ),
            (
                "[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\nnetwork = [{ scheme = \"*\", host = \"a.com\" }]\n",
                "needs a `port`",
            ),
            (
                "[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\ndirs = [{ host = \"rel\" }]\n",
                "line 4",
            ),
            ("version = 2\n", "format version 2 is not supported"),
            ("[[rules]]\n", "unknown field `rules`"),
        ] {
            let err = doc(text).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
            assert!(err.starts_with("invalid test.toml"), "{err}");
        }
    }

    #[test]
    fn capabilities_parse_from_the_command_line() {
        let cap = |k: &str, s: &str| Capability::parse(k, s).map(|c| c.to_string());
        assert_eq!(
            cap("dir", "/home/me/src:/src:rw").as_deref().ok(),
            Some("directory /home/me/src at /src (read-write)")
        );
        assert_eq!(
            cap("network", "api.example.com").as_deref().ok(),
            Some("network https://api.example.com:443")
        );
        assert_eq!(
            cap("env", "RUST_LOG").as_deref().ok(),
            Some("environment variable RUST_LOG")
        );
        assert_eq!(
            cap("limit", "memory=1GiB").as_deref().ok(),
            Some("memory limit 1GiB")
        );
        let err = Capability::parse("disk", "x")
            .expect_err("kind")
            .to_string();
        assert!(err.contains("not a capability kind"), "{err}");
        let err = Capability::parse("env", "BAD-NAME")
            .expect_err("name")
            .to_string();
        assert!(err.contains("not a valid name"), "{err}");
    }
}
