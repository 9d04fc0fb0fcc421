//! Generated `model-provider` bindings ⇄ the plain types of `chat-wire`.

use warden_sdk::streaming_model_provider::bindings::warden::plugin::{chat, types};

/// The plain form of a completion request.
pub fn request(r: chat::CompletionRequest) -> chat_wire::CompletionRequest {
    chat_wire::CompletionRequest {
        model: r.model,
        messages: r.messages.into_iter().map(message).collect(),
        tools: r
            .tools
            .into_iter()
            .map(|t| chat_wire::ToolSpec {
                name: t.name,
                description: t.description,
                input_schema: t.input_schema,
            })
            .collect(),
        tool_choice: match r.tool_choice {
            chat::ToolChoice::Auto => chat_wire::ToolChoice::Auto,
            chat::ToolChoice::None => chat_wire::ToolChoice::None,
            chat::ToolChoice::Required => chat_wire::ToolChoice::Required,
            chat::ToolChoice::Named(name) => chat_wire::ToolChoice::Named(name),
        },
        sampling: chat_wire::Sampling {
            temperature: r.sampling.temperature,
            top_p: r.sampling.top_p,
            max_tokens: r.sampling.max_tokens,
            stop: r.sampling.stop,
            seed: r.sampling.seed,
        },
    }
}

fn message(m: chat::Message) -> chat_wire::Message {
    chat_wire::Message {
        role: match m.role {
            chat::Role::System => chat_wire::Role::System,
            chat::Role::User => chat_wire::Role::User,
            chat::Role::Assistant => chat_wire::Role::Assistant,
            chat::Role::Tool => chat_wire::Role::Tool,
        },
        content: m.content,
        tool_calls: m
            .tool_calls
            .into_iter()
            .map(|c| chat_wire::ToolCall {
                id: c.id,
                name: c.name,
                arguments: c.arguments,
            })
            .collect(),
        tool_call_id: m.tool_call_id,
    }
}

/// The WIT form of a completion (always an assistant message).
pub fn completion(c: chat_wire::Completion) -> chat::Completion {
    chat::Completion {
        message: chat::Message {
            role: chat::Role::Assistant,
            content: c.message.content,
            tool_calls: c
                .message
                .tool_calls
                .into_iter()
                .map(|t| chat::ToolCall {
                    id: t.id,
                    name: t.name,
                    arguments: t.arguments,
                })
                .collect(),
            tool_call_id: None,
        },
        finish_reason: match c.finish_reason {
            chat_wire::FinishReason::Stop => chat::FinishReason::Stop,
            chat_wire::FinishReason::Length => chat::FinishReason::Length,
            chat_wire::FinishReason::ToolCalls => chat::FinishReason::ToolCalls,
            chat_wire::FinishReason::ContentFilter => chat::FinishReason::ContentFilter,
        },
        usage: chat::Usage {
            prompt_tokens: c.usage.prompt_tokens,
            completion_tokens: c.usage.completion_tokens,
        },
        model: c.model,
    }
}

/// The WIT form of a model error.
pub fn error(e: chat_wire::ModelError) -> chat::ModelError {
    use chat_wire::ModelError as E;
    match e {
        E::InvalidRequest(m) => chat::ModelError::InvalidRequest(m),
        E::Denied(d) => chat::ModelError::Denied(types::Denial {
            capability: match d.capability {
                chat_wire::Capability::Filesystem => types::Capability::Filesystem,
                chat_wire::Capability::Network => types::Capability::Network,
                chat_wire::Capability::Environment => types::Capability::Environment,
                chat_wire::Capability::Secret => types::Capability::Secret,
                chat_wire::Capability::Component => types::Capability::Component,
            },
            target: d.target,
            reason: d.reason,
        }),
        E::Unavailable(m) => chat::ModelError::Unavailable(m),
        E::RateLimited(s) => chat::ModelError::RateLimited(s),
        E::ContextOverflow(m) => chat::ModelError::ContextOverflow(m),
        E::BadResponse(m) => chat::ModelError::BadResponse(m),
    }
}
