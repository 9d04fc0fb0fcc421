//! The chat types of warden's `wit/chat.wit` as plain Rust values, and their
//! mapping to and from the OpenAI-compatible `POST /v1/chat/completions` wire
//! format that llama.cpp's server, Ollama, vLLM and hosted APIs speak.
//!
//! The `openai-provider` component converts between its generated bindings
//! and these types and does the HTTP; everything that can be decided without
//! a network — the request body, the reading of a reply, and which typed
//! [`ModelError`] each failure is — lives here and is tested on the host:
//!
//! ```
//! use chat_wire::{CompletionRequest, Message, Role, decode_response, encode_request};
//!
//! let request = CompletionRequest {
//!     messages: vec![Message::text(Role::User, "Say hi")],
//!     ..CompletionRequest::default()
//! };
//! let body = encode_request(&request, Some("qwen2.5")).unwrap();
//! assert!(body.starts_with(br#"{"model":"qwen2.5","messages":[{"role":"user","content":"Say hi"}]"#));
//!
//! let reply = br#"{"model":"qwen2.5","choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}"#;
//! let completion = decode_response("http://127.0.0.1:8080/v1/chat/completions", 200, None, reply, "qwen2.5").unwrap();
//! assert_eq!(completion.message.content, "hi");
//! ```

mod endpoint;
mod request;
mod response;
mod sse;
mod stream;
mod types;

pub use endpoint::{CONTEXT_WINDOW_VAR, ENDPOINT_VAR, Endpoint, MODEL_VAR};
pub use request::{encode_request, encode_streaming_request};
pub use response::{
    MAX_RESPONSE_BYTES, body_interrupted, decode_completion, decode_response, status_error,
    too_large,
};
pub use sse::{EventTooLarge, MAX_EVENT_BYTES, SseReader};
pub use stream::{MAX_STREAMED_TOOL_CALLS, StreamAssembler};
pub use types::{
    Capability, Completion, CompletionRequest, Denial, FinishReason, Message, ModelError, Role,
    Sampling, ToolCall, ToolChoice, ToolSpec, Usage,
};
