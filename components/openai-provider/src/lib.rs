//! warden's `openai-provider` component: the `model-provider` world over any
//! OpenAI-compatible chat-completions API (llama.cpp's server, Ollama, vLLM,
//! hosted APIs), with tool calling. Replies are streamed (`"stream": true`):
//! each piece of text goes to the host through `stream-sink` as it arrives
//! (the `streaming-model-provider` world), and the assembled message is the
//! completion; a server that ignores `stream` and answers with one JSON
//! document is read as before.
//!
//! Configuration comes from the environment the host grants:
//!
//! | Variable | Meaning |
//! |---|---|
//! | `WARDEN_MODEL_ENDPOINT` | required: the API's base URL, e.g. `http://127.0.0.1:8080/v1` (`/chat/completions` is appended) |
//! | `WARDEN_MODEL` | the default model name; a request's `model` overrides it; without either the server picks |
//! | `WARDEN_MODEL_CONTEXT_WINDOW` | optional: the context window in tokens, reported by `info` |
//!
//! The provider never sees an API key: for a granted secret the host injects
//! the `Authorization` header into requests to the endpoint's host. The
//! endpoint's host must be granted (`--allow-host`); a refused connection is
//! a typed `denied` error naming it.
//!
//! The request/reply mapping and the error classification live in the
//! `chat-wire` crate, tested on the host; this crate converts the bindings
//! and does the HTTP.

mod convert;
mod http;

use chat_wire::{
    CONTEXT_WINDOW_VAR, ENDPOINT_VAR, Endpoint, MODEL_VAR, ModelError, decode_response,
    encode_request, encode_streaming_request,
};
use warden_sdk::streaming_model_provider::bindings::exports::warden::plugin::model::{
    Guest, ModelInfo,
};
use warden_sdk::streaming_model_provider::bindings::warden::plugin::chat;
use warden_sdk::streaming_model_provider::bindings::warden::plugin::log::{Level, log};
use warden_sdk::streaming_model_provider::bindings::warden::plugin::stream_sink;

/// The component.
struct Provider;

impl Guest for Provider {
    fn info() -> ModelInfo {
        ModelInfo {
            name: env(MODEL_VAR)
                .ok()
                .flatten()
                .unwrap_or_else(|| "server-default".to_string()),
            context_window: env(CONTEXT_WINDOW_VAR)
                .ok()
                .flatten()
                .and_then(|v| v.trim().parse().ok()),
            supports_tools: true,
        }
    }

    fn complete(request: chat::CompletionRequest) -> Result<chat::Completion, chat::ModelError> {
        complete(convert::request(request))
            .map(convert::completion)
            .map_err(|e| {
                log(Level::Warn, &format!("completion failed: {e}"));
                convert::error(e)
            })
    }
}

/// One completion, in plain types.
fn complete(request: chat_wire::CompletionRequest) -> Result<chat_wire::Completion, ModelError> {
    let endpoint = Endpoint::from_env_value(env_raw(ENDPOINT_VAR)?.as_deref())?;
    let default_model = env(MODEL_VAR)?;
    let body = encode_streaming_request(&request, default_model.as_deref())?;
    let model = request
        .model
        .clone()
        .filter(|m| !m.trim().is_empty())
        .or(default_model.clone())
        .unwrap_or_else(|| "server-default".to_string());
    log(
        Level::Debug,
        &format!(
            "POST {} ({} bytes: {} messages, {} tools, model {model})",
            endpoint.url,
            body.len(),
            request.messages.len(),
            request.tools.len()
        ),
    );
    let mut deltas = 0u32;
    let mut on_text = |text: &str| {
        deltas = deltas.saturating_add(1);
        stream_sink::delta(text);
    };
    let reply = match http::post_streaming(&endpoint, &body, &model, &mut on_text)? {
        http::Streamed::Completion(completion) => {
            log(
                Level::Debug,
                &format!(
                    "{} streamed the completion ({deltas} text deltas)",
                    endpoint.url
                ),
            );
            return Ok(completion);
        }
        http::Streamed::Reply(reply) => reply,
        http::Streamed::Nothing(bytes) => {
            // The server opened a stream and closed it before its first
            // event: it could not stream this request (llama-cpp-python
            // cannot stream tool calls, and reports errors such as a
            // context overflow only by closing the stream). Asked again
            // without streaming, it answers or says what is wrong.
            log(
                Level::Info,
                &format!(
                    "{} closed its stream before the first event ({bytes} bytes); asking again without streaming",
                    endpoint.url
                ),
            );
            let body = encode_request(&request, default_model.as_deref())?;
            http::post_json(&endpoint, &body)?
        }
    };
    log(
        Level::Debug,
        &format!(
            "{} answered {} ({} bytes, not streamed)",
            endpoint.url,
            reply.status,
            reply.body.len()
        ),
    );
    decode_response(
        &endpoint.url,
        reply.status,
        reply.retry_after.as_deref(),
        &reply.body,
        &model,
    )
}

/// A granted environment variable: `None` when unset or empty.
fn env(name: &str) -> Result<Option<String>, ModelError> {
    Ok(env_raw(name)?.filter(|v| !v.trim().is_empty()))
}

/// A granted environment variable as it is: `None` only when unset.
fn env_raw(name: &str) -> Result<Option<String>, ModelError> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ModelError::InvalidRequest(format!(
            "{name} is not valid UTF-8"
        ))),
    }
}

warden_sdk::streaming_model_provider::bindings::export!(Provider);
