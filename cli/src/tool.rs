//! `warden tool list` and `warden tool call`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use warden::resolve::Resolved;
use warden::{ArtifactCache, AuditSink, Grant, Runtime, ToolComponent, ToolSource};
use warden_registry::store::Registry;

use super::exit;
use super::grant_args::GrantArgs;
use super::output;
use super::policy_grant::{DeniedFlags, resolve, resolve_asking};
use super::registry_args::RegistryArgs;

#[derive(Debug, Subcommand)]
pub enum ToolCommand {
    /// List the tools a component provides, with their input schemas.
    List(ListArgs),
    /// Call one tool of a component under a grant.
    Call(CallArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The tool source: a `.wasm` (or `.wat`) file, `builtin:fs`,
    /// `builtin:grep`, `builtin:http-fetch`, an installed package
    /// NAME[@RANGE] such as `acme:grep@^1`, an MCP server `server:NAME`
    /// (see `warden server`), or a command tool such as `command:git_status`.
    component: String,

    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    grant: GrantArgs,

    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The tool source: a `.wasm` (or `.wat`) file, `builtin:fs`,
    /// `builtin:grep`, `builtin:http-fetch`, an installed package
    /// NAME[@RANGE] such as `acme:grep@^1`, an MCP server `server:NAME`
    /// (see `warden server`), or a command tool such as `command:git_status`.
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

    #[command(flatten)]
    registry: RegistryArgs,
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

pub(super) use warden::resolve::Located;

/// Finds an agent part (see [`warden::resolve::locate_part`]).
pub(super) fn locate_part(
    name: &warden_registry::PackageName,
    req: &semver::VersionReq,
    kind: &str,
    registry: &Registry,
) -> anyhow::Result<Located> {
    Ok(warden::resolve::locate_part(name, req, kind, registry)?)
}

/// Finds a component (see [`warden::resolve::locate`]).
pub(super) fn locate(spec: &str, registry: &Registry) -> anyhow::Result<Located> {
    Ok(warden::resolve::locate(spec, registry)?)
}

/// Where the runtime records calls: the registry's audit log. A log that
/// cannot be opened, or a record that cannot be written, is reported on
/// stderr; the call itself still runs, as it always has.
pub(super) fn audit_sink(registry: &Registry) -> AuditSink {
    audit_sink_with(registry, warden_audit::Durability::EveryRecord)
}

/// [`audit_sink`] with the given durability (`warden mcp` batches syncs).
pub(super) fn audit_sink_with(
    registry: &Registry,
    durability: warden_audit::Durability,
) -> AuditSink {
    match registry
        .audit()
        .map_err(anyhow::Error::from)
        .and_then(|log| Ok(log.with_durability(durability)?))
    {
        Ok(log) => AuditSink::log(log)
            .on_failure(|e| eprintln!("warning: the call was not recorded in the audit log: {e}")),
        Err(e) => {
            eprintln!("warning: calls are not recorded in the audit log: {e}");
            AuditSink::disabled()
        }
    }
}

/// Compiles a located component through the registry's artifact cache,
/// keyed by its digest: a second call of the same bytes skips the compiler.
pub(super) fn compile(
    runtime: &Runtime,
    located: &Located,
    registry: &Registry,
) -> anyhow::Result<ToolComponent> {
    let cache = ArtifactCache::new(&registry.root().join("cache"), runtime);
    let (component, _) = runtime.load_tool_cached(
        &located.name,
        &located.bytes,
        &located.subject.id.digest,
        &cache,
    )?;
    Ok(component)
}

/// Resolves `spec` (a component, `server:NAME` or `command:NAME`), works
/// out its grant for this call, and compiles a component for an engine
/// with the grant's stack limit.
///
/// For a call (`tool` given), what a grants.toml `ask` rule names is put
/// to the user on the terminal first; a listing asks nothing.
async fn prepare(
    spec: &str,
    flags: &GrantArgs,
    registry: &RegistryArgs,
    verbose: u8,
    tool: Option<&str>,
) -> anyhow::Result<(Runtime, ToolSource, Grant)> {
    let registry = registry.open()?;
    let resolved = warden::resolve::resolve(spec, &registry)?;
    let subject = match &resolved {
        Resolved::Component(located) => &located.subject,
        Resolved::Source { subject, .. } => subject,
    };
    let sink = audit_sink(&registry);
    let authorized = match tool {
        None => resolve(&registry, subject, flags, DeniedFlags::Refuse)?,
        Some(tool) => {
            let layers = warden::authorize::PolicyLayers::load(&registry)?;
            let asking = warden::authorize::Asking {
                approver: &super::approve_tty::Terminal,
                audit: &sink,
                tool: Some(tool),
            };
            resolve_asking(
                &layers,
                &registry,
                subject,
                flags,
                DeniedFlags::Refuse,
                asking,
            )
            .await?
        }
    };
    if verbose > 0 {
        for line in authorized.effective.explain() {
            eprintln!("{line}");
        }
    }
    let runtime = Runtime::new(authorized.engine, sink)?;
    let source = match resolved {
        Resolved::Component(located) => {
            ToolSource::Component(compile(&runtime, &located, &registry)?)
        }
        Resolved::Source { source, .. } => source,
    };
    Ok((runtime, source, authorized.grant))
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let (runtime, source, grant) =
        prepare(&args.component, &args.grant, &args.registry, 0, None).await?;
    let tools = runtime
        .list_source(&source, &grant)
        .await
        .with_context(|| format!("failed to list the tools of `{}`", source.name()))?;
    if args.json {
        output::print_json(&output::tool_list_json(&source, &tools));
    } else {
        output::print_tool_list(&source, &tools);
    }
    Ok(ExitCode::from(exit::OK))
}

async fn call(args: CallArgs, verbose: u8) -> anyhow::Result<ExitCode> {
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

    let (runtime, source, grant) = prepare(
        &args.component,
        &args.grant,
        &args.registry,
        verbose,
        Some(&args.tool),
    )
    .await?;
    // The runtime records the call (and any denial) in the audit log.
    let result = runtime
        .call_source(&source, &args.tool, &input, &grant)
        .await;
    let report = result
        .with_context(|| format!("call to `{}` tool `{}` failed", source.name(), args.tool))?;
    if args.json {
        output::print_json(&output::call_json(&source, &args.tool, &report));
    } else {
        output::print_guest_log(source.name(), &report.log);
        output::print_call(&report, verbose);
    }
    Ok(ExitCode::from(exit::OK))
}
