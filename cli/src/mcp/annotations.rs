//! MCP tool annotations from a component's grant.
//!
//! What the host enforces is what clients are told: a tool whose grant has
//! no writable directory and no network cannot change anything outside its
//! sandbox (`readOnlyHint`); a tool that may reach the network works in an
//! open world (`openWorldHint`). The hints describe the grant at start;
//! every call still runs under the grant as it is then.

use rmcp::model::ToolAnnotations;
use warden::{DirMode, Grant};

/// The annotations for the tools of a component granted `grant`.
pub fn from_grant(grant: &Grant) -> ToolAnnotations {
    let writes = grant.dirs.iter().any(|d| d.mode == DirMode::ReadWrite);
    let network = !grant.hosts.is_empty();
    let mut annotations = ToolAnnotations::new();
    annotations.read_only_hint = Some(!writes && !network);
    annotations.open_world_hint = Some(network);
    annotations
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use warden::{DirGrant, HostPattern};

    fn dir(mode: DirMode) -> DirGrant {
        DirGrant {
            host: PathBuf::from("/tmp"),
            guest: "/data".into(),
            mode,
        }
    }

    #[test]
    fn read_only_only_without_writable_dirs_and_network() {
        let none = from_grant(&Grant::default());
        assert_eq!(
            (none.read_only_hint, none.open_world_hint),
            (Some(true), Some(false))
        );
        let reads = Grant {
            dirs: vec![dir(DirMode::ReadOnly)],
            ..Grant::default()
        };
        assert_eq!(from_grant(&reads).read_only_hint, Some(true));
        let writes = Grant {
            dirs: vec![dir(DirMode::ReadWrite)],
            ..Grant::default()
        };
        assert_eq!(from_grant(&writes).read_only_hint, Some(false));
        let net = Grant {
            hosts: vec![HostPattern::parse("example.com").expect("pattern")],
            ..Grant::default()
        };
        let net = from_grant(&net);
        assert_eq!(
            (net.read_only_hint, net.open_world_hint),
            (Some(false), Some(true))
        );
    }
}
