//! `warden key`: publisher keys.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use warden_registry::keys::SecretKey;

use super::exit;
use super::output::print_json;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a signing key pair: the secret key goes to a file readable
    /// only by you; the public key is printed, for others to trust.
    Generate {
        /// Where to write the secret key.
        #[arg(long, default_value = "warden.key")]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the public key of a secret key file.
    Public {
        /// The secret key file.
        key: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl KeyCommand {
    pub fn json(&self) -> bool {
        match self {
            KeyCommand::Generate { json, .. } | KeyCommand::Public { json, .. } => *json,
        }
    }

    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            KeyCommand::Generate { out, json } => {
                let key = SecretKey::generate().context("cannot generate a key")?;
                key.save(&out)
                    .with_context(|| format!("cannot write the secret key to {}", out.display()))?;
                let public = key.public();
                if json {
                    print_json(
                        &json!({"ok": true, "secret_key_file": out, "public_key": public.to_string()}),
                    );
                } else {
                    println!("{public}");
                    eprintln!(
                        "secret key written to {} (keep it private); others trust your packages with:\n  warden trust add <namespace> {public}",
                        out.display()
                    );
                }
            }
            KeyCommand::Public { key, json } => {
                let key = SecretKey::load(&key)
                    .with_context(|| format!("cannot read the key {}", key.display()))?;
                if json {
                    print_json(&json!({"ok": true, "public_key": key.public().to_string()}));
                } else {
                    println!("{}", key.public());
                }
            }
        }
        Ok(ExitCode::from(exit::OK))
    }
}
