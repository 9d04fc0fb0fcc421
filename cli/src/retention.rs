//! Session retention as the CLI enforces it: at the start of every run and
//! by `warden sessions prune`, sessions that outlived the workspace's
//! retention (`[sessions] keep` under the org policy's ceiling) are
//! removed, and the removal is audited.

use std::path::Path;

use warden_agent::{AgentManifest, Retention, SessionId, SessionStore};
use warden_audit::AuditEvent;
use warden_registry::store::Registry;

/// The retention of `workspace` for `manifest`, under the org ceiling.
pub(super) fn retention_of(
    registry: &Registry,
    manifest: &AgentManifest,
) -> anyhow::Result<Retention> {
    let org = registry.org_policy()?;
    Ok(Retention::of(
        &manifest.sessions,
        org.as_ref().and_then(|o| o.sessions()),
    ))
}

/// Removes the sessions of `store` that outlived `retention`, and records
/// the removal in the audit log (when anything was removed).
pub(super) fn prune(
    registry: &Registry,
    store: &SessionStore,
    workspace: &Path,
    retention: &Retention,
) -> anyhow::Result<Vec<SessionId>> {
    let removed = retention.prune(store)?;
    if !removed.is_empty() {
        audit_removal(registry, workspace, retention, &removed)?;
    }
    Ok(removed)
}

/// Records that `removed` were deleted under `retention`.
pub(super) fn audit_removal(
    registry: &Registry,
    workspace: &Path,
    retention: &Retention,
    removed: &[SessionId],
) -> anyhow::Result<()> {
    registry.audit()?.append(
        AuditEvent::SessionPrune {
            workspace: workspace.display().to_string(),
            keep: retention.describe(),
            removed: removed.iter().map(|id| id.as_str().to_string()).collect(),
        },
        &[],
    )?;
    Ok(())
}
