//! The grant flags shared by every command that runs a component.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use clap::Args;
use warden::grant::{parse_duration, parse_env, parse_size};
use warden::secret::{SecretGrant, SecretValue, load_secrets_file, parse_secret};
use warden::{DirGrant, DirMode, HostPattern};
use warden_policy::{Capability, DirRule, LimitKind, PathPattern};
use warden_registry::manifest::Access;

/// What the component may do, for this call, on top of what `warden grant`
/// recorded. Nothing is granted unless a flag or a grant says so, and the
/// org policy caps both.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Grant (deny by default)")]
pub struct GrantArgs {
    /// Grant a host directory: HOST[:GUEST][:ro|rw]. The component sees HOST
    /// at GUEST (default: the same absolute path), read-only unless `:rw`.
    /// Repeatable.
    #[arg(long = "dir", value_name = "HOST[:GUEST][:ro|rw]")]
    pub dirs: Vec<String>,

    /// Allow outbound connections (HTTP and TCP) to HOST[:PORT]. HOST is a
    /// name, `*.domain` (any subdomain) or an IP (`[::1]` with a port); no
    /// port means any port. Repeatable.
    #[arg(long = "allow-host", value_name = "HOST[:PORT]")]
    pub hosts: Vec<String>,

    /// Give the component an environment variable: NAME=VALUE, or NAME to
    /// pass this shell's value. Repeatable.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,

    /// Give the component a secret for outbound HTTP:
    /// NAME@[SCHEME://]HOST[:PORT]. The host adds `Authorization: Bearer
    /// <value>` to its requests to exactly that scheme, host and port
    /// (default https and its port) and to no other; the component never
    /// sees the value. The value comes from the environment variable NAME,
    /// else the secrets file. Repeatable.
    #[arg(long = "secret", value_name = "NAME@HOST")]
    pub secrets: Vec<String>,

    /// The secrets file: TOML `NAME = "value"` lines, mode 0600
    /// (default: $WARDEN_HOME/secrets.toml, if it exists).
    #[arg(long, value_name = "PATH")]
    pub secrets_file: Option<std::path::PathBuf>,

    /// Wall-clock limit for the call, including time blocked on I/O
    /// (e.g. 500ms, 10s, 2m). Default 10s.
    #[arg(long, value_name = "DURATION", help_heading = "Limits")]
    pub timeout: Option<String>,

    /// Memory limit: total linear memory (e.g. 64MiB, 512K). Default 64MiB.
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub memory: Option<String>,

    /// CPU limit in fuel units, about one per WebAssembly instruction.
    /// Default 50000000000.
    #[arg(long, value_name = "UNITS", help_heading = "Limits")]
    pub fuel: Option<u64>,

    /// Largest output accepted from the component (e.g. 1MiB). Default 1MiB.
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub max_output: Option<String>,

    /// Maximum WebAssembly stack (e.g. 512KiB); deeper recursion traps.
    /// Default 512KiB.
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub max_stack: Option<String>,
}

/// What the flags grant, as a user-layer rule for this one call, plus the
/// values the policy layers never see (env values, secret values).
#[derive(Debug, Default)]
pub struct FlagGrants {
    /// The capabilities the flags name, in flag order.
    pub capabilities: Vec<Capability>,
    /// Values given with `--env NAME=VALUE` (or taken from this shell).
    pub env_values: BTreeMap<String, String>,
    /// Secrets named with `--secret`, with their values and hosts.
    pub secrets: Vec<SecretGrant>,
}

impl GrantArgs {
    /// What these flags grant (see [`FlagGrants`]).
    pub fn flag_grants(&self) -> anyhow::Result<FlagGrants> {
        let mut out = FlagGrants::default();
        for spec in &self.dirs {
            let dir = DirGrant::parse(spec)?;
            let host = dir
                .host
                .to_str()
                .with_context(|| format!("--dir {spec}: the host path is not UTF-8"))?;
            out.capabilities.push(Capability::Dir(DirRule {
                host: PathPattern::parse(host)?,
                guest: Some(dir.guest.clone()),
                mode: Some(match dir.mode {
                    DirMode::ReadOnly => Access::ReadOnly,
                    DirMode::ReadWrite => Access::ReadWrite,
                }),
            }));
        }
        for spec in &self.hosts {
            let pattern = HostPattern::parse(spec)?;
            out.capabilities
                .push(Capability::Network(pattern.rule().clone()));
        }
        for spec in &self.env {
            let (name, value) = parse_env(spec, |name| std::env::var(name).ok())?;
            out.capabilities.push(Capability::Env(name.clone()));
            out.env_values.insert(name, value);
        }
        if !self.secrets.is_empty() {
            let stored = self.stored_secrets()?;
            for spec in &self.secrets {
                let secret = parse_secret(spec, |name| {
                    std::env::var(name)
                        .ok()
                        .map(SecretValue::new)
                        .or_else(|| stored.get(name).cloned())
                })?;
                out.capabilities
                    .push(Capability::Secret(secret.name.clone()));
                out.secrets.push(secret);
            }
        }
        let limits = [
            (LimitKind::WallClock, "--timeout", self.timeout.clone()),
            (LimitKind::Memory, "--memory", self.memory.clone()),
            (LimitKind::Fuel, "--fuel", self.fuel.map(|f| f.to_string())),
            (LimitKind::Output, "--max-output", self.max_output.clone()),
            (LimitKind::Stack, "--max-stack", self.max_stack.clone()),
        ];
        for (kind, flag, value) in limits {
            if let Some(text) = value {
                let value: anyhow::Result<u64> = match kind {
                    LimitKind::WallClock => parse_duration(&text)
                        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                        .map_err(anyhow::Error::from),
                    LimitKind::Fuel => text.parse::<u64>().map_err(anyhow::Error::from),
                    _ => parse_size(&text).map_err(anyhow::Error::from),
                };
                let value = value.with_context(|| format!("invalid {flag}"))?;
                if value == 0 {
                    bail!("invalid {flag}: it must be greater than zero");
                }
                out.capabilities.push(Capability::Limit(kind, value));
            }
        }
        Ok(out)
    }

    /// Secret values from the secrets file (`--secrets-file`, else
    /// `$WARDEN_HOME/secrets.toml` if it exists).
    pub fn stored_secrets(&self) -> anyhow::Result<BTreeMap<String, SecretValue>> {
        let file = self.secrets_file.clone().or_else(|| {
            warden_registry::store::Registry::default_root()
                .map(|root| root.join("secrets.toml"))
                .filter(|p| p.is_file())
        });
        Ok(match &file {
            Some(path) => load_secrets_file(path)?,
            None => BTreeMap::new(),
        })
    }
}
