//! The `warden` command-line interface: command-line parsing and output.
//!
//! Each command parses its flags, calls the `warden` library (and
//! `warden-registry`, `warden-agent`), and prints the result; `main` maps the
//! error to an exit code ([`exit`]). Nothing here enforces a grant: the
//! library does. The library crate depends on none of clap, rmcp, axum,
//! indicatif or tracing-subscriber; they are here.

mod approve_tty;
mod audit;
pub mod broken_pipe;
mod context;
pub mod exit;
mod explain_source;
mod grant_args;
mod hint;
mod install;
mod installed;
mod key;
mod mcp;
mod model_endpoint;
mod oci;
mod output;
mod package;
mod policy;
mod policy_context;
mod policy_grant;
mod policy_suggest;
mod registry_args;
mod replay;
mod retention;
mod run;
mod run_engine;
mod run_hint;
mod run_recording;
mod run_servers;
mod server;
mod session_log;
mod sessions;
mod tool;
mod trust;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::report_error;

/// warden: run AI-agent tools as sandboxed WebAssembly components, each call
/// with exactly the capabilities you grant.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about = None, after_help = exit::help())]
pub struct Cli {
    /// Show more detail (host logs, call statistics). Repeat for more.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect and call tool components (files, built-ins or installed packages).
    #[command(subcommand)]
    Tool(Box<tool::ToolCommand>),
    /// Install a package (and its dependencies) from a package file or a directory source.
    Install(install::InstallArgs),
    /// Upgrade installed packages from a source.
    Upgrade(install::UpgradeArgs),
    /// List installed packages.
    List(installed::ListArgs),
    /// Show an installed package: manifest, digests, signer, capabilities, imports and exports.
    Inspect(installed::InspectArgs),
    /// Remove an installed package.
    Remove(installed::RemoveArgs),
    /// Check that every installed package is intact and trusted.
    Verify(installed::VerifyArgs),
    /// Build and sign a package from a manifest and a component.
    Package(package::PackageArgs),
    /// Write the index.json of a directory of packages, making it a source.
    Index(package::IndexArgs),
    /// Push a signed package to an OCI registry.
    Publish(oci::PublishArgs),
    /// Sign a warden manifest for a plain component another tool pushed to an OCI registry.
    Attest(oci::AttestArgs),
    /// Manage publisher keys.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Read and check the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
        #[command(flatten)]
        registry: registry_args::RegistryArgs,
    },
    /// Run an agent on a task: a planner, a model provider and tools, each a
    /// sandboxed component under its own grant.
    Run(Box<run::RunArgs>),
    /// Replay a session's recorded run: offline (no model, no tools, no
    /// network), with live tools, or forked at a step onto another model.
    Replay(Box<replay::ReplayArgs>),
    /// List, show and remove the sessions `warden run` keeps for a workspace
    /// (under warden's home).
    Sessions {
        #[command(subcommand)]
        command: sessions::SessionsCommand,
        #[command(flatten)]
        registry: registry_args::RegistryArgs,
    },
    /// List the shared context of a workspace (what its sessions keep for
    /// each other) and remove entries (audited).
    Context {
        #[command(subcommand)]
        command: context::ContextCommand,
        #[command(flatten)]
        registry: registry_args::RegistryArgs,
    },
    /// Skills an agent would use.
    #[command(subcommand)]
    Skills(SkillsCommand),
    /// Grant a capability to components (recorded in grants.toml).
    Grant(policy::GrantArgs),
    /// Revoke a capability granted with `warden grant`.
    Revoke(policy::GrantArgs),
    /// Show grants, explain a component's effective grant, and manage the
    /// signed org policy.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
        #[command(flatten)]
        registry: registry_args::RegistryArgs,
    },
    /// Serve tool components to MCP clients (Claude Desktop, IDEs) over
    /// stdio or streamable HTTP, each call under its component's grant.
    Mcp(Box<mcp::McpArgs>),
    /// Declare the MCP servers whose tools warden governs (`server:NAME`).
    #[command(subcommand)]
    Server(server::ServerCommand),
    /// Manage which keys are trusted to sign which namespaces.
    Trust {
        #[command(subcommand)]
        command: trust::TrustCommand,
        #[command(flatten)]
        registry: registry_args::RegistryArgs,
    },
}

impl Cli {
    /// Whether the command asked for JSON output.
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Tool(t) => t.json(),
            Command::Install(a) => a.json,
            Command::Upgrade(a) => a.json,
            Command::List(a) => a.json,
            Command::Inspect(a) => a.json,
            Command::Remove(a) => a.json,
            Command::Verify(a) => a.json,
            Command::Package(a) => a.json,
            Command::Index(a) => a.json,
            Command::Publish(a) => a.json,
            Command::Attest(a) => a.json,
            Command::Key(k) => k.json(),
            Command::Trust { command, .. } => command.json(),
            Command::Grant(a) | Command::Revoke(a) => a.json,
            Command::Run(a) => a.json,
            Command::Replay(a) => a.json,
            Command::Sessions { command, .. } => command.json(),
            Command::Context { command, .. } => command.json(),
            Command::Skills(SkillsCommand::List(a)) => a.json,
            Command::Policy { command, .. } => command.json(),
            Command::Audit { command, .. } => command.json(),
            Command::Mcp(_) => false,
            Command::Server(c) => c.json(),
        }
    }

    /// Runs the command.
    pub async fn execute(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Tool(cmd) => cmd.execute(self.verbose).await,
            Command::Install(a) => a.execute(),
            Command::Upgrade(a) => a.execute(),
            Command::List(a) => a.execute(),
            Command::Inspect(a) => a.execute(),
            Command::Remove(a) => a.execute(),
            Command::Verify(a) => a.execute(),
            Command::Package(a) => a.execute(),
            Command::Index(a) => a.execute(),
            Command::Publish(a) => a.execute(),
            Command::Attest(a) => a.execute(),
            Command::Key(k) => k.execute(),
            Command::Trust { command, registry } => command.execute(&registry),
            Command::Run(a) => a.execute().await,
            Command::Replay(a) => a.execute().await,
            Command::Sessions { command, registry } => command.execute(&registry),
            Command::Context { command, registry } => command.execute(&registry),
            Command::Skills(SkillsCommand::List(a)) => a.execute(),
            Command::Grant(a) => a.grant(),
            Command::Revoke(a) => a.revoke(),
            Command::Policy { command, registry } => command.execute(&registry),
            Command::Audit { command, registry } => command.execute(&registry),
            Command::Mcp(a) => a.execute().await,
            Command::Server(c) => c.execute(),
        }
    }
}

/// `warden skills ...`.
#[derive(Debug, Subcommand)]
enum SkillsCommand {
    /// List the markdown skills of an agent, and whether each applies to a task.
    List(sessions::SkillsArgs),
}

/// Sends host logs to stderr; `WARDEN_LOG` (e.g. `debug`) overrides `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}
