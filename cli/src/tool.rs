//! `warden tool list` and `warden tool call`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use warden::{ArtifactCache, AuditSink, Grant, Runtime, ToolComponent};
use warden_policy::ComponentId;
use warden_registry::store::Registry;

use super::exit;
use super::grant_args::GrantArgs;
use super::install::parse_spec;
use super::output;
use super::policy_grant::{DeniedFlags, Subject, resolve};
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

/// A component found but not yet compiled, and who it is, for policy.
pub(super) struct Located {
    /// The name it is loaded as.
    pub(super) name: String,
    /// The component's bytes (verified against the recorded digest).
    pub(super) bytes: Vec<u8>,
    /// Who it is, for policy.
    pub(super) subject: Subject,
}

/// Finds an agent part: the installed package matching `name@req` (which
/// must be of `kind`), or else, for the first-party `warden` namespace, the
/// built-in component of that name.
pub(super) fn locate_part(
    name: &warden_registry::PackageName,
    req: &semver::VersionReq,
    kind: &str,
    registry: &Registry,
) -> anyhow::Result<Located> {
    if let Some(installed) = registry.find(name, req)? {
        if installed.kind != kind {
            bail!("`{name}` is a {}, not a {kind}", installed.kind);
        }
        return located_installed(registry, &installed);
    }
    if name.namespace() == "warden"
        && let Some(bytes) = warden::builtin::lookup(name.name())
    {
        let subject = Subject::builtin(name.name(), bytes)?;
        if !req.matches(&subject.id.version) {
            bail!(
                "the built-in `{name}` is version {}, which does not match `{req}`; install a \
                 matching version (`warden install {name}@{req}`)",
                subject.id.version
            );
        }
        return Ok(Located {
            name: name.name().to_string(),
            subject,
            bytes: bytes.to_vec(),
        });
    }
    bail!(
        "no installed {kind} `{name}` matches `{req}`; install it (`warden install {name}@{req}`) \
         or use a first-party part such as `warden:{}`",
        match kind {
            "planner" => "planner@^0.1",
            "model-provider" => "openai-provider@^0.1",
            _ => "fs@^0.1",
        }
    )
}

/// Finds `spec`: `builtin:NAME`, a file path, or an installed package
/// `NAME[@RANGE]` (its bytes verified against the recorded digest).
pub(super) fn locate(spec: &str, registry: &Registry) -> anyhow::Result<Located> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        let bytes = warden::builtin::lookup(name).with_context(|| {
            format!(
                "there is no built-in component `{name}` (built-ins: {})",
                warden::builtin::NAMES.join(", ")
            )
        })?;
        return Ok(Located {
            name: name.to_string(),
            subject: Subject::builtin(name, bytes)?,
            bytes: bytes.to_vec(),
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
        return Ok(Located {
            name,
            subject: Subject::file(&path, &bytes),
            bytes,
        });
    }
    let (name, req) = parse_spec(spec)?;
    let installed = registry.find(&name, &req)?.with_context(|| {
        format!(
            "no installed version of `{name}` matches `{req}` (see `warden list`, `warden install`)"
        )
    })?;
    if installed.kind != "tool" {
        bail!("`{name}` is a {}, not a tool", installed.kind);
    }
    located_installed(registry, &installed)
}

/// An installed package, located through [`Registry::load`]: the bytes
/// that run and the manifest are those of the signed package file, checked
/// against the index entry and the trust store as it is now.
fn located_installed(
    registry: &Registry,
    installed: &warden_registry::store::Installed,
) -> anyhow::Result<Located> {
    let verified = registry.load(installed)?;
    let id = ComponentId {
        name: verified.manifest().name.clone(),
        version: verified.manifest().version.clone(),
        digest: verified.component_digest(),
    };
    let requested = verified.manifest().capabilities.clone();
    Ok(Located {
        name: id.name.to_string(),
        bytes: verified.into_component(),
        subject: Subject {
            id,
            requested: Some(requested),
        },
    })
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

/// Finds `spec`, works out its grant for this call, and compiles it for
/// an engine with the grant's stack limit.
fn prepare(
    spec: &str,
    flags: &GrantArgs,
    registry: &RegistryArgs,
    verbose: u8,
) -> anyhow::Result<(Runtime, ToolComponent, Grant)> {
    let registry = registry.open()?;
    let located = locate(spec, &registry)?;
    let resolved = resolve(&registry, &located.subject, flags, DeniedFlags::Refuse)?;
    if verbose > 0 {
        for line in resolved.effective.explain() {
            eprintln!("{line}");
        }
    }
    let runtime = Runtime::new(resolved.engine, audit_sink(&registry))?;
    let component = compile(&runtime, &located, &registry)?;
    Ok((runtime, component, resolved.grant))
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let (runtime, component, grant) = prepare(&args.component, &args.grant, &args.registry, 0)?;
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

    let (runtime, component, grant) =
        prepare(&args.component, &args.grant, &args.registry, verbose)?;
    // The runtime records the call (and any denial) in the audit log.
    let result = runtime
        .call_tool(&component, &args.tool, &input, &grant)
        .await;
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
