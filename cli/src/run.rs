//! `warden run`: an agent composed entirely from components. The planner,
//! the model provider and every tool are found (installed packages, or the
//! built-in first-party parts), each gets its own grant from the policy,
//! and the host brokers the run, recording it in a session file and the
//! audit log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use warden::agent::run_error::{describe_run_error, is_denial};
use warden::agent::{
    AgentLimits, AgentTool, Broker, BrokerParts, ContextAccess, ContextGrant, DelegationConfig,
    ResidencyGuard,
};
use warden::bindings::SkillSpec;
use warden::{ArtifactCache, Grant, Runtime};
use warden_agent::{AgentInfo, AgentManifest, Skill, Status};
use warden_policy::Residency;
use warden_registry::store::Registry;

use super::exit;
use super::grant_args::GrantArgs;
use super::output::print_json;
use super::policy_grant::{DeniedFlags, resolve};
use super::registry_args::RegistryArgs;
use super::run_recording::{self, Fork, HeaderParts};
use super::session_log::{SessionRecorder, compact, to_wit};
use super::tool::{audit_sink, compile, locate_part};

/// Where the agent's tools see the workspace.
pub const WORKSPACE_GUEST: &str = "/workspace";

/// `warden run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What the agent should do.
    task: String,

    /// The agent manifest (default: `agent.toml` in the workspace if there
    /// is one, else the built-in default agent).
    #[arg(long, value_name = "FILE")]
    agent: Option<PathBuf>,

    /// Resume this session (see `warden sessions list`).
    #[arg(long, value_name = "ID")]
    session: Option<String>,

    /// The workspace: the tools see it at /workspace. Its sessions are kept
    /// under warden's home (`workspaces/<digest>/sessions/`), out of the
    /// tools' reach.
    #[arg(long, default_value = ".", value_name = "DIR")]
    workspace: PathBuf,

    /// Let the tools write in the workspace (default: read-only).
    #[arg(long)]
    write: bool,

    /// The model API's base URL (overrides the manifest), e.g.
    /// http://127.0.0.1:8080/v1 for llama.cpp or http://127.0.0.1:11434/v1
    /// for Ollama. Also read from WARDEN_MODEL_ENDPOINT.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,

    /// The model name (overrides the manifest).
    #[arg(long, value_name = "NAME")]
    model: Option<String>,

    /// Model turns (overrides the manifest).
    #[arg(long, value_name = "N")]
    max_turns: Option<u32>,

    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,

    /// Print no progress lines.
    #[arg(long, short)]
    quiet: bool,

    #[command(flatten)]
    registry: RegistryArgs,
}

/// The parts of an agent, loaded and granted.
pub(super) struct Assembled {
    pub(super) runtime: Runtime,
    pub(super) manifest: AgentManifest,
    pub(super) planner: warden::agent::PlannerComponent,
    pub(super) planner_grant: Grant,
    pub(super) model: warden::agent::ModelComponent,
    pub(super) model_grant: Grant,
    /// The `[fallback]` provider and its grant, if the agent declares one.
    pub(super) fallback: Option<(warden::agent::ModelComponent, Grant)>,
    pub(super) tools: Vec<AgentTool>,
    pub(super) skills: Vec<SkillSpec>,
    pub(super) limits: AgentLimits,
    /// (name in the manifest, name as loaded, digest) of every part.
    pub(super) components: Vec<(String, String, warden_registry::Digest)>,
}

impl RunArgs {
    /// The arguments of a run that replays or forks a recorded one
    /// (`warden replay`): its task and setup, with a new endpoint or model.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn for_replay(
        task: String,
        agent: Option<PathBuf>,
        workspace: PathBuf,
        write: bool,
        endpoint: Option<String>,
        model: Option<String>,
        json: bool,
        quiet: bool,
        registry: RegistryArgs,
    ) -> RunArgs {
        RunArgs {
            task,
            agent,
            session: None,
            workspace,
            write,
            endpoint,
            model,
            max_turns: None,
            json,
            quiet,
            registry,
        }
    }

    pub async fn execute(self) -> anyhow::Result<ExitCode> {
        self.execute_run(None).await
    }

    /// Runs the agent; a `fork` answers the steps before its fork point
    /// from the parent's recording and records the lineage.
    pub(super) async fn execute_run(self, fork: Option<Fork>) -> anyhow::Result<ExitCode> {
        let workspace = self.workspace.canonicalize().with_context(|| {
            format!("the workspace {} does not exist", self.workspace.display())
        })?;
        let registry = self.registry.open()?;
        let manifest = self.manifest(&workspace)?;
        let assembled = self.assemble(&registry, manifest, &workspace).await?;

        let store = super::sessions::session_store(registry.root(), &workspace)?;
        // Retention is enforced before anything else of the run.
        let retention = super::retention::retention_of(&registry, &assembled.manifest)?;
        super::retention::prune(&registry, &store, &workspace, &retention)
            .context("cannot remove the sessions that outlived their retention")?;
        let mut session = match &self.session {
            Some(id) => {
                let mut s = store
                    .load(id)
                    .with_context(|| format!("cannot resume session {id}"))?;
                s.add_task(self.task.clone());
                s.set_status(Status::Running);
                s
            }
            None => store
                .create(AgentInfo::of(&assembled.manifest), &self.task)
                .context("cannot create the session")?,
        };
        for (name, _, digest) in &assembled.components {
            session.record_component(name.clone(), *digest);
        }
        if let Some(f) = &fork {
            session.parent = Some(warden_agent::Lineage {
                session: f.parent.clone(),
                from_step: f.from_step,
            });
        }
        // Data residency, from the policy as it is now (a change applies
        // at the next run); a resumed session keeps the classes its
        // conversation already carries.
        let (user, org) = super::policy_grant::layers(&registry)?;
        let guard = Arc::new(ResidencyGuard::new(
            Residency::merge(org.as_ref().map(|o| o.residency()), user.residency()),
            Some(&workspace),
            assembled
                .tools
                .iter()
                .map(|t| (t.spec.name.as_str(), &t.grant)),
            &assembled.model_grant,
            assembled.fallback.as_ref().map(|(_, g)| g),
        ));
        guard.carry(session.data_classes.iter().cloned());
        // Compaction goes through the broker's model path, under the run's
        // residency state (its own broker: it is not a planner turn).
        let compactor = Broker::new(
            BrokerParts {
                runtime: assembled.runtime.clone(),
                model: (assembled.model.clone(), assembled.model_grant.clone()),
                tools: Vec::new(),
                skills: Vec::new(),
                history: Vec::new(),
                limits: assembled.limits,
                delegation: None,
            },
            Arc::new(warden::agent::NoObserver),
        )?
        .with_residency(guard.clone(), assembled.fallback.clone());
        compact(&compactor, &mut session, self.quiet || self.json).await;
        store.save(&session).context("cannot save the session")?;
        let history = session.active_history();
        let session_id = session.id.clone();
        let recording_path = store.recording_path(&session_id);
        if !self.quiet && !self.json {
            eprintln!(
                "session {session_id} · planner {} · model {} · tools {}",
                assembled.planner.name(),
                assembled.model.name(),
                assembled
                    .tools
                    .iter()
                    .map(|t| t.spec.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }

        let recorder = Arc::new(
            SessionRecorder::new(store, session, &history, !(self.quiet || self.json))
                .with_residency(guard.clone()),
        );
        let delegation =
            (assembled.manifest.delegation.max_concurrent > 0).then(|| DelegationConfig {
                planner: assembled.planner.clone(),
                planner_grant: assembled.planner_grant.clone(),
                max_concurrent: assembled.manifest.delegation.max_concurrent as usize,
                default_max_turns: assembled.manifest.delegation.executor_max_turns,
                workspace: Some(workspace.clone()),
            });
        // A fork gives the planner what the parent's run was given.
        let (wit_history, skills) = match &fork {
            Some(f) => {
                let header = &f.replayer.recording().header;
                (header.history.clone(), header.skills.clone())
            }
            None => (
                history.iter().map(to_wit).collect::<Vec<_>>(),
                assembled.skills.clone(),
            ),
        };
        let run_recorder = run_recording::start(
            &recording_path,
            HeaderParts {
                session: session_id.as_str(),
                task: &self.task,
                planner: &assembled.manifest.planner.name.to_string(),
                components: assembled
                    .components
                    .iter()
                    .map(|(name, _, digest)| (name.clone(), digest.to_string()))
                    .collect(),
                tools: &assembled.tools,
                history: &wit_history,
                skills: &skills,
                limits: assembled.limits,
                setup: self.setup(&workspace),
                fork: fork.as_ref(),
            },
            &[&assembled.model_grant, &assembled.planner_grant],
        )
        .context("cannot start the run's recording")?;
        let mut broker = Broker::new(
            BrokerParts {
                runtime: assembled.runtime.clone(),
                model: (assembled.model.clone(), assembled.model_grant.clone()),
                tools: assembled.tools.clone(),
                skills,
                history: wit_history,
                limits: assembled.limits,
                delegation,
            },
            recorder.clone(),
        )?
        .with_recorder(run_recorder.clone());
        if let Some(f) = &fork {
            broker = broker.with_replay(f.replayer.clone());
        }
        broker = broker.with_residency(guard.clone(), assembled.fallback.clone());
        // The workspace's shared context, under the planner's `[context]`
        // grant as the org policy caps it.
        broker = broker.with_context(context_access(
            &registry,
            &workspace,
            &assembled,
            org.as_ref(),
        )?);
        let broker = Arc::new(broker);
        let result = assembled
            .runtime
            .run_planner(
                &assembled.planner,
                &self.task,
                &assembled.planner_grant,
                broker.clone(),
            )
            .await;
        let usage = broker.usage();
        // The session keeps the data classes its conversation now carries.
        recorder.update(|s| s.carry_classes(guard.classes()));
        let (status, answer, code) = match &result {
            Ok(Ok(outcome)) => (Status::Completed, Some(outcome.answer.clone()), exit::OK),
            Ok(Err(e)) => (
                Status::Failed {
                    reason: describe_run_error(e),
                },
                None,
                if is_denial(e) {
                    exit::DENIED
                } else {
                    exit::FAILURE
                },
            ),
            Err(e) => (
                Status::Failed {
                    reason: format!("the planner failed: {e}"),
                },
                None,
                exit::code_for_call(e),
            ),
        };
        let error = match &status {
            Status::Failed { reason } => Some(reason.clone()),
            _ => None,
        };
        match run_recorder.finish(answer.clone(), error) {
            Ok(head) => recorder.update(|s| {
                s.recording = Some(warden_agent::RecordingRef {
                    head: head.hash,
                    steps: head.lines.saturating_sub(1),
                })
            }),
            Err(e) => eprintln!("warning: the run's recording is incomplete: {e}"),
        }
        if let Some(d) = fork.as_ref().and_then(|f| f.replayer.divergence()) {
            eprintln!(
                "error: {d} before the fork point\n--- recorded\n+++ this run\n{}",
                d.diff()
            );
            recorder.finish(status.clone(), answer.as_deref());
            return Ok(ExitCode::from(exit::DIVERGED));
        }
        let session = recorder.finish(status.clone(), answer.as_deref());
        if !retention.persists() {
            // The org policy keeps no session past its run.
            let store = super::sessions::session_store(registry.root(), &workspace)?;
            store.remove(session_id.as_str())?;
            super::retention::audit_removal(
                &registry,
                &workspace,
                &retention,
                std::slice::from_ref(&session_id),
            )?;
        }
        if self.json {
            let mut out = json!({
                "ok": answer.is_some(),
                "session": session_id.as_str(),
                "answer": answer,
                "error": match &status { Status::Failed { reason } => Some(reason.clone()), _ => None },
                "usage": {"turns": usage.turns, "tool_calls": usage.tool_calls, "tokens": usage.tokens},
                "steps": session.as_ref().map(|s| s.steps.len()).unwrap_or_default(),
            });
            let warnings = recorder.warnings();
            if !warnings.is_empty() {
                out["warnings"] = json!(warnings);
            }
            print_json(&out);
        } else {
            match (&answer, &status) {
                (Some(answer), _) => println!("{answer}"),
                (None, Status::Failed { reason }) => {
                    eprintln!("error: {reason}");
                    if let Ok(Err(e)) = &result {
                        for hint in super::run_hint::network_denial_hints(e, &assembled) {
                            eprintln!("hint: {hint}");
                        }
                    }
                }
                _ => {}
            }
            if !self.quiet {
                eprintln!(
                    "session {session_id}: {} turns, {} tool calls, {} tokens (resume with --session {session_id})",
                    usage.turns, usage.tool_calls, usage.tokens
                );
            }
        }
        Ok(ExitCode::from(code))
    }

    /// How the run was set up, for the recording (never a secret).
    fn setup(&self, workspace: &Path) -> std::collections::BTreeMap<String, String> {
        let mut setup = std::collections::BTreeMap::new();
        setup.insert("workspace".into(), workspace.display().to_string());
        setup.insert("write".into(), self.write.to_string());
        if let Some(agent) = &self.agent {
            setup.insert("agent".into(), agent.display().to_string());
        }
        if let Some(e) = self.endpoint.clone().or_else(|| {
            std::env::var("WARDEN_MODEL_ENDPOINT")
                .ok()
                .filter(|e| !e.is_empty())
        }) {
            setup.insert("endpoint".into(), e);
        }
        if let Some(m) = &self.model {
            setup.insert("model".into(), m.clone());
        }
        setup
    }

    /// The manifest: `--agent`, else `agent.toml` in the workspace, else the
    /// default agent; with the command line's overrides.
    fn manifest(&self, workspace: &Path) -> anyhow::Result<AgentManifest> {
        let in_workspace = workspace.join("agent.toml");
        let mut manifest = match &self.agent {
            Some(path) => AgentManifest::load(path)?,
            None if in_workspace.is_file() => AgentManifest::load(&in_workspace)?,
            None => warden_agent::default_agent(),
        };
        let from_env = std::env::var("WARDEN_MODEL_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty());
        if let Some(e) = self.endpoint.clone().or(from_env) {
            manifest.model.endpoint = Some(e);
        }
        if let Some(m) = &self.model {
            manifest.model.name = Some(m.clone());
        }
        if let Some(t) = self.max_turns {
            if t == 0 {
                bail!("--max-turns must be at least 1");
            }
            manifest.limits.max_turns = t;
        }
        Ok(manifest)
    }

    pub(super) async fn assemble(
        &self,
        registry: &Registry,
        manifest: AgentManifest,
        workspace: &Path,
    ) -> anyhow::Result<Assembled> {
        // One engine for every part: its stack limit is the strictest any
        // part's policy sets.
        let runtime = Runtime::new(
            super::run_engine::engine_for_parts(registry, &manifest)?,
            audit_sink(registry),
        )?;
        let wall_clock = Duration::from_millis(manifest.limits.wall_clock_ms);
        let wall = format!("{}ms", manifest.limits.wall_clock_ms);
        let mut parts = PartLocator {
            registry,
            found: Vec::new(),
        };

        // The planner: no files, no network, no environment.
        let part = &manifest.planner;
        let located = parts.locate(part, "planner")?;
        // Parts are compiled once into the registry's cache, by digest.
        let cache = ArtifactCache::new(&registry.root().join("cache"), &runtime);
        let planner = runtime.load_planner_cached(
            &located.name,
            &located.bytes,
            &located.subject.id.digest,
            &cache,
        )?;
        let planner_flags = GrantArgs {
            timeout: Some(wall.clone()),
            ..GrantArgs::default()
        };
        let mut planner_grant = resolve(
            registry,
            &located.subject,
            &planner_flags,
            DeniedFlags::Warn,
        )?
        .grant;
        planner_grant.dirs.clear();
        planner_grant.hosts.clear();
        planner_grant.env.clear();
        planner_grant.secrets.clear();

        // The model provider: the endpoint (named, or a local server found
        // by probing), its settings and the API key.
        let quiet = self.quiet || self.json;
        let (model, model_grant, part) = load_provider(
            registry,
            &runtime,
            &cache,
            &manifest.provider,
            &manifest.model,
            &wall,
            quiet,
        )
        .await?;
        parts.found.push(part);
        // The fallback provider, for turns the data-residency policy keeps
        // from the first one.
        let fallback = match &manifest.fallback {
            Some(f) => {
                let provider = f.provider.as_ref().unwrap_or(&manifest.provider);
                let (model, grant, (name, loaded, digest)) =
                    load_provider(registry, &runtime, &cache, provider, &f.model, &wall, quiet)
                        .await
                        .context("cannot load the [fallback] model provider")?;
                if !parts.found.iter().any(|(_, _, d)| *d == digest) {
                    parts
                        .found
                        .push((format!("{name} (fallback)"), loaded, digest));
                }
                Some((model, grant))
            }
            None => None,
        };

        // The tools: the workspace at /workspace, each capped by policy.
        let ws = workspace
            .to_str()
            .context("the workspace path is not UTF-8")?;
        let tool_flags = GrantArgs {
            dirs: vec![format!(
                "{ws}:{WORKSPACE_GUEST}:{}",
                if self.write { "rw" } else { "ro" }
            )],
            timeout: Some("60s".into()),
            ..GrantArgs::default()
        };
        let mut tools = Vec::new();
        for part in &manifest.tools {
            let located = parts.locate(part, "tool")?;
            let component = compile(&runtime, &located, registry)?;
            let grant = resolve(registry, &located.subject, &tool_flags, DeniedFlags::Warn)?.grant;
            let list = runtime
                .list_tools(&component, &grant)
                .await
                .with_context(|| format!("cannot list the tools of `{}`", part.name))?;
            for spec in list.tools {
                tools.push(AgentTool::of_component(
                    spec,
                    component.clone(),
                    grant.clone(),
                ));
            }
        }
        // The agent's MCP servers: their tools as `NAME__TOOL`, each call
        // through the same call path under the grant of `server:NAME`.
        tools.extend(
            super::run_servers::server_tools(
                &runtime,
                registry,
                &manifest,
                self.agent.as_deref(),
                &tool_flags,
            )
            .await?,
        );

        // Skills: every listed one is checked against the agent's tools;
        // those that apply to the task are given to the planner.
        let tool_names: Vec<String> = tools.iter().map(|t| t.spec.name.clone()).collect();
        let base = match &self.agent {
            Some(path) => path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| workspace.to_path_buf()),
            None => workspace.to_path_buf(),
        };
        let mut skills = vec![workspace_skill(self.write)];
        for skill in load_skills(&manifest, &base)? {
            skill.check_required_tools(&tool_names).with_context(|| {
                format!(
                    "skill `{}` ({}) cannot be used by this agent",
                    skill.name,
                    skill.path.display()
                )
            })?;
            if skill.applies_to(&self.task) {
                skills.push(SkillSpec {
                    name: skill.name.clone(),
                    description: skill.description.clone(),
                    when_to_use: skill.when.clone().unwrap_or_default(),
                    required_tools: skill.tools.clone(),
                    instructions: skill.instructions.clone(),
                });
            }
        }
        for part in manifest.skill_components() {
            let located = parts.locate(part, "skill")?;
            let component = runtime.load_skill(&located.name, &located.bytes)?;
            let grant = resolve(
                registry,
                &located.subject,
                &GrantArgs::default(),
                DeniedFlags::Warn,
            )?
            .grant;
            let specs = runtime
                .list_skills(&component, &grant)
                .await
                .with_context(|| format!("cannot list the skills of `{}`", part.name))?;
            for spec in specs {
                let skill = Skill {
                    name: spec.name.clone(),
                    description: spec.description.clone(),
                    when: (!spec.when_to_use.trim().is_empty()).then(|| spec.when_to_use.clone()),
                    tools: spec.required_tools.clone(),
                    instructions: spec.instructions.clone(),
                    path: PathBuf::from(part.name.to_string()),
                };
                skill.check_required_tools(&tool_names).with_context(|| {
                    format!(
                        "skill `{}` of `{}` cannot be used by this agent",
                        skill.name, part.name
                    )
                })?;
                if skill.applies_to(&self.task) {
                    skills.push(spec);
                }
            }
        }

        let limits = AgentLimits {
            wall_clock,
            ..AgentLimits::from(&manifest.limits)
        };
        Ok(Assembled {
            runtime,
            manifest,
            planner,
            planner_grant,
            model,
            model_grant,
            fallback,
            tools,
            skills,
            limits,
            components: parts.found,
        })
    }
}

/// The planner's access to the workspace's shared context: the manifest's
/// `[context]` grant, capped by the org policy's `[context]` table.
fn context_access(
    registry: &Registry,
    workspace: &Path,
    assembled: &Assembled,
    org: Option<&warden_policy::OrgPolicy>,
) -> anyhow::Result<ContextAccess> {
    let state = warden_agent::WorkspaceState::open(registry.root(), workspace)
        .with_context(|| format!("cannot keep the state of workspace {}", workspace.display()))?;
    let grant = ContextGrant {
        read: assembled.manifest.context.read.clone(),
        write: assembled.manifest.context.write.clone(),
    };
    Ok(ContextAccess::new(
        &state,
        grant,
        org.and_then(|o| o.context()),
        assembled.planner.name(),
        assembled.runtime.audit().clone(),
    ))
}

/// Finds the parts of an agent and keeps, for each, its name as written in
/// `agent.toml`, the name it is loaded as and its digest (the run's
/// components, recorded with the session).
struct PartLocator<'r> {
    registry: &'r Registry,
    found: Vec<(String, String, warden_registry::Digest)>,
}

impl PartLocator<'_> {
    /// Locates `part`, which must be of `kind`, and notes it.
    fn locate(
        &mut self,
        part: &warden_agent::ComponentRef,
        kind: &str,
    ) -> anyhow::Result<super::tool::Located> {
        let located = locate_part(&part.name, &part.req, kind, self.registry)?;
        self.found.push((
            part.name.to_string(),
            located.name.clone(),
            located.subject.id.digest,
        ));
        Ok(located)
    }
}

/// Loads the model provider `part` configured by `config`: its endpoint
/// (named, or a local server found by probing), settings and API key, and
/// its grant from the policy.
async fn load_provider(
    registry: &Registry,
    runtime: &Runtime,
    cache: &ArtifactCache,
    part: &warden_agent::ComponentRef,
    config: &warden_agent::ModelConfig,
    wall: &str,
    quiet: bool,
) -> anyhow::Result<(
    warden::agent::ModelComponent,
    Grant,
    (String, String, warden_registry::Digest),
)> {
    let endpoint = super::model_endpoint::resolve_endpoint(
        config.endpoint.clone(),
        config.name.clone(),
        quiet,
    )
    .await?;
    let host_port = endpoint.host_port.clone();
    let scheme = endpoint
        .grant
        .split_once("://")
        .map_or("https", |(s, _)| s)
        .to_string();
    let mut env = vec![format!("WARDEN_MODEL_ENDPOINT={}", endpoint.base_url)];
    if let Some(name) = &endpoint.model {
        env.push(format!("WARDEN_MODEL={name}"));
    }
    let mut model_flags = GrantArgs {
        hosts: vec![endpoint.grant.clone()],
        env,
        timeout: Some(wall.to_string()),
        ..GrantArgs::default()
    };
    // The API key, if there is one: a local server needs none.
    if let Some(secret) = &config.api_key_secret {
        let has_value = std::env::var_os(secret).is_some_and(|v| !v.is_empty())
            || model_flags.stored_secrets()?.contains_key(secret);
        if has_value {
            model_flags
                .secrets
                .push(format!("{secret}@{scheme}://{host_port}"));
        } else if !quiet && !endpoint.local {
            eprintln!(
                "note: {secret} is not set (environment or secrets file); requests to \
                 {host_port} carry no API key"
            );
        }
    }
    let located = locate_part(&part.name, &part.req, "model-provider", registry)?;
    let model = runtime.load_model_cached(
        &located.name,
        &located.bytes,
        &located.subject.id.digest,
        cache,
    )?;
    let grant = resolve(
        registry,
        &located.subject,
        &model_flags,
        DeniedFlags::Refuse,
    )?
    .grant;
    Ok((
        model,
        grant,
        (
            part.name.to_string(),
            located.name.clone(),
            located.subject.id.digest,
        ),
    ))
}

/// The markdown skills of `manifest`, its directories resolved against
/// `base`.
pub fn load_skills(manifest: &AgentManifest, base: &Path) -> anyhow::Result<Vec<Skill>> {
    let dirs = manifest.skill_dirs(base);
    if dirs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(warden_agent::discover_all(&dirs)?)
}

/// What every agent is told about the workspace.
fn workspace_skill(write: bool) -> SkillSpec {
    SkillSpec {
        name: "workspace".into(),
        description: "Where the user's files are".into(),
        when_to_use: "always".into(),
        required_tools: Vec::new(),
        instructions: format!(
            "The user's workspace is mounted at {WORKSPACE_GUEST} ({}). Tools take absolute \
             paths such as {WORKSPACE_GUEST}/README.md.",
            if write { "read-write" } else { "read-only" }
        ),
    }
}
