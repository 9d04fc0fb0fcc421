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
use std::str::FromStr;
use warden_core::error::line_column;

use semver::{Version, VersionReq};
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::error::ManifestError;
use crate::name::PackageName;

/// The WIT package every warden world lives in.
pub const WIT_PACKAGE: &str = "warden:plugin";

/// The version of [`WIT_PACKAGE`] this build implements.
pub const WIT_VERSION: Version = Version::new(0, 1, 0);

/// The newer version of the `tool` world (rich results, progress), which
/// this build serves beside [`WIT_VERSION`]: a tool's manifest may name
/// either, and its component must match the one it names.
pub const TOOL_WIT_VERSION: Version = Version::new(0, 2, 0);

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
            .map_err(|reason| at(world_span, reason.to_string()))?;
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

/// A manifest `world` that is not the world its `kind` needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldMismatch {
    /// A world outside warden's WIT package.
    #[error("`world` `{world}` is not a warden world: kind = \"{kind}\" needs `{expected}`")]
    NotWarden {
        /// The world written.
        world: Box<WorldRef>,
        /// The package kind.
        kind: Kind,
        /// The world the kind needs.
        expected: Box<WorldRef>,
    },
    /// Another warden world than the kind's.
    #[error(
        "`world` is `{world}`, but kind = \"{kind}\" needs the `{}` world: `{expected}`",
        expected.name
    )]
    OtherWorld {
        /// The world written.
        world: Box<WorldRef>,
        /// The package kind.
        kind: Kind,
        /// The world the kind needs.
        expected: Box<WorldRef>,
    },
    /// The kind's world at a version this build does not implement.
    #[error(
        "`world` `{world}` asks for {WIT_PACKAGE}@{}, but this warden implements \
         {WIT_PACKAGE}@{WIT_VERSION}: use `{expected}`",
        world.version
    )]
    Version {
        /// The world written.
        world: Box<WorldRef>,
        /// The world the kind needs.
        expected: Box<WorldRef>,
    },
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
    fn check_for(&self, kind: Kind) -> Result<(), WorldMismatch> {
        let expected = Box::new(WorldRef::for_kind(kind));
        let world = Box::new(self.clone());
        if self.package != WIT_PACKAGE {
            return Err(WorldMismatch::NotWarden {
                world,
                kind,
                expected,
            });
        }
        if self.name != expected.name {
            return Err(WorldMismatch::OtherWorld {
                world,
                kind,
                expected,
            });
        }
        let tool_v2 = kind == Kind::Tool && self.version == TOOL_WIT_VERSION;
        if self.version != WIT_VERSION && !tool_v2 {
            return Err(WorldMismatch::Version { world, expected });
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

pub use warden_policy::request::*;

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
        // A tool may name the 0.2.0 tool world; no other version, and no
        // other kind at 0.2.0.
        let v2 = GOOD.replace("tool@0.1.0", "tool@0.2.0");
        assert_eq!(
            Manifest::parse(&v2).expect("tool@0.2.0").world.version,
            TOOL_WIT_VERSION
        );
        assert_refused(
            &GOOD.replace("tool@0.1.0", "tool@0.3.0"),
            &["this warden implements warden:plugin@0.1.0"],
        );
        assert_refused(
            &GOOD
                .replace("kind = \"tool\"", "kind = \"skill\"")
                .replace("tool@0.1.0", "skill@0.2.0"),
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
            &["must be absolute"],
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
