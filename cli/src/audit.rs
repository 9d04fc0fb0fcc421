//! `warden audit`: read and check the tamper-evident audit log.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use warden_audit::{self as audit, Timestamp};
use warden_registry::PublicKey;

use super::exit;
use super::output::print_json;
use super::registry_args::RegistryArgs;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Show the last records.
    Tail {
        /// How many records.
        #[arg(short, long, default_value_t = 20)]
        n: usize,
        /// Print JSON lines instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Check the whole chain: finds a removed, reordered or edited record
    /// (and a torn last line) and says where. Exits 1 if anything is wrong.
    Verify {
        /// Also check record signatures against this key (`ed25519:…`).
        #[arg(long)]
        key: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move a torn last line (left by an interrupted write) aside, so the
    /// log can be appended to again. The moved bytes are kept in a file
    /// next to the log and reported.
    Repair {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign every record appended from now on with a key (from `warden key
    /// generate`); `audit verify --key PUBLIC` then checks the signatures.
    /// `--off` stops signing.
    Sign {
        /// The secret key file to sign with (copied into the warden root).
        #[arg(long, required_unless_present = "off")]
        key: Option<std::path::PathBuf>,
        /// Stop signing new records.
        #[arg(long, conflicts_with = "key")]
        off: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the records since a time (RFC 3339, e.g. 2026-11-24T09:00:00Z,
    /// or an age such as 30m, 12h, 7d) as JSON lines.
    Export {
        /// The earliest record time.
        #[arg(long)]
        since: String,
    },
}

impl AuditCommand {
    pub fn json(&self) -> bool {
        match self {
            AuditCommand::Tail { json, .. }
            | AuditCommand::Verify { json, .. }
            | AuditCommand::Repair { json }
            | AuditCommand::Sign { json, .. } => *json,
            AuditCommand::Export { .. } => true,
        }
    }

    pub fn execute(self, registry: &RegistryArgs) -> anyhow::Result<ExitCode> {
        let registry = registry.open()?;
        let path = registry.root().join("audit.jsonl");
        match self {
            AuditCommand::Tail { n, json } => {
                let records = audit::tail(&path, n).context("cannot read the audit log")?;
                for r in &records {
                    if json {
                        println!("{}", r.to_line());
                    } else {
                        println!(
                            "{:>6}  {}  {:<12} {}",
                            r.seq,
                            r.time,
                            r.event.kind(),
                            summary(&r.event)
                        );
                    }
                }
                if records.is_empty() && !json {
                    eprintln!("the audit log at {} is empty", path.display());
                }
                Ok(ExitCode::from(exit::OK))
            }
            AuditCommand::Verify { key, json } => {
                let key: Option<PublicKey> = key
                    .map(|k| k.parse())
                    .transpose()
                    .context("invalid --key")?;
                let report =
                    audit::verify(&path, key.as_ref()).context("cannot read the audit log")?;
                if json {
                    print_json(&json!({"ok": report.is_intact(), "report": report}));
                } else {
                    for p in &report.problems {
                        println!("{p}");
                    }
                    eprintln!(
                        "{} records: {}",
                        report.records,
                        if report.is_intact() {
                            "the chain is intact"
                        } else {
                            "the log has been tampered with or damaged"
                        }
                    );
                }
                Ok(ExitCode::from(if report.is_intact() {
                    exit::OK
                } else {
                    exit::FAILURE
                }))
            }
            AuditCommand::Sign { key, off, json } => {
                let target = registry.audit_key_path();
                let message = match key {
                    Some(key_file) if !off => {
                        let key = warden_registry::keys::SecretKey::load(&key_file)
                            .with_context(|| format!("cannot load {}", key_file.display()))?;
                        if target.exists() {
                            std::fs::remove_file(&target)
                                .with_context(|| format!("cannot replace {}", target.display()))?;
                        }
                        key.save(&target)
                            .with_context(|| format!("cannot write {}", target.display()))?;
                        format!(
                            "audit records are now signed by {}; check them with `warden audit verify --key {}`",
                            key.public(),
                            key.public()
                        )
                    }
                    _ => {
                        match std::fs::remove_file(&target) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(e) => {
                                return Err(e).with_context(|| {
                                    format!("cannot remove {}", target.display())
                                });
                            }
                        }
                        "audit records are no longer signed".to_string()
                    }
                };
                if json {
                    print_json(&json!({"ok": true, "message": message}));
                } else {
                    println!("{message}");
                }
                Ok(ExitCode::from(exit::OK))
            }
            AuditCommand::Repair { json } => {
                let repaired =
                    audit::repair_torn_tail(&path).context("cannot repair the audit log")?;
                match (&repaired, json) {
                    (_, true) => print_json(&json!({
                        "ok": true,
                        "repaired": repaired.as_ref().map(|r| json!({
                            "line_no": r.line_no,
                            "bytes": r.bytes,
                            "moved_to": r.moved_to,
                        })),
                    })),
                    (Some(r), false) => eprintln!(
                        "moved the torn line {} ({} bytes) to {}",
                        r.line_no,
                        r.bytes,
                        r.moved_to.display()
                    ),
                    (None, false) => eprintln!("the audit log has no torn line"),
                }
                Ok(ExitCode::from(exit::OK))
            }
            AuditCommand::Export { since } => {
                let since = parse_since(&since)?;
                let mut export =
                    audit::export(&path, since).context("cannot read the audit log")?;
                for record in export.by_ref() {
                    let record = record.context("cannot read the audit log")?;
                    println!("{}", record.to_line());
                }
                if export.torn_tail() {
                    eprintln!(
                        "warning: the last line of the audit log is torn (an interrupted write); run `warden audit verify`"
                    );
                }
                Ok(ExitCode::from(exit::OK))
            }
        }
    }
}

/// RFC 3339, or an age (`30m`, `12h`, `7d`, `2w`) before now.
pub(crate) fn parse_since(text: &str) -> anyhow::Result<SystemTime> {
    if let Some(t) = Timestamp::parse(text) {
        return Ok(t.system_time());
    }
    let ms =
        warden_registry::units::parse_duration_ms(text, warden_registry::units::BareNumber::Refuse)
            .map_err(anyhow::Error::msg)
            .with_context(|| {
                format!("`{text}` is neither an RFC 3339 time nor an age like 30m, 12h, 7d")
            })?;
    SystemTime::now()
        .checked_sub(Duration::from_millis(ms))
        .context("--since is too far in the past")
}

fn summary(event: &audit::AuditEvent) -> String {
    use audit::AuditEvent as E;
    match event {
        E::Install {
            package, version, ..
        } => format!("{package}@{version}"),
        E::Upgrade {
            package, from, to, ..
        } => format!("{package} {from} -> {to}"),
        E::Remove { package, version } => format!("{package}@{version}"),
        E::TrustAdd { namespace, key } => format!("{namespace} {key}"),
        E::TrustRemove { namespace, key } => {
            format!("{namespace} {}", key.as_deref().unwrap_or("(all keys)"))
        }
        E::Grant {
            package,
            capabilities,
        }
        | E::Revoke {
            package,
            capabilities,
        } => {
            format!("{package}: {}", capabilities.join(", "))
        }
        E::PolicyChange {
            policy_digest,
            signer,
        } => format!("{policy_digest} signed by {signer}"),
        E::Call {
            component,
            function,
            outcome,
            duration_ms,
            used,
            ..
        } => match used {
            Some(usage) => format!(
                "{component} {function} -> {outcome} ({duration_ms:.1} ms; used {})",
                usage_summary(usage)
            ),
            None => format!("{component} {function} -> {outcome} ({duration_ms:.1} ms)"),
        },
        E::Denial {
            component,
            capability,
            target,
            ..
        } => format!("{component} denied {capability} {target}"),
        E::Approval {
            component,
            capabilities,
            answer,
            ..
        } => format!(
            "{component} asked for {}: {answer}",
            capabilities.join(", ")
        ),
        E::SessionPrune {
            workspace,
            keep,
            removed,
        } => format!(
            "{workspace}: {} session(s) older than {keep}",
            removed.len()
        ),
        E::ModelRoute {
            provider,
            classes,
            decision,
            ..
        } => format!("{decision} {provider} [{}]", classes.join(", ")),
        E::ContextWrite {
            component,
            namespace,
            size,
            removed,
            ..
        } if *removed => format!("{component} removed {size} bytes from `{namespace}`"),
        E::ContextWrite {
            component,
            namespace,
            size,
            classes,
            ..
        } if !classes.is_empty() => format!(
            "{component} wrote {size} bytes to `{namespace}` [{}]",
            classes.join(", ")
        ),
        E::ContextWrite {
            component,
            namespace,
            size,
            ..
        } => format!("{component} wrote {size} bytes to `{namespace}`"),
        E::Used {
            component,
            function,
            usage,
            ..
        } => format!("{component} {function} used {}", usage_summary(usage)),
    }
}

/// What a call used, counted: `1 dir(s), 0 host(s), 0 env var(s), 0 secret(s)`.
fn usage_summary(usage: &warden_audit::Usage) -> String {
    format!(
        "{} dir(s), {} host(s), {} env var(s), {} secret(s)",
        usage.dirs.len(),
        usage.hosts.len(),
        usage.env.len(),
        usage.secrets.len()
    )
}
