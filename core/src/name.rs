//! Package names: `namespace:name`.

use std::fmt;
use std::str::FromStr;

use crate::error::NameError;

/// A package name, `namespace:name`, each part lowercase ASCII letters,
/// digits and single `-` between them (e.g. `acme:http-fetch`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName {
    namespace: String,
    name: String,
}

impl PackageName {
    /// The namespace (`acme` in `acme:grep`): the unit of publisher trust.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The name within the namespace (`grep` in `acme:grep`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A form that is equal for names that differ only by case or
    /// separators (`Acme:HTTP_fetch`, `acme:http-fetch`, `acme:httpfetch`):
    /// two installed packages must never share it.
    pub fn confusable_key(text: &str) -> String {
        text.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ':')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    }

    /// The confusable key of this name.
    pub fn key(&self) -> String {
        Self::confusable_key(&self.to_string())
    }
}

/// Whether `part` is a valid namespace or name (and agent or skill name):
/// 1-64 characters, lowercase ASCII letters and digits in segments joined by
/// single `-`, starting with a letter.
pub fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 64
        && part.split('-').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && part.starts_with(|c: char| c.is_ascii_lowercase())
}

impl FromStr for PackageName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| NameError {
            name: s.to_string(),
            reason: reason.to_string(),
        };
        let (namespace, name) = s
            .split_once(':')
            .ok_or_else(|| invalid("expected `namespace:name`, e.g. `acme:grep`"))?;
        for (what, part) in [("namespace", namespace), ("name", name)] {
            if !valid_part(part) {
                return Err(invalid(&format!(
                    "the {what} `{part}` must be 1-64 lowercase letters, digits and single `-`, starting with a letter"
                )));
            }
        }
        Ok(PackageName {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.name)
    }
}

crate::serde_as_text!(PackageName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_parse_and_print_back() {
        let n: PackageName = "acme:http-fetch".parse().expect("valid");
        assert_eq!((n.namespace(), n.name()), ("acme", "http-fetch"));
        assert_eq!(n.to_string(), "acme:http-fetch");
    }

    #[test]
    fn invalid_names_say_why() {
        for bad in [
            "acme",
            "Acme:grep",
            "acme:",
            ":grep",
            "acme:gr--ep",
            "acme:-grep",
            "acme:grep-",
            "acme:1grep",
            "a:b:c",
            "acme:gr_ep",
        ] {
            let err = bad.parse::<PackageName>().expect_err(bad);
            assert!(!err.reason.is_empty(), "{bad}");
        }
    }

    #[test]
    fn names_differing_by_case_or_separators_share_a_key() {
        assert_eq!(
            PackageName::confusable_key("acme:http-fetch"),
            PackageName::confusable_key("Acme:HTTP_fetch")
        );
        assert_eq!(
            PackageName::confusable_key("acme:http-fetch"),
            PackageName::confusable_key("acme:httpfetch")
        );
        assert_ne!(
            PackageName::confusable_key("acme:grep"),
            PackageName::confusable_key("acme:grip")
        );
    }
}
