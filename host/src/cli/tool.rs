//! `warden tool list` and `warden tool call`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use warden::{Runtime, ToolComponent};

use super::exit;
use super::grant_args::GrantArgs;
use super::output;

#[derive(Debug, Subcommand)]
pub enum ToolCommand {
    /// List the tools a component provides, with their input schemas.
    List(ListArgs),
    /// Call one tool of a component under a grant.
    Call(CallArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The component: a `.wasm` (or `.wat`) file, or `builtin:fs`,
    /// `builtin:grep`, `builtin:http-fetch`.
    component: String,

    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    grant: GrantArgs,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The component: a `.wasm` (or `.wat`) file, or `builtin:fs`,
    /// `builtin:grep`, `builtin:http-fetch`.
    component: String,

    /// The tool to call (see `warden tool list`).
    tool: String,

    /// The tool's input as a JSON object; `-` reads it from stdin.
    #[arg(default_value = "{}")]
    input: String,

    /// Print the result (or the error) as one JSON object on stdout.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    grant: GrantArgs,
}

impl ToolCommand {
    pub fn json(&self) -> bool {
        match self {
            ToolCommand::List(a) => a.json,
            ToolCommand::Call(a) => a.json,
        }
    }

    pub async fn execute(self, verbose: u8) -> anyhow::Result<ExitCode> {
        match self {
            ToolCommand::List(args) => list(args).await,
            ToolCommand::Call(args) => call(args, verbose).await,
        }
    }
}

/// Loads `spec`: `builtin:NAME` or a file path.
fn load(runtime: &Runtime, spec: &str) -> anyhow::Result<ToolComponent> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        let bytes = warden::builtin::lookup(name).with_context(|| {
            format!(
                "there is no built-in component `{name}` (built-ins: {})",
                warden::builtin::NAMES.join(", ")
            )
        })?;
        return Ok(runtime.load_tool(name, bytes)?);
    }
    Ok(runtime.load_tool_file(&PathBuf::from(spec))?)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let grant = args.grant.grant()?;
    let runtime = Runtime::new(args.grant.engine_config()?)?;
    let component = load(&runtime, &args.component)?;
    let list = runtime
        .list_tools(&component, &grant)
        .await
        .with_context(|| format!("failed to list the tools of `{}`", component.name()))?;
    if args.json {
        output::print_json(&output::tool_list_json(&component, &list.tools));
    } else {
        output::print_guest_log(component.name(), &list.log);
        output::print_tool_list(&component, &list.tools);
    }
    Ok(ExitCode::from(exit::OK))
}

async fn call(args: CallArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let grant = args.grant.grant()?;
    let input = if args.input == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the tool input from stdin")?;
        text
    } else {
        args.input.clone()
    };
    let parsed: serde_json::Value = serde_json::from_str(&input)
        .with_context(|| format!("the tool input is not valid JSON: {input}"))?;
    if !parsed.is_object() {
        anyhow::bail!("the tool input must be a JSON object, e.g. '{{\"path\": \"README.md\"}}'");
    }

    let runtime = Runtime::new(args.grant.engine_config()?)?;
    let component = load(&runtime, &args.component)?;
    let report = runtime
        .call_tool(&component, &args.tool, &input, &grant)
        .await
        .with_context(|| format!("call to `{}` tool `{}` failed", component.name(), args.tool))?;
    if args.json {
        output::print_json(&output::call_json(&component, &args.tool, &report));
    } else {
        output::print_guest_log(component.name(), &report.log);
        output::print_call(&report, verbose);
    }
    Ok(ExitCode::from(exit::OK))
}
