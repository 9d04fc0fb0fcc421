//! MCP tool annotations from a component's grant.
//!
//! What the host enforces is what clients are told: a tool whose grant has
//! no writable directory and no network cannot change anything outside its
//! sandbox (`readOnlyHint`); a tool that may reach the network works in an
//! open world (`openWorldHint`). The hints describe the grant at start;
//! every call still runs under the grant as it is then.

use rmcp::model::ToolAnnotations;
use warden::{DirMode, Grant, ToolMeta};

/// The annotations for the tools of a component granted `grant`.
pub fn from_grant(grant: &Grant) -> ToolAnnotations {
    let writes = grant.dirs.iter().any(|d| d.mode == DirMode::ReadWrite);
    let network = !grant.hosts.is_empty();
    let mut annotations = ToolAnnotations::new();
    annotations.read_only_hint = Some(!writes && !network);
    annotations.open_world_hint = Some(network);
    annotations
}

/// `annotations` (from the grant) with what the tool itself declares: its
/// title, and `destructiveHint` where it declares one (a 0.2.0 tool) and
/// its grant lets it write at all (MCP ignores the hint on read-only
/// tools).
pub fn with_meta(mut annotations: ToolAnnotations, meta: &ToolMeta) -> ToolAnnotations {
    if annotations.read_only_hint != Some(true) {
        annotations.destructive_hint = meta.destructive;
    }
    annotations.title = meta.title.clone();
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

    #[test]
    fn destructive_only_where_declared_and_the_grant_can_write() {
        let declared = ToolMeta {
            destructive: Some(true),
            title: Some("Wipe".into()),
            ..ToolMeta::default()
        };
        let writes = from_grant(&Grant {
            dirs: vec![dir(DirMode::ReadWrite)],
            ..Grant::default()
        });
        let a = with_meta(writes.clone(), &declared);
        assert_eq!(a.destructive_hint, Some(true));
        assert_eq!(a.title.as_deref(), Some("Wipe"));
        // A 0.1.0 tool declares nothing: no claim either way.
        assert_eq!(
            with_meta(writes, &ToolMeta::default()).destructive_hint,
            None
        );
        // Read-only by its grant: the hint would be meaningless.
        let reads = from_grant(&Grant::default());
        assert_eq!(with_meta(reads, &declared).destructive_hint, None);
    }
}
