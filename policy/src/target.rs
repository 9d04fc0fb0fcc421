//! Which components a rule applies to, and how a component is identified.
//!
//! In a policy file a rule names its target with `component` (a package
//! name, `namespace:*`, or `*`) and may narrow it with `version` (a semver
//! requirement) and/or `digest` (the component's sha256). On a command
//! line the same target is `NAME[@REQUIREMENT]` or `NAME@sha256:HEX`.

use std::fmt;
use std::str::FromStr;

use semver::{Version, VersionReq};

use warden_core::digest::Digest;
use warden_core::name::PackageName;

/// One component, as resolved: name, version and the digest of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ComponentId {
    /// The package name.
    pub name: PackageName,
    /// The package version.
    pub version: Version,
    /// The digest of the component bytes.
    pub digest: Digest,
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} ({})", self.name, self.version, self.digest)
    }
}

/// Which package names a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NamePattern {
    /// `*`: every component.
    Any,
    /// `namespace:*`: every component in the namespace.
    Namespace(String),
    /// Exactly this package.
    Exact(PackageName),
}

impl NamePattern {
    /// Whether `name` matches.
    pub fn matches(&self, name: &PackageName) -> bool {
        match self {
            NamePattern::Any => true,
            NamePattern::Namespace(ns) => name.namespace() == ns,
            NamePattern::Exact(n) => n == name,
        }
    }
}

/// A component pattern or rule target that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// `NS:*` whose namespace is not a valid one.
    #[error("`{text}`: {reason}")]
    Namespace {
        /// The pattern as given.
        text: String,
        /// Why the namespace is invalid.
        reason: String,
    },
    /// Not a package name, `NS:*` or `*`.
    #[error(
        "`{text}` is not a component pattern (a package name such as `acme:grep`, \
         `acme:*` or `*`): {reason}"
    )]
    Pattern {
        /// The pattern as given.
        text: String,
        /// Why the name is invalid.
        reason: String,
    },
    /// `NAME@sha256:…` with a bad digest.
    #[error("`{text}`: {error}")]
    Digest {
        /// The target as given.
        text: String,
        /// What is wrong with the digest.
        error: warden_core::error::DigestError,
    },
    /// `NAME@REQ` with a bad version requirement.
    #[error("`{text}`: `{requirement}` is not a semver requirement (e.g. ^1.2, =1.2.0): {reason}")]
    Version {
        /// The target as given.
        text: String,
        /// The requirement as given.
        requirement: String,
        /// The semver parser's reason.
        reason: String,
    },
}

impl FromStr for NamePattern {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(NamePattern::Any);
        }
        if let Some(ns) = s.strip_suffix(":*") {
            // A namespace is valid when it makes a valid name.
            return format!("{ns}:x")
                .parse::<PackageName>()
                .map(|_| NamePattern::Namespace(ns.to_string()))
                .map_err(|e| TargetError::Namespace {
                    text: s.to_string(),
                    reason: e.reason,
                });
        }
        s.parse::<PackageName>()
            .map(NamePattern::Exact)
            .map_err(|e| TargetError::Pattern {
                text: s.to_string(),
                reason: e.reason,
            })
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamePattern::Any => f.write_str("*"),
            NamePattern::Namespace(ns) => write!(f, "{ns}:*"),
            NamePattern::Exact(n) => write!(f, "{n}"),
        }
    }
}

/// The components a rule applies to: a name pattern, optionally narrowed to
/// versions and/or one exact component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The names.
    pub component: NamePattern,
    /// Only versions matching this requirement (semver rules: `^1.2` does
    /// not match pre-releases such as `1.3.0-beta`).
    pub version: Option<VersionReq>,
    /// Only the component with exactly these bytes.
    pub digest: Option<Digest>,
}

impl Target {
    /// Every version of every component named by `component`.
    pub fn new(component: NamePattern) -> Target {
        Target {
            component,
            version: None,
            digest: None,
        }
    }

    /// Whether `id` is one of the targeted components.
    pub fn matches(&self, id: &ComponentId) -> bool {
        self.component.matches(&id.name)
            && self.version.as_ref().is_none_or(|r| r.matches(&id.version))
            && self.digest.is_none_or(|d| d == id.digest)
    }
}

impl From<PackageName> for Target {
    fn from(name: PackageName) -> Target {
        Target::new(NamePattern::Exact(name))
    }
}

impl FromStr for Target {
    type Err = TargetError;

    /// Parses `NAME`, `NAME@REQUIREMENT` (`acme:grep@^1.2`) or
    /// `NAME@sha256:HEX`, where NAME may be `ns:*` or `*`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, rest) = match s.split_once('@') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        let mut target = Target::new(name.parse()?);
        match rest {
            None => {}
            Some(d) if d.starts_with("sha256:") => {
                target.digest = Some(d.parse().map_err(|error| TargetError::Digest {
                    text: s.to_string(),
                    error,
                })?);
            }
            Some(r) => {
                target.version =
                    Some(r.parse().map_err(|e: semver::Error| TargetError::Version {
                        text: s.to_string(),
                        requirement: r.to_string(),
                        reason: e.to_string(),
                    })?);
            }
        }
        Ok(target)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.component)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str, version: &str, bytes: &[u8]) -> ComponentId {
        ComponentId {
            name: name.parse().expect("name"),
            version: version.parse().expect("version"),
            digest: Digest::of(bytes),
        }
    }

    fn target(s: &str) -> Target {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn names_namespaces_and_everything() {
        let grep = id("acme:grep", "1.2.0", b"g");
        assert!(target("acme:grep").matches(&grep));
        assert!(target("acme:*").matches(&grep));
        assert!(target("*").matches(&grep));
        assert!(!target("acme:fetch").matches(&grep));
        assert!(!target("other:*").matches(&grep));
    }

    #[test]
    fn versions_and_digests_narrow_the_target() {
        let grep = id("acme:grep", "1.2.0", b"g");
        assert!(target("acme:grep@^1.2").matches(&grep));
        assert!(!target("acme:grep@^1.3").matches(&grep));
        assert!(!target("acme:grep@^1").matches(&id("acme:grep", "1.3.0-beta", b"g")));
        let exact = format!("acme:*@{}", Digest::of(b"g"));
        assert!(target(&exact).matches(&grep));
        assert!(!target(&exact).matches(&id("acme:grep", "1.2.0", b"other bytes")));
    }

    #[test]
    fn bad_targets_say_why() {
        for (bad, why) in [
            ("acme", "not a component pattern"),
            ("Acme:*", "namespace"),
            ("acme:grep@one", "not a semver requirement"),
            ("acme:grep@sha256:xyz", "invalid digest"),
        ] {
            let err = bad.parse::<Target>().expect_err(bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
