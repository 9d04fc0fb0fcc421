//! The grant flags shared by every command that runs a component.

use anyhow::Context;
use clap::Args;
use warden::grant::{parse_duration, parse_env, parse_size};
use warden::secret::{SecretValue, load_secrets_file, parse_secret};
use warden::{DirGrant, EngineConfig, Grant, HostPattern, Limits};

/// What the component may do. Nothing is granted unless a flag says so.
#[derive(Debug, Clone, Args)]
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

    /// Give the component a secret for outbound HTTP: NAME or NAME@HOST[:PORT].
    /// The host adds `Authorization: Bearer <value>` to its requests to HOST
    /// (default: every granted host); the component never sees the value.
    /// The value comes from the environment variable NAME, else the secrets
    /// file. Repeatable.
    #[arg(long = "secret", value_name = "NAME[@HOST]")]
    pub secrets: Vec<String>,

    /// The secrets file: TOML `NAME = "value"` lines, mode 0600
    /// (default: $WARDEN_HOME/secrets.toml, if it exists).
    #[arg(long, value_name = "PATH")]
    pub secrets_file: Option<std::path::PathBuf>,

    /// Wall-clock limit for the call, including time blocked on I/O
    /// (e.g. 500ms, 10s, 2m).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        help_heading = "Limits"
    )]
    pub timeout: String,

    /// Memory limit: total linear memory (e.g. 64MiB, 512K).
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "64MiB",
        help_heading = "Limits"
    )]
    pub memory: String,

    /// CPU limit in fuel units, about one per WebAssembly instruction.
    #[arg(long, value_name = "UNITS", default_value_t = Limits::default().fuel, help_heading = "Limits")]
    pub fuel: u64,

    /// Largest output accepted from the component (e.g. 1MiB).
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "1MiB",
        help_heading = "Limits"
    )]
    pub max_output: String,

    /// Maximum WebAssembly stack (e.g. 512KiB); deeper recursion traps.
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "512KiB",
        help_heading = "Limits"
    )]
    pub max_stack: String,
}

impl GrantArgs {
    /// Builds the grant these flags describe.
    pub fn grant(&self) -> anyhow::Result<Grant> {
        let dirs = self
            .dirs
            .iter()
            .map(|d| DirGrant::parse(d))
            .collect::<Result<Vec<_>, _>>()?;
        let hosts = self
            .hosts
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect::<Result<Vec<_>, _>>()?;
        let env = self
            .env
            .iter()
            .map(|e| parse_env(e, |name| std::env::var(name).ok()))
            .collect::<Result<Vec<_>, _>>()?;
        let limits = Limits {
            memory_bytes: parse_size(&self.memory)
                .map_err(anyhow::Error::msg)
                .context("invalid --memory")?,
            fuel: self.fuel,
            timeout: parse_duration(&self.timeout)
                .map_err(anyhow::Error::msg)
                .context("invalid --timeout")?,
            max_output_bytes: parse_size(&self.max_output)
                .map_err(anyhow::Error::msg)
                .context("invalid --max-output")?,
            ..Limits::default()
        };
        let secrets = if self.secrets.is_empty() {
            Vec::new()
        } else {
            let file = self.secrets_file.clone().or_else(|| {
                warden_registry::store::Registry::default_root()
                    .map(|root| root.join("secrets.toml"))
                    .filter(|p| p.is_file())
            });
            let stored = match &file {
                Some(path) => load_secrets_file(path)?,
                None => Default::default(),
            };
            self.secrets
                .iter()
                .map(|spec| {
                    parse_secret(spec, |name| {
                        std::env::var(name)
                            .ok()
                            .map(SecretValue::new)
                            .or_else(|| stored.get(name).cloned())
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(Grant {
            dirs,
            hosts,
            env,
            secrets,
            limits,
        })
    }

    /// The engine settings these flags describe.
    pub fn engine_config(&self) -> anyhow::Result<EngineConfig> {
        let stack = parse_size(&self.max_stack)
            .map_err(anyhow::Error::msg)
            .context("invalid --max-stack")?;
        Ok(EngineConfig {
            max_wasm_stack: usize::try_from(stack).context("--max-stack is too large")?,
            ..EngineConfig::default()
        })
    }
}
