//! [`CompletionRequest`] → the JSON body of `POST /v1/chat/completions`.

use serde::Serialize;
use serde_json::{Value, json};

use crate::types::{CompletionRequest, Message, ModelError, Role, ToolChoice};

/// The request body. Fields the request leaves unset are left out, so the
/// backend applies its own defaults.
#[derive(Serialize)]
struct WireRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    stream: bool,
    /// Sent with `stream`: asks for the usage in a last chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<Value>,
}

/// One message. `content` is always a string (empty for an assistant
/// message that only calls tools).
#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    /// The arguments as a JSON *string*, as the API wants them.
    arguments: &'a str,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: Value,
}

/// Serialises `request` as the body of a chat-completions call.
///
/// `default_model` (from `WARDEN_MODEL`) is used when the request names no
/// model; with neither, `model` is left out and the server uses the model it
/// serves (llama.cpp, a single-model vLLM). Tools are sent as
/// `{"type":"function","function":{name,description,parameters}}`;
/// with tools, `tool_choice` is always sent, `auto` included: it is the
/// OpenAI API's default, but llama.cpp's Python server
/// (`llama-cpp-python`, `chatml-function-calling`) ignores the tools of a
/// request that leaves it out. No `tool_choice` is sent without tools.
pub fn encode_request(
    request: &CompletionRequest,
    default_model: Option<&str>,
) -> Result<Vec<u8>, ModelError> {
    encode(request, default_model, false)
}

/// [`encode_request`] for a streamed reply: `"stream": true`, and
/// `"stream_options": {"include_usage": true}` so servers that can send the
/// usage in a last chunk do (read with [`crate::StreamAssembler`]).
pub fn encode_streaming_request(
    request: &CompletionRequest,
    default_model: Option<&str>,
) -> Result<Vec<u8>, ModelError> {
    encode(request, default_model, true)
}

fn encode(
    request: &CompletionRequest,
    default_model: Option<&str>,
    stream: bool,
) -> Result<Vec<u8>, ModelError> {
    let model = request
        .model
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .or(default_model.filter(|m| !m.trim().is_empty()));

    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| wire_message(i, m))
        .collect::<Result<Vec<_>, _>>()?;

    let tools = request
        .tools
        .iter()
        .map(|t| {
            Ok(WireTool {
                kind: "function",
                function: WireFunction {
                    name: &t.name,
                    description: &t.description,
                    parameters: tool_parameters(&t.name, &t.input_schema)?,
                },
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;

    let tool_choice = match (&request.tool_choice, tools.is_empty()) {
        (ToolChoice::Auto | ToolChoice::None, true) => None,
        (ToolChoice::Auto, false) => Some(json!("auto")),
        (ToolChoice::None, false) => Some(json!("none")),
        (ToolChoice::Required, false) => Some(json!("required")),
        (ToolChoice::Named(name), false) => {
            if !request.tools.iter().any(|t| &t.name == name) {
                return Err(ModelError::InvalidRequest(format!(
                    "tool-choice names the tool `{name}`, which is not among the offered tools"
                )));
            }
            Some(json!({"type": "function", "function": {"name": name}}))
        }
        (ToolChoice::Required | ToolChoice::Named(_), true) => {
            return Err(ModelError::InvalidRequest(
                "tool-choice requires a tool call, but the request offers no tools".to_string(),
            ));
        }
    };

    let sampling = &request.sampling;
    let body = WireRequest {
        model,
        messages,
        tools,
        tool_choice,
        temperature: float("temperature", sampling.temperature)?,
        top_p: float("top-p", sampling.top_p)?,
        max_tokens: sampling.max_tokens,
        stop: sampling.stop.iter().map(String::as_str).collect(),
        seed: sampling.seed,
        stream,
        stream_options: stream.then(|| json!({"include_usage": true})),
    };
    serde_json::to_vec(&body).map_err(|e| {
        ModelError::InvalidRequest(format!("the request could not be encoded as JSON: {e}"))
    })
}

/// Maps message `index` to the wire.
fn wire_message(index: usize, message: &Message) -> Result<WireMessage<'_>, ModelError> {
    let tool_call_id = match (message.role, message.tool_call_id.as_deref()) {
        (Role::Tool, None | Some("")) => {
            return Err(ModelError::InvalidRequest(format!(
                "message {index} has the role `tool` but no tool-call-id naming the call it answers"
            )));
        }
        (Role::Tool, Some(id)) => Some(id),
        // A call id is meaningless on other roles; servers refuse it.
        _ => None,
    };
    if !message.tool_calls.is_empty() && message.role != Role::Assistant {
        return Err(ModelError::InvalidRequest(format!(
            "message {index} has the role `{}` but carries tool calls; only assistant messages may",
            message.role.as_str()
        )));
    }
    let tool_calls = message
        .tool_calls
        .iter()
        .map(|c| WireToolCall {
            id: &c.id,
            kind: "function",
            function: WireFunctionCall {
                name: &c.name,
                arguments: if c.arguments.trim().is_empty() {
                    "{}"
                } else {
                    &c.arguments
                },
            },
        })
        .collect::<Vec<_>>();
    // An assistant message that only calls tools has empty content, not
    // `null`: the OpenAI API takes either, but llama.cpp's Python server
    // refuses `null` (a validation error, answered as a 500).
    let content = Some(message.content.as_str());
    Ok(WireMessage {
        role: message.role.as_str(),
        content,
        tool_calls,
        tool_call_id,
    })
}

/// A tool's `input-schema` as the `parameters` object. An empty schema means
/// "no arguments".
fn tool_parameters(name: &str, schema: &str) -> Result<Value, ModelError> {
    if schema.trim().is_empty() {
        return Ok(json!({"type": "object", "properties": {}}));
    }
    match serde_json::from_str::<Value>(schema) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ModelError::InvalidRequest(format!(
            "the input schema of the tool `{name}` is not a JSON object"
        ))),
        Err(e) => Err(ModelError::InvalidRequest(format!(
            "the input schema of the tool `{name}` is not valid JSON: {e}"
        ))),
    }
}

/// A sampling value as the shortest decimal that reads back as the same
/// `f32` (`0.7`, not `0.699999988079071`); non-finite values are refused.
fn float(name: &str, value: Option<f32>) -> Result<Option<f64>, ModelError> {
    match value {
        None => Ok(None),
        Some(v) if !v.is_finite() => Err(ModelError::InvalidRequest(format!(
            "the sampling option {name} is {v}; it must be a finite number"
        ))),
        Some(v) => Ok(Some(v.to_string().parse::<f64>().unwrap_or(f64::from(v)))),
    }
}

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::types::{Sampling, ToolCall, ToolSpec};

    fn encode(request: &CompletionRequest, default_model: Option<&str>) -> Value {
        match encode_request(request, default_model) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(e) => panic!("{e}"),
        }
    }

    fn invalid(request: &CompletionRequest) -> String {
        match encode_request(request, None) {
            Err(ModelError::InvalidRequest(m)) => m,
            other => panic!("expected invalid-request, got {other:?}"),
        }
    }

    fn tool(name: &str) -> ToolSpec {
        ToolSpec {
            name: name.to_string(),
            description: format!("The {name} tool."),
            input_schema:
                r#"{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}"#
                    .to_string(),
        }
    }

    #[test]
    fn a_full_conversation_maps_field_for_field() {
        let request = CompletionRequest {
            model: None,
            messages: vec![
                Message::text(Role::System, "Be brief."),
                Message::text(Role::User, "Read a.txt"),
                Message {
                    role: Role::Assistant,
                    content: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "call_1".into(),
                        name: "read_file".into(),
                        arguments: r#"{"path":"a.txt"}"#.into(),
                    }],
                    tool_call_id: None,
                },
                Message::tool_result("call_1", "hello"),
            ],
            tools: vec![tool("read_file")],
            tool_choice: ToolChoice::Required,
            sampling: Sampling {
                temperature: Some(0.7),
                top_p: Some(0.9),
                max_tokens: Some(256),
                stop: vec!["\n\n".into()],
                seed: Some(42),
            },
        };
        let body = encode(&request, Some("qwen2.5"));
        assert_eq!(
            body,
            json!({
                "model": "qwen2.5",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Read a.txt"},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"id": "call_1", "type": "function",
                         "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}}
                    ]},
                    {"role": "tool", "content": "hello", "tool_call_id": "call_1"}
                ],
                "tools": [{"type": "function", "function": {
                    "name": "read_file",
                    "description": "The read_file tool.",
                    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
                }}],
                "tool_choice": "required",
                "temperature": 0.7,
                "top_p": 0.9,
                "max_tokens": 256,
                "stop": ["\n\n"],
                "seed": 42,
                "stream": false
            })
        );
    }

    #[test]
    fn the_requests_model_overrides_the_default_and_none_leaves_it_out() {
        let mut request = CompletionRequest {
            model: Some("llama3".into()),
            messages: vec![Message::text(Role::User, "hi")],
            ..CompletionRequest::default()
        };
        assert_eq!(encode(&request, Some("qwen"))["model"], "llama3");
        request.model = None;
        assert_eq!(encode(&request, Some("qwen"))["model"], "qwen");
        let body = encode(&request, None);
        assert!(body.get("model").is_none());
        // Unset sampling options and tools are left out; stream is always false.
        assert_eq!(
            body,
            json!({"messages": [{"role": "user", "content": "hi"}], "stream": false})
        );
    }

    #[test]
    fn tool_choice_variants() {
        let mut request = CompletionRequest {
            messages: vec![Message::text(Role::User, "hi")],
            tools: vec![tool("a"), tool("b")],
            ..CompletionRequest::default()
        };
        assert_eq!(encode(&request, None)["tool_choice"], "auto");
        request.tool_choice = ToolChoice::None;
        assert_eq!(encode(&request, None)["tool_choice"], "none");
        request.tool_choice = ToolChoice::Named("b".into());
        assert_eq!(
            encode(&request, None)["tool_choice"],
            json!({"type": "function", "function": {"name": "b"}})
        );
        request.tool_choice = ToolChoice::Named("c".into());
        assert!(invalid(&request).contains("`c`"));
        request.tools.clear();
        assert!(invalid(&request).contains("no tools"));
        request.tool_choice = ToolChoice::None;
        assert!(encode(&request, None).get("tool_choice").is_none());
    }

    #[test]
    fn malformed_requests_are_refused_with_the_reason() {
        let mut request = CompletionRequest {
            messages: vec![Message::text(Role::Tool, "result")],
            ..CompletionRequest::default()
        };
        assert!(invalid(&request).contains("tool-call-id"));
        request.messages = vec![Message::text(Role::User, "x")];
        request.tools = vec![ToolSpec {
            input_schema: "{not json".into(),
            ..tool("broken")
        }];
        assert!(invalid(&request).contains("`broken`"));
        request.tools.clear();
        request.sampling.temperature = Some(f32::NAN);
        assert!(invalid(&request).contains("temperature"));
    }

    #[test]
    fn empty_arguments_and_schemas_become_empty_objects() {
        let request = CompletionRequest {
            messages: vec![Message {
                role: Role::Assistant,
                content: "checking".into(),
                tool_calls: vec![ToolCall {
                    id: "c".into(),
                    name: "now".into(),
                    arguments: String::new(),
                }],
                tool_call_id: None,
            }],
            tools: vec![ToolSpec {
                input_schema: String::new(),
                ..tool("now")
            }],
            ..CompletionRequest::default()
        };
        let body = encode(&request, None);
        assert_eq!(body["messages"][0]["content"], "checking");
        assert_eq!(
            body["messages"][0]["tool_calls"][0]["function"]["arguments"],
            "{}"
        );
        assert_eq!(body["tools"][0]["function"]["parameters"]["type"], "object");
    }

    #[test]
    fn a_streaming_request_asks_for_the_stream_and_its_usage() {
        let request = CompletionRequest {
            messages: vec![Message::text(Role::User, "hi")],
            ..CompletionRequest::default()
        };
        let body: Value =
            serde_json::from_slice(&encode_streaming_request(&request, None).unwrap()).unwrap();
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
        let plain: Value =
            serde_json::from_slice(&encode_request(&request, None).unwrap()).unwrap();
        assert_eq!(plain["stream"], false);
        assert!(plain.get("stream_options").is_none());
    }
}
