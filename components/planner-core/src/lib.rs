//! warden's agent loop, written against a small [`Broker`] trait instead of
//! the generated bindings, so it runs — and is tested — on the host too.
//!
//! The `planner` component implements [`Broker`] with the `broker` imports of
//! `wit/planner.wit` and exports [`run`] as `agent.run`. The loop builds the
//! conversation (system message with the active skills, the session's
//! history, the task), offers the agent's tools plus a synthetic
//! [`DELEGATE_TOOL`] that becomes `broker.delegate`, runs every tool call of
//! a turn in one `call-tools` so the host can run them in parallel, feeds
//! typed tool errors back to the model as text, and stops on an answer, an
//! unrecoverable model error or an exhausted budget.
//!
//! ```
//! use planner_core::{Broker, Budget, Delegation, Outcome, RunError, SkillSpec, ToolError, run};
//! use planner_core::chat::*;
//!
//! /// A broker whose model answers at once.
//! struct Echo;
//! impl Broker for Echo {
//!     fn complete(&mut self, r: &CompletionRequest) -> Result<Completion, ModelError> {
//!         let task = r.messages.last().map(|m| m.content.clone()).unwrap_or_default();
//!         Ok(Completion {
//!             message: Message::text(Role::Assistant, format!("done: {task}")),
//!             finish_reason: FinishReason::Stop,
//!             usage: Usage { prompt_tokens: 10, completion_tokens: 2 },
//!             model: "echo".into(),
//!         })
//!     }
//!     fn tools(&mut self) -> Vec<ToolSpec> { Vec::new() }
//!     fn call_tools(&mut self, _: &[ToolCall]) -> Vec<Result<String, ToolError>> { Vec::new() }
//!     fn history(&mut self) -> Vec<Message> { Vec::new() }
//!     fn skills(&mut self) -> Vec<SkillSpec> { Vec::new() }
//!     fn remaining_budget(&mut self) -> Budget {
//!         Budget { turns_left: 5, tool_calls_left: 5, tokens_left: 1000, time_left_ms: 1000 }
//!     }
//!     fn delegate(&mut self, _: &[Delegation]) -> Vec<Result<Outcome, RunError>> { Vec::new() }
//! }
//!
//! let outcome = run(&mut Echo, "say hi").unwrap();
//! assert_eq!(outcome.answer, "done: say hi");
//! assert_eq!(outcome.steps.len(), 1);
//! ```

mod broker;
mod compact;
mod content_calls;
mod delegate;
mod memory;
mod prompt;
mod run;
mod types;

/// The chat types the loop speaks (re-exported from `chat-wire`).
pub mod chat {
    pub use chat_wire::{
        Capability, Completion, CompletionRequest, Denial, FinishReason, Message, ModelError, Role,
        Sampling, ToolCall, ToolChoice, ToolSpec, Usage,
    };
}

pub use broker::{Broker, Level};
pub use compact::compact_for_overflow;
pub use content_calls::tool_calls_in_content;
pub use delegate::{
    DEFAULT_MAX_TURNS, DELEGATE_DESCRIPTION, DELEGATE_TOOL, delegate_spec, parse_delegations,
};
pub use memory::{
    ContextError, ContextNote, MAX_NOTE_CHARS, MEMORY_NAMESPACE, NOTES_HEADER, Recall, note_key,
    note_value, notes_text,
};
pub use prompt::{SYSTEM_PROMPT, initial_messages, repair_history, system_text};
pub use run::{MAX_MODEL_RETRIES, MAX_RETRY_WAIT, RETRY_WAIT, describe_tool_error, run};
pub use types::{Budget, Delegation, Outcome, RunError, SkillSpec, Step, StepKind, ToolError};

#[cfg(test)]
mod tests;
