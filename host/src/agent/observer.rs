//! What a run reports as it goes: every model turn, tool call, denial and
//! delegation, for the session file and the audit log. The broker calls
//! the observer synchronously; an observer must be quick and must not fail
//! the run (it logs its own errors).

use std::time::Duration;

use crate::bindings::Denial;
use crate::bindings::planner::warden::plugin::chat::{
    Completion, CompletionRequest, Message, ModelError, ToolCall,
};
use crate::bindings::planner::warden::plugin::planning::{Outcome, RunError};
use crate::call::{CallReport, CallStats};
use crate::error::CallError;

/// One step of a run, as it happens. `depth` is 0 for the agent itself and
/// 1 for its executors.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// A piece of the text of the model turn in progress, as a streaming
    /// provider receives it (bounded and redacted; see
    /// [`crate::stream_sink`]). The turn's [`RunEvent::Model`] follows with
    /// the completion, which is what counts.
    ModelDelta {
        /// 0 for the manager, 1 for an executor.
        depth: u32,
        /// The text.
        text: &'a str,
    },
    /// A model turn ended.
    Model {
        /// 0 for the manager, 1 for an executor.
        depth: u32,
        /// What the planner asked (tools filtered to the agent's).
        request: &'a CompletionRequest,
        /// The completion or the provider's error.
        result: &'a Result<Completion, ModelError>,
        /// What the provider used, if it ran to completion.
        stats: Option<&'a CallStats>,
        /// How long the turn took.
        duration: Duration,
    },
    /// A tool call ended.
    Tool {
        /// 0 for the manager, 1 for an executor.
        depth: u32,
        /// The component that provides the tool.
        component: &'a str,
        /// The call, as the model made it.
        call: &'a ToolCall,
        /// Its result.
        result: &'a Result<CallReport, CallError>,
        /// How long it took.
        duration: Duration,
    },
    /// The host refused a request before running anything.
    Denied {
        /// 0 for the manager, 1 for an executor.
        depth: u32,
        /// What was refused.
        denial: &'a Denial,
    },
    /// A shared-context request was answered (or refused).
    Context {
        /// 0 for the manager, 1 for an executor.
        depth: u32,
        /// The request.
        call: &'a super::context_call::ContextCall,
        /// The entries it returned, or why it did not happen.
        result: &'a super::context_call::ContextAnswer,
    },
    /// An executor finished.
    Delegation {
        /// The delegating agent's depth.
        depth: u32,
        /// The sub-task.
        task: &'a str,
        /// The executor's outcome.
        result: &'a Result<Outcome, RunError>,
        /// The executor's conversation with the model: its last request's
        /// messages and the reply (empty if it was refused before it ran).
        transcript: &'a [Message],
        /// How long it ran.
        duration: Duration,
    },
}

/// Receives the events of a run.
pub trait RunObserver: Send + Sync {
    /// Called once per event, in order per planner.
    fn event(&self, event: RunEvent<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl RunObserver for NoObserver {
    fn event(&self, _: RunEvent<'_>) {}
}
