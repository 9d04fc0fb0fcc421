//! Command-line parsing and output.

pub mod exit;
mod grant_args;
mod output;
mod tool;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::report_error;

/// warden: run AI-agent tools as sandboxed WebAssembly components, each call
/// with exactly the capabilities you grant.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about = None, after_help = exit::HELP)]
pub struct Cli {
    /// Show more detail (host logs, call statistics). Repeat for more.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect and call tool components.
    #[command(subcommand)]
    Tool(tool::ToolCommand),
}

impl Cli {
    /// Whether the command asked for JSON output.
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Tool(t) => t.json(),
        }
    }

    /// Runs the command.
    pub async fn execute(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Tool(cmd) => cmd.execute(self.verbose).await,
        }
    }
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
