//! A tool instance kept across calls: one store, one grant, many calls.
//!
//! [`Runtime::call_tool`] gives every call a fresh store and instance; that
//! is the isolation guarantee and what the CLI, the agent broker and
//! `warden mcp` use. A [`ToolInstance`] is for a caller that wants the
//! guest's state kept between its own calls (a tool that caches, a batch
//! from one requester) and accepts that those calls share it. Every call
//! still runs under the grant: the fuel budget is refilled and the wall
//! clock re-armed per call, the memory cap holds for the instance's whole
//! life, and the instance holds one pool slot and one `instances` ticket
//! until it is dropped. After a call that traps, times out or hits a
//! limit, the instance answers only [`CallError::Stopped`].

use std::time::Instant;

use wasmtime::Store;

use crate::admission::Ticket;
use crate::bindings::ToolError;
use crate::call::CallReport;
use crate::call::{Stage, arm_deadline, finish, redact_error, timeout};
use crate::component::Pre;
use crate::component::ToolComponent;
use crate::engine::Runtime;
use crate::error::CallError;
use crate::grant::Grant;
use crate::sandbox::SandboxState;
use crate::secret::Redactor;
use crate::tool_result::GuestResult;

/// One instance of a tool component, answering a sequence of calls under
/// one grant (see the module docs). Made by [`Runtime::instantiate_tool`].
pub struct ToolInstance {
    runtime: Runtime,
    component: ToolComponent,
    /// Shared with each call's cancel guard (no copy per call).
    grant: std::sync::Arc<Grant>,
    store: Store<SandboxState>,
    tool: Instance,
    /// The kind of the failure that stopped the instance, once one did.
    stopped: Option<&'static str>,
    _ticket: Ticket,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// The instance, by the version of the tool interface it exports.
enum Instance {
    V1(crate::bindings::tool::Tool),
    V2(crate::bindings::tool_v2::Tool),
}

impl std::fmt::Debug for ToolInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolInstance")
            .field("component", &self.component.name())
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Instantiates `component` once under `grant`, for a sequence of calls
    /// that share its state (see [`ToolInstance`]). Waits, at most the
    /// grant's wall-clock limit, for a pool slot.
    pub async fn instantiate_tool(
        &self,
        component: &ToolComponent,
        grant: &Grant,
    ) -> Result<ToolInstance, CallError> {
        let (ticket, slot) = self.admit(component, grant).await?;
        let mut store = self.new_store(&component.name, grant)?;
        let started = tokio::time::timeout(grant.limits.timeout, async {
            match &component.pre {
                Pre::V1(pre) => pre.instantiate_async(&mut store).await.map(Instance::V1),
                Pre::V2(pre) => pre.instantiate_async(&mut store).await.map(Instance::V2),
            }
        })
        .await;
        let tool = match started {
            Err(_elapsed) => return Err(timeout(&component.name, grant)),
            Ok(Err(e)) => {
                return Err(self.classify(&component.name, grant, &store, Stage::Instantiate, e));
            }
            Ok(Ok(tool)) => tool,
        };
        Ok(ToolInstance {
            runtime: self.clone(),
            component: component.clone(),
            grant: std::sync::Arc::new(grant.clone()),
            store,
            tool,
            stopped: None,
            _ticket: ticket,
            _slot: slot,
        })
    }
}

impl ToolInstance {
    /// Calls tool `tool` with the JSON `input` on this instance, with a
    /// full fuel budget and wall clock. Secret values are redacted from
    /// everything reported, as for [`Runtime::call_tool`].
    pub async fn call(&mut self, tool: &str, input: &str) -> Result<CallReport, CallError> {
        let redactor = Redactor::new(&self.grant.secrets);
        // Arc clones only: the guard outlives the `&mut self` borrow below.
        let (runtime, component, grant) = (
            self.runtime.clone(),
            self.component.clone(),
            self.grant.clone(),
        );
        let guard = runtime.cancel_guard(&component, tool, input, &grant);
        let result = self
            .call_unredacted(tool, input)
            .await
            .map_err(|e| redact_error(e, &redactor));
        let started = guard.started();
        guard.finish();
        self.runtime.record_tool_call(
            &self.component,
            tool,
            input,
            &self.grant,
            &result,
            started.elapsed(),
        );
        result
    }

    async fn call_unredacted(&mut self, tool: &str, input: &str) -> Result<CallReport, CallError> {
        let name = &self.component.name;
        if let Some(cause) = self.stopped {
            return Err(CallError::Stopped {
                component: name.to_string(),
                cause: cause.to_string(),
            });
        }
        self.component
            .admission
            .count_start(name, &self.grant.limits)?;
        self.runtime.refuel(&mut self.store, name, &self.grant)?;
        let limits = &self.grant.limits;
        arm_deadline(&mut self.store, limits.timeout);
        // The log and the denials of earlier calls were handed out with
        // their results; start this call's afresh.
        let _ = self.store.data().log.finish();
        let _ = self.store.data().denials.take();
        let _ = self.store.data().usage.take();
        let (tool, input) = (tool.to_string(), input.to_string());
        let started = Instant::now();
        let (store, instance) = (&mut self.store, &self.tool);
        let outcome = tokio::time::timeout(limits.timeout, async {
            match instance {
                Instance::V1(t) => t
                    .warden_plugin_tools()
                    .call_call(&mut *store, &tool, &input)
                    .await
                    .map(|r| r.map(GuestResult::V1)),
                Instance::V2(t) => t
                    .warden_plugin_tools()
                    .call_call(&mut *store, &tool, &input)
                    .await
                    .map(|r| r.map(GuestResult::V2).map_err(ToolError::from)),
            }
        })
        .await;
        let duration = started.elapsed();
        let result = match outcome {
            Err(_elapsed) => Err(timeout(name, &self.grant)),
            Ok(Err(e)) => Err(self
                .runtime
                .classify(name, &self.grant, &self.store, Stage::Run, e)),
            Ok(Ok(result)) => Ok(result),
        };
        match result {
            Ok(result) => finish(
                &self.component,
                &self.grant,
                tool,
                &self.store,
                result,
                duration,
            ),
            Err(e) => {
                self.stopped = Some(e.kind());
                Err(e)
            }
        }
    }

    /// Whether an earlier call stopped this instance (see
    /// [`CallError::Stopped`]).
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_some()
    }
}
