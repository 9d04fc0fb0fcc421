//! The host functions a planner uses, as a trait: the `planner` component
//! implements it with the `broker` imports of `wit/planner.wit`, the tests
//! with a scripted fake.

use std::time::Duration;

use chat_wire::{Completion, CompletionRequest, Message, ModelError, ToolCall, ToolSpec};

use crate::memory::{ContextError, ContextNote};
use crate::types::{Budget, Delegation, Outcome, RunError, SkillSpec, ToolError};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Diagnostics for developers.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected that the planner recovered from.
    Warn,
}

/// What the host brokers for a planner (the `broker` interface).
pub trait Broker {
    /// Asks the agent's model provider for a completion (counts one turn).
    fn complete(&mut self, request: &CompletionRequest) -> Result<Completion, ModelError>;

    /// The tools this agent may call.
    fn tools(&mut self) -> Vec<ToolSpec>;

    /// Runs tool calls, possibly concurrently; results in the order of `calls`.
    fn call_tools(&mut self, calls: &[ToolCall]) -> Vec<Result<String, ToolError>>;

    /// Messages of the session so far.
    fn history(&mut self) -> Vec<Message>;

    /// Skills that are active for this agent.
    fn skills(&mut self) -> Vec<SkillSpec>;

    /// What is left of the agent's limits.
    fn remaining_budget(&mut self) -> Budget;

    /// Runs sub-tasks in executor agents; results in the order of `requests`.
    fn delegate(&mut self, requests: &[Delegation]) -> Vec<Result<Outcome, RunError>>;

    /// Every live entry of the shared-context `namespace` (`context.list`).
    /// By default: a host without the shared context.
    fn context_list(&mut self, namespace: &str) -> Result<Vec<ContextNote>, ContextError> {
        let _ = namespace;
        Err(ContextError::Failed(
            "this host has no shared context".into(),
        ))
    }

    /// Stores a note under `key` in the shared-context `namespace`
    /// (`context.put`).
    fn context_put(&mut self, namespace: &str, key: &str, value: &str) -> Result<(), ContextError> {
        let _ = (namespace, key, value);
        Err(ContextError::Failed(
            "this host has no shared context".into(),
        ))
    }

    /// Writes a log line (the component forwards it to the host's `log`).
    fn log(&mut self, level: Level, message: &str) {
        let _ = (level, message);
    }

    /// Waits before retrying a model call.
    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}
