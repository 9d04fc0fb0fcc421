//! Host path patterns for directory rules, matched component by component
//! after lexical normalisation.
//!
//! A pattern is an absolute path (`/home/me/src`) whose components may be
//! `*` (exactly one component, any name), optionally ending in `/**`:
//!
//! - `/home` covers `/home` and everything under it (a directory grant
//!   always includes its subtree);
//! - `/home/**` covers everything under `/home`, but not `/home` itself;
//! - `/home/*/.ssh` covers every user's `.ssh` directory and its subtree;
//! - `/` covers every path.
//!
//! Paths are normalised lexically (`//` and `.` dropped, `..` removes the
//! component before it), without looking at the file system: symbolic
//! links are not resolved, so whoever turns a directory into a sandbox
//! mount must canonicalise it and check it again.

use std::fmt;
use std::str::FromStr;

/// A host path pattern that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathPatternError {
    /// The pattern does not start with `/`.
    #[error("`{text}` is not an absolute path; write it from the root, e.g. `/home/me/src`")]
    NotAbsolute {
        /// The pattern as given.
        text: String,
    },
    /// The pattern contains control characters.
    #[error("{text:?} contains control characters")]
    ControlCharacters {
        /// The pattern as given.
        text: String,
    },
    /// `**` somewhere other than the last component.
    #[error("`{text}`: `**` is allowed only as the last component (`/dir/**`)")]
    DoubleStarNotLast {
        /// The pattern as given.
        text: String,
    },
    /// `..` right after a `*` component (it would climb out of any name).
    #[error("`{text}`: `..` cannot follow a `*` component")]
    ParentAfterStar {
        /// The pattern as given.
        text: String,
    },
    /// A component that mixes `*` with other characters (`src*`).
    #[error(
        "`{text}`: `{component}` mixes `*` with other characters; only a whole-component \
         `*` and a trailing `/**` are supported"
    )]
    PartialStar {
        /// The pattern as given.
        text: String,
        /// The offending component.
        component: String,
    },
}

/// One component of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    /// This exact name.
    Literal(String),
    /// `*`: any single name.
    Any,
}

/// An absolute host path or path pattern (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathPattern {
    segments: Vec<Segment>,
    /// Ends in `/**`: matches only strictly below the segments.
    below_only: bool,
}

impl PathPattern {
    /// Parses and normalises a path or pattern; the error says what is wrong.
    pub fn parse(text: &str) -> Result<PathPattern, PathPatternError> {
        if !text.starts_with('/') {
            return Err(PathPatternError::NotAbsolute {
                text: text.to_string(),
            });
        }
        if text.chars().any(char::is_control) {
            return Err(PathPatternError::ControlCharacters {
                text: text.to_string(),
            });
        }
        let parts: Vec<&str> = text
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let mut segments = Vec::new();
        let mut below_only = false;
        for (i, part) in parts.iter().enumerate() {
            match *part {
                "**" if i + 1 == parts.len() => below_only = true,
                "**" => {
                    return Err(PathPatternError::DoubleStarNotLast {
                        text: text.to_string(),
                    });
                }
                "*" => segments.push(Segment::Any),
                ".." => match segments.pop() {
                    Some(Segment::Any) => {
                        return Err(PathPatternError::ParentAfterStar {
                            text: text.to_string(),
                        });
                    }
                    Some(Segment::Literal(_)) | None => {}
                },
                p if p.contains('*') => {
                    return Err(PathPatternError::PartialStar {
                        text: text.to_string(),
                        component: p.to_string(),
                    });
                }
                p => segments.push(Segment::Literal(p.to_string())),
            }
        }
        Ok(PathPattern {
            segments,
            below_only,
        })
    }

    /// Whether this is a plain path (no `*`, no `/**`), i.e. one directory.
    pub fn is_concrete(&self) -> bool {
        !self.below_only
            && self
                .segments
                .iter()
                .all(|s| matches!(s, Segment::Literal(_)))
    }

    /// The normalised path, if this is a plain path.
    pub fn as_path(&self) -> Option<String> {
        self.is_concrete().then(|| self.to_string())
    }

    /// Whether `path` (a normalised plain path) is covered: it matches
    /// the pattern or lies under a directory that does.
    pub fn matches(&self, path: &str) -> bool {
        let comps = components(path);
        let n = self.segments.len();
        let deep_enough = if self.below_only {
            comps.len() > n
        } else {
            comps.len() >= n
        };
        deep_enough && self.prefix_matches(&comps)
    }

    /// Whether the subtree at `path` (a normalised plain path) and the
    /// paths this pattern covers have anything in common: `path` is
    /// covered, or something covered lies inside `path`.
    pub fn overlaps(&self, path: &str) -> bool {
        self.prefix_matches(&components(path))
    }

    /// Whether the first components of `comps` and of the pattern agree.
    fn prefix_matches(&self, comps: &[&str]) -> bool {
        self.segments
            .iter()
            .zip(comps)
            .all(|(seg, comp)| match seg {
                Segment::Any => true,
                Segment::Literal(l) => l == comp,
            })
    }
}

fn components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty()).collect()
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.segments {
            match seg {
                Segment::Any => f.write_str("/*")?,
                Segment::Literal(l) => write!(f, "/{l}")?,
            }
        }
        if self.below_only {
            f.write_str("/**")
        } else if self.segments.is_empty() {
            f.write_str("/")
        } else {
            Ok(())
        }
    }
}

impl FromStr for PathPattern {
    type Err = PathPatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PathPattern::parse(s)
    }
}

/// Whether the guest path `path` is `base` or under it (both normalised).
pub(crate) fn guest_within(path: &str, base: &str) -> bool {
    base == "/"
        || path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A guest path that is not absolute, climbs with `..`, or holds a
/// character no guest path may.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestPathError {
    /// Not absolute.
    #[error("guest path `{0}` must be absolute, e.g. `/data`")]
    NotAbsolute(String),
    /// A `..` component.
    #[error("guest path `{0}` must not contain `..`")]
    ParentDir(String),
    /// A control character, `\\` or `*`.
    #[error("guest path {0:?} must not contain control characters, `\\` or `*`")]
    BadCharacter(String),
}

/// The one rule for guest paths, wherever one is read (a manifest's
/// `dirs`, a grant, a `--dir` flag, the sandbox's `DirGrant`): absolute, no
/// `..`, no control characters, `\\` or `*`; normalised (`/a//b/./` →
/// `/a/b`).
pub fn normalize_guest(text: &str) -> Result<String, GuestPathError> {
    if !text.starts_with('/') {
        return Err(GuestPathError::NotAbsolute(text.to_string()));
    }
    if text.split('/').any(|c| c == "..") {
        return Err(GuestPathError::ParentDir(text.to_string()));
    }
    if text
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == '*')
    {
        return Err(GuestPathError::BadCharacter(text.to_string()));
    }
    let parts: Vec<&str> = text
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    Ok(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> PathPattern {
        PathPattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn paths_are_normalised_lexically() {
        assert_eq!(pat("/home//me/./src/").to_string(), "/home/me/src");
        assert_eq!(pat("/home/me/../you").to_string(), "/home/you");
        assert_eq!(pat("/../..").to_string(), "/");
        assert_eq!(pat("/home/**").to_string(), "/home/**");
        assert_eq!(pat("/**").to_string(), "/**");
        assert_eq!(pat("/home/me").as_path().as_deref(), Some("/home/me"));
        assert_eq!(pat("/home/*").as_path(), None);
    }

    #[test]
    fn a_path_covers_itself_and_its_subtree_by_whole_components() {
        let p = pat("/home");
        assert!(p.matches("/home"));
        assert!(p.matches("/home/me/src"));
        assert!(!p.matches("/homer"), "component-wise, not string prefix");
        assert!(!p.matches("/"));
        assert!(!p.matches("/etc"));
        assert!(pat("/").matches("/etc/passwd"));
    }

    #[test]
    fn a_trailing_double_star_covers_only_what_is_below() {
        let p = pat("/home/**");
        assert!(p.matches("/home/me"));
        assert!(p.matches("/home/me/src"));
        assert!(!p.matches("/home"));
        assert!(!p.matches("/homer/x"));
    }

    #[test]
    fn a_star_matches_exactly_one_component() {
        let p = pat("/home/*/.ssh");
        assert!(p.matches("/home/me/.ssh"));
        assert!(p.matches("/home/me/.ssh/id_ed25519"));
        assert!(!p.matches("/home/me/src"));
        assert!(!p.matches("/home/.ssh"));
        // A grant of /home/me would expose /home/me/.ssh: they overlap.
        assert!(p.overlaps("/home/me"));
        assert!(p.overlaps("/home"));
        assert!(p.overlaps("/"));
        assert!(!p.overlaps("/home/me/src"));
        assert!(!p.overlaps("/etc"));
    }

    #[test]
    fn malformed_patterns_say_why() {
        for (bad, why) in [
            ("home/me", "not an absolute path"),
            ("/home/**/x", "only as the last component"),
            ("/home/me*", "only a whole-component"),
            ("/home/*/..", "cannot follow a `*`"),
            ("/home/\u{0}", "control characters"),
        ] {
            let err = PathPattern::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn pattern_errors_carry_the_offending_component() {
        assert_eq!(
            PathPattern::parse("/home/me*/src"),
            Err(PathPatternError::PartialStar {
                text: "/home/me*/src".into(),
                component: "me*".into()
            })
        );
        assert_eq!(
            PathPattern::parse("src"),
            Err(PathPatternError::NotAbsolute { text: "src".into() })
        );
    }

    #[test]
    fn guest_paths_are_checked_and_compared_by_component() {
        assert_eq!(normalize_guest("/src//a/./").as_deref(), Ok("/src/a"));
        assert!(normalize_guest("src").is_err());
        assert!(normalize_guest("/a/../b").is_err());
        assert!(guest_within("/src/a", "/src"));
        assert!(guest_within("/src", "/src"));
        assert!(!guest_within("/srcx", "/src"));
        assert!(guest_within("/anything", "/"));
    }
}
