//! Tool calls a model wrote as JSON in its text instead of as native tool
//! calls, as models without native tool calling do behind llama.cpp's
//! server and Ollama: a bare object, a list, ```json fences, or Hermes/Qwen
//! `<tool_call>…</tool_call>` tags.

use chat_wire::{ToolCall, ToolSpec};
use serde_json::Value;

/// The tool calls `content` consists of, when all of it is tool calls of
/// `offered` tools; empty otherwise (ordinary text is never mistaken for a
/// call: every piece must parse and name an offered tool).
pub fn tool_calls_in_content(content: &str, offered: &[ToolSpec], turn: u32) -> Vec<ToolCall> {
    let text = content.trim();
    if text.is_empty() {
        return Vec::new();
    }
    let pieces: Vec<&str> = if text.contains("<tool_call>") {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("<tool_call>") {
            if !rest[..start].trim().is_empty() {
                return Vec::new();
            }
            let after = &rest[start + "<tool_call>".len()..];
            let Some(end) = after.find("</tool_call>") else {
                return Vec::new();
            };
            pieces.push(after[..end].trim());
            rest = &after[end + "</tool_call>".len()..];
        }
        if !rest.trim().is_empty() {
            return Vec::new();
        }
        pieces
    } else {
        vec![strip_fence(text)]
    };
    let mut calls = Vec::new();
    for piece in pieces {
        let Ok(value) = serde_json::from_str::<Value>(piece) else {
            return Vec::new();
        };
        let items = match value {
            Value::Array(items) => items,
            Value::Object(ref o) if o.contains_key("tool_calls") => match o.get("tool_calls") {
                Some(Value::Array(items)) => items.clone(),
                _ => return Vec::new(),
            },
            other => vec![other],
        };
        for item in items {
            let Some(call) = call_of(&item, offered, turn, calls.len()) else {
                return Vec::new();
            };
            calls.push(call);
        }
    }
    calls
}

/// The JSON inside ```json … ``` (or ``` … ```), else `text`.
fn strip_fence(text: &str) -> &str {
    let Some(inner) = text.strip_prefix("```") else {
        return text;
    };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

/// One call: `{"name", "arguments"|"parameters"}`, or the OpenAI shape
/// `{"function": {"name", "arguments"}}`.
fn call_of(item: &Value, offered: &[ToolSpec], turn: u32, index: usize) -> Option<ToolCall> {
    let function = item
        .get("function")
        .filter(|f| f.is_object())
        .unwrap_or(item);
    let name = function.get("name")?.as_str()?;
    if !offered.iter().any(|t| t.name == name) {
        return None;
    }
    let arguments = match function
        .get("arguments")
        .or_else(|| function.get("parameters"))
    {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(s)) => {
            // Arguments as JSON text must still be an object.
            serde_json::from_str::<Value>(s)
                .ok()
                .filter(Value::is_object)?;
            s.clone()
        }
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(_) => return None,
    };
    Some(ToolCall {
        id: format!("content-call-{turn}-{index}"),
        name: name.to_string(),
        arguments,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn offered() -> Vec<ToolSpec> {
        ["read_file", "grep"]
            .iter()
            .map(|n| ToolSpec {
                name: n.to_string(),
                description: String::new(),
                input_schema: "{}".into(),
            })
            .collect()
    }

    fn names(calls: &[ToolCall]) -> Vec<(&str, &str)> {
        calls
            .iter()
            .map(|c| (c.name.as_str(), c.arguments.as_str()))
            .collect()
    }

    #[test]
    fn the_shapes_local_models_write_become_calls() {
        let o = offered();
        for text in [
            r#"{"name": "read_file", "arguments": {"path": "/a"}}"#,
            r#"{"name": "read_file", "parameters": {"path": "/a"}}"#,
            "```json\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"/a\"}}\n```",
            r#"<tool_call>{"name": "read_file", "arguments": {"path": "/a"}}</tool_call>"#,
            r#"{"tool_calls": [{"function": {"name": "read_file", "arguments": "{\"path\": \"/a\"}"}}]}"#,
        ] {
            let calls = tool_calls_in_content(text, &o, 3);
            assert_eq!(calls.len(), 1, "{text}");
            assert_eq!(calls[0].name, "read_file", "{text}");
            let args: Value = serde_json::from_str(&calls[0].arguments).unwrap();
            assert_eq!(args["path"], "/a", "{text}");
            assert_eq!(calls[0].id, "content-call-3-0");
        }
        let two = tool_calls_in_content(
            "<tool_call>{\"name\": \"grep\", \"arguments\": {}}</tool_call>\n<tool_call>{\"name\": \"read_file\"}</tool_call>",
            &o,
            1,
        );
        assert_eq!(names(&two), [("grep", "{}"), ("read_file", "{}")]);
    }

    #[test]
    fn ordinary_text_and_unknown_tools_are_not_calls() {
        let o = offered();
        for text in [
            "The file says hello.",
            r#"{"name": "rm_rf", "arguments": {}}"#,
            r#"{"answer": 42}"#,
            r#"Here: {"name": "read_file", "arguments": {"path": "/a"}}"#,
            r#"{"name": "read_file", "arguments": "not json"}"#,
            r#"<tool_call>{"name": "read_file"}</tool_call> and then some prose"#,
            "",
        ] {
            assert!(tool_calls_in_content(text, &o, 1).is_empty(), "{text}");
        }
    }
}
