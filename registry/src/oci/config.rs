//! `registries.toml`: which OCI registry holds which namespace.
//!
//! ```toml
//! # $WARDEN_HOME/registries.toml
//! [namespaces]
//! acme = "registry.example:5000/acme"                       # HTTPS
//! dev = { url = "127.0.0.1:5000/dev", insecure = true }     # plain HTTP, opt-in
//! ```
//!
//! The package `acme:grep` then lives in the repository
//! `registry.example:5000/acme/grep`, one tag per version (`1.2.0`; a `+`
//! of build metadata becomes `_`, which OCI tags allow and semver does not
//! use). Plain HTTP is never the default: a registry is reached over it
//! only if an entry for that `host[:port]` says `insecure = true`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use semver::Version;
use serde::Deserialize;

use super::error::OciError;
use crate::name::PackageName;

/// The config file's name under the warden root.
pub const CONFIG_FILE: &str = "registries.toml";

/// The largest `registries.toml` read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Where a namespace's packages live: a registry and a repository prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `host[:port]`, e.g. `registry.example:5000`.
    pub registry: String,
    /// The repository path under which each package is one repository
    /// (`acme` → `acme/grep`); may be empty.
    pub prefix: String,
    /// Reach the registry over plain HTTP (tests, a loopback registry).
    pub insecure: bool,
}

impl Location {
    /// Parses `HOST[:PORT][/PATH]` (an `oci://` prefix is accepted).
    pub fn parse(text: &str, insecure: bool) -> Result<Location, OciError> {
        let invalid = |reason: &str| OciError::InvalidReference {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text.strip_prefix("oci://").unwrap_or(text);
        if rest.starts_with("http://") || rest.starts_with("https://") {
            return Err(invalid(
                "write HOST[:PORT]/PATH without a scheme (HTTPS is used; plain HTTP needs `insecure = true`)",
            ));
        }
        let rest = rest.trim_end_matches('/');
        let (registry, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        check_registry(registry).map_err(|r| invalid(&r.to_string()))?;
        check_path(prefix, true).map_err(|r| invalid(&r.to_string()))?;
        Ok(Location {
            registry: registry.to_string(),
            prefix: prefix.to_string(),
            insecure,
        })
    }

    /// The repository of `name` (`prefix/name`).
    pub fn repository(&self, name: &PackageName) -> String {
        if self.prefix.is_empty() {
            name.name().to_string()
        } else {
            format!("{}/{}", self.prefix, name.name())
        }
    }
}

/// Why a registry location (`HOST[:PORT]/PATH`) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// No registry host.
    #[error("the registry host is empty")]
    EmptyRegistry,
    /// A registry that is not `HOST[:PORT]`.
    #[error("`{registry}` is not HOST[:PORT] (letters, digits, `.` and `-`)")]
    BadRegistry {
        /// The registry as given.
        registry: String,
    },
    /// A port that is not a number.
    #[error("`{port}` is not a port number")]
    BadPort {
        /// The port as given.
        port: String,
    },
    /// No repository path where one is needed.
    #[error("the repository path is empty")]
    EmptyPath,
    /// A repository path over the OCI limit.
    #[error("the repository path is longer than {max} characters")]
    PathTooLong {
        /// The limit.
        max: usize,
    },
    /// A path component outside the OCI grammar.
    #[error(
        "`{component}` is not a repository path component (lowercase letters and digits, \
         joined by `.`, `_`, `__` or `-`)"
    )]
    BadComponent {
        /// The component as given.
        component: String,
    },
}

/// `host[:port]`: letters, digits, `.`, `-`, and an optional numeric port.
fn check_registry(registry: &str) -> Result<(), LocationError> {
    if registry.is_empty() {
        return Err(LocationError::EmptyRegistry);
    }
    let (host, port) = match registry.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (registry, None),
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(LocationError::BadRegistry {
            registry: registry.to_string(),
        });
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(LocationError::BadPort {
            port: port.to_string(),
        });
    }
    Ok(())
}

/// An OCI repository path: `/`-separated components of lowercase letters
/// and digits joined by `.`, `_`, `__` or runs of `-`.
pub(crate) fn check_path(path: &str, allow_empty: bool) -> Result<(), LocationError> {
    if path.is_empty() {
        return if allow_empty {
            Ok(())
        } else {
            Err(LocationError::EmptyPath)
        };
    }
    if path.len() > 255 {
        return Err(LocationError::PathTooLong { max: 255 });
    }
    for component in path.split('/') {
        let ok = !component.is_empty()
            && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && !component.contains("..")
            && !component.contains("___");
        if !ok {
            return Err(LocationError::BadComponent {
                component: component.to_string(),
            });
        }
    }
    Ok(())
}

/// The OCI tag of a version (`+` becomes `_`).
pub fn tag_for(version: &Version) -> String {
    version.to_string().replace('+', "_")
}

/// The version a tag names, if it names one (`latest` does not).
pub fn version_of_tag(tag: &str) -> Option<Version> {
    tag.replace('_', "+").parse().ok()
}

/// The parsed `registries.toml`.
#[derive(Debug, Clone, Default)]
pub struct RegistriesConfig {
    path: PathBuf,
    namespaces: BTreeMap<String, Location>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigToml {
    #[serde(default)]
    namespaces: BTreeMap<String, EntryToml>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EntryToml {
    Url(String),
    Full(FullEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullEntry {
    url: String,
    #[serde(default)]
    insecure: bool,
}

impl RegistriesConfig {
    /// The config file under a warden root.
    pub fn path_in(root: &Path) -> PathBuf {
        root.join(CONFIG_FILE)
    }

    /// Reads the config at `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<RegistriesConfig, OciError> {
        let read_err = |source| OciError::Read {
            path: path.to_path_buf(),
            source,
        };
        let text = match std::fs::metadata(path) {
            Ok(meta) if meta.len() > MAX_CONFIG_BYTES => {
                return Err(OciError::Config {
                    path: path.to_path_buf(),
                    reason: format!("the file is over {MAX_CONFIG_BYTES} bytes"),
                });
            }
            Ok(_) => std::fs::read_to_string(path).map_err(read_err)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RegistriesConfig {
                    path: path.to_path_buf(),
                    namespaces: BTreeMap::new(),
                });
            }
            Err(e) => return Err(read_err(e)),
        };
        RegistriesConfig::parse(&text, path)
    }

    /// Parses config text; `path` names it in messages.
    pub fn parse(text: &str, path: &Path) -> Result<RegistriesConfig, OciError> {
        let config_err = |reason: String| OciError::Config {
            path: path.to_path_buf(),
            reason,
        };
        let parsed: ConfigToml =
            toml::from_str(text).map_err(|e| config_err(e.message().trim_end().to_string()))?;
        let mut namespaces = BTreeMap::new();
        for (namespace, entry) in parsed.namespaces {
            // A namespace is the first part of a package name.
            if format!("{namespace}:x").parse::<PackageName>().is_err() {
                return Err(config_err(format!(
                    "`{namespace}` is not a package namespace (lowercase letters, digits and `-`)"
                )));
            }
            let (url, insecure) = match entry {
                EntryToml::Url(url) => (url, false),
                EntryToml::Full(FullEntry { url, insecure }) => (url, insecure),
            };
            let location = Location::parse(&url, insecure)
                .map_err(|e| config_err(format!("namespace `{namespace}`: {e}")))?;
            namespaces.insert(namespace, location);
        }
        Ok(RegistriesConfig {
            path: path.to_path_buf(),
            namespaces,
        })
    }

    /// A config holding exactly these namespaces (for tests and tools).
    pub fn from_locations(
        path: impl Into<PathBuf>,
        namespaces: impl IntoIterator<Item = (String, Location)>,
    ) -> RegistriesConfig {
        RegistriesConfig {
            path: path.into(),
            namespaces: namespaces.into_iter().collect(),
        }
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where `namespace` lives, if configured.
    pub fn location(&self, namespace: &str) -> Option<&Location> {
        self.namespaces.get(namespace)
    }

    /// Where `name` lives, or why it cannot be found.
    pub fn require(&self, name: &PackageName) -> Result<&Location, OciError> {
        self.location(name.namespace())
            .ok_or_else(|| OciError::NotMapped {
                namespace: name.namespace().to_string(),
                path: self.path.clone(),
            })
    }

    /// Whether some entry allows plain HTTP to `registry` (`host[:port]`).
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.namespaces
            .values()
            .any(|l| l.insecure && l.registry == registry)
    }

    /// Whether no namespace is configured.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> PackageName {
        s.parse().expect("name")
    }

    #[test]
    fn namespaces_map_to_repositories_and_http_is_opt_in() {
        let config = RegistriesConfig::parse(
            "[namespaces]\nacme = \"registry.example:5000/acme\"\n\
             dev = { url = \"127.0.0.1:5000/team/dev\", insecure = true }\n\
             root = \"oci://ghcr.example\"\n",
            Path::new("registries.toml"),
        )
        .expect("parse");
        let acme = config.require(&name("acme:grep")).expect("acme");
        assert_eq!(acme.registry, "registry.example:5000");
        assert_eq!(acme.repository(&name("acme:grep")), "acme/grep");
        assert!(!acme.insecure);
        let dev = config.require(&name("dev:x")).expect("dev");
        assert_eq!(dev.repository(&name("dev:x")), "team/dev/x");
        assert!(config.is_insecure("127.0.0.1:5000"));
        assert!(!config.is_insecure("registry.example:5000"));
        let root = config.require(&name("root:tool")).expect("root");
        assert_eq!(root.repository(&name("root:tool")), "tool");

        let err = config.require(&name("other:x")).expect_err("unmapped");
        assert!(
            err.to_string()
                .contains("no OCI registry is configured for the namespace `other`"),
            "{err}"
        );
    }

    #[test]
    fn bad_entries_say_why() {
        for (text, needle) in [
            (
                "[namespaces]\nacme = \"http://h/acme\"\n",
                "without a scheme",
            ),
            ("[namespaces]\nacme = \"h:99999/acme\"\n", "not a port"),
            ("[namespaces]\nacme = \"h/Acme\"\n", "not a repository path"),
            (
                "[namespaces]\nAcme = \"h/acme\"\n",
                "not a package namespace",
            ),
            ("[namespaces]\nacme = { url = \"h\", tls = false }\n", ""),
            ("[other]\n", "unknown field"),
        ] {
            let err = RegistriesConfig::parse(text, Path::new("registries.toml"))
                .expect_err(text)
                .to_string();
            assert!(
                err.starts_with("registries.toml: ") && err.contains(needle),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn tags_round_trip_versions() {
        for v in ["1.2.0", "1.0.0-rc.1", "2.0.0+build.5", "1.0.0-alpha+001"] {
            let version: Version = v.parse().expect("version");
            let tag = tag_for(&version);
            assert!(!tag.contains('+'), "{tag}");
            assert_eq!(version_of_tag(&tag), Some(version));
        }
        assert_eq!(version_of_tag("latest"), None);
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = RegistriesConfig::load(&dir.path().join(CONFIG_FILE)).expect("load");
        assert!(config.is_empty());
    }
}
