//! Planner components: load one and run it on a task. A planner gets no
//! filesystem, network or environment: its store is built from a grant
//! with limits only, and it reaches the model, tools, session and
//! executors through the `broker` imports, which the host serves from the
//! [`Broker`] attached to that store.

use std::sync::Arc;

use warden_core::Digest;

use crate::bindings::planner::PlannerPre;
use crate::bindings::planner::warden::plugin::broker;
use crate::bindings::planner::warden::plugin::chat::{
    Completion, CompletionRequest, Message, ModelError, ToolCall,
};
use crate::bindings::planner::warden::plugin::planning::{Budget, Delegation, Outcome, RunError};
use crate::bindings::{SkillSpec, ToolError, ToolSpec};
use crate::engine::Runtime;
use crate::error::{CallError, LoadError};
use crate::grant::Grant;
use crate::record::{CallRecord, CancelGuard};
use crate::sandbox::SandboxState;
use crate::sandboxed::instantiate_and_call;

use super::broker::Broker;

/// The interface a planner must export.
pub const AGENT_INTERFACE: &str = "warden:plugin/agent@0.1.0";

/// A compiled planner component, ready to instantiate (once per run, and
/// once per executor).
pub type PlannerComponent = super::loaded::Loaded<PlannerPre<SandboxState>>;

impl Runtime {
    /// Compiles `bytes` as the planner component `name`: it must export
    /// `warden:plugin/agent` and import only the broker, logging and WASI
    /// (no `wasi:http`: a planner reaches the network only through the
    /// model provider).
    pub fn load_planner(&self, name: &str, bytes: &[u8]) -> Result<PlannerComponent, LoadError> {
        let component = self.compile(name, bytes)?;
        self.planner_from(name, Digest::of(bytes), component)
    }

    /// [`load_planner`](Self::load_planner) through the compiled-artifact
    /// cache, for bytes whose digest (`digest`) the caller verified.
    pub fn load_planner_cached(
        &self,
        name: &str,
        bytes: &[u8],
        digest: &Digest,
        cache: &crate::ArtifactCache,
    ) -> Result<PlannerComponent, LoadError> {
        let (component, _) = self.compile_cached(name, bytes, digest, cache)?;
        self.planner_from(name, *digest, component)
    }

    fn planner_from(
        &self,
        name: &str,
        digest: Digest,
        component: wasmtime::component::Component,
    ) -> Result<PlannerComponent, LoadError> {
        let instance_pre = self
            .planner_linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link {
                component: name.to_string(),
                reason: format!(
                    "{e:#} (a planner may import `warden:plugin/broker`, `warden:plugin/context`, \
                     `warden:plugin/log` and WASI 0.2 interfaces except wasi:http)"
                ),
            })?;
        let pre = PlannerPre::new(instance_pre).map_err(|e| LoadError::Link {
            component: name.to_string(),
            reason: format!("it does not export `{AGENT_INTERFACE}` with the right types: {e:#}"),
        })?;
        Ok(PlannerComponent {
            name: name.into(),
            digest,
            pre,
        })
    }

    /// Runs `planner` on `task` in a fresh store under `grant` (whose wall
    /// clock bounds the whole run, broker calls included), serving its
    /// broker imports from `broker`.
    pub async fn run_planner(
        &self,
        planner: &PlannerComponent,
        task: &str,
        grant: &Grant,
        broker: Arc<Broker>,
    ) -> Result<Result<Outcome, RunError>, CallError> {
        let pre = &planner.pre;
        let record = |outcome, duration, stats, denial| CallRecord {
            component: &planner.name,
            digest: &planner.digest,
            function: "run",
            arguments: task,
            outcome,
            duration,
            stats,
            denial,
            secrets: grant.secret_values(),
            used: None,
        };
        let guard = CancelGuard::new(
            &self.audit,
            record("cancelled", std::time::Duration::ZERO, None, None),
        );
        let run = self
            .run_sandboxed(
                &planner.name,
                grant,
                |state| state.broker = Some(broker),
                // The broker goes with the store, whatever happens.
                instantiate_and_call!(pre, |instance, store| instance
                    .warden_plugin_agent()
                    .call_run(&mut store, task)),
            )
            .await;
        let duration = guard.started().elapsed();
        guard.finish();
        let stats = run.as_ref().ok().map(|r| r.stats(grant));
        self.audit.record(&record(
            match &run {
                Ok(r) if r.value.is_ok() => "ok",
                Ok(_) => "run-error",
                Err(e) => e.kind(),
            },
            duration,
            stats.as_ref(),
            run.as_ref().err().and_then(CallError::denial),
        ));
        Ok(run?.value)
    }
}

impl SandboxState {
    fn broker(&self) -> wasmtime::Result<Arc<Broker>> {
        self.broker.clone().ok_or_else(|| {
            wasmtime::Error::msg(format!(
                "`{}` called the planner broker, but it is not running as a planner",
                self.component()
            ))
        })
    }
}

impl broker::Host for SandboxState {
    async fn complete(
        &mut self,
        request: CompletionRequest,
    ) -> wasmtime::Result<Result<Completion, ModelError>> {
        self.broker()?.complete(request).await
    }

    async fn tools(&mut self) -> wasmtime::Result<Vec<ToolSpec>> {
        Ok(self.broker()?.tool_specs())
    }

    async fn call_tools(
        &mut self,
        calls: Vec<ToolCall>,
    ) -> wasmtime::Result<Vec<Result<String, ToolError>>> {
        self.broker()?.call_tools(calls).await
    }

    async fn history(&mut self) -> wasmtime::Result<Vec<Message>> {
        Ok(self.broker()?.history())
    }

    async fn skills(&mut self) -> wasmtime::Result<Vec<SkillSpec>> {
        Ok(self.broker()?.skills())
    }

    async fn remaining_budget(&mut self) -> wasmtime::Result<Budget> {
        Ok(self.broker()?.remaining())
    }

    async fn delegate(
        &mut self,
        requests: Vec<Delegation>,
    ) -> wasmtime::Result<Vec<Result<Outcome, RunError>>> {
        let broker = self.broker()?;
        broker.delegate(requests).await
    }
}
