//! A session: the record of one agent run, stored as one JSON file
//! (`$WARDEN_HOME/workspaces/<digest>/sessions/<id>.json`, see
//! [`crate::SessionStore`]).
//!
//! ```json
//! {
//!   "format": 1,
//!   "id": "20250314-093012-7kq2mz",
//!   "created": "2025-03-14T09:30:12.345Z",
//!   "updated": "2025-03-14T09:31:40.002Z",
//!   "agent": { "name": "default", "manifest_digest": "sha256:…" },
//!   "tasks": ["Find the TODOs in src/"],
//!   "status": { "state": "failed", "reason": "the token budget ran out" },
//!   "messages": [
//!     { "role": "system", "content": "You are …" },
//!     { "role": "user", "content": "Find the TODOs in src/" },
//!     { "role": "assistant", "content": "",
//!       "tool_calls": [{ "id": "call_1", "name": "grep", "arguments": "{\"pattern\":\"TODO\"}" }] },
//!     { "role": "tool", "content": "[…]", "tool_call_id": "call_1" }
//!   ],
//!   "steps": [
//!     { "kind": "model", "name": "gpt-4o-mini", "ok": true, "duration_ms": 812 },
//!     { "kind": "tool", "name": "grep", "ok": false, "duration_ms": 5, "error": "denied: …" }
//!   ],
//!   "components": { "warden:grep": "sha256:…", "warden:planner": "sha256:…" },
//!   "usage": { "prompt_tokens": 1200, "completion_tokens": 85 },
//!   "compactions": [{ "up_to_index": 3, "summary": "…", "at": "2025-03-14T09:31:40.002Z" }]
//! }
//! ```
//!
//! `messages` always holds every message of the run; a compaction
//! ([`crate::compaction`]) only changes the *active history*, what the
//! model is shown next ([`Session::active_history`]).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use warden_registry::Digest;

use crate::id::SessionId;

/// A compaction that does not fit the session's messages: not after the
/// one before, past the end, or splitting a tool call from its result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("compaction {index} (up_to_index {up_to_index}) does not fit the {messages} messages")]
pub struct CompactionMisplaced {
    /// Which compaction (0-based).
    pub index: usize,
    /// Where it says it ends.
    pub up_to_index: usize,
    /// How many messages the session has.
    pub messages: usize,
}

/// The session file format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The record of one agent run.
///
/// The mutating methods set `updated`; code that changes the public fields
/// directly should call [`Session::touch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The file format ([`FORMAT`]).
    pub format: u32,
    /// The session's id (also its file name).
    pub id: SessionId,
    /// When it was created (RFC 3339, UTC, milliseconds).
    pub created: Timestamp,
    /// When it last changed.
    pub updated: Timestamp,
    /// The agent that runs it.
    pub agent: AgentInfo,
    /// The tasks given to it, in order (a resumed session gets more).
    pub tasks: Vec<String>,
    /// Whether it is running, completed or failed.
    pub status: Status,
    /// Every message of the run, in order, never rewritten by compaction.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// What the run did, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The components used, by name, with the digest of what ran.
    #[serde(default)]
    pub components: BTreeMap<String, Digest>,
    /// Tokens used so far.
    #[serde(default)]
    pub usage: TokenUsage,
    /// Compactions of the active history, oldest first.
    #[serde(default)]
    pub compactions: Vec<Compaction>,
    /// The executors this run delegated to, in the order they finished,
    /// each with its whole conversation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executors: Vec<ExecutorRun>,
    /// The recording of the latest run (`warden replay` replays it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingRef>,
    /// The session this one was forked from, and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Lineage>,
    /// The data classes (data residency) its conversation carries: once
    /// labelled content entered it, a resumed run keeps sending it only to
    /// providers the policy lets receive those classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_classes: Vec<String>,
}

/// The recording kept beside a session ([`crate::SessionStore::recording_path`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRef {
    /// The hash of its last line: a recording whose chain does not end
    /// here was cut or replaced.
    pub head: String,
    /// Its steps (model turns, tool-call batches, delegations).
    pub steps: u64,
}

/// Where a forked session came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The parent session.
    pub session: String,
    /// The step of the parent's recording the fork ran live from (the
    /// steps before it were replayed from the parent).
    pub from_step: u64,
}

/// One delegated sub-task and what its executor said and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorRun {
    /// The sub-task, as the manager gave it.
    pub task: String,
    /// Whether the executor returned an answer.
    pub ok: bool,
    /// Why it failed, for one that did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// Its conversation with the model (without the system prompt): the
    /// task, tool calls and results, and its answer.
    #[serde(default)]
    pub messages: Vec<Message>,
}

/// Which agent ran a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// The agent's name (`name` in `agent.toml`).
    pub name: String,
    /// [`crate::AgentManifest::digest`] of the manifest it ran with.
    pub manifest_digest: Digest,
}

impl AgentInfo {
    /// The name and digest of `manifest`.
    pub fn of(manifest: &crate::AgentManifest) -> AgentInfo {
        AgentInfo {
            name: manifest.name.clone(),
            manifest_digest: manifest.digest(),
        }
    }
}

/// Who wrote a message (as in `warden:plugin/chat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The person (or the task) driving the agent.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

/// One message of a conversation (as in `warden:plugin/chat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text (may be empty for an assistant message that only calls tools).
    #[serde(default)]
    pub content: String,
    /// Tool calls requested by an `assistant` message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a `tool` message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    fn plain(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Message {
        Message::plain(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message::plain(Role::User, content)
    }

    /// An assistant message, with the tool calls it requests (if any).
    pub fn assistant(content: impl Into<String>, tool_calls: Vec<ToolCall>) -> Message {
        Message {
            tool_calls,
            ..Message::plain(Role::Assistant, content)
        }
    }

    /// The result of the tool call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            tool_call_id: Some(call_id.into()),
            ..Message::plain(Role::Tool, content)
        }
    }
}

/// A tool call requested by the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The id the matching `tool` message refers back to.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as JSON text (kept verbatim, even if not valid JSON,
    /// so the record shows what the model sent).
    pub arguments: String,
}

impl ToolCall {
    /// A call of tool `name` with JSON `arguments`.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }
}

/// What kind of step an agent took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A model completion.
    Model,
    /// A tool call.
    Tool,
    /// A delegation to an executor agent.
    Delegation,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What kind of step.
    pub kind: StepKind,
    /// The model, the tool, or the delegated task.
    pub name: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed, for a step that did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Tokens used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens in prompts.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
}

impl TokenUsage {
    /// Prompt plus completion tokens.
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: TokenUsage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
    }
}

/// Where a session stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// Running, or stopped without saying so (a crash leaves this).
    Running,
    /// Finished with an answer.
    Completed,
    /// Stopped without an answer.
    Failed {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Running => f.write_str("running"),
            Status::Completed => f.write_str("completed"),
            Status::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}

/// One compaction: `messages[..up_to_index]` after the pinned system
/// messages is shown to the model as `summary` (see [`crate::compaction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    /// The index in `messages` of the first message kept verbatim.
    pub up_to_index: usize,
    /// The summary of everything before it (after the pinned system
    /// messages), including earlier summaries.
    pub summary: String,
    /// When it was made.
    pub at: Timestamp,
}

/// The current time, to the millisecond (what sessions record).
pub fn now() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}

impl Session {
    /// A new, running session of `agent` on `task`, with a fresh id. It
    /// has no messages yet: the caller adds the system prompt and the task.
    pub fn new(agent: AgentInfo, task: impl Into<String>) -> Session {
        let created = now();
        Session {
            format: FORMAT,
            id: SessionId::generate(created),
            created,
            updated: created,
            agent,
            tasks: vec![task.into()],
            status: Status::Running,
            messages: Vec::new(),
            steps: Vec::new(),
            components: BTreeMap::new(),
            usage: TokenUsage::default(),
            compactions: Vec::new(),
            executors: Vec::new(),
            recording: None,
            parent: None,
            data_classes: Vec::new(),
        }
    }

    /// Adds `classes` to the data classes the conversation carries (sorted,
    /// each once; never removed).
    pub fn carry_classes(&mut self, classes: impl IntoIterator<Item = String>) {
        self.data_classes.extend(classes);
        self.data_classes.sort();
        self.data_classes.dedup();
    }

    /// Sets `updated` to now.
    pub fn touch(&mut self) {
        self.updated = now().max(self.updated);
    }

    /// Appends a message.
    pub fn push_message(&mut self, message: Message) {
        self.messages.push(message);
        self.touch();
    }

    /// Records a step.
    pub fn record_step(&mut self, step: Step) {
        self.steps.push(step);
        self.touch();
    }

    /// Adds to the token usage.
    pub fn add_usage(&mut self, usage: TokenUsage) {
        self.usage += usage;
        self.touch();
    }

    /// Records the digest of a component the run used.
    pub fn record_component(&mut self, name: impl Into<String>, digest: Digest) {
        self.components.insert(name.into(), digest);
        self.touch();
    }

    /// Records a further task (resuming the session) and sets it running.
    pub fn add_task(&mut self, task: impl Into<String>) {
        self.tasks.push(task.into());
        self.status = Status::Running;
        self.touch();
    }

    /// Sets the status.
    pub fn set_status(&mut self, status: Status) {
        self.status = status;
        self.touch();
    }

    /// Model turns taken: the number of assistant messages.
    pub fn turns(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .count()
    }

    /// The first line of the first task, at most `max_chars` characters
    /// (cut with `…`).
    pub fn task_preview(&self, max_chars: usize) -> String {
        let first = self
            .tasks
            .first()
            .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or("");
        if first.chars().count() <= max_chars {
            first.to_string()
        } else {
            let mut cut: String = first.chars().take(max_chars.saturating_sub(1)).collect();
            cut.push('…');
            cut
        }
    }

    /// Checks what the types cannot: the format, and that every compaction
    /// points inside `messages`, after the one before, at a place that does
    /// not split a tool call from its result.
    pub(crate) fn check(&self) -> Result<(), CompactionMisplaced> {
        let pinned = crate::compaction::pinned_len(&self.messages);
        let cuts = crate::compaction::valid_cuts(&self.messages);
        let mut previous = pinned;
        for (n, c) in self.compactions.iter().enumerate() {
            let fits = c.up_to_index > previous
                && c.up_to_index <= self.messages.len()
                && cuts.get(c.up_to_index).copied().unwrap_or(false);
            if !fits {
                return Err(CompactionMisplaced {
                    index: n,
                    up_to_index: c.up_to_index,
                    messages: self.messages.len(),
                });
            }
            previous = c.up_to_index;
        }
        Ok(())
    }
}
