//! `warden sessions` and `warden skills`: what runs left behind in a
//! workspace, and which skills an agent would use.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use warden_agent::{AgentManifest, ListEntry, SessionStore, Status, WorkspaceState};

use super::exit;
use super::output::print_json;
use super::registry_args::RegistryArgs;
use super::run::load_skills;

/// `warden sessions ...`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List the sessions of a workspace, newest last.
    List {
        /// The workspace.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one session: its tasks, messages and steps.
    Show {
        /// The session id.
        id: String,
        /// The workspace.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Print the session file's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove one session, or every session older than --older-than.
    Rm {
        /// The session id (or none, with --older-than).
        id: Option<String>,
        /// Remove every session last updated longer ago than this (e.g. 30d, 12h).
        #[arg(long, value_name = "AGE", conflicts_with = "id")]
        older_than: Option<String>,
        /// The workspace.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write one signed bundle of a session (the session, its recording,
    /// the digests of its components; stored secret values redacted).
    Export {
        /// The session id.
        id: String,
        /// The secret key to sign with (from `warden key generate`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Where to write the bundle.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The workspace.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a session bundle's signature and signer, and store it in the
    /// workspace. The signer must be a trusted publisher key
    /// (`warden trust add`) or named with --signer.
    Import {
        /// The bundle file.
        file: PathBuf,
        /// Also trust this public key (`ed25519:…`) as the bundle's signer.
        #[arg(long, value_name = "KEY")]
        signer: Option<String>,
        /// The workspace.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove the sessions that outlived the workspace's retention
    /// (`[sessions] keep` in agent.toml, under the org policy's ceiling).
    Prune {
        /// The agent manifest (default: `agent.toml` in the workspace).
        #[arg(long, value_name = "FILE")]
        agent: Option<PathBuf>,
        /// The workspace.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl SessionsCommand {
    pub fn json(&self) -> bool {
        match self {
            SessionsCommand::List { json, .. }
            | SessionsCommand::Show { json, .. }
            | SessionsCommand::Rm { json, .. }
            | SessionsCommand::Prune { json, .. }
            | SessionsCommand::Export { json, .. }
            | SessionsCommand::Import { json, .. } => *json,
        }
    }

    pub fn execute(self, registry: &RegistryArgs) -> anyhow::Result<ExitCode> {
        let registry = registry.open()?;
        let home = registry.root();
        match self {
            SessionsCommand::List { workspace, json } => {
                let store = session_store(home, &workspace)?;
                let entries = store.list()?;
                if json {
                    let list: Vec<_> = entries
                        .iter()
                        .map(|e| match e {
                            ListEntry::Session(s) => json!({
                                "id": s.id.as_str(), "status": status_word(&s.status),
                                "task": s.task_preview, "turns": s.turns,
                                "updated": s.updated.to_string(),
                            }),
                            ListEntry::Unreadable { path, error } => json!({
                                "unreadable": path, "error": error.to_string(),
                            }),
                        })
                        .collect();
                    print_json(&json!({ "sessions": list }));
                } else if entries.is_empty() {
                    println!("no sessions in {}", store.dir().display());
                } else {
                    for e in &entries {
                        match e {
                            ListEntry::Session(s) => println!(
                                "{}  {:<9}  {:>3} turns  {}",
                                s.id.as_str(),
                                status_word(&s.status),
                                s.turns,
                                s.task_preview
                            ),
                            ListEntry::Unreadable { path, error } => {
                                println!("UNREADABLE {}: {error}", path.display())
                            }
                        }
                    }
                }
            }
            SessionsCommand::Show {
                id,
                workspace,
                json,
            } => {
                let store = session_store(home, &workspace)?;
                let session = store.load(&id)?;
                if json {
                    print_json(&serde_json::to_value(&session)?);
                } else {
                    println!(
                        "session {} ({}), agent {}",
                        session.id.as_str(),
                        status_word(&session.status),
                        session.agent.name
                    );
                    if let Status::Failed { reason } = &session.status {
                        println!("  failed: {reason}");
                    }
                    if let Some(parent) = &session.parent {
                        println!(
                            "  forked from session {} at step {}",
                            parent.session, parent.from_step
                        );
                    }
                    if let Some(recording) = &session.recording {
                        println!(
                            "  recorded: {} steps (warden replay {})",
                            recording.steps,
                            session.id.as_str()
                        );
                    }
                    for task in &session.tasks {
                        println!("task: {task}");
                    }
                    print_messages(&session.messages, "  ");
                    for executor in &session.executors {
                        println!(
                            "  executor ({}, {} ms): {}",
                            if executor.ok { "ok" } else { "failed" },
                            executor.duration_ms,
                            executor.task.chars().take(200).collect::<String>()
                        );
                        if let Some(error) = &executor.error {
                            println!("    failed: {error}");
                        }
                        print_messages(&executor.messages, "    ");
                    }
                    println!(
                        "{} steps, {} tokens, {} compactions",
                        session.steps.len(),
                        session.usage.total(),
                        session.compactions.len()
                    );
                }
            }
            SessionsCommand::Rm {
                id,
                older_than,
                workspace,
                json,
            } => {
                let store = session_store(home, &workspace)?;
                let removed: Vec<String> = match (id, older_than) {
                    (Some(id), None) => {
                        store.remove(&id)?;
                        vec![id]
                    }
                    (None, Some(age)) => {
                        let ms = warden_registry::units::parse_duration_ms(
                            &age,
                            warden_registry::units::BareNumber::Seconds,
                        )
                        .with_context(|| format!("invalid --older-than `{age}`"))?;
                        store
                            .expire(std::time::Duration::from_millis(ms))?
                            .into_iter()
                            .map(|id| id.as_str().to_string())
                            .collect()
                    }
                    _ => bail!("give a session id, or --older-than AGE"),
                };
                if !removed.is_empty() {
                    registry.audit()?.append(
                        warden_audit::AuditEvent::SessionPrune {
                            workspace: workspace.display().to_string(),
                            keep: "removed by hand (warden sessions rm)".into(),
                            removed: removed.clone(),
                        },
                        &[],
                    )?;
                }
                if json {
                    print_json(&json!({ "ok": true, "removed": removed }));
                } else {
                    println!("removed {} session(s)", removed.len());
                }
            }
            SessionsCommand::Export {
                id,
                key,
                out,
                workspace,
                json,
            } => {
                let store = session_store(home, &workspace)?;
                let key = warden_registry::keys::SecretKey::load(&key)
                    .with_context(|| format!("cannot load the key {}", key.display()))?;
                let secrets = super::grant_args::GrantArgs::default().stored_secrets()?;
                let values: Vec<&str> = secrets.values().map(|v| v.expose()).collect();
                let text = warden_agent::session_bundle::export(&store, &id, &key, &values)
                    .with_context(|| format!("cannot export session {id}"))?;
                warden_registry::fsutil::write_atomic(&out, text.as_bytes())
                    .with_context(|| format!("cannot write {}", out.display()))?;
                if json {
                    print_json(&json!({
                        "ok": true, "session": id, "bundle": out, "signer": key.public().to_string(),
                    }));
                } else {
                    println!("wrote {} (signed by {})", out.display(), key.public());
                }
            }
            SessionsCommand::Import {
                file,
                signer,
                workspace,
                json,
            } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let mut trusted: Vec<warden_registry::keys::PublicKey> = registry
                    .trust()?
                    .namespaces
                    .values()
                    .flatten()
                    .map(|k| k.key)
                    .collect();
                if let Some(s) = &signer {
                    trusted.push(s.parse().context("invalid --signer key")?);
                }
                let (content, key) = warden_agent::session_bundle::verify(
                    &text,
                    &trusted,
                    &file.display().to_string(),
                )
                .context("the bundle was refused; nothing was imported")?;
                let store = session_store(home, &workspace)?;
                let id = warden_agent::session_bundle::import(&store, &content)?;
                if json {
                    print_json(&json!({
                        "ok": true, "session": id.as_str(), "signer": key.to_string(),
                        "recording": content.recording.is_some(),
                    }));
                } else {
                    println!("imported session {} (signed by {key})", id.as_str());
                }
            }
            SessionsCommand::Prune {
                agent,
                workspace,
                json,
            } => {
                let manifest = match &agent {
                    Some(path) => AgentManifest::load(path)?,
                    None if workspace.join("agent.toml").is_file() => {
                        AgentManifest::load(&workspace.join("agent.toml"))?
                    }
                    None => warden_agent::default_agent(),
                };
                let store = session_store(home, &workspace)?;
                let retention = super::retention::retention_of(&registry, &manifest)?;
                let removed = super::retention::prune(&registry, &store, &workspace, &retention)?;
                let removed: Vec<&str> = removed.iter().map(|id| id.as_str()).collect();
                if json {
                    print_json(&json!({
                        "ok": true, "keep": retention.describe(), "removed": removed,
                    }));
                } else {
                    println!(
                        "removed {} session(s) (sessions are kept {})",
                        removed.len(),
                        retention.describe()
                    );
                }
            }
        }
        Ok(ExitCode::from(exit::OK))
    }
}

/// The session store of `workspace`: in its state directory under warden's
/// home `home`, never inside the workspace (which tools may be granted).
pub(super) fn session_store(home: &Path, workspace: &Path) -> anyhow::Result<SessionStore> {
    let state = WorkspaceState::open(home, workspace).with_context(|| {
        format!(
            "cannot keep the state of workspace {} under {}",
            workspace.display(),
            home.display()
        )
    })?;
    let store = SessionStore::for_workspace(&state)?;
    let migrated = store.migrated();
    if let Some(from) = migrated.from.as_ref().filter(|_| !migrated.is_empty()) {
        eprintln!(
            "note: copied {} session(s) from {} to {}, out of the tools' reach; warden no longer \
             reads the old directory{}",
            migrated.copied.len(),
            from.display(),
            store.dir().display(),
            if migrated.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} unreadable file(s) left there)",
                    migrated.skipped.len()
                )
            }
        );
    }
    Ok(store)
}

fn status_word(status: &Status) -> &'static str {
    match status {
        Status::Running => "running",
        Status::Completed => "completed",
        Status::Failed { .. } => "failed",
    }
}

/// `warden skills list`.
#[derive(Debug, clap::Args)]
pub struct SkillsArgs {
    /// The agent manifest (default: `agent.toml` in the workspace).
    #[arg(long)]
    agent: Option<PathBuf>,
    /// The workspace.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Only show whether each skill applies to this task.
    #[arg(long)]
    task: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl SkillsArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let in_workspace = self.workspace.join("agent.toml");
        let (manifest, base) = match &self.agent {
            Some(path) => (
                AgentManifest::load(path)?,
                path.parent().map(PathBuf::from).unwrap_or_default(),
            ),
            None if in_workspace.is_file() => {
                (AgentManifest::load(&in_workspace)?, self.workspace.clone())
            }
            None => (warden_agent::default_agent(), self.workspace.clone()),
        };
        let skills = load_skills(&manifest, &base)?;
        let tool_names: Vec<String> = manifest
            .tools
            .iter()
            .map(|t| t.name.name().replace('-', "_"))
            .collect();
        let rows: Vec<_> = skills
            .iter()
            .map(|s| {
                json!({
                    "name": s.name, "description": s.description, "when": s.when,
                    "tools": s.tools, "path": s.path,
                    "applies": self.task.as_deref().map(|t| s.applies_to(t)),
                })
            })
            .collect();
        if self.json {
            print_json(&json!({ "skills": rows }));
        } else if skills.is_empty() {
            println!("no skills (list skill directories under `skills` in agent.toml)");
        } else {
            for s in &skills {
                let applies = match &self.task {
                    Some(t) if s.applies_to(t) => " [applies]",
                    Some(_) => " [does not apply]",
                    None => "",
                };
                println!("{}{applies}: {}", s.name, s.description);
                if !s.tools.is_empty() {
                    println!("    needs tools: {}", s.tools.join(", "));
                }
            }
            let _ = tool_names;
        }
        Ok(ExitCode::from(exit::OK))
    }
}

/// Prints a conversation, one line a message, each line indented by `indent`.
fn print_messages(messages: &[warden_agent::Message], indent: &str) {
    for m in messages {
        let calls: Vec<String> = m
            .tool_calls
            .iter()
            .map(|c| format!("{}({})", c.name, c.arguments))
            .collect();
        println!(
            "{indent}{:?}: {}{}",
            m.role,
            m.content.chars().take(400).collect::<String>(),
            if calls.is_empty() {
                String::new()
            } else {
                format!(" -> {}", calls.join(", "))
            }
        );
    }
}
