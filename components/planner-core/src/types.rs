//! Plain Rust mirrors of the records of `wit/planner.wit` (`planning`) and of
//! the `types.wit` records only a planner uses.

use std::fmt;

use chat_wire::{Denial, ModelError, Usage};

/// A skill (`types.skill-spec`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SkillSpec {
    /// Unique skill name, e.g. `release-notes`.
    pub name: String,
    /// One line on what the skill does.
    pub description: String,
    /// When a planner should apply the skill, written for a model.
    pub when_to_use: String,
    /// Tool names the skill needs.
    pub required_tools: Vec<String>,
    /// The instructions themselves, in markdown.
    pub instructions: String,
}

/// Why a tool call failed (`types.tool-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// The input does not match the tool's schema, or is otherwise unusable.
    InvalidInput(String),
    /// There is no tool with this name.
    UnknownTool(String),
    /// A resource named in the input does not exist.
    NotFound(String),
    /// The call needed a capability that was not granted.
    Denied(Denial),
    /// Anything else.
    Failed(String),
}

impl ToolError {
    /// The WIT name of the variant, e.g. `not-found`.
    pub fn kind(&self) -> &'static str {
        match self {
            ToolError::InvalidInput(_) => "invalid-input",
            ToolError::UnknownTool(_) => "unknown-tool",
            ToolError::NotFound(_) => "not-found",
            ToolError::Denied(_) => "denied",
            ToolError::Failed(_) => "failed",
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::InvalidInput(m)
            | ToolError::UnknownTool(m)
            | ToolError::NotFound(m)
            | ToolError::Failed(m) => write!(f, "{}: {m}", self.kind()),
            ToolError::Denied(d) => write!(f, "{d}"),
        }
    }
}

/// What is left of the agent's limits (`planning.budget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Model turns left.
    pub turns_left: u32,
    /// Tool calls left.
    pub tool_calls_left: u32,
    /// Tokens (prompt + completion) left.
    pub tokens_left: u64,
    /// Wall-clock time left, in milliseconds.
    pub time_left_ms: u64,
}

/// A sub-task handed to an executor agent (`planning.delegation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The sub-task, in words.
    pub task: String,
    /// Tools the executor may use: a subset of the caller's.
    pub tools: Vec<String>,
    /// Turn limit for the executor.
    pub max_turns: u32,
    /// Run the executor in its own git worktree of the workspace.
    pub worktree: bool,
}

/// What kind of step an agent took (`planning.step-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// A model completion.
    Model,
    /// A tool call.
    Tool,
    /// A delegation to an executor agent.
    Delegation,
}

/// One step of a run (`planning.step`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What kind of step.
    pub kind: StepKind,
    /// Tool or model name, or the delegated task.
    pub name: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// Duration in milliseconds.
    pub duration_ms: u64,
}

/// The result of a run (`planning.outcome`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The final answer.
    pub answer: String,
    /// The steps taken, in order.
    pub steps: Vec<Step>,
    /// Total tokens used.
    pub usage: Usage,
}

/// Why a run failed (`planning.run-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// A limit (turns, tool calls, tokens, time) was reached before an answer.
    BudgetExhausted(String),
    /// The model failed and the planner could not recover.
    Model(ModelError),
    /// A capability was refused.
    Denied(Denial),
    /// Anything else.
    Failed(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::BudgetExhausted(m) => write!(f, "budget exhausted: {m}"),
            RunError::Model(e) => write!(f, "model error: {e}"),
            RunError::Denied(d) => write!(f, "{d}"),
            RunError::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for RunError {}
