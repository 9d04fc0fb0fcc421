//! A streamed reply of `POST /v1/chat/completions` (`"stream": true`) →
//! the text deltas to show as they arrive, and at the end the same
//! [`Completion`] a non-streamed reply would give.
//!
//! Each event's data is a `chat.completion.chunk`: `choices[0].delta` holds
//! a piece of `content` and pieces of `tool_calls` (by `index`: an `id` and
//! `function.name` once, `function.arguments` in fragments), the last chunk
//! a `finish_reason`, and a final chunk (with `stream_options.include_usage`)
//! the `usage`; `data: [DONE]` ends the stream. The assembled message goes
//! through [`decode_completion`], so a streamed and a non-streamed reply
//! are read by the same rules.
//!
//! A stream that ends before `[DONE]` or a `finish_reason` was cut: an
//! `unavailable` error saying how much had arrived, never a completion made
//! of what happened to arrive. Servers that stream no usage (llama-cpp-python
//! ignores `stream_options`) are counted: one completion token per chunk
//! that carried content or a tool-call fragment (llama.cpp-style servers
//! send one per token), and the prompt estimated at four bytes a token, so
//! a run's token budget still counts them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::response::decode_completion;
use crate::sse::SseReader;
use crate::types::{Completion, ModelError, Usage};

/// The most tool calls one streamed message may assemble.
pub const MAX_STREAMED_TOOL_CALLS: usize = 128;

/// A tool call being assembled from fragments.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// The state of one streamed completion.
#[derive(Debug)]
pub struct StreamAssembler {
    url: String,
    reader: SseReader,
    content: String,
    refusal: String,
    calls: BTreeMap<u64, PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Value>,
    model: Option<String>,
    done: bool,
    events: usize,
    chunks_with_output: u32,
    bytes: usize,
}

impl StreamAssembler {
    /// A new stream from `url`.
    pub fn new(url: &str) -> StreamAssembler {
        StreamAssembler {
            url: url.to_string(),
            reader: SseReader::new(),
            content: String::new(),
            refusal: String::new(),
            calls: BTreeMap::new(),
            finish_reason: None,
            usage: None,
            model: None,
            done: false,
            events: 0,
            chunks_with_output: 0,
            bytes: 0,
        }
    }

    /// Reads the next `bytes` of the body, calling `on_text` with each
    /// piece of the message's text in order.
    pub fn feed(&mut self, bytes: &[u8], on_text: &mut dyn FnMut(&str)) -> Result<(), ModelError> {
        self.bytes = self.bytes.saturating_add(bytes.len());
        let mut events = Vec::new();
        let read = self.reader.feed(bytes, &mut events);
        for data in events {
            self.event(&data, on_text)?;
        }
        read.map_err(|e| self.bad(&e.to_string()))
    }

    /// The end of the body: the completion, or why there is none.
    /// `prompt_bytes` (the request body's size) estimates the prompt's
    /// tokens when the server reported no usage; `on_text` gets the text of
    /// a last event that had no blank line after it.
    pub fn finish(
        mut self,
        fallback_model: &str,
        prompt_bytes: usize,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, ModelError> {
        let mid_event = self.reader.is_mid_event();
        let reader = std::mem::take(&mut self.reader);
        if let Some(last) = reader.finish() {
            // A last event without its blank line: complete JSON (or
            // `[DONE]`) counts; a cut one is what `finished` reports below.
            if last.trim() == "[DONE]" || serde_json::from_str::<Value>(&last).is_ok() {
                self.event(&last, on_text)?;
            }
        }
        let finished = self.done || self.finish_reason.is_some();
        if !finished {
            return Err(ModelError::Unavailable(format!(
                "the stream from {} ended before the completion was finished \
                 (after {} bytes, {} events, {} characters of text{}); nothing of it was used",
                self.url,
                self.bytes,
                self.events,
                self.content.chars().count(),
                if mid_event {
                    ", in the middle of an event"
                } else {
                    ""
                }
            )));
        }
        let usage = match self.usage.take() {
            Some(usage) => usage,
            None => {
                let estimated = Usage {
                    prompt_tokens: u32::try_from(prompt_bytes.div_ceil(4)).unwrap_or(u32::MAX),
                    completion_tokens: self.chunks_with_output,
                };
                json!({"prompt_tokens": estimated.prompt_tokens,
                       "completion_tokens": estimated.completion_tokens})
            }
        };
        let calls: Vec<Value> = std::mem::take(&mut self.calls)
            .into_values()
            .map(|c| {
                json!({"id": c.id, "type": "function",
                       "function": {"name": c.name, "arguments": c.arguments}})
            })
            .collect();
        let mut message = json!({"role": "assistant", "content": self.content});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls);
        }
        if !self.refusal.is_empty() {
            message["refusal"] = Value::String(std::mem::take(&mut self.refusal));
        }
        let reply = json!({
            "model": self.model,
            "choices": [{"message": message, "finish_reason": self.finish_reason}],
            "usage": usage,
        });
        decode_completion(&self.url, reply.to_string().as_bytes(), fallback_model)
    }

    /// How many events have been read so far. A stream that ends with none
    /// failed before it began (llama-cpp-python, for one, reports some
    /// errors only by closing the stream it has opened).
    pub fn events(&self) -> usize {
        self.events
    }

    fn bad(&self, what: &str) -> ModelError {
        ModelError::BadResponse(format!("the stream from {} {what}", self.url))
    }

    /// One event's data.
    fn event(&mut self, data: &str, on_text: &mut dyn FnMut(&str)) -> Result<(), ModelError> {
        self.events += 1;
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if self.done {
            return Err(self.bad("sent data after `[DONE]`"));
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| {
            self.bad(&format!(
                "has an event that is not JSON ({e}): {}",
                data.chars().take(200).collect::<String>()
            ))
        })?;
        if chunk.get("choices").is_none() && chunk.get("error").is_some() {
            // The server failed mid-stream (llama.cpp sends `{"error":…}`):
            // read it as a non-streamed error reply is read.
            return match decode_completion(&self.url, data.as_bytes(), "") {
                Err(e) => Err(e),
                Ok(_) => Err(self.bad("reported an error")),
            };
        }
        if let Some(model) = chunk.get("model").and_then(Value::as_str)
            && !model.is_empty()
        {
            self.model = Some(model.to_string());
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(usage.clone());
        }
        let choice = match chunk.get("choices") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Array(choices)) => match choices.first() {
                Some(c) => c,
                // The usage chunk has an empty `choices`.
                None => return Ok(()),
            },
            Some(_) => return Err(self.bad("has a chunk whose `choices` is not a list")),
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        let Some(delta) = choice.get("delta").filter(|d| !d.is_null()) else {
            return Ok(());
        };
        let mut produced = false;
        match delta.get("content") {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => {
                if !text.is_empty() {
                    self.content.push_str(text);
                    on_text(text);
                    produced = true;
                }
            }
            Some(_) => return Err(self.bad("has a delta whose `content` is not text")),
        }
        if let Some(refusal) = delta.get("refusal").and_then(Value::as_str) {
            self.refusal.push_str(refusal);
        }
        match delta.get("tool_calls") {
            None | Some(Value::Null) => {}
            Some(Value::Array(calls)) => {
                for (position, call) in calls.iter().enumerate() {
                    self.tool_call_fragment(position, call)?;
                    produced = true;
                }
            }
            Some(_) => return Err(self.bad("has a delta whose `tool_calls` is not a list")),
        }
        if produced {
            self.chunks_with_output = self.chunks_with_output.saturating_add(1);
        }
        Ok(())
    }

    /// One fragment of a tool call; `position` stands in for a missing
    /// `index` (servers that send each call whole).
    fn tool_call_fragment(&mut self, position: usize, call: &Value) -> Result<(), ModelError> {
        let index = match call.get("index") {
            None | Some(Value::Null) => position as u64,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| self.bad("has a tool-call fragment whose `index` is not a count"))?,
        };
        if !self.calls.contains_key(&index) && self.calls.len() >= MAX_STREAMED_TOOL_CALLS {
            return Err(self.bad(&format!(
                "streams more than {MAX_STREAMED_TOOL_CALLS} tool calls in one message"
            )));
        }
        let partial = self.calls.entry(index).or_default();
        if let Some(id) = call.get("id").and_then(Value::as_str) {
            partial.id = id.to_string();
        }
        if let Some(function) = call.get("function") {
            if let Some(name) = function.get("name").and_then(Value::as_str) {
                // Sent once by most servers; in pieces by a few.
                if partial.name != name {
                    partial.name.push_str(name);
                }
            }
            match function.get("arguments") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => partial.arguments.push_str(s),
                // Some servers send the arguments whole, as an object.
                Some(other) => partial.arguments.push_str(&other.to_string()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::types::{FinishReason, ToolCall};

    const URL: &str = "http://127.0.0.1:8080/v1/chat/completions";

    fn chunk(delta: Value, finish: Option<&str>) -> String {
        format!(
            "data: {}\n\n",
            json!({"object": "chat.completion.chunk", "model": "m",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    }

    /// Feeds `body` split at `split` and returns the deltas and the result.
    fn run(body: &[u8], split: usize) -> (Vec<String>, Result<Completion, ModelError>) {
        let mut a = StreamAssembler::new(URL);
        let mut deltas = Vec::new();
        let mut on_text = |t: &str| deltas.push(t.to_string());
        let fed = a
            .feed(&body[..split], &mut on_text)
            .and_then(|()| a.feed(&body[split..], &mut on_text));
        let result = fed.and_then(|()| a.finish("fallback", 40, &mut on_text));
        (deltas, result)
    }

    fn llama_cpp_stream() -> String {
        [
            chunk(json!({"role": "assistant", "content": null}), None),
            chunk(json!({"content": " hel"}), None),
            chunk(json!({"content": "lo, wörld"}), None),
            chunk(json!({}), Some("stop")),
            format!(
                "data: {}\n\n",
                json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}})
            ),
            "data: [DONE]\n\n".to_string(),
        ]
        .concat()
    }

    #[test]
    fn text_deltas_come_out_in_order_and_join_to_the_message_at_any_split() {
        let body = llama_cpp_stream();
        for split in 0..=body.len() {
            let (deltas, result) = run(body.as_bytes(), split);
            let c = result.unwrap();
            assert_eq!(deltas, [" hel", "lo, wörld"], "split at {split}");
            assert_eq!(c.message.content, deltas.concat());
            assert_eq!(c.finish_reason, FinishReason::Stop);
            assert_eq!(c.usage.prompt_tokens, 9);
            assert_eq!(c.usage.completion_tokens, 3);
            assert_eq!(c.model, "m");
        }
    }

    #[test]
    fn tool_call_fragments_are_assembled_by_index() {
        let body = [
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                  "function": {"name": "read_file", "arguments": ""}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"path\": "}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_b",
                  "function": {"name": "grep", "arguments": {"pattern": "x"}}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"a.txt\"}"}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
        ]
        .concat();
        let (deltas, result) = run(body.as_bytes(), 7);
        let c = result.unwrap();
        assert!(deltas.is_empty());
        assert_eq!(
            c.message.tool_calls,
            vec![
                ToolCall {
                    id: "call_a".into(),
                    name: "read_file".into(),
                    arguments: "{\"path\": \"a.txt\"}".into()
                },
                ToolCall {
                    id: "call_b".into(),
                    name: "grep".into(),
                    arguments: "{\"pattern\":\"x\"}".into()
                },
            ]
        );
        assert_eq!(c.finish_reason, FinishReason::ToolCalls);
        // No usage streamed (no [DONE] either, but a finish reason): four
        // chunks carried output; the prompt is estimated from its 40 bytes.
        assert_eq!(c.usage.completion_tokens, 4);
        assert_eq!(c.usage.prompt_tokens, 10);
    }

    #[test]
    fn a_stream_cut_mid_message_is_an_error_not_a_partial_completion() {
        let full = llama_cpp_stream();
        // Cut anywhere before the finish reason arrives.
        let finish_at = full.find("\"finish_reason\":\"stop\"").unwrap();
        for cut in [0, 10, full.find("lo, w").unwrap(), finish_at - 5] {
            let (_, result) = run(&full.as_bytes()[..cut], cut / 2);
            match result {
                Err(ModelError::Unavailable(m)) => {
                    assert!(m.contains(URL) && m.contains("ended before"), "{m}");
                }
                other => panic!("a stream cut at {cut} gave {other:?}"),
            }
        }
    }

    #[test]
    fn errors_inside_the_stream_are_typed() {
        let body = format!(
            "{}data: {}\n\n",
            chunk(json!({"content": "x"}), None),
            json!({"error": {"code": 400, "message": "the request exceeds the available context size", "type": "exceed_context_size_error"}})
        );
        assert!(matches!(
            run(body.as_bytes(), 3).1,
            Err(ModelError::ContextOverflow(_))
        ));
        let body = format!(
            "data: {}\n\n",
            json!({"error": {"message": "model crashed"}})
        );
        match run(body.as_bytes(), 0).1 {
            Err(ModelError::BadResponse(m)) => assert!(m.contains("model crashed"), "{m}"),
            other => panic!("{other:?}"),
        }
        for hostile in [
            "data: {not json\n\n".to_string(),
            chunk(json!({"content": 5}), None),
            "data: {\"choices\": 7}\n\n".to_string(),
            chunk(json!({"tool_calls": [{"index": -1}]}), None),
            "data: [DONE]\n\ndata: {\"choices\": []}\n\n".to_string(),
        ] {
            assert!(
                matches!(
                    run(hostile.as_bytes(), 1).1,
                    Err(ModelError::BadResponse(_))
                ),
                "{hostile}"
            );
        }
    }

    #[test]
    fn a_flood_of_tool_calls_is_refused() {
        let calls: Vec<Value> = (0..=MAX_STREAMED_TOOL_CALLS)
            .map(|i| json!({"index": i, "id": format!("c{i}"), "function": {"name": "f"}}))
            .collect();
        let body = chunk(json!({"tool_calls": calls}), Some("tool_calls"));
        match run(body.as_bytes(), 0).1 {
            Err(ModelError::BadResponse(m)) => assert!(m.contains("more than"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_last_event_without_its_blank_line_still_counts() {
        let body = [
            chunk(json!({"content": "ok"}), Some("stop"))
                .trim_end()
                .to_string(),
            "\n".to_string(),
        ]
        .concat();
        let (deltas, result) = run(body.as_bytes(), 4);
        assert_eq!(deltas, ["ok"]);
        assert_eq!(result.unwrap().message.content, "ok");
    }
}
