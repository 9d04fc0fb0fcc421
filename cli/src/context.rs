//! `warden context`: what a workspace's shared context holds (the notes,
//! facts and key/value entries its sessions keep for each other), and
//! removing entries by hand, e.g. when a namespace is full. A removal is
//! audited like a component's (`context-write`, `removed: true`, with the
//! digest and size of what was removed).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use warden::agent::{ContextAccess, ContextFailure, ContextGrant};
use warden_agent::{ContextLimits, ContextStore, WorkspaceState};

use super::exit;
use super::output::print_json;
use super::registry_args::RegistryArgs;

/// The name removals by hand are audited under.
const USER: &str = "user (warden context rm)";

/// `warden context ...`.
#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List the namespaces of a workspace's shared context, or the entries
    /// of one (key, kind, size, data classes, when written).
    List {
        /// The namespace (default: list the namespaces).
        namespace: Option<String>,
        /// The workspace.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove one entry (audited).
    Rm {
        /// The namespace.
        namespace: String,
        /// The entry's key.
        key: String,
        /// The workspace.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl ContextCommand {
    /// Whether JSON output was asked for.
    pub fn json(&self) -> bool {
        match self {
            ContextCommand::List { json, .. } | ContextCommand::Rm { json, .. } => *json,
        }
    }

    pub fn execute(self, registry: &RegistryArgs) -> anyhow::Result<ExitCode> {
        let registry = registry.open()?;
        let state = |workspace: &PathBuf| -> anyhow::Result<WorkspaceState> {
            let workspace = workspace
                .canonicalize()
                .with_context(|| format!("the workspace {} does not exist", workspace.display()))?;
            WorkspaceState::open(registry.root(), &workspace).with_context(|| {
                format!("cannot open the state of workspace {}", workspace.display())
            })
        };
        match self {
            ContextCommand::List {
                namespace: None,
                workspace,
                json,
            } => {
                let store =
                    ContextStore::for_workspace(&state(&workspace)?, ContextLimits::default());
                let mut rows = Vec::new();
                if let Ok(dirs) = std::fs::read_dir(store.dir()) {
                    for dir in dirs.flatten() {
                        let name = dir.file_name().to_string_lossy().into_owned();
                        if let Ok(entries) = store.list(&name) {
                            let bytes: u64 = entries.iter().map(|e| e.value.len() as u64).sum();
                            rows.push((name, entries.len(), bytes));
                        }
                    }
                }
                rows.sort();
                if json {
                    let list: Vec<_> = rows
                        .iter()
                        .map(|(n, c, b)| json!({"namespace": n, "entries": c, "bytes": b}))
                        .collect();
                    print_json(&json!({"ok": true, "namespaces": list}));
                } else if rows.is_empty() {
                    println!("the shared context of this workspace is empty");
                } else {
                    for (n, c, b) in rows {
                        println!("{n}\t{c} entries\t{b} bytes");
                    }
                }
            }
            ContextCommand::List {
                namespace: Some(namespace),
                workspace,
                json,
            } => {
                let store =
                    ContextStore::for_workspace(&state(&workspace)?, ContextLimits::default());
                let entries = store
                    .list(&namespace)
                    .with_context(|| format!("cannot list the context namespace `{namespace}`"))?;
                if json {
                    let list: Vec<_> = entries
                        .iter()
                        .map(|e| {
                            json!({
                                "key": e.key, "kind": e.kind, "bytes": e.value.len(),
                                "classes": e.classes, "updated": e.updated.to_string(),
                                "expires": e.expires.map(|t| t.to_string()),
                            })
                        })
                        .collect();
                    print_json(&json!({"ok": true, "namespace": namespace, "entries": list}));
                } else {
                    for e in &entries {
                        let classes = if e.classes.is_empty() {
                            String::new()
                        } else {
                            format!("\t[{}]", e.classes.join(", "))
                        };
                        println!("{}\t{} bytes\t{}{classes}", e.key, e.value.len(), e.updated);
                    }
                }
            }
            ContextCommand::Rm {
                namespace,
                key,
                workspace,
                json,
            } => {
                let access = ContextAccess::new(
                    &state(&workspace)?,
                    ContextGrant {
                        read: Vec::new(),
                        write: vec![namespace.clone()],
                    },
                    None,
                    USER,
                    super::tool::audit_sink(&registry),
                );
                match access.remove(&namespace, &key) {
                    Ok(()) => {}
                    Err(ContextFailure::NotFound(m)) => {
                        eprintln!("error: {m}");
                        return Ok(ExitCode::from(exit::FAILURE));
                    }
                    Err(e) => anyhow::bail!("cannot remove `{key}` from `{namespace}`: {e}"),
                }
                if json {
                    print_json(&json!({"ok": true, "namespace": namespace, "removed": key}));
                } else {
                    println!("removed `{key}` from the context namespace `{namespace}`");
                }
            }
        }
        Ok(ExitCode::from(exit::OK))
    }
}
