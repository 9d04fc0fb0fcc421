//! A reference to a registry component: `namespace:name@range`, e.g.
//! `warden:fs@^0.1` or `acme:grep@1`.

use std::fmt;
use std::str::FromStr;

use semver::VersionReq;
use warden_registry::PackageName;

use crate::error::ComponentRefError;

/// A package name with the semver range of versions the agent accepts.
///
/// The range is required: an agent names the versions it was written for,
/// so an incompatible upgrade is never picked up silently. `acme:grep@1`
/// means `^1` (any 1.x), as in Cargo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRef {
    /// The package, `namespace:name`.
    pub name: PackageName,
    /// The versions accepted.
    pub req: VersionReq,
}

impl ComponentRef {
    /// A reference to `name` at versions `req`.
    pub fn new(name: PackageName, req: VersionReq) -> ComponentRef {
        ComponentRef { name, req }
    }
}

impl FromStr for ComponentRef {
    type Err = ComponentRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| ComponentRefError {
            text: s.to_string(),
            reason,
        };
        let Some((name, range)) = s.split_once('@') else {
            return Err(invalid(format!(
                "a version range is required: write `{s}@^0.1` (or the range you tested with)"
            )));
        };
        let name: PackageName = name.parse().map_err(|e: warden_registry::error::NameError| {
            invalid(format!(
                "`{}` is not a package name ({}); write `namespace:name@range`, e.g. `acme:grep@^1`",
                e.name, e.reason
            ))
        })?;
        let req: VersionReq = range.parse().map_err(|e| {
            invalid(format!(
                "`{range}` is not a semver range ({e}); write e.g. `{name}@^1.2` or `{name}@>=1.2, <2`"
            ))
        })?;
        Ok(ComponentRef { name, req })
    }
}

impl fmt::Display for ComponentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.req)
    }
}

warden_registry::serde_as_text!(ComponentRef);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        let r: ComponentRef = "acme:grep@1".parse().expect("valid");
        assert_eq!(r.name.to_string(), "acme:grep");
        assert_eq!(r.to_string(), "acme:grep@^1");
        assert_eq!(r.to_string().parse::<ComponentRef>(), Ok(r));
        let r: ComponentRef = "warden:fs@>=0.1, <0.3".parse().expect("valid");
        assert!(r.req.matches(&semver::Version::new(0, 2, 5)));
    }

    #[test]
    fn refuses_missing_range_bad_name_and_bad_range() {
        let e = "acme:grep".parse::<ComponentRef>().expect_err("no range");
        assert!(e.reason.contains("acme:grep@^0.1"), "{e}");
        let e = "Acme:grep@1".parse::<ComponentRef>().expect_err("bad name");
        assert!(e.reason.contains("not a package name"), "{e}");
        let e = "acme:grep@one"
            .parse::<ComponentRef>()
            .expect_err("bad range");
        assert!(e.reason.contains("not a semver range"), "{e}");
    }
}
