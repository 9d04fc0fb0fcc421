//! Plain Rust mirrors of the records of `wit/chat.wit` (and the parts of
//! `wit/types.wit` they use), field for field, so the wire mapping and the
//! agent loop can be written and tested without generated bindings.

use std::fmt;

/// The kind of capability a denial refers to (`types.capability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// A file or directory outside the granted directories.
    Filesystem,
    /// An outbound connection that is not granted.
    Network,
    /// An environment variable that is not granted.
    Environment,
    /// A secret that is not granted.
    Secret,
    /// A tool, model or agent outside the caller's allowed set.
    Component,
}

impl Capability {
    /// The WIT name of the capability, e.g. `network`.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Filesystem => "filesystem",
            Capability::Network => "network",
            Capability::Environment => "environment",
            Capability::Secret => "secret",
            Capability::Component => "component",
        }
    }
}

/// A capability the host refused (`types.denial`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Which kind of capability was refused.
    pub capability: Capability,
    /// What was asked for: a path, `host:port`, a variable name, ...
    pub target: String,
    /// Why it was refused, in words a person can act on.
    pub reason: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} access to `{}` denied: {}",
            self.capability.as_str(),
            self.target,
            self.reason
        )
    }
}

/// Describes one tool (`types.tool-spec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSpec {
    /// Unique name, e.g. `read_file`.
    pub name: String,
    /// What the tool does and when to use it, written for a model.
    pub description: String,
    /// JSON Schema of the tool's input object, as JSON text.
    pub input_schema: String,
}

/// Who wrote a message (`chat.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Role {
    /// The role's name on the wire (`system`, `user`, `assistant`, `tool`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// A tool call requested by the model (`chat.tool-call`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// Identifier the matching `tool` message refers back to.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments: a JSON object, as JSON text.
    pub arguments: String,
}

/// One message of a conversation (`chat.message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text (may be empty for an assistant message that only calls tools).
    pub content: String,
    /// Tool calls requested by an assistant message; empty otherwise.
    pub tool_calls: Vec<ToolCall>,
    /// For a tool message: the id of the call it answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message with text only.
    pub fn text(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A `tool` message answering the call `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(tool_call_id.into()),
        }
    }
}

/// How the model may use the offered tools (`chat.tool-choice`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call at least one tool.
    Required,
    /// The model must call this tool.
    Named(String),
}

/// Sampling options; `None` leaves the backend's default (`chat.sampling`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sampling {
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling mass.
    pub top_p: Option<f32>,
    /// Upper bound on generated tokens.
    pub max_tokens: Option<u32>,
    /// Sequences that end generation.
    pub stop: Vec<String>,
    /// Seed for reproducible sampling.
    pub seed: Option<u64>,
}

/// A request for one completion (`chat.completion-request`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompletionRequest {
    /// Model name; `None` uses the provider's configured default.
    pub model: Option<String>,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// How it may call them.
    pub tool_choice: ToolChoice,
    /// Sampling options.
    pub sampling: Sampling,
}

/// Why the model stopped (`chat.finish-reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    Stop,
    /// The token limit was reached.
    Length,
    /// The model requested tool calls.
    ToolCalls,
    /// The backend filtered the content.
    ContentFilter,
}

/// Token accounting for one completion (`chat.usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

impl Usage {
    /// Prompt plus completion tokens.
    pub fn total(self) -> u64 {
        u64::from(self.prompt_tokens) + u64::from(self.completion_tokens)
    }
}

/// Sums usages, saturating at `u32::MAX`.
impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.saturating_add(other.prompt_tokens),
            completion_tokens: self
                .completion_tokens
                .saturating_add(other.completion_tokens),
        }
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        *self = *self + other;
    }
}

/// One completion (`chat.completion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The model's reply (role `assistant`).
    pub message: Message,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// Tokens used.
    pub usage: Usage,
    /// The model that actually answered.
    pub model: String,
}

/// Why a completion failed (`chat.model-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// The request is malformed or unsupported by this backend.
    InvalidRequest(String),
    /// A capability (usually the endpoint or its secret) was not granted.
    Denied(Denial),
    /// The backend could not be reached or returned a server error.
    Unavailable(String),
    /// The backend asked to slow down; the suggested wait in seconds.
    RateLimited(Option<u32>),
    /// The prompt does not fit the model's context window.
    ContextOverflow(String),
    /// The backend answered with something that is not a valid completion.
    BadResponse(String),
}

impl ModelError {
    /// The WIT name of the variant, e.g. `bad-response`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::InvalidRequest(_) => "invalid-request",
            ModelError::Denied(_) => "denied",
            ModelError::Unavailable(_) => "unavailable",
            ModelError::RateLimited(_) => "rate-limited",
            ModelError::ContextOverflow(_) => "context-overflow",
            ModelError::BadResponse(_) => "bad-response",
        }
    }

    /// Whether trying the same request again may succeed: the backend was
    /// unreachable or overloaded, or asked to slow down.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ModelError::Unavailable(_) | ModelError::RateLimited(_)
        )
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            ModelError::Denied(d) => write!(f, "{d}"),
            ModelError::Unavailable(m) => write!(f, "model unavailable: {m}"),
            ModelError::RateLimited(Some(s)) => {
                write!(f, "rate limited: the backend asks to wait {s} s")
            }
            ModelError::RateLimited(None) => write!(f, "rate limited by the backend"),
            ModelError::ContextOverflow(m) => write!(f, "context overflow: {m}"),
            ModelError::BadResponse(m) => write!(f, "bad response: {m}"),
        }
    }
}

impl std::error::Error for ModelError {}
