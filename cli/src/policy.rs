//! `warden grant`, `warden revoke` and `warden policy`: the user's grants
//! (`grants.toml`) and the signed org policy.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use warden_audit::AuditEvent;
use warden_policy::{Capability, OrgPolicy, Outcome, Target, effective};
use warden_registry::keys::{PublicKey, SecretKey};

use super::exit;
use super::output::print_json;
use super::policy_grant::layers;
use super::registry_args::RegistryArgs;

/// `warden grant` and `warden revoke`.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The components: a package name (`acme:grep`), `NAME@RANGE`,
    /// `NAME@sha256:HEX`, `builtin:fs`, `file:STEM` (a component file), or
    /// `namespace:*` / `*` (with --deny).
    target: String,

    /// What kind of capability: dir, network, env, secret or limit.
    #[arg(value_parser = ["dir", "network", "env", "secret", "limit"])]
    kind: String,

    /// The capability: `HOST[:GUEST][:ro|rw]` (dir), `[SCHEME://]HOST[:PORT]`
    /// (network; HOST may be `*.domain`, an IP or a CIDR network), `NAME`
    /// (env), `NAME@[SCHEME://]HOST[:PORT]` (secret: sent only to that
    /// scheme, host and port; default https and its port; `NAME` alone with
    /// --deny) or `KIND=VALUE` (limit: memory, fuel, wall-clock, stack,
    /// output, instances, calls-per-minute).
    spec: String,

    /// Add a deny rule instead (grant only): deny wins over every allow rule.
    #[arg(long)]
    deny: bool,

    /// Add an ask rule instead (grant only): the capability is granted for
    /// one call when you approve it then (an MCP client's elicitation, or
    /// the terminal for `warden tool call`). Not for limits.
    #[arg(long, conflicts_with = "deny")]
    ask: bool,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    registry: RegistryArgs,
}

impl GrantArgs {
    fn parse(&self) -> anyhow::Result<(Target, Capability)> {
        let target: Target = self
            .target
            .parse()
            .with_context(|| format!("invalid component `{}`", self.target))?;
        let spec = if self.kind == "dir" {
            absolute_dir_spec(&self.spec)?
        } else {
            self.spec.clone()
        };
        Ok((target, Capability::parse(&self.kind, &spec)?))
    }

    /// `warden grant`.
    pub fn grant(self) -> anyhow::Result<ExitCode> {
        if self.kind == "secret" && !self.deny && !self.spec.contains('@') {
            anyhow::bail!(
                "secret {spec} names no host: a secret is sent only to the host it is granted \
                 for\nhint: warden grant {target} secret {spec}@https://api.example.com",
                spec = self.spec,
                target = self.target
            );
        }
        let (target, cap) = self.parse()?;
        let registry = self.registry.open()?;
        let deny = self.deny;
        let ask = self.ask;
        let effect = match (deny, ask) {
            (true, _) => "deny",
            (false, true) => "ask",
            (false, false) => "allow",
        };
        let changed = registry.update_grants_file(|g| {
            let changed = if deny {
                g.deny(&target, cap.clone())?
            } else if ask {
                g.ask(&target, cap.clone())?
            } else {
                g.grant(&target, cap.clone())?
            };
            let event = changed.then(|| AuditEvent::Grant {
                package: target.to_string(),
                capabilities: vec![format!("{effect} {cap}")],
            });
            Ok((changed, event))
        })?;
        let verb = if deny { "denied" } else { "granted" };
        if self.json {
            print_json(&json!({
                "ok": true, "component": target.to_string(), "capability": cap.to_string(),
                "effect": effect, "changed": changed,
            }));
        } else if ask && changed {
            println!(
                "{cap} to {target} will be asked for: granted for a call only when you approve it"
            );
        } else if ask {
            println!("{cap} to {target} was already asked for");
        } else if changed {
            println!("{verb} {cap} to {target}");
        } else {
            println!("{cap} was already {verb} to {target}");
        }
        Ok(ExitCode::from(exit::OK))
    }

    /// `warden revoke`.
    pub fn revoke(self) -> anyhow::Result<ExitCode> {
        if self.deny {
            bail!(
                "--deny is for `warden grant`; to lift a deny rule, edit grants.toml (see `warden policy show`)"
            );
        }
        if self.ask {
            bail!(
                "--ask is for `warden grant`; `warden revoke` removes the capability from allow and ask rules alike\nhint: warden revoke {} {} {}",
                self.target,
                self.kind,
                self.spec
            );
        }
        let (target, cap) = self.parse()?;
        let registry = self.registry.open()?;
        let removed = registry.update_grants_file(|g| {
            let removed = g.revoke(&target, &cap)?;
            Ok((
                removed,
                Some(AuditEvent::Revoke {
                    package: target.to_string(),
                    capabilities: vec![cap.to_string()],
                }),
            ))
        })?;
        if self.json {
            print_json(&json!({
                "ok": true, "component": target.to_string(), "capability": cap.to_string(),
                "removed": removed,
            }));
        } else {
            println!("revoked {cap} from {target}");
        }
        Ok(ExitCode::from(exit::OK))
    }
}

/// A `dir` spec with its host path made absolute (relative to the current
/// directory), as grants are kept.
fn absolute_dir_spec(spec: &str) -> anyhow::Result<String> {
    let (host, rest) = match spec.split_once(':') {
        Some((h, r)) => (h, Some(r)),
        None => (spec, None),
    };
    let path = std::path::Path::new(host);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .context("cannot find the current directory")?
            .join(path)
    };
    let absolute = absolute
        .to_str()
        .context("the directory path is not UTF-8")?
        .to_string();
    Ok(match rest {
        Some(r) => format!("{absolute}:{r}"),
        None => absolute,
    })
}

/// `warden policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show your grants, the org policy in force and the trusted admin keys.
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show each capability a component would get, and which rule allowed,
    /// capped or denied it.
    Explain {
        /// An installed package NAME[@RANGE], `builtin:NAME` or a component file.
        component: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the smallest grants that cover what a run (`--session ID`)
    /// or the audited calls (`--audit --since 24h`) actually used, as
    /// grants.toml rules, with what was granted but never used and what
    /// was denied.
    Suggest(super::policy_suggest::SuggestArgs),
    /// Sign an org policy with an admin key (prints or writes the signed file).
    Sign {
        /// The policy (TOML rules, without a `[signature]` table).
        policy: PathBuf,
        /// The admin's secret key file (from `warden key generate`).
        #[arg(long)]
        key: PathBuf,
        /// Write the signed policy here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a signed org policy against the trusted admin keys and put it in force.
    Install {
        /// The signed policy file.
        signed: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove the org policy in force.
    Remove {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Trust an admin key to sign org policies.
    Trust {
        /// The admin's public key, `ed25519:<hex>`.
        key: String,
        /// Who the key belongs to.
        #[arg(long, default_value = "")]
        label: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting an admin key (a policy it signed then stops every call).
    Untrust {
        /// The admin's public key.
        key: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl PolicyCommand {
    pub fn json(&self) -> bool {
        match self {
            PolicyCommand::Show { json }
            | PolicyCommand::Explain { json, .. }
            | PolicyCommand::Install { json, .. }
            | PolicyCommand::Remove { json }
            | PolicyCommand::Trust { json, .. }
            | PolicyCommand::Untrust { json, .. } => *json,
            PolicyCommand::Sign { .. } => false,
            PolicyCommand::Suggest(args) => args.json,
        }
    }

    pub fn execute(self, registry: &RegistryArgs) -> anyhow::Result<ExitCode> {
        match self {
            PolicyCommand::Sign { policy, key, out } => {
                let text = std::fs::read_to_string(&policy)
                    .with_context(|| format!("cannot read {}", policy.display()))?;
                let key = SecretKey::load(&key)
                    .with_context(|| format!("cannot load the admin key {}", key.display()))?;
                let signed = warden_policy::sign_policy(&text, &key)
                    .with_context(|| format!("cannot sign {}", policy.display()))?;
                match out {
                    Some(path) => {
                        warden_registry::fsutil::write_atomic(&path, signed.as_bytes())
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        eprintln!(
                            "signed with {}; install it with `warden policy install {}`",
                            key.public(),
                            path.display()
                        );
                    }
                    None => print!("{signed}"),
                }
                Ok(ExitCode::from(exit::OK))
            }
            PolicyCommand::Show { json } => show(registry, json),
            PolicyCommand::Suggest(args) => args.execute(registry),
            PolicyCommand::Explain { component, json } => explain(registry, &component, json),
            PolicyCommand::Install { signed, json } => {
                let registry = registry.open()?;
                let text = std::fs::read_to_string(&signed)
                    .with_context(|| format!("cannot read {}", signed.display()))?;
                let policy = registry
                    .install_org_policy(&text, &signed.display().to_string())
                    .context("the org policy was refused; nothing changed")?;
                report(json, &policy.label(), "org policy in force");
                Ok(ExitCode::from(exit::OK))
            }
            PolicyCommand::Remove { json } => {
                let removed = registry.open()?.remove_org_policy()?;
                let msg = if removed {
                    "org policy removed"
                } else {
                    "no org policy was in force"
                };
                report(json, msg, msg);
                Ok(ExitCode::from(exit::OK))
            }
            PolicyCommand::Trust { key, label, json } => {
                let key: PublicKey = key.parse().context("invalid public key")?;
                let added = registry.open()?.add_admin_key(key, &label)?;
                let msg = if added {
                    format!("trusted admin key {key}")
                } else {
                    format!("admin key {key} was already trusted")
                };
                report(json, &key.to_string(), &msg);
                Ok(ExitCode::from(exit::OK))
            }
            PolicyCommand::Untrust { key, json } => {
                let key: PublicKey = key.parse().context("invalid public key")?;
                if !registry.open()?.remove_admin_key(&key)? {
                    bail!("admin key {key} is not trusted (see `warden policy show`)");
                }
                report(json, &key.to_string(), &format!("no longer trusting {key}"));
                Ok(ExitCode::from(exit::OK))
            }
        }
    }
}

fn report(json: bool, value: &str, text: &str) {
    if json {
        print_json(&json!({"ok": true, "result": value}));
    } else {
        println!("{text}");
    }
}

fn show(registry: &RegistryArgs, json: bool) -> anyhow::Result<ExitCode> {
    let registry = registry.open()?;
    let grants = registry.grants_file()?;
    let admins = registry.admin_keys()?;
    let org: Result<Option<OrgPolicy>, String> =
        registry.org_policy().map_err(|e| format!("{e:#}"));
    if json {
        print_json(&json!({
            "grants_file": registry.grants_file_path(),
            "grants": grants.show(),
            "org_policy": match &org {
                Ok(Some(p)) => json!({"label": p.label(), "rules": p.rules().len()}),
                Ok(None) => serde_json::Value::Null,
                Err(e) => json!({"error": e}),
            },
            "admin_keys": admins.keys.iter().map(|k| json!({"key": k.key.to_string(), "label": k.label})).collect::<Vec<_>>(),
        }));
    } else {
        println!("your grants ({}):", registry.grants_file_path().display());
        for line in grants.show() {
            println!("  {line}");
        }
        match &org {
            Ok(Some(p)) => {
                println!("{} with {} rules", p.label(), p.rules().len());
            }
            Ok(None) => println!("no org policy in force"),
            Err(e) => println!("org policy REFUSED (nothing may run): {e}"),
        }
        if admins.keys.is_empty() {
            println!("no admin keys trusted");
        }
        for k in &admins.keys {
            println!("admin key {} {}", k.key, k.label);
        }
    }
    Ok(ExitCode::from(exit::OK))
}

fn explain(registry: &RegistryArgs, component: &str, json: bool) -> anyhow::Result<ExitCode> {
    let registry = registry.open()?;
    // Every kind of tool source is explained the same way: its subject.
    let (subject, source) = match warden::resolve::resolve(component, &registry)? {
        warden::resolve::Resolved::Component(located) => (located.subject, None),
        warden::resolve::Resolved::Source { subject, source } => (subject, Some(source)),
    };
    let (user, org) = layers(&registry)?;
    let grant = effective(&subject.id, subject.requested.as_ref(), &user, org.as_ref());
    // `ask` rules: what would be put to the user, and what an org forbids asking for.
    let asks =
        warden_policy::ask::plan(&subject.id, subject.requested.as_ref(), &user, org.as_ref());
    // Data residency: the labels, who may see each class, and the classes
    // this component's directories hold.
    let residency =
        warden_policy::Residency::merge(org.as_ref().map(|o| o.residency()), user.residency());
    let mut data = residency.explain();
    for dir in grant.dirs() {
        let classes = residency.classes_within(&dir.host);
        if !classes.is_empty() {
            let names = classes.iter().cloned().collect::<Vec<_>>().join(", ");
            data.push(format!(
                "{} reaches {names} data: what it returns is labelled {names}",
                dir.host
            ));
        }
    }
    if let Some(ceiling) = org.as_ref().and_then(|o| o.sessions()) {
        data.push(ceiling.explain());
    }
    // The shared context: the planner's grant in this workspace, as capped.
    if let Ok(cwd) = std::env::current_dir() {
        data.extend(super::policy_context::explain(
            &subject.id.name.to_string(),
            &cwd,
            org.as_ref(),
        ));
    }
    // What applies to a server or command, and which limits do not.
    let source_lines = source
        .as_ref()
        .map(|s| crate::explain_source::lines(s, &grant, org.as_ref()))
        .unwrap_or_default();
    let applies = |d: &&warden_policy::Decision| crate::explain_source::applies(source.as_ref(), d);
    if json {
        let decisions: Vec<_> = grant
            .decisions()
            .iter()
            .filter(applies)
            .map(|d| {
                json!({
                    "capability": d.capability.to_string(),
                    "outcome": match &d.outcome {
                        Outcome::Allowed => "allowed".to_string(),
                        Outcome::Capped { .. } => "capped".to_string(),
                        Outcome::Denied => "denied".to_string(),
                    },
                    "capped_to": match &d.outcome {
                        Outcome::Capped { to } => Some(to.to_string()),
                        _ => None,
                    },
                    "because": d.because,
                })
            })
            .collect();
        let ask: Vec<_> = asks
            .ask
            .iter()
            .map(|a| json!({ "capability": a.capability.to_string(), "rule": a.rule }))
            .collect();
        let ask_forbidden: Vec<_> = asks
            .forbidden
            .iter()
            .map(|d| json!({ "capability": d.capability.to_string(), "because": d.because }))
            .collect();
        print_json(&json!({
            "component": grant.component().to_string(),
            "decisions": decisions,
            "ask": ask,
            "ask_forbidden": ask_forbidden,
            "data": data,
            "source": source_lines,
        }));
    } else {
        // The grant's own lines, without the decisions that do not apply.
        let all = grant.explain();
        let decision_lines: usize = grant.decisions().iter().map(|d| d.explain().len()).sum();
        for line in &all[..all.len().saturating_sub(decision_lines)] {
            println!("{line}");
        }
        for d in grant.decisions().iter().filter(applies) {
            for line in d.explain() {
                println!("{line}");
            }
        }
        for line in asks.explain() {
            println!("{line}");
        }
        for line in &source_lines {
            println!("{line}");
        }
        for line in &data {
            println!("{line}");
        }
    }
    Ok(ExitCode::from(exit::OK))
}
