//! `warden replay SESSION`: run the planner again on a session's recording.
//!
//! Offline (the default) every broker request is answered from the
//! recording: no provider, no tools, no network; each request must be the
//! recorded one. `--live-tools` runs the tools for real (a regression test
//! for a tool upgrade). `--from-step N --endpoint URL` forks the run at
//! step N onto another model, as a new session that names its parent.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use warden::agent::{Broker, BrokerParts, Divergence, RecordingError, ReplayMode, Replayer};
use warden::{EngineConfig, Grant, Runtime};
use warden_registry::store::Registry;
use warden_registry::{Digest, PackageName};

use super::exit;
use super::output::print_json;
use super::registry_args::RegistryArgs;
use super::run::RunArgs;
use super::run_recording::Fork;
use super::tool::locate_part;

/// `warden replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The session whose latest run to replay (see `warden sessions list`).
    session: String,

    /// The workspace the session belongs to.
    #[arg(long, default_value = ".", value_name = "DIR")]
    workspace: PathBuf,

    /// Replay with this planner component instead of the recorded one
    /// (e.g. a new build): a regression test for the planner.
    #[arg(long, value_name = "FILE")]
    planner: Option<PathBuf>,

    /// Take the model's answers from the recording but run the tools for
    /// real, under their grants; a tool result that differs from the
    /// recorded one is a divergence.
    #[arg(long, conflicts_with = "from_step")]
    live_tools: bool,

    /// Fork: replay the steps before N from the recording, then run live
    /// (with --endpoint and/or --model) as a new session.
    #[arg(long, value_name = "N")]
    from_step: Option<u64>,

    /// The model API's base URL for a fork.
    #[arg(long, value_name = "URL", requires = "from_step")]
    endpoint: Option<String>,

    /// The model name for a fork.
    #[arg(long, value_name = "NAME", requires = "from_step")]
    model: Option<String>,

    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,

    /// Print no progress lines.
    #[arg(long, short)]
    quiet: bool,

    #[command(flatten)]
    registry: RegistryArgs,
}

impl ReplayArgs {
    pub async fn execute(self) -> anyhow::Result<ExitCode> {
        let workspace = self.workspace.canonicalize().with_context(|| {
            format!("the workspace {} does not exist", self.workspace.display())
        })?;
        let registry = self.registry.open()?;
        let store = super::sessions::session_store(registry.root(), &workspace)?;
        let session = store
            .load(&self.session)
            .with_context(|| format!("cannot load session {}", self.session))?;
        let Some(reference) = &session.recording else {
            bail!(
                "session {} has no recording (sessions are recorded by `warden run` since \
                 recordings were introduced, and a run that crashed leaves none)",
                session.id.as_str()
            );
        };
        let path = store.recording_path(&session.id);
        let recording = warden::agent::Recording::load(&path)?;
        recording.check_head(&reference.head)?;
        let steps = recording.steps().len() as u64;

        if let Some(n) = self.from_step {
            if n == 0 || n > steps + 1 {
                bail!(
                    "--from-step must be between 1 and {} (the recording has {steps} steps)",
                    steps + 1
                );
            }
            if self.endpoint.is_none() && self.model.is_none() {
                bail!("a fork runs live from step {n}: give it --endpoint URL and/or --model NAME");
            }
            return self.fork(recording, n, &workspace).await;
        }

        let mode = if self.live_tools {
            ReplayMode::LiveTools
        } else {
            ReplayMode::Offline
        };
        let header = recording.header.clone();
        let replayer = Arc::new(Replayer::new(recording, mode));
        let mut runtime =
            Runtime::new(EngineConfig::default(), super::tool::audit_sink(&registry))?;
        let mut planner_grant = Grant::default();
        planner_grant.limits.timeout =
            std::time::Duration::from_millis(header.limits.wall_clock_ms);
        let broker = if self.live_tools {
            // The tools as `warden run` grants them; the model is loaded
            // (the recorded endpoint in its grant) but never asked.
            let args = RunArgs::for_replay(
                header.task.clone(),
                header.setup.get("agent").map(PathBuf::from),
                workspace.clone(),
                header.setup.get("write").is_some_and(|w| w == "true"),
                header.setup.get("endpoint").cloned(),
                None,
                self.json,
                true,
                self.registry.clone(),
            );
            let manifest = warden_agent::default_agent();
            let manifest = match header.setup.get("agent") {
                Some(p) => warden_agent::AgentManifest::load(std::path::Path::new(p))?,
                None if workspace.join("agent.toml").is_file() => {
                    warden_agent::AgentManifest::load(&workspace.join("agent.toml"))?
                }
                None => manifest,
            };
            let mut manifest = manifest;
            manifest.model.endpoint = header.setup.get("endpoint").cloned();
            let assembled = args.assemble(&registry, manifest, &workspace).await?;
            // One engine for the planner and the tools.
            runtime = assembled.runtime.clone();
            for (name, _, digest) in &assembled.components {
                match header.components.get(name) {
                    Some(recorded) if *recorded != digest.to_string() && !self.quiet => {
                        eprintln!("note: {name} is {digest} now; the recording ran {recorded}")
                    }
                    _ => {}
                }
            }
            Broker::new(
                BrokerParts {
                    runtime: runtime.clone(),
                    model: (assembled.model, assembled.model_grant),
                    tools: assembled.tools,
                    skills: header.skills.clone(),
                    history: header.history.clone(),
                    limits: assembled.limits,
                    delegation: None,
                },
                Arc::new(warden::agent::NoObserver),
            )?
            .with_replay(replayer.clone())
        } else {
            Broker::offline(runtime.clone(), replayer.clone())
        };
        let planner = self.planner(&registry, &runtime, &header)?;
        if !self.quiet && !self.json {
            eprintln!(
                "replaying session {} ({} steps{})",
                session.id.as_str(),
                steps,
                if self.live_tools {
                    ", tools live"
                } else {
                    ", offline"
                }
            );
        }
        let result = runtime
            .run_planner(&planner, &header.task, &planner_grant, Arc::new(broker))
            .await;
        let (answer, error) = match &result {
            Ok(Ok(outcome)) => (Some(outcome.answer.clone()), None),
            Ok(Err(e)) => (None, Some(format!("{e:?}"))),
            Err(e) => (None, Some(e.to_string())),
        };
        match replayer.finish(answer.as_deref(), error.as_deref()) {
            Ok(n) => {
                if self.json {
                    print_json(&json!({
                        "ok": true, "session": session.id.as_str(), "reproduced": n,
                        "answer": answer, "error": error,
                    }));
                } else {
                    if let Some(answer) = &answer {
                        println!("{answer}");
                    }
                    eprintln!("reproduced {n} steps");
                }
                Ok(ExitCode::from(exit::OK))
            }
            Err(d) => {
                report_divergence(&d, self.json);
                Ok(ExitCode::from(exit::DIVERGED))
            }
        }
    }

    /// The planner to replay: `--planner FILE`, else the recorded one,
    /// which must be available with the recorded digest.
    fn planner(
        &self,
        registry: &Registry,
        runtime: &Runtime,
        header: &warden::agent::RecordingHeader,
    ) -> anyhow::Result<warden::agent::PlannerComponent> {
        if let Some(file) = &self.planner {
            let bytes = std::fs::read(file)
                .with_context(|| format!("cannot read the planner {}", file.display()))?;
            if !self.quiet && !self.json {
                eprintln!(
                    "note: replaying with the planner {} ({}); the recording ran {}",
                    file.display(),
                    Digest::of(&bytes),
                    header
                        .components
                        .get(&header.planner)
                        .map_or("an unknown planner", String::as_str)
                );
            }
            return Ok(runtime.load_planner("planner", &bytes)?);
        }
        let recorded = header.components.get(&header.planner).ok_or_else(|| {
            RecordingError::ComponentUnavailable {
                component: header.planner.clone(),
                digest: "(no digest recorded)".into(),
                reason: "the recording lists no digest for its planner".into(),
            }
        })?;
        let unavailable = |reason: String| RecordingError::ComponentUnavailable {
            component: header.planner.clone(),
            digest: recorded.clone(),
            reason,
        };
        let name: PackageName = header
            .planner
            .parse()
            .map_err(|e| unavailable(format!("`{}` is not a package name: {e}", header.planner)))?;
        let located = locate_part(&name, &semver::VersionReq::STAR, "planner", registry)
            .map_err(|e| unavailable(format!("{e:#}")))?;
        let found = located.subject.id.digest.to_string();
        if found != *recorded {
            return Err(unavailable(format!(
                "the {} found is {found}; install the recorded version, or pass --planner FILE \
                 to replay with another planner",
                header.planner
            ))
            .into());
        }
        Ok(runtime.load_planner(&located.name, &located.bytes)?)
    }

    /// `--from-step N`: a new session, replayed up to step N, live after.
    async fn fork(
        self,
        recording: warden::agent::Recording,
        from_step: u64,
        workspace: &std::path::Path,
    ) -> anyhow::Result<ExitCode> {
        let header = recording.header.clone();
        let parent = header.session.clone();
        let replayer = Arc::new(Replayer::new(recording, ReplayMode::ForkAt(from_step)));
        let args = RunArgs::for_replay(
            header.task.clone(),
            header.setup.get("agent").map(PathBuf::from),
            workspace.to_path_buf(),
            header.setup.get("write").is_some_and(|w| w == "true"),
            self.endpoint
                .or_else(|| header.setup.get("endpoint").cloned()),
            self.model.or_else(|| header.setup.get("model").cloned()),
            self.json,
            self.quiet,
            self.registry,
        );
        if !self.quiet && !self.json {
            eprintln!("forking session {parent} at step {from_step}");
        }
        args.execute_run(Some(Fork {
            replayer,
            parent,
            from_step,
        }))
        .await
    }
}

/// Prints where a replay diverged, with the diff of the two sides.
fn report_divergence(d: &Divergence, json: bool) {
    if json {
        print_json(&json!({
            "ok": false, "diverged_at": d.step, "what": d.what,
            "expected": d.expected, "actual": d.actual, "diff": d.diff(),
        }));
    } else {
        eprintln!(
            "error: {d}\n--- recorded\n+++ this run\n{}hint: a changed planner, skill or tool makes \
             the run ask for something else; replay with the recorded components to reproduce it",
            d.diff()
        );
    }
}
