//! `warden tool list` and `warden tool call`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use warden::{ArtifactCache, DirMode, Grant, HostPattern, Runtime, ToolComponent};
use warden_registry::Digest;
use warden_registry::audit::{self, AuditEvent};
use warden_registry::manifest::{Access, Capabilities};

use super::exit;
use super::grant_args::GrantArgs;
use super::install::parse_spec;
use super::output;
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
    /// The component: a `.wasm` (or `.wat`) file, `builtin:fs`,
    /// `builtin:grep`, `builtin:http-fetch`, or an installed package
    /// NAME[@RANGE] such as `acme:grep@^1`.
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
    /// The component: a `.wasm` (or `.wat`) file, `builtin:fs`,
    /// `builtin:grep`, `builtin:http-fetch`, or an installed package
    /// NAME[@RANGE] such as `acme:grep@^1`.
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

/// A loaded component and, for an installed package, what the user granted it.
struct Loaded {
    component: ToolComponent,
    granted: Option<Capabilities>,
    /// The digest of the component's bytes, for the audit log.
    digest: Digest,
}

/// Loads `spec`: `builtin:NAME`, a file path, or an installed package
/// `NAME[@RANGE]` (verified against its recorded digest, compiled once into
/// the artifact cache).
fn load(runtime: &Runtime, spec: &str, registry: &RegistryArgs) -> anyhow::Result<Loaded> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        let bytes = warden::builtin::lookup(name).with_context(|| {
            format!(
                "there is no built-in component `{name}` (built-ins: {})",
                warden::builtin::NAMES.join(", ")
            )
        })?;
        return Ok(Loaded {
            component: runtime.load_tool(name, bytes)?,
            granted: None,
            digest: Digest::of(bytes),
        });
    }
    let path = PathBuf::from(spec);
    let looks_like_file =
        path.exists() || spec.contains('/') || spec.ends_with(".wasm") || spec.ends_with(".wat");
    if looks_like_file || !spec.contains(':') {
        let bytes = std::fs::read(&path).map_err(|source| warden::LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.to_string());
        return Ok(Loaded {
            component: runtime.load_tool(&name, &bytes)?,
            granted: None,
            digest: Digest::of(&bytes),
        });
    }
    let (name, req) = parse_spec(spec)?;
    let registry = registry.open()?;
    let installed = registry.find(&name, &req)?.with_context(|| {
        format!(
            "no installed version of `{name}` matches `{req}` (see `warden list`, `warden install`)"
        )
    })?;
    if installed.kind != "tool" {
        bail!("`{name}` is a {}, not a tool", installed.kind);
    }
    let bytes = registry.component(&installed)?;
    let cache = ArtifactCache::new(&registry.root().join("cache"), runtime);
    let (component, _) = runtime.load_tool_cached(
        &name.to_string(),
        &bytes,
        &installed.component_digest.hex(),
        &cache,
    )?;
    Ok(Loaded {
        component,
        granted: Some(registry.grant(&name)?.unwrap_or_default()),
        digest: installed.component_digest,
    })
}

/// Records the call, and any denial, in the audit log. A call that cannot be
/// recorded is reported on stderr (the call itself has already happened).
#[allow(clippy::too_many_arguments)]
fn record_call(
    registry: &RegistryArgs,
    component: &ToolComponent,
    digest: &Digest,
    tool: &str,
    input: &str,
    result: &Result<warden::CallReport, warden::CallError>,
    elapsed: std::time::Duration,
    grant: &Grant,
) {
    let secrets: Vec<&str> = grant.secrets.iter().map(|s| s.value.expose()).collect();
    let mut events = vec![AuditEvent::Call {
        component: component.name().to_string(),
        digest: digest.to_string(),
        function: tool.to_string(),
        argument_digest: audit::argument_digest(input),
        outcome: match result {
            Ok(_) => "ok".to_string(),
            Err(e) => e.kind().to_string(),
        },
        duration_ms: elapsed.as_secs_f64() * 1000.0,
        fuel_used: result.as_ref().ok().map(|r| r.stats.fuel_used),
        peak_memory_bytes: result.as_ref().ok().map(|r| r.stats.peak_memory_bytes),
    }];
    let denial = match result {
        Err(warden::CallError::Denied { denial, .. }) => Some(denial),
        Err(warden::CallError::Tool {
            error: warden::bindings::ToolError::Denied(denial),
            ..
        }) => Some(denial),
        _ => None,
    };
    if let Some(d) = denial {
        events.push(AuditEvent::Denial {
            component: component.name().to_string(),
            digest: Some(digest.to_string()),
            capability: warden::error::capability_name(d.capability).to_string(),
            target: d.target.clone(),
            reason: d.reason.clone(),
        });
    }
    let written = registry.open().and_then(|r| {
        let log = r.audit()?;
        for event in events {
            log.append(event, &secrets)?;
        }
        Ok(())
    });
    if let Err(e) = written {
        eprintln!("warning: the call was not recorded in the audit log: {e:#}");
    }
}

/// Gives an installed package what it was granted at install and needs no
/// further choice from the user: its network hosts, its environment
/// variables (with this shell's values, where set) and its limits (unless a
/// flag set them).
fn apply_recorded(grant: &mut Grant, granted: &Capabilities) {
    for host in &granted.hosts {
        if let Ok(pattern) = HostPattern::parse(host)
            && !grant.hosts.contains(&pattern)
        {
            grant.hosts.push(pattern);
        }
    }
    for var in &granted.env {
        if let Ok(value) = std::env::var(var)
            && !grant.env.iter().any(|(n, _)| n == var)
        {
            grant.env.push((var.clone(), value));
        }
    }
    let defaults = warden::Limits::default();
    if let Some(m) = granted.limits.memory_bytes
        && grant.limits.memory_bytes == defaults.memory_bytes
    {
        grant.limits.memory_bytes = m;
    }
    if let Some(t) = granted.limits.timeout_ms
        && grant.limits.timeout == defaults.timeout
    {
        grant.limits.timeout = std::time::Duration::from_millis(t);
    }
    if let Some(f) = granted.limits.fuel
        && grant.limits.fuel == defaults.fuel
    {
        grant.limits.fuel = f;
    }
}

/// Refuses flags that give an installed package more than it was granted at
/// install.
fn check_within(name: &str, grant: &Grant, granted: &Capabilities) -> anyhow::Result<()> {
    let mut extra = Vec::new();
    for dir in &grant.dirs {
        let ok = granted.dirs.iter().any(|d| {
            d.path.trim_end_matches('/') == dir.guest.trim_end_matches('/')
                && (dir.mode == DirMode::ReadOnly || d.mode == Access::ReadWrite)
        });
        if !ok {
            extra.push(format!("directory {} ({})", dir.guest, dir.mode));
        }
    }
    for host in &grant.hosts {
        if !granted
            .hosts
            .iter()
            .any(|h| HostPattern::parse(h).is_ok_and(|h| &h == host))
        {
            extra.push(format!("network {host}"));
        }
    }
    for (var, _) in &grant.env {
        if !granted.env.iter().any(|e| e == var) {
            extra.push(format!("environment variable {var}"));
        }
    }
    if !extra.is_empty() {
        bail!(
            "`{name}` was not granted {} at install; an installed package gets at most what its manifest asked for and you granted",
            extra.join(", ")
        );
    }
    Ok(())
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let grant = args.grant.grant()?;
    let runtime = Runtime::new(args.grant.engine_config()?)?;
    let component = load(&runtime, &args.component, &args.registry)?.component;
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
    let loaded = load(&runtime, &args.component, &args.registry)?;
    let mut grant = grant;
    if let Some(granted) = &loaded.granted {
        check_within(loaded.component.name(), &grant, granted)?;
        apply_recorded(&mut grant, granted);
    }
    let component = loaded.component;
    let started = std::time::Instant::now();
    let result = runtime
        .call_tool(&component, &args.tool, &input, &grant)
        .await;
    record_call(
        &args.registry,
        &component,
        &loaded.digest,
        &args.tool,
        &input,
        &result,
        started.elapsed(),
        &grant,
    );
    let report = result
        .with_context(|| format!("call to `{}` tool `{}` failed", component.name(), args.tool))?;
    if args.json {
        output::print_json(&output::call_json(&component, &args.tool, &report));
    } else {
        output::print_guest_log(component.name(), &report.log);
        output::print_call(&report, verbose);
    }
    Ok(ExitCode::from(exit::OK))
}
