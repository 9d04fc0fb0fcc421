//! `[remote-servers]` of an org policy: which streamable HTTP MCP servers
//! (`warden server add NAME --url …`) may be used at all, whatever the
//! user grants.
//!
//! ```toml
//! [remote-servers]
//! allow = []                                   # none: remote servers are forbidden
//! # allow = ["https://mcp.example.com/mcp",    # exactly this URL
//! #          "https://tools.corp.example/*"]   # or any URL starting with this
//! ```
//!
//! Without the table, remote servers are governed by the network rules
//! alone (the grant of `server:NAME` must allow the URL's host and port).

use serde::Deserialize;

/// The org's list of remote MCP servers that may be used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteServers {
    /// URLs (exact), or prefixes ending in `*`; empty: none may be used.
    pub allow: Vec<String>,
}

impl RemoteServers {
    /// Whether the server at `url` may be used.
    pub fn permits(&self, url: &str) -> bool {
        self.allow
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => url.starts_with(prefix),
                None => url == pattern,
            })
    }

    /// One line for `warden policy explain`.
    pub fn explain(&self) -> String {
        if self.allow.is_empty() {
            "the org policy forbids remote MCP servers ([remote-servers] allow = [])".to_string()
        } else {
            format!(
                "the org policy allows only these remote MCP servers: {}",
                self.allow.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_urls_or_prefixes_are_permitted() {
        let none = RemoteServers { allow: vec![] };
        assert!(!none.permits("https://mcp.example.com/mcp"));
        let some = RemoteServers {
            allow: vec![
                "https://mcp.example.com/mcp".into(),
                "https://tools.corp.example/*".into(),
            ],
        };
        assert!(some.permits("https://mcp.example.com/mcp"));
        assert!(!some.permits("https://mcp.example.com/mcp2"));
        assert!(!some.permits("http://mcp.example.com/mcp"));
        assert!(some.permits("https://tools.corp.example/a/mcp"));
        assert!(!some.permits("https://tools.corp.example.evil/mcp"));
    }
}
