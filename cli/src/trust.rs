//! `warden trust`: which publisher keys sign which namespaces.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use warden_audit::AuditEvent;
use warden_registry::keys::PublicKey;

use super::exit;
use super::output::print_json;
use super::registry_args::RegistryArgs;

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust KEY to sign packages in NAMESPACE.
    Add {
        /// The namespace, e.g. `acme` for `acme:*` packages.
        namespace: String,
        /// The publisher's public key, `ed25519:<hex>`.
        key: String,
        /// Who the key belongs to.
        #[arg(long, default_value = "")]
        label: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List trusted keys.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting KEY (or every key) for NAMESPACE.
    Remove {
        /// The namespace.
        namespace: String,
        /// The key; all keys of the namespace if omitted.
        key: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl TrustCommand {
    pub fn json(&self) -> bool {
        match self {
            TrustCommand::Add { json, .. }
            | TrustCommand::List { json }
            | TrustCommand::Remove { json, .. } => *json,
        }
    }

    pub fn execute(self, registry: &RegistryArgs) -> anyhow::Result<ExitCode> {
        let registry = registry.open()?;
        match self {
            TrustCommand::Add {
                namespace,
                key,
                label,
                json,
            } => {
                let key: PublicKey = key.parse().context("invalid public key")?;
                let added = registry.update_trust(|t| Ok(t.add(&namespace, key, &label)?))?;
                if added {
                    registry.audit()?.append(
                        AuditEvent::TrustAdd {
                            namespace: namespace.clone(),
                            key: key.to_string(),
                        },
                        &[],
                    )?;
                }
                if json {
                    print_json(
                        &json!({"ok": true, "namespace": namespace, "key": key.to_string(), "added": added}),
                    );
                } else if added {
                    eprintln!("trusting {key} for `{namespace}`");
                } else {
                    eprintln!("{key} was already trusted for `{namespace}`");
                }
            }
            TrustCommand::List { json } => {
                let trust = registry.trust()?;
                if json {
                    print_json(&json!({"ok": true, "namespaces": trust.namespaces}));
                } else if trust.namespaces.is_empty() {
                    eprintln!(
                        "no keys are trusted (add one with `warden trust add NAMESPACE KEY`)"
                    );
                } else {
                    for (namespace, keys) in &trust.namespaces {
                        for k in keys {
                            println!("{namespace}\t{}\t{}", k.key, k.label);
                        }
                    }
                }
            }
            TrustCommand::Remove {
                namespace,
                key,
                json,
            } => {
                let key: Option<PublicKey> = key
                    .map(|k| k.parse())
                    .transpose()
                    .context("invalid public key")?;
                let removed = registry.update_trust(|t| Ok(t.remove(&namespace, key.as_ref())))?;
                if removed == 0 {
                    anyhow::bail!(
                        "no matching key is trusted for `{namespace}` (see `warden trust list`)"
                    );
                }
                if json {
                    print_json(&json!({"ok": true, "namespace": namespace, "removed": removed}));
                } else {
                    eprintln!("removed {removed} key(s) from `{namespace}`");
                }
            }
        }
        Ok(ExitCode::from(exit::OK))
    }
}
