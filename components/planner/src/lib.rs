//! warden's `planner` component: the agent loop of `planner-core`, exported
//! as `agent.run`, over the host's `broker` imports only — no filesystem,
//! network or environment of its own. The model, the tools, the session's
//! history, the active skills, the budget and the executor agents all come
//! through the broker, each checked by the host against the agent's grant.
//!
//! Besides the agent's tools, the model is offered a `delegate` tool whose
//! calls become one `broker.delegate` request (see `planner_core::delegate_spec`).

mod convert;

use planner_core::chat::{Completion, CompletionRequest, Message, ModelError, ToolCall, ToolSpec};
use planner_core::{
    Broker, Budget, ContextError, ContextNote, Delegation, Level, Outcome, RunError, SkillSpec,
    ToolError,
};
use warden_sdk::planner_context::bindings::exports::warden::plugin::agent::Guest;
use warden_sdk::planner_context::bindings::warden::plugin::{broker, context, log, planning};

/// The component.
struct Planner;

impl Guest for Planner {
    fn run(task: String) -> Result<planning::Outcome, planning::RunError> {
        match planner_core::run(&mut HostBroker, &task) {
            Ok(outcome) => {
                log::log(
                    log::Level::Info,
                    &format!(
                        "answered after {} steps ({} tokens)",
                        outcome.steps.len(),
                        outcome.usage.total()
                    ),
                );
                Ok(convert::outcome_to_wit(outcome))
            }
            Err(e) => {
                log::log(log::Level::Warn, &format!("the run failed: {e}"));
                Err(convert::run_error_to_wit(e))
            }
        }
    }
}

/// [`Broker`] over the `broker` imports.
struct HostBroker;

impl Broker for HostBroker {
    fn complete(&mut self, request: &CompletionRequest) -> Result<Completion, ModelError> {
        broker::complete(&convert::request_to_wit(request))
            .map(convert::completion_from_wit)
            .map_err(convert::model_error_from_wit)
    }

    fn tools(&mut self) -> Vec<ToolSpec> {
        broker::tools()
            .into_iter()
            .map(convert::tool_spec_from_wit)
            .collect()
    }

    fn call_tools(&mut self, calls: &[ToolCall]) -> Vec<Result<String, ToolError>> {
        let calls: Vec<_> = calls.iter().map(convert::tool_call_to_wit).collect();
        broker::call_tools(&calls)
            .into_iter()
            .map(|r| r.map_err(convert::tool_error_from_wit))
            .collect()
    }

    fn history(&mut self) -> Vec<Message> {
        broker::history()
            .into_iter()
            .map(convert::message_from_wit)
            .collect()
    }

    fn skills(&mut self) -> Vec<SkillSpec> {
        broker::skills()
            .into_iter()
            .map(|s| SkillSpec {
                name: s.name,
                description: s.description,
                when_to_use: s.when_to_use,
                required_tools: s.required_tools,
                instructions: s.instructions,
            })
            .collect()
    }

    fn remaining_budget(&mut self) -> Budget {
        let b = broker::remaining_budget();
        Budget {
            turns_left: b.turns_left,
            tool_calls_left: b.tool_calls_left,
            tokens_left: b.tokens_left,
            time_left_ms: b.time_left_ms,
        }
    }

    fn delegate(&mut self, requests: &[Delegation]) -> Vec<Result<Outcome, RunError>> {
        let requests: Vec<_> = requests
            .iter()
            .map(|d| planning::Delegation {
                task: d.task.clone(),
                tools: d.tools.clone(),
                max_turns: d.max_turns,
                worktree: d.worktree,
            })
            .collect();
        broker::delegate(&requests)
            .into_iter()
            .map(|r| {
                r.map(convert::outcome_from_wit)
                    .map_err(convert::run_error_from_wit)
            })
            .collect()
    }

    fn context_list(&mut self, namespace: &str) -> Result<Vec<ContextNote>, ContextError> {
        context::list_entries(namespace)
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|e| ContextNote {
                        key: e.key,
                        value: e.value,
                        updated_ms: e.updated_ms,
                    })
                    .collect()
            })
            .map_err(context_error)
    }

    fn context_put(&mut self, namespace: &str, key: &str, value: &str) -> Result<(), ContextError> {
        context::put(namespace, key, context::EntryKind::Note, value, None).map_err(context_error)
    }

    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
        };
        log::log(level, message);
    }
}

/// A `context-error` as the loop sees it.
fn context_error(e: context::ContextError) -> ContextError {
    match e {
        context::ContextError::Denied(d) => ContextError::Denied(convert::denial_from_wit(d)),
        context::ContextError::Full(m) => ContextError::Full(m),
        context::ContextError::TooLarge(m) => ContextError::TooLarge(m),
        context::ContextError::NotFound(m) => ContextError::NotFound(m),
        context::ContextError::Invalid(m) => ContextError::Invalid(m),
        context::ContextError::Failed(m) => ContextError::Failed(m),
    }
}

warden_sdk::planner_context::bindings::export!(Planner);
