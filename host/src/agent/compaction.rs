//! History compaction on the library's model path: when a resumed
//! session's active history is over its budget, its older turns are
//! summarised by the model through [`Broker::ask_model`] — so the request
//! is routed by the run's data-residency state like every planner turn (a
//! labelled session's history goes only to a provider that may receive its
//! classes, or nowhere), and the routing decision and the model call are
//! audited. The session file keeps every original message
//! ([`warden_agent::compaction`] decides what to summarise).

use warden_agent::Session;
use warden_agent::compaction::Budget;

use super::broker::Broker;
use crate::bindings::Denial;
use crate::bindings::planner::warden::plugin::chat::{
    CompletionRequest, Message, ModelError, Role, Sampling, ToolChoice,
};

/// Active history beyond this many (estimated) tokens is compacted before
/// a resumed run.
pub const HISTORY_TOKEN_BUDGET: usize = 24_000;

/// Turns always kept verbatim by compaction.
pub const KEEP_LAST_TURNS: usize = 4;

/// What the model is asked to do with the old turns.
pub const SUMMARY_INSTRUCTIONS: &str = "Summarise the conversation you are given for your own \
     later use: the task, what was found, what was decided, what is left. Be brief and concrete.";

/// What [`compact_history`] did.
#[derive(Debug, Clone)]
pub enum Compaction {
    /// The history fits its budget (or nothing can be summarised).
    NotNeeded,
    /// `messages` old messages are now shown as one summary.
    Summarised {
        /// How many messages the summary stands for.
        messages: usize,
    },
    /// The data-residency policy let no provider of the agent receive the
    /// history; it is kept as it is.
    Refused(Denial),
    /// The model failed or gave no summary; the history is kept as it is.
    Failed(String),
}

/// The old turns as one text for the model.
fn transcript(messages: &[warden_agent::Message]) -> String {
    messages
        .iter()
        .map(|m| {
            let calls: Vec<String> = m
                .tool_calls
                .iter()
                .map(|c| format!("[calls {} {}]", c.name, c.arguments))
                .collect();
            format!("{:?}: {} {}", m.role, m.content, calls.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text(role: Role, content: String) -> Message {
    Message {
        role,
        content,
        tool_calls: Vec::new(),
        tool_call_id: None,
    }
}

/// Summarises the old turns of `session` through `broker`'s model path
/// when its active history is over `budget` (keeping the last
/// `keep_last_turns` turns verbatim), and records the summary in the
/// session. A refusal or failure leaves the history as it is.
pub async fn compact_history(
    broker: &Broker,
    session: &mut Session,
    budget: Budget,
    keep_last_turns: usize,
) -> Compaction {
    let Some(plan) = session.compaction_plan(budget, keep_last_turns) else {
        return Compaction::NotNeeded;
    };
    let request = CompletionRequest {
        model: None,
        messages: vec![
            text(Role::System, SUMMARY_INSTRUCTIONS.to_string()),
            text(Role::User, transcript(&plan.to_summarise)),
        ],
        tools: Vec::new(),
        tool_choice: ToolChoice::None,
        sampling: Sampling {
            temperature: None,
            top_p: None,
            max_tokens: Some(1024),
            stop: Vec::new(),
            seed: None,
        },
    };
    match broker.ask_model(&request).await {
        Ok(c) if !c.message.content.trim().is_empty() => {
            let messages = plan.to_summarise.len();
            match session.apply_compaction(&plan, c.message.content) {
                Ok(()) => Compaction::Summarised { messages },
                Err(e) => Compaction::Failed(e.to_string()),
            }
        }
        Ok(_) => Compaction::Failed("the model returned an empty summary".into()),
        Err(ModelError::Denied(d)) => Compaction::Refused(d),
        Err(e) => Compaction::Failed(format!("{e:?}")),
    }
}
