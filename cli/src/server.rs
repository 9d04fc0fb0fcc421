//! `warden server add|list|remove`: the MCP servers whose tools warden
//! governs (`servers.toml` in warden's home). A server's tools are called
//! as `warden tool call server:NAME TOOL`, under the grant of
//! `server:NAME` like any component's.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use warden::source::servers::{ServerDecl, ServerSecret, ServersFile, subject_name};

use super::exit;
use super::output;
use super::registry_args::RegistryArgs;

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Declare an MCP server: a stdio one (`warden server add NAME -- COMMAND
    /// ARGS…`) or a streamable HTTP one (`warden server add NAME --url URL`).
    Add(AddArgs),
    /// List the declared servers.
    List(ListArgs),
    /// Remove a declared server.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The server's name (its tools are `server:NAME`'s for policy).
    name: String,
    /// Only this tool may be used (repeatable; default: every tool).
    #[arg(long = "allow-tool", value_name = "TOOL")]
    allow: Vec<String>,
    /// This tool may never be used (repeatable).
    #[arg(long = "deny-tool", value_name = "TOOL")]
    deny: Vec<String>,
    /// The working directory, relative to the first granted directory.
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// The URL of a streamable HTTP server (`http://…/mcp`, `https://…/mcp`).
    #[arg(long, value_name = "URL", conflicts_with = "command")]
    url: Option<String>,
    /// A secret the URL's server needs (repeatable): sent by warden as
    /// `Authorization: Bearer VALUE`, or with `=HEADER` as that header's
    /// value; it must also be granted (`warden grant server:NAME secret
    /// NAME@URL`).
    #[arg(long, value_name = "NAME[=HEADER]", requires = "url")]
    secret: Vec<String>,
    /// The command that starts the server (no shell), after `--`.
    #[arg(last = true, required_unless_present = "url", value_name = "COMMAND")]
    command: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The server's name.
    name: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

impl ServerCommand {
    pub fn json(&self) -> bool {
        match self {
            ServerCommand::Add(a) => a.json,
            ServerCommand::List(a) => a.json,
            ServerCommand::Remove(a) => a.json,
        }
    }

    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            ServerCommand::Add(a) => add(a),
            ServerCommand::List(a) => list(a),
            ServerCommand::Remove(a) => remove(a),
        }
    }
}

fn add(args: AddArgs) -> anyhow::Result<ExitCode> {
    let registry = args.registry.open()?;
    let mut file = ServersFile::load(registry.root())?;
    let decl = ServerDecl {
        command: args.command,
        url: args.url,
        cwd: args.cwd,
        allow: (!args.allow.is_empty()).then_some(args.allow),
        deny: args.deny,
        secrets: args
            .secret
            .iter()
            .map(|s| match s.split_once('=') {
                Some((name, header)) => ServerSecret::new(name, Some(header)),
                None => ServerSecret::new(s, None),
            })
            .collect(),
    };
    file.add(&args.name, decl.clone())
        .with_context(|| format!("cannot add server `{}`", args.name))?;
    file.save(registry.root())?;
    let subject = subject_name(&args.name);
    if args.json {
        output::print_json(&serde_json::json!({
            "ok": true, "server": args.name, "subject": subject, "declaration": decl,
        }));
    } else if let Some(url) = &decl.url {
        println!("added {subject}: {url}");
        let authority = url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?)))
            .unwrap_or_else(|| url.clone());
        eprintln!(
            "hint: it is reached only when granted: `warden grant {subject} network {authority}`, \
             then `warden tool list {subject}`"
        );
    } else {
        println!("added {subject}: {}", decl.command.join(" "));
        eprintln!(
            "hint: it starts only in a granted directory: `warden grant {subject} dir DIR`, then \
             `warden tool list {subject}`"
        );
    }
    Ok(ExitCode::from(exit::OK))
}

fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let registry = args.registry.open()?;
    let file = ServersFile::load(registry.root())?;
    if args.json {
        let servers: Vec<_> = file
            .servers
            .iter()
            .map(|(name, decl)| {
                serde_json::json!({
                    "name": name, "subject": subject_name(name), "kind": "mcp-server",
                    "origin": origin(decl), "declaration": decl,
                })
            })
            .collect();
        output::print_json(&serde_json::json!({ "ok": true, "servers": servers }));
    } else if file.servers.is_empty() {
        println!("no MCP servers declared (add one: `warden server add NAME -- COMMAND ARGS…`)");
    } else {
        for (name, decl) in &file.servers {
            println!("{}  {}", subject_name(name), origin(decl));
            if let Some(allow) = &decl.allow {
                println!("    allow: {}", allow.join(", "));
            }
            if !decl.deny.is_empty() {
                println!("    deny: {}", decl.deny.join(", "));
            }
            for secret in &decl.secrets {
                println!("    secret: {} in `{}`", secret.name, secret.header);
            }
        }
    }
    Ok(ExitCode::from(exit::OK))
}

fn remove(args: RemoveArgs) -> anyhow::Result<ExitCode> {
    let registry = args.registry.open()?;
    let mut file = ServersFile::load(registry.root())?;
    file.remove(&args.name)?;
    file.save(registry.root())?;
    if args.json {
        output::print_json(&serde_json::json!({ "ok": true, "removed": args.name }));
    } else {
        println!("removed {}", subject_name(&args.name));
    }
    Ok(ExitCode::from(exit::OK))
}

/// Where a server comes from: its URL or its command line.
fn origin(decl: &ServerDecl) -> String {
    decl.url.clone().unwrap_or_else(|| decl.command.join(" "))
}
