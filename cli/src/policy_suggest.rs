//! `warden policy suggest`: the smallest grants that would have let a run
//! (`--session ID`) or the calls in the audit log (`--audit --since AGE`)
//! do what they did, as `grants.toml` rules; the capabilities granted but
//! never used; and the refusals, listed apart (never turned into grants).
//! The work is in the library (`warden::suggest`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use warden::agent::Exchange;
use warden::agent::recording::{RecordedDenial, RecordedUse};
use warden::suggest::{ComponentUse, Suggestion, apply, grants_toml, policy_name, suggest};
use warden_audit::{self as audit, AuditEvent};

use super::exit;
use super::output::print_json;
use super::registry_args::RegistryArgs;

/// `warden policy suggest`.
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// The session whose latest run to learn from (see `warden sessions list`).
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "audit",
        conflicts_with = "audit"
    )]
    session: Option<String>,

    /// The workspace the session belongs to.
    #[arg(long, default_value = ".", value_name = "DIR")]
    workspace: PathBuf,

    /// Learn from the calls in the audit log instead (with --since).
    #[arg(long, requires = "since")]
    audit: bool,

    /// With --audit: the earliest record (RFC 3339, or an age such as 30m,
    /// 24h, 7d).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,

    /// Add the suggested grants to grants.toml (asks first unless --yes).
    #[arg(long)]
    apply: bool,

    /// With --apply: do not ask.
    #[arg(long, short, requires = "apply")]
    yes: bool,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl SuggestArgs {
    pub fn execute(self, registry: &RegistryArgs) -> anyhow::Result<ExitCode> {
        let uses = match &self.session {
            Some(id) => self.session_uses(registry, id)?,
            None => from_audit(registry, self.since.as_deref().unwrap_or("24h"))?,
        };
        let opened = registry.open()?;
        let grants = opened.grants_file()?;
        let suggestions = suggest(&uses, &grants);
        let toml = grants_toml(&suggestions).context("cannot write the suggested rules")?;
        if self.json {
            print_json(&json!({
                "ok": true,
                "components": suggestions,
                "grants_toml": toml,
            }));
        } else {
            print_text(&suggestions, &toml);
        }
        if self.apply {
            let count: usize = suggestions.values().map(|s| s.capabilities().len()).sum();
            if count == 0 {
                eprintln!("nothing to apply");
                return Ok(ExitCode::from(exit::OK));
            }
            if !self.yes {
                if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
                    bail!(
                        "--apply asks before changing grants.toml, and there is no terminal to \
                         ask on\nhint: add --yes to apply without asking"
                    );
                }
                eprint!("Add these {count} grant(s) to grants.toml? [y/N] ");
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .context("cannot read the answer")?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    eprintln!("nothing changed");
                    return Ok(ExitCode::from(exit::OK));
                }
            }
            let changed = opened.update_grants_file(|g| {
                let changed = apply(g, &suggestions)?;
                let event = (changed > 0).then(|| AuditEvent::Grant {
                    package: suggestions.keys().cloned().collect::<Vec<_>>().join(", "),
                    capabilities: suggestions
                        .iter()
                        .flat_map(|(c, s)| {
                            s.grants.iter().map(move |g| format!("allow {g} to {c}"))
                        })
                        .collect(),
                });
                Ok((changed, event))
            })?;
            eprintln!("applied: {changed} grant(s) added to grants.toml");
        }
        Ok(ExitCode::from(exit::OK))
    }

    fn session_uses(
        &self,
        registry: &RegistryArgs,
        id: &str,
    ) -> anyhow::Result<BTreeMap<String, ComponentUse>> {
        let workspace = self.workspace.canonicalize().with_context(|| {
            format!("the workspace {} does not exist", self.workspace.display())
        })?;
        let opened = registry.open()?;
        let store = super::sessions::session_store(opened.root(), &workspace)?;
        let session = store
            .load(id)
            .with_context(|| format!("cannot load session {id}"))?;
        let Some(reference) = &session.recording else {
            bail!(
                "session {} has no recording: `policy suggest --session` learns from what a \
                 recorded run used\nhint: warden policy suggest --audit --since 24h",
                session.id.as_str()
            );
        };
        let recording = warden::agent::Recording::load(&store.recording_path(&session.id))?;
        recording.check_head(&reference.head)?;
        let mut uses: BTreeMap<String, ComponentUse> = BTreeMap::new();
        let mut add = |u: &RecordedUse| {
            let entry = uses.entry(policy_name(&u.component)).or_default();
            if u.component.starts_with("server:") || u.component.starts_with("command:") {
                entry.calls += 1;
            }
            entry.add_usage(&u.usage);
            for d in &u.denied {
                entry.add_denial(d.clone());
            }
        };
        for step in recording.steps() {
            match step {
                Exchange::Complete { used, .. } => used.iter().for_each(&mut add),
                Exchange::CallTools { used, .. } => used.iter().for_each(&mut add),
                Exchange::Delegate { .. } | Exchange::Context { .. } | Exchange::End { .. } => {}
            }
        }
        Ok(uses)
    }
}

/// What each component used and was refused in the audit log since `since`.
fn from_audit(
    registry: &RegistryArgs,
    since: &str,
) -> anyhow::Result<BTreeMap<String, ComponentUse>> {
    let since = super::audit::parse_since(since)?;
    let opened = registry.open()?;
    let path = opened.root().join("audit.jsonl");
    let mut uses: BTreeMap<String, ComponentUse> = BTreeMap::new();
    let mut export = audit::export(&path, since).context("cannot read the audit log")?;
    for record in export.by_ref() {
        let record = record.context("cannot read the audit log")?;
        match record.event {
            // A server's or command's calls, so that one whose use was not
            // observed is reported as such (see `warden::suggest::UNOBSERVED`),
            // with what a call noted of its use (a remote server's connection
            // and secrets).
            AuditEvent::Call {
                component, used, ..
            } if component.starts_with("server:") || component.starts_with("command:") => {
                let entry = uses.entry(component).or_default();
                entry.calls += 1;
                if let Some(usage) = used {
                    entry.add_usage(&usage);
                }
            }
            // A call's usage is in its record; logs of earlier versions
            // have it in a `used` record after the call.
            AuditEvent::Call {
                component,
                used: Some(usage),
                ..
            }
            | AuditEvent::Used {
                component, usage, ..
            } => uses
                .entry(policy_name(&component))
                .or_default()
                .add_usage(&usage),
            AuditEvent::Denial {
                component,
                capability,
                target,
                reason,
                ..
            } => uses
                .entry(policy_name(&component))
                .or_default()
                .add_denial(RecordedDenial {
                    capability,
                    target,
                    reason,
                }),
            _ => {}
        }
    }
    Ok(uses)
}

fn print_text(suggestions: &BTreeMap<String, Suggestion>, toml: &str) {
    if suggestions.is_empty() {
        println!("nothing was used: no grant is needed");
        return;
    }
    for (component, s) in suggestions {
        println!("{component}:");
        if s.grants.is_empty() {
            println!("  used nothing of its grant");
        }
        for g in &s.grants {
            println!("  needs   {g}");
        }
        for u in &s.unused {
            println!("  unused  {u} (granted in grants.toml, never used)");
        }
        for d in &s.denied {
            println!(
                "  denied  {} {} (not suggested: grant it yourself if it should be allowed)",
                d.capability, d.target
            );
        }
        for k in &s.skipped {
            println!("  note    {k}");
        }
    }
    println!();
    println!("# grants.toml rules covering what was used:");
    print!("{toml}");
}
