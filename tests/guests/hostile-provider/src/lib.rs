//! A streaming model provider that misbehaves through `stream-sink` on
//! purpose. The last message's text selects the misbehaviour:
//!
//! - `count`: 250,000 one-byte deltas (more than the host forwards).
//! - `bytes`: 400 deltas of 64 KiB each, ~25 MiB (more than the host
//!   forwards per delta and per completion).
//! - `cut-char`: one delta of 16 KiB - 1 ASCII bytes followed by `é`, so the
//!   per-delta cut falls inside a two-byte character.
//! - `secret:VALUE`: VALUE sent one character per delta, then once whole
//!   (as a provider that learned a secret from a response would).
//! - anything else: no deltas.
//!
//! Whatever it streamed, the completion it returns is `done`.

use warden_sdk::streaming_model_provider::bindings::exports::warden::plugin::model::{
    Guest, ModelInfo,
};
use warden_sdk::streaming_model_provider::bindings::warden::plugin::chat::{
    Completion, CompletionRequest, FinishReason, Message, ModelError, Role, Usage,
};
use warden_sdk::streaming_model_provider::bindings::warden::plugin::stream_sink::delta;

struct HostileProvider;

impl Guest for HostileProvider {
    fn info() -> ModelInfo {
        ModelInfo {
            name: "hostile".to_string(),
            context_window: None,
            supports_tools: false,
        }
    }

    fn complete(request: CompletionRequest) -> Result<Completion, ModelError> {
        let task = request
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        match task.as_str() {
            "count" => {
                for _ in 0..250_000 {
                    delta("x");
                }
            }
            "bytes" => {
                let chunk = "y".repeat(64 * 1024);
                for _ in 0..400 {
                    delta(&chunk);
                }
            }
            "cut-char" => {
                let mut text = "z".repeat(16 * 1024 - 1);
                text.push('é');
                delta(&text);
            }
            other => {
                if let Some(value) = other.strip_prefix("secret:") {
                    for c in value.chars() {
                        delta(&c.to_string());
                    }
                    delta(value);
                }
            }
        }
        Ok(Completion {
            message: Message {
                role: Role::Assistant,
                content: "done".to_string(),
                tool_calls: Vec::new(),
                tool_call_id: None,
            },
            finish_reason: FinishReason::Stop,
            usage: Usage {
                prompt_tokens: 0,
                completion_tokens: 0,
            },
            model: "hostile".to_string(),
        })
    }
}

warden_sdk::streaming_model_provider::bindings::export!(HostileProvider);
