//! `warden policy explain` for the shared context: what the workspace's
//! agent (`agent.toml` in the current directory, else the default agent)
//! grants its planner, and what the org policy's `[context]` table makes of
//! it — one line per namespace, the same decision the host takes on every
//! call (`warden::agent::ContextAccess`).

use std::path::Path;

use warden_agent::AgentManifest;
use warden_policy::OrgPolicy;

/// Whether the component named `subject` (e.g. `warden:planner` or
/// `builtin:planner`) is the planner `planner` names.
fn is_planner(subject: &str, planner: &str) -> bool {
    subject == planner
        || subject
            .strip_prefix("builtin:")
            .is_some_and(|name| planner == format!("warden:{name}"))
}

/// The lines `policy explain SUBJECT` shows about the shared context, run
/// in `workspace`.
pub(super) fn explain(subject: &str, workspace: &Path, org: Option<&OrgPolicy>) -> Vec<String> {
    let mut lines = Vec::new();
    let ceiling = org.and_then(|o| o.context());
    let manifest_path = workspace.join("agent.toml");
    let (manifest, origin) = if manifest_path.is_file() {
        match AgentManifest::load(&manifest_path) {
            Ok(m) => (m, "agent.toml"),
            Err(_) => return lines,
        }
    } else {
        (warden_agent::default_agent(), "the default agent")
    };
    if is_planner(subject, &manifest.planner.name.to_string()) {
        let grants = &manifest.context;
        if grants.is_empty() {
            lines.push(format!(
                "shared context: none granted ({origin} has no [context] table)"
            ));
        }
        for (access, list) in [("write", &grants.write), ("read", &grants.read)] {
            for ns in list {
                match ceiling.and_then(|c| c.refuses(ns)) {
                    Some(why) => lines.push(format!(
                        "shared context `{ns}`: {access} granted by {origin}, refused: {why}"
                    )),
                    None => lines.push(format!("shared context `{ns}`: {access} (by {origin})")),
                }
            }
        }
    }
    if let Some(cap) = ceiling.and_then(|c| c.max_namespace_bytes) {
        lines.push(format!(
            "shared context: a namespace holds at most {cap} bytes (by the org policy)"
        ));
    }
    lines
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_planners_grant_is_shown_with_what_the_org_makes_of_it() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("agent.toml"),
            "name = \"a\"\nplanner = \"warden:planner@^0.1\"\n\
             provider = \"warden:openai-provider@^0.1\"\n\n\
             [context]\nwrite = [\"workspace\"]\nread = [\"team\"]\n",
        )
        .expect("write");
        let org =
            OrgPolicy::parse("[context]\nnamespaces = [\"workspace\"]\nmax_namespace = \"1KiB\"\n")
                .expect("org");
        let lines = explain("builtin:planner", dir.path(), Some(&org));
        assert_eq!(
            lines,
            [
                "shared context `workspace`: write (by agent.toml)",
                "shared context `team`: read granted by agent.toml, refused: the org policy \
                 allows only the context namespaces [workspace]",
                "shared context: a namespace holds at most 1024 bytes (by the org policy)",
            ]
        );
        // Another component: only the org's cap.
        assert_eq!(explain("builtin:fs", dir.path(), Some(&org)).len(), 1);
        // The default agent grants nothing.
        let empty = tempfile::tempdir().expect("dir");
        assert_eq!(
            explain("warden:planner", empty.path(), None),
            ["shared context: none granted (the default agent has no [context] table)"]
        );
    }
}
