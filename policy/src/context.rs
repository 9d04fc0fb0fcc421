//! The shared context store as the org policy governs it: the `[context]`
//! table.
//!
//! ```toml
//! [context]
//! namespaces = ["notes", "facts"]  # the only namespaces anyone may be granted (default: any)
//! max_namespace = "256KiB"         # the most one namespace may hold (default: warden's own)
//! # forbid = true                  # no component may read or write the shared context
//! ```

use serde::Deserialize;
use warden_core::units::parse_size;

/// The org policy's ceiling on the shared context.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextCeiling {
    /// The namespaces that may be granted (`None`: any).
    pub namespaces: Option<Vec<String>>,
    /// The most bytes one namespace may hold (`None`: warden's default).
    pub max_namespace_bytes: Option<u64>,
    /// Whether the shared context is forbidden to every component.
    pub forbid: bool,
}

/// The raw `[context]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContext {
    namespaces: Option<Vec<String>>,
    max_namespace: Option<String>,
    #[serde(default)]
    forbid: bool,
}

impl ContextCeiling {
    /// Checks the raw table.
    pub(crate) fn from_raw(raw: RawContext) -> Result<ContextCeiling, String> {
        let max_namespace_bytes = raw
            .max_namespace
            .map(|t| parse_size(&t).map_err(|e| format!("`context.max_namespace`: {e}")))
            .transpose()?;
        Ok(ContextCeiling {
            namespaces: raw.namespaces,
            max_namespace_bytes,
            forbid: raw.forbid,
        })
    }

    /// Why `namespace` may not be granted, if it may not.
    pub fn refuses(&self, namespace: &str) -> Option<String> {
        if self.forbid {
            return Some(
                "the org policy forbids the shared context ([context] forbid = true)".into(),
            );
        }
        match &self.namespaces {
            Some(list) if !list.iter().any(|n| n == namespace || n == "*") => Some(format!(
                "the org policy allows only the context namespaces [{}]",
                list.join(", ")
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_org_can_forbid_limit_and_cap_the_shared_context() {
        let org = crate::OrgPolicy::parse(
            "[context]\nnamespaces = [\"notes\"]\nmax_namespace = \"256KiB\"\n",
        )
        .expect("valid");
        let c = org.context().expect("a ceiling");
        assert_eq!(c.max_namespace_bytes, Some(256 << 10));
        assert_eq!(c.refuses("notes"), None);
        assert!(
            c.refuses("secrets")
                .expect("refused")
                .contains("only the context namespaces [notes]")
        );
        let org = crate::OrgPolicy::parse("[context]\nforbid = true\n").expect("valid");
        assert!(
            org.context()
                .and_then(|c| c.refuses("notes"))
                .expect("refused")
                .contains("forbid")
        );
        assert!(crate::OrgPolicy::parse("[context]\nmax_namespace = \"lots\"\n").is_err());
    }
}
