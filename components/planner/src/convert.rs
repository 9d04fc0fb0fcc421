//! Generated `planner` bindings ⇄ the plain types of `planner-core`.

use planner_core::chat as plain;
use planner_core::{Outcome, RunError, Step, StepKind, ToolError};
use warden_sdk::planner_context::bindings::warden::plugin::{chat, planning, types};

// --- chat -------------------------------------------------------------------

fn role_to_wit(r: plain::Role) -> chat::Role {
    match r {
        plain::Role::System => chat::Role::System,
        plain::Role::User => chat::Role::User,
        plain::Role::Assistant => chat::Role::Assistant,
        plain::Role::Tool => chat::Role::Tool,
    }
}

fn role_from_wit(r: chat::Role) -> plain::Role {
    match r {
        chat::Role::System => plain::Role::System,
        chat::Role::User => plain::Role::User,
        chat::Role::Assistant => plain::Role::Assistant,
        chat::Role::Tool => plain::Role::Tool,
    }
}

/// A tool call for the host.
pub fn tool_call_to_wit(c: &plain::ToolCall) -> chat::ToolCall {
    chat::ToolCall {
        id: c.id.clone(),
        name: c.name.clone(),
        arguments: c.arguments.clone(),
    }
}

fn message_to_wit(m: &plain::Message) -> chat::Message {
    chat::Message {
        role: role_to_wit(m.role),
        content: m.content.clone(),
        tool_calls: m.tool_calls.iter().map(tool_call_to_wit).collect(),
        tool_call_id: m.tool_call_id.clone(),
    }
}

/// A message from the host.
pub fn message_from_wit(m: chat::Message) -> plain::Message {
    plain::Message {
        role: role_from_wit(m.role),
        content: m.content,
        tool_calls: m
            .tool_calls
            .into_iter()
            .map(|c| plain::ToolCall {
                id: c.id,
                name: c.name,
                arguments: c.arguments,
            })
            .collect(),
        tool_call_id: m.tool_call_id,
    }
}

/// A tool spec from the host.
pub fn tool_spec_from_wit(t: types::ToolSpec) -> plain::ToolSpec {
    plain::ToolSpec {
        name: t.name,
        description: t.description,
        input_schema: t.input_schema,
    }
}

/// A completion request for the host.
pub fn request_to_wit(r: &plain::CompletionRequest) -> chat::CompletionRequest {
    chat::CompletionRequest {
        model: r.model.clone(),
        messages: r.messages.iter().map(message_to_wit).collect(),
        tools: r
            .tools
            .iter()
            .map(|t| types::ToolSpec {
                name: t.name.clone(),
                description: t.description.clone(),
                input_schema: t.input_schema.clone(),
            })
            .collect(),
        tool_choice: match &r.tool_choice {
            plain::ToolChoice::Auto => chat::ToolChoice::Auto,
            plain::ToolChoice::None => chat::ToolChoice::None,
            plain::ToolChoice::Required => chat::ToolChoice::Required,
            plain::ToolChoice::Named(n) => chat::ToolChoice::Named(n.clone()),
        },
        sampling: chat::Sampling {
            temperature: r.sampling.temperature,
            top_p: r.sampling.top_p,
            max_tokens: r.sampling.max_tokens,
            stop: r.sampling.stop.clone(),
            seed: r.sampling.seed,
        },
    }
}

fn usage_from_wit(u: chat::Usage) -> plain::Usage {
    plain::Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
    }
}

fn usage_to_wit(u: plain::Usage) -> chat::Usage {
    chat::Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
    }
}

/// A completion from the host.
pub fn completion_from_wit(c: chat::Completion) -> plain::Completion {
    plain::Completion {
        message: message_from_wit(c.message),
        finish_reason: match c.finish_reason {
            chat::FinishReason::Stop => plain::FinishReason::Stop,
            chat::FinishReason::Length => plain::FinishReason::Length,
            chat::FinishReason::ToolCalls => plain::FinishReason::ToolCalls,
            chat::FinishReason::ContentFilter => plain::FinishReason::ContentFilter,
        },
        usage: usage_from_wit(c.usage),
        model: c.model,
    }
}

// --- errors -----------------------------------------------------------------

pub(crate) fn denial_from_wit(d: types::Denial) -> plain::Denial {
    plain::Denial {
        capability: match d.capability {
            types::Capability::Filesystem => plain::Capability::Filesystem,
            types::Capability::Network => plain::Capability::Network,
            types::Capability::Environment => plain::Capability::Environment,
            types::Capability::Secret => plain::Capability::Secret,
            types::Capability::Component => plain::Capability::Component,
        },
        target: d.target,
        reason: d.reason,
    }
}

fn denial_to_wit(d: plain::Denial) -> types::Denial {
    types::Denial {
        capability: match d.capability {
            plain::Capability::Filesystem => types::Capability::Filesystem,
            plain::Capability::Network => types::Capability::Network,
            plain::Capability::Environment => types::Capability::Environment,
            plain::Capability::Secret => types::Capability::Secret,
            plain::Capability::Component => types::Capability::Component,
        },
        target: d.target,
        reason: d.reason,
    }
}

/// A model error from the host.
pub fn model_error_from_wit(e: chat::ModelError) -> plain::ModelError {
    match e {
        chat::ModelError::InvalidRequest(m) => plain::ModelError::InvalidRequest(m),
        chat::ModelError::Denied(d) => plain::ModelError::Denied(denial_from_wit(d)),
        chat::ModelError::Unavailable(m) => plain::ModelError::Unavailable(m),
        chat::ModelError::RateLimited(s) => plain::ModelError::RateLimited(s),
        chat::ModelError::ContextOverflow(m) => plain::ModelError::ContextOverflow(m),
        chat::ModelError::BadResponse(m) => plain::ModelError::BadResponse(m),
    }
}

fn model_error_to_wit(e: plain::ModelError) -> chat::ModelError {
    match e {
        plain::ModelError::InvalidRequest(m) => chat::ModelError::InvalidRequest(m),
        plain::ModelError::Denied(d) => chat::ModelError::Denied(denial_to_wit(d)),
        plain::ModelError::Unavailable(m) => chat::ModelError::Unavailable(m),
        plain::ModelError::RateLimited(s) => chat::ModelError::RateLimited(s),
        plain::ModelError::ContextOverflow(m) => chat::ModelError::ContextOverflow(m),
        plain::ModelError::BadResponse(m) => chat::ModelError::BadResponse(m),
    }
}

/// A tool error from the host.
pub fn tool_error_from_wit(e: types::ToolError) -> ToolError {
    match e {
        types::ToolError::InvalidInput(m) => ToolError::InvalidInput(m),
        types::ToolError::UnknownTool(m) => ToolError::UnknownTool(m),
        types::ToolError::NotFound(m) => ToolError::NotFound(m),
        types::ToolError::Denied(d) => ToolError::Denied(denial_from_wit(d)),
        types::ToolError::Failed(m) => ToolError::Failed(m),
    }
}

/// A run error from the host (a delegated executor's).
pub fn run_error_from_wit(e: planning::RunError) -> RunError {
    match e {
        planning::RunError::BudgetExhausted(m) => RunError::BudgetExhausted(m),
        planning::RunError::Model(e) => RunError::Model(model_error_from_wit(e)),
        planning::RunError::Denied(d) => RunError::Denied(denial_from_wit(d)),
        planning::RunError::Failed(m) => RunError::Failed(m),
    }
}

/// This run's error for the host.
pub fn run_error_to_wit(e: RunError) -> planning::RunError {
    match e {
        RunError::BudgetExhausted(m) => planning::RunError::BudgetExhausted(m),
        RunError::Model(e) => planning::RunError::Model(model_error_to_wit(e)),
        RunError::Denied(d) => planning::RunError::Denied(denial_to_wit(d)),
        RunError::Failed(m) => planning::RunError::Failed(m),
    }
}

// --- outcomes ---------------------------------------------------------------

/// An outcome from the host (a delegated executor's).
pub fn outcome_from_wit(o: planning::Outcome) -> Outcome {
    Outcome {
        answer: o.answer,
        steps: o
            .steps
            .into_iter()
            .map(|s| Step {
                kind: match s.kind {
                    planning::StepKind::Model => StepKind::Model,
                    planning::StepKind::Tool => StepKind::Tool,
                    planning::StepKind::Delegation => StepKind::Delegation,
                },
                name: s.name,
                ok: s.ok,
                duration_ms: s.duration_ms,
            })
            .collect(),
        usage: usage_from_wit(o.usage),
    }
}

/// This run's outcome for the host.
pub fn outcome_to_wit(o: Outcome) -> planning::Outcome {
    planning::Outcome {
        answer: o.answer,
        steps: o
            .steps
            .into_iter()
            .map(|s| planning::Step {
                kind: match s.kind {
                    StepKind::Model => planning::StepKind::Model,
                    StepKind::Tool => planning::StepKind::Tool,
                    StepKind::Delegation => planning::StepKind::Delegation,
                },
                name: s.name,
                ok: s.ok,
                duration_ms: s.duration_ms,
            })
            .collect(),
        usage: usage_to_wit(o.usage),
    }
}
