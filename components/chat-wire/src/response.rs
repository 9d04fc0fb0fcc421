//! The reply of `POST /v1/chat/completions` → [`Completion`] or a typed
//! [`ModelError`] that says what failed and at which URL.
//!
//! Parsing is lenient about what servers legitimately vary (`content: null`
//! next to tool calls, a missing `usage`, missing call ids, extra fields,
//! arguments sent as an object instead of a string) and strict about what
//! makes the reply unusable (no `choices`, a tool call without a name,
//! arguments that are not a JSON object). Nothing a server sends can panic.

use serde::Deserialize;
use serde_json::Value;

use crate::types::{
    Capability, Completion, Denial, FinishReason, Message, ModelError, Role, ToolCall, Usage,
};

/// The largest reply body the provider reads: 8 MiB.
pub const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

/// How much of a server's error text is quoted in a message.
const SNIPPET_CHARS: usize = 300;

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    choices: Option<Vec<WireChoice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    /// A string, `null`, or (some servers) an array of `{"type":"text","text":…}` parts.
    #[serde(default)]
    content: Value,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
    /// The legacy single `function_call`, still sent by some servers.
    #[serde(default)]
    function_call: Option<WireFunction>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    /// A JSON string per the API; some servers send the object itself.
    #[serde(default)]
    arguments: Value,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Value,
    #[serde(default)]
    completion_tokens: Value,
}

/// Decodes a reply with HTTP `status` from `url`.
///
/// `retry_after` is the `Retry-After` header, if any; `fallback_model` names
/// the model when the reply does not (the requested or default model).
pub fn decode_response(
    url: &str,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    fallback_model: &str,
) -> Result<Completion, ModelError> {
    if (200..300).contains(&status) {
        decode_completion(url, body, fallback_model)
    } else {
        Err(status_error(url, status, retry_after, body))
    }
}

/// Classifies a non-2xx reply.
///
/// - 400, 404, 422 and other 4xx → `invalid-request`, or `context-overflow`
///   when the server's message says the prompt is too long (also for 413);
/// - 401, 403, 407 → `denied` (capability `secret`: the endpoint wants
///   credentials the host injects for a granted secret);
/// - 429 → `rate-limited` with the `Retry-After` seconds;
/// - 408 and 5xx → `unavailable`;
/// - anything else (1xx, 3xx) → `bad-response`.
pub fn status_error(url: &str, status: u16, retry_after: Option<&str>, body: &[u8]) -> ModelError {
    let detail = error_detail(body);
    let answered = format!("{url} answered {status}{}", reason_phrase(status));
    let with_detail = match &detail {
        Some(d) => format!("{answered}: {}", d.message),
        None => answered.clone(),
    };
    match status {
        429 => ModelError::RateLimited(retry_after.and_then(parse_retry_after)),
        401 | 403 | 407 => ModelError::Denied(Denial {
            capability: Capability::Secret,
            target: host_of(url),
            reason: format!(
                "{with_detail}; the endpoint wants credentials: grant the provider a secret for this host (--secret NAME@HOST), which the host injects as the Authorization header"
            ),
        }),
        408 | 500..=599 => ModelError::Unavailable(with_detail),
        400..=499 => {
            if status == 413 || detail.as_ref().is_some_and(|d| d.is_context_overflow()) {
                ModelError::ContextOverflow(with_detail)
            } else if status == 404 {
                ModelError::InvalidRequest(format!(
                    "{with_detail}; check the endpoint URL (it should be the API's base, e.g. http://127.0.0.1:8080/v1) and the model name"
                ))
            } else {
                ModelError::InvalidRequest(with_detail)
            }
        }
        _ => ModelError::BadResponse(format!("{with_detail}, which is not a completion")),
    }
}

/// Decodes the body of a 2xx reply from `url`.
pub fn decode_completion(
    url: &str,
    body: &[u8],
    fallback_model: &str,
) -> Result<Completion, ModelError> {
    let bad = |what: String| ModelError::BadResponse(format!("the reply from {url} {what}"));
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("has an empty body".to_string()));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        if e.is_eof() {
            bad(format!(
                "is truncated: its JSON ends unfinished after {} bytes ({e})",
                body.len()
            ))
        } else if body.trim_ascii_start().starts_with(b"<") {
            bad("is not JSON but looks like HTML; is the endpoint the API's base URL (e.g. http://127.0.0.1:8080/v1)?".to_string())
        } else {
            bad(format!("is not valid JSON: {e}"))
        }
    })?;
    let reply: WireResponse =
        serde_json::from_value(value).map_err(|e| bad(format!("is not a chat completion: {e}")))?;

    let Some(mut choices) = reply.choices else {
        if let Some(error) = reply.error {
            let detail = detail_of(&error);
            return Err(if detail.is_context_overflow() {
                ModelError::ContextOverflow(format!("{url} reported: {}", detail.message))
            } else {
                bad(format!("reports an error: {}", detail.message))
            });
        }
        return Err(bad("has no `choices`".to_string()));
    };
    if choices.is_empty() {
        return Err(bad("has an empty `choices` list".to_string()));
    }
    let choice = choices.swap_remove(0);
    let Some(message) = choice.message else {
        return Err(bad("has no `message` in its first choice".to_string()));
    };

    let mut content = text_content(&message.content)
        .ok_or_else(|| bad("has a `content` that is neither text nor null".to_string()))?;
    if content.is_empty()
        && let Some(refusal) = message.refusal
    {
        content = refusal;
    }

    let mut wire_calls = message.tool_calls.unwrap_or_default();
    if wire_calls.is_empty()
        && let Some(function) = message.function_call
    {
        wire_calls.push(WireToolCall {
            id: None,
            function: Some(function),
        });
    }
    let mut tool_calls: Vec<ToolCall> = Vec::with_capacity(wire_calls.len());
    for (index, call) in wire_calls.into_iter().enumerate() {
        let mut call = tool_call(url, index, call)?;
        // The planner answers each call by id, so ids must be distinct.
        if tool_calls.iter().any(|c| c.id == call.id) {
            call.id = format!("{}_{index}", call.id);
        }
        tool_calls.push(call);
    }

    let finish_reason = finish_reason(choice.finish_reason.as_deref(), !tool_calls.is_empty());
    let usage = reply
        .usage
        .map(|u| Usage {
            prompt_tokens: token_count(&u.prompt_tokens),
            completion_tokens: token_count(&u.completion_tokens),
        })
        .unwrap_or_default();
    let model = reply
        .model
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| fallback_model.to_string());

    Ok(Completion {
        message: Message {
            role: Role::Assistant,
            content,
            tool_calls,
            tool_call_id: None,
        },
        finish_reason,
        usage,
        model,
    })
}

/// The error for a reply body longer than `limit` bytes.
pub fn too_large(url: &str, limit: u64) -> ModelError {
    ModelError::BadResponse(format!(
        "the reply from {url} is larger than {} MiB; a chat completion never needs that much",
        limit / (1024 * 1024)
    ))
}

/// The error for a reply whose body broke off after `received` bytes
/// (the connection failed while reading): `unavailable`, so it is retried.
pub fn body_interrupted(url: &str, received: usize, cause: &str) -> ModelError {
    ModelError::Unavailable(format!(
        "reading the reply from {url} failed after {received} bytes: {cause}"
    ))
}

/// Tool call `index` of the reply.
fn tool_call(url: &str, index: usize, call: WireToolCall) -> Result<ToolCall, ModelError> {
    let bad = |what: String| {
        ModelError::BadResponse(format!("tool call {index} in the reply from {url} {what}"))
    };
    let function = call
        .function
        .ok_or_else(|| bad("has no `function`".to_string()))?;
    let name = function
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("has no function name".to_string()))?;
    let id = call
        .id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("call_{index}"));
    let arguments = match function.arguments {
        Value::Null => "{}".to_string(),
        Value::String(s) if s.trim().is_empty() => "{}".to_string(),
        Value::String(s) => match serde_json::from_str::<Value>(&s)
            .map(|v| (v, s.clone()))
            .or_else(|e| {
                // Local models (and llama.cpp's JSON grammar) put raw
                // newlines, tabs and other control characters inside
                // strings; escaped, the arguments mean what was meant.
                let escaped = escape_controls_in_strings(&s);
                serde_json::from_str::<Value>(&escaped)
                    .map(|v| (v, escaped))
                    .map_err(|_| e)
            }) {
            Ok((Value::Object(_), text)) => text,
            Ok(_) => {
                return Err(bad(format!(
                    "(`{name}`, id `{id}`) has arguments that are JSON but not an object: {}",
                    snippet(&s)
                )));
            }
            Err(e) => {
                return Err(bad(format!(
                    "(`{name}`, id `{id}`) has arguments that are not valid JSON ({e}): {}",
                    snippet(&s)
                )));
            }
        },
        Value::Object(map) => Value::Object(map).to_string(),
        other => {
            return Err(bad(format!(
                "(`{name}`, id `{id}`) has arguments that are neither a JSON string nor an object: {}",
                snippet(&other.to_string())
            )));
        }
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

/// `json` with every control character (U+0000–U+001F) inside a string
/// written as a `\u00XX` escape; everything else as it is.
fn escape_controls_in_strings(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string && !escaped && u32::from(c) < 0x20 {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
            continue;
        }
        out.push(c);
        if escaped {
            escaped = false;
        } else if in_string && c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_string = !in_string;
        }
    }
    out
}

/// Maps `finish_reason`. A reply with tool calls that says `stop`, says
/// nothing or uses a server-specific word counts as `tool-calls`, which is
/// what the caller acts on; an unknown word without tool calls as `stop`.
fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match reason {
        Some("length") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
        _ if has_tool_calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// The text of a message's `content`; `None` when it has another shape.
fn text_content(content: &Value) -> Option<String> {
    match content {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(s) => Some(s.as_str()),
                    other => other.get("text").and_then(Value::as_str),
                })
                .collect(),
        ),
        _ => None,
    }
}

/// A token count, saturating; anything that is not a non-negative number is 0.
fn token_count(value: &Value) -> u32 {
    match value.as_u64() {
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
        None => value
            .as_f64()
            .filter(|f| f.is_finite() && *f > 0.0)
            .map_or(0, |f| f.min(f64::from(u32::MAX)) as u32),
    }
}

/// `Retry-After` in seconds. An HTTP date is not interpreted.
fn parse_retry_after(value: &str) -> Option<u32> {
    let seconds = value.trim().parse::<u64>().ok()?;
    Some(u32::try_from(seconds).unwrap_or(u32::MAX))
}

/// The host of `url`, for a denial's target.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| url.to_string())
}

/// What a server said about an error.
struct Detail {
    /// The message, quoted and cut to a readable length.
    message: String,
    /// The message plus any `code` and `type`, lowercased, for classification.
    haystack: String,
}

impl Detail {
    /// Whether the error says the prompt does not fit the context window
    /// (the OpenAI `context_length_exceeded` code, llama.cpp's
    /// `exceed_context_size_error`, and the usual wordings).
    fn is_context_overflow(&self) -> bool {
        const MARKERS: &[&str] = &[
            "context_length_exceeded",
            "exceed_context_size",
            "context length",
            "context window",
            "context size",
            "maximum context",
            "too many tokens",
            "prompt is too long",
            "input is too long",
        ];
        MARKERS.iter().any(|m| self.haystack.contains(m))
    }
}

/// The error detail of a body, if it has any text.
fn error_detail(body: &[u8]) -> Option<Detail> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => Some(detail_of(&value)),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            (!text.is_empty()).then(|| Detail {
                message: snippet(text),
                haystack: text.to_lowercase(),
            })
        }
    }
}

/// The detail of a JSON error: `{"error":{"message","type","code"}}` (OpenAI,
/// llama.cpp), `{"error":"…"}` (Ollama), `{"message":…}` (vLLM),
/// `{"detail":…}` (FastAPI servers), or the JSON itself.
fn detail_of(value: &Value) -> Detail {
    let error = value.get("error").unwrap_or(value);
    let message = match error {
        Value::String(s) => s.clone(),
        _ => ["message", "detail", "error"]
            .iter()
            .find_map(|k| match error.get(k) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            })
            .or_else(|| {
                ["message", "detail"]
                    .iter()
                    .find_map(|k| value.get(k).and_then(Value::as_str).map(str::to_string))
            })
            .unwrap_or_else(|| value.to_string()),
    };
    let mut haystack = message.to_lowercase();
    for key in ["code", "type"] {
        if let Some(v) = error.get(key) {
            haystack.push(' ');
            haystack.push_str(&v.to_string().to_lowercase());
        }
    }
    Detail {
        message: snippet(&message),
        haystack,
    }
}

/// `text` on one line, cut to [`SNIPPET_CHARS`] characters.
fn snippet(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= SNIPPET_CHARS {
        one_line
    } else {
        let cut: String = one_line.chars().take(SNIPPET_CHARS).collect();
        format!("{cut}…")
    }
}

/// The standard reason phrase of common statuses, with a leading space.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => " Bad Request",
        401 => " Unauthorized",
        403 => " Forbidden",
        404 => " Not Found",
        407 => " Proxy Authentication Required",
        408 => " Request Timeout",
        413 => " Payload Too Large",
        422 => " Unprocessable Entity",
        429 => " Too Many Requests",
        500 => " Internal Server Error",
        502 => " Bad Gateway",
        503 => " Service Unavailable",
        504 => " Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "http://127.0.0.1:8080/v1/chat/completions";

    fn ok(body: Value) -> Completion {
        match decode_response(URL, 200, None, body.to_string().as_bytes(), "fallback") {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn bad(body: &[u8]) -> String {
        match decode_response(URL, 200, None, body, "fallback") {
            Err(ModelError::BadResponse(m)) => {
                assert!(m.contains(URL), "the message does not name the URL: {m}");
                m
            }
            other => panic!("expected bad-response, got {other:?}"),
        }
    }

    fn status(code: u16, retry_after: Option<&str>, body: &str) -> ModelError {
        match decode_response(URL, code, retry_after, body.as_bytes(), "fallback") {
            Err(e) => e,
            Ok(c) => panic!("a {code} was accepted: {c:?}"),
        }
    }

    #[test]
    fn a_plain_answer() {
        let c = ok(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
            "model": "qwen2.5-7b",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."},
                         "finish_reason": "stop", "logprobs": null}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
            "system_fingerprint": "x"
        }));
        assert_eq!(c.message, Message::text(Role::Assistant, "Hello."));
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(
            c.usage,
            Usage {
                prompt_tokens: 12,
                completion_tokens: 3
            }
        );
        assert_eq!(c.model, "qwen2.5-7b");
    }

    #[test]
    fn tool_calls_with_null_content_and_no_usage() {
        let c = ok(json!({
            "choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function",
                 "function": {"name": "read_file", "arguments": "{\"path\": \"/repo/a.txt\"}"}},
                {"id": "call_b", "type": "function",
                 "function": {"name": "list_dir", "arguments": "{}"}}
            ]}, "finish_reason": "tool_calls"}]
        }));
        assert_eq!(c.message.content, "");
        assert_eq!(
            c.message.tool_calls,
            vec![
                ToolCall {
                    id: "call_a".into(),
                    name: "read_file".into(),
                    arguments: "{\"path\": \"/repo/a.txt\"}".into()
                },
                ToolCall {
                    id: "call_b".into(),
                    name: "list_dir".into(),
                    arguments: "{}".into()
                },
            ]
        );
        assert_eq!(c.finish_reason, FinishReason::ToolCalls);
        assert_eq!(c.usage, Usage::default());
        assert_eq!(c.model, "fallback");
    }

    #[test]
    fn tool_calls_round_trip_through_the_request_encoder() {
        use crate::request::encode_request;
        use crate::types::CompletionRequest;
        let reply = ok(
            json!({"choices": [{"message": {"content": "", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "grep", "arguments": "{\"pattern\":\"TODO\"}"}}
            ]}}]}),
        );
        let request = CompletionRequest {
            messages: vec![
                reply.message.clone(),
                Message::tool_result("c1", "3 matches"),
            ],
            ..CompletionRequest::default()
        };
        let body: Value = serde_json::from_slice(&encode_request(&request, None).unwrap()).unwrap();
        let echoed = json!({"choices": [{"message": body["messages"][0].clone()}]});
        assert_eq!(ok(echoed).message, reply.message);
        assert_eq!(body["messages"][1]["tool_call_id"], "c1");
    }

    #[test]
    fn raw_control_characters_inside_argument_strings_are_escaped() {
        let c = ok(json!({
            "choices": [{"message": {"content": null, "tool_calls": [
                {"id": "a", "function": {"name": "write_file",
                 "arguments": "{\"path\": \"/w/x.py\", \"content\": \"def f():\n\treturn 1\u{11}\"}"}}
            ]}}]
        }));
        let args: Value = serde_json::from_str(&c.message.tool_calls[0].arguments).unwrap();
        assert_eq!(args["content"], "def f():\n\treturn 1\u{11}");
        assert_eq!(args["path"], "/w/x.py");
        // Outside strings nothing changes, nor do escapes already there.
        assert_eq!(escape_controls_in_strings("{\n\"a\": 1}"), "{\n\"a\": 1}");
        assert_eq!(
            escape_controls_in_strings(r#"{"a": "x\"\u0001"}"#),
            r#"{"a": "x\"\u0001"}"#
        );
    }

    #[test]
    fn odd_but_valid_replies() {
        // Arguments as an object, missing ids, `stop` with tool calls, extra fields.
        let c = ok(json!({
            "model": "",
            "choices": [{"message": {"content": "let me look", "reasoning_content": "hmm",
                "tool_calls": [
                    {"function": {"name": "a", "arguments": {"x": 1}}},
                    {"id": "", "function": {"name": "b", "arguments": ""}},
                    {"id": "dup", "function": {"name": "c"}},
                    {"id": "dup", "function": {"name": "d", "arguments": null}}
                ]}, "finish_reason": "stop", "extra": [1, 2]}],
            "usage": {"prompt_tokens": 5.0, "completion_tokens": null},
            "timings": {"predicted_ms": 1.5}
        }));
        let calls = &c.message.tool_calls;
        assert_eq!(calls[0].id, "call_0");
        assert_eq!(calls[0].arguments, r#"{"x":1}"#);
        assert_eq!(calls[1].id, "call_1");
        assert_eq!(calls[1].arguments, "{}");
        assert_eq!(calls[2].id, "dup");
        assert_eq!(calls[3].id, "dup_3");
        assert_eq!(calls[3].arguments, "{}");
        assert_eq!(c.message.content, "let me look");
        assert_eq!(c.finish_reason, FinishReason::ToolCalls);
        assert_eq!(c.usage.prompt_tokens, 5);
        assert_eq!(c.usage.completion_tokens, 0);
        assert_eq!(c.model, "fallback");

        // Content as parts, the legacy function_call, unknown finish reasons.
        let c = ok(json!({"choices": [{"message": {
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "function_call": {"name": "f", "arguments": "{\"k\":true}"}
        }, "finish_reason": "eos"}]}));
        assert_eq!(c.message.content, "ab");
        assert_eq!(c.message.tool_calls[0].name, "f");
        assert_eq!(c.finish_reason, FinishReason::ToolCalls);
        let c =
            ok(json!({"choices": [{"message": {"content": "x"}, "finish_reason": "end_turn"}]}));
        assert_eq!(c.finish_reason, FinishReason::Stop);
        let c = ok(json!({"choices": [{"message": {"content": "x"}, "finish_reason": "length"}]}));
        assert_eq!(c.finish_reason, FinishReason::Length);
        let c = ok(
            json!({"choices": [{"message": {"content": null, "refusal": "I can't."}, "finish_reason": "content_filter"}]}),
        );
        assert_eq!(c.message.content, "I can't.");
        assert_eq!(c.finish_reason, FinishReason::ContentFilter);
        // Huge counts saturate instead of failing.
        let c = ok(
            json!({"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": 99999999999u64, "completion_tokens": -1}}),
        );
        assert_eq!(c.usage.prompt_tokens, u32::MAX);
        assert_eq!(c.usage.completion_tokens, 0);
    }

    #[test]
    fn unusable_2xx_replies_are_bad_responses() {
        assert!(bad(b"").contains("empty body"));
        assert!(bad(b"{\"choices\": [{\"message\": {\"content\": \"hel").contains("truncated"));
        assert!(bad(b"{\"choices\": oops}").contains("not valid JSON"));
        assert!(bad(b"<html><body>502</body></html>").contains("HTML"));
        assert!(bad(b"{\"object\": \"chat.completion\"}").contains("no `choices`"));
        assert!(bad(b"{\"choices\": null}").contains("no `choices`"));
        assert!(bad(b"{\"choices\": []}").contains("empty `choices`"));
        assert!(bad(b"{\"choices\": \"yes\"}").contains("not a chat completion"));
        assert!(bad(b"{\"choices\": [{\"index\": 0}]}").contains("no `message`"));
        assert!(bad(b"{\"choices\": [{\"message\": {\"content\": 7}}]}").contains("content"));
        assert!(bad(b"[1, 2]").contains("not a chat completion"));
        assert!(bad(&[0xff, 0xfe, 0x00]).contains("not valid JSON"));
        assert!(bad(br#"{"error": {"message": "model crashed"}}"#).contains("model crashed"));
    }

    #[test]
    fn unusable_tool_calls_are_bad_responses() {
        let call = |function: Value| {
            json!({"choices": [{"message": {"tool_calls": [{"id": "c9", "function": function}]}}]})
                .to_string()
        };
        let m = bad(call(json!({"name": "grep", "arguments": "{\"pattern\": "})).as_bytes());
        assert!(
            m.contains("not valid JSON") && m.contains("`grep`") && m.contains("c9"),
            "{m}"
        );
        let m = bad(call(json!({"name": "grep", "arguments": "[1]"})).as_bytes());
        assert!(m.contains("not an object"), "{m}");
        let m = bad(call(json!({"name": "grep", "arguments": 5})).as_bytes());
        assert!(m.contains("neither"), "{m}");
        let m = bad(call(json!({"arguments": "{}"})).as_bytes());
        assert!(m.contains("no function name"), "{m}");
        let m = bad(br#"{"choices": [{"message": {"tool_calls": [{"id": "x"}]}}]}"#);
        assert!(m.contains("no `function`"), "{m}");
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        match status(
            500,
            None,
            r#"{"error": {"message": "CUDA out of memory", "type": "server_error"}}"#,
        ) {
            ModelError::Unavailable(m) => {
                assert!(
                    m.contains(URL) && m.contains("500") && m.contains("CUDA out of memory"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            status(503, Some("5"), ""),
            ModelError::Unavailable(_)
        ));
        assert!(matches!(status(408, None, ""), ModelError::Unavailable(_)));
        assert_eq!(
            status(429, Some(" 17 "), ""),
            ModelError::RateLimited(Some(17))
        );
        assert_eq!(
            status(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), ""),
            ModelError::RateLimited(None)
        );
        assert_eq!(
            status(429, None, "slow down"),
            ModelError::RateLimited(None)
        );
        match status(
            401,
            None,
            r#"{"error": {"message": "Incorrect API key provided"}}"#,
        ) {
            ModelError::Denied(d) => {
                assert_eq!(d.capability, Capability::Secret);
                assert_eq!(d.target, "127.0.0.1");
                assert!(d.reason.contains("--secret") && d.reason.contains("Incorrect API key"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(status(403, None, ""), ModelError::Denied(_)));
        match status(400, None, r#"{"error": "invalid message format"}"#) {
            ModelError::InvalidRequest(m) => assert!(m.contains("invalid message format"), "{m}"),
            other => panic!("{other:?}"),
        }
        match status(
            404,
            None,
            r#"{"error": {"message": "model \"llama9\" not found"}}"#,
        ) {
            ModelError::InvalidRequest(m) => {
                assert!(m.contains("llama9") && m.contains("base"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        match status(
            422,
            None,
            r#"{"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}"#,
        ) {
            ModelError::InvalidRequest(m) => assert!(m.contains("field required"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(status(302, None, ""), ModelError::BadResponse(_)));
        // A non-JSON error body is quoted, on one line and cut short.
        let long = format!("upstream\nfailure {}", "x".repeat(1000));
        match status(502, None, &long) {
            ModelError::Unavailable(m) => {
                assert!(
                    m.contains("upstream failure") && m.ends_with('…') && m.len() < 500,
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn context_overflow_is_recognised() {
        let cases = [
            (
                400,
                r#"{"error": {"message": "This model's maximum context length is 8192 tokens.", "code": "context_length_exceeded"}}"#,
            ),
            (
                400,
                r#"{"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it", "type": "exceed_context_size_error"}}"#,
            ),
            (
                400,
                r#"{"object": "error", "message": "prompt is too long", "code": 400}"#,
            ),
            (413, "request entity too large"),
        ];
        for (code, body) in cases {
            match status(code, None, body) {
                ModelError::ContextOverflow(m) => assert!(m.contains(URL), "{m}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        match decode_response(
            URL,
            200,
            None,
            br#"{"error": {"message": "context window exceeded"}}"#,
            "m",
        ) {
            Err(ModelError::ContextOverflow(_)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn size_and_interruption_errors() {
        match too_large(URL, MAX_RESPONSE_BYTES) {
            ModelError::BadResponse(m) => assert!(m.contains("8 MiB") && m.contains(URL)),
            other => panic!("{other:?}"),
        }
        let e = body_interrupted(URL, 1234, "connection reset");
        assert!(e.is_transient());
        assert!(e.to_string().contains("1234 bytes"));
    }
}
