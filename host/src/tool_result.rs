//! What a tool call returns, in one shape for both tool interfaces.
//!
//! The host serves `warden:plugin/tool@0.1.0` and `@0.2.0` side by side.
//! Everything after the guest call (bounds, redaction, parsing, the
//! report, MCP) works on the 0.2.0 shape: content blocks plus optional
//! structured JSON. This file is the one adapter: a 0.1.0 result (one JSON
//! document) becomes one text block (a JSON string as itself, anything else
//! as JSON) and, for an object, the structured content; a 0.2.0 spec's
//! extras are split off into [`ToolMeta`]; 0.2.0 errors (the same variants
//! as 0.1.0's) become the host's [`ToolError`].

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::bindings::tool_v2::warden::plugin::types as v2;
use crate::bindings::{Capability, Denial, ToolError, ToolSpec};
use crate::secret::Redactor;

/// One block of a tool's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Content {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// The bytes, base64-encoded.
        data: String,
        /// Its MIME type.
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    /// Audio.
    Audio {
        /// The bytes, base64-encoded.
        data: String,
        /// Its MIME type.
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    /// An embedded resource: exactly one of `text` and `blob` is set.
    Resource {
        /// Its URI.
        uri: String,
        /// Its MIME type, if known.
        #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        /// Its text.
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Its bytes, base64-encoded.
        #[serde(skip_serializing_if = "Option::is_none")]
        blob: Option<String>,
    },
}

/// What a 0.2.0 tool declares beyond a 0.1.0 [`ToolSpec`] (all empty for
/// a 0.1.0 tool).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolMeta {
    /// A short name for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// JSON Schema of the structured output (a JSON object, checked when
    /// the tools are listed). Serialized as that object, not as its text.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "schema_as_json"
    )]
    pub output_schema: Option<String>,
    /// Whether the tool declares it may destroy or overwrite data (`None`:
    /// it declares nothing either way, as every 0.1.0 tool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destructive: Option<bool>,
}

/// An output schema as the JSON value it is (as text if it does not parse,
/// which the checks when the tools are listed do not let through).
fn schema_as_json<S: serde::Serializer>(schema: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    match schema
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        Some(Ok(value)) => value.serialize(s),
        _ => schema.serialize(s),
    }
}

/// What the guest returned, before the host bounded, redacted and parsed it.
pub(crate) enum GuestResult {
    /// A 0.1.0 tool's JSON output.
    V1(String),
    /// A 0.2.0 tool's result.
    V2(v2::ToolResult),
}

/// A result in the 0.2.0 shape, redacted and parsed.
pub(crate) struct Shaped {
    /// What a caller that wants one JSON value reads (`warden tool call`,
    /// an agent's planner): the structured content if there is one, else a
    /// single text block as a JSON string, else the blocks as JSON.
    pub(crate) output: Value,
    /// The blocks.
    pub(crate) content: Vec<Content>,
    /// The structured content (a JSON object).
    pub(crate) structured: Option<Value>,
}

impl GuestResult {
    /// Bytes the guest handed over (text, data and JSON), for the output
    /// limit; counted before anything is copied.
    pub(crate) fn size(&self) -> u64 {
        match self {
            GuestResult::V1(json) => json.len() as u64,
            GuestResult::V2(result) => {
                let blocks: usize = result
                    .content
                    .iter()
                    .map(|c| match c {
                        v2::Content::Text(t) => t.len(),
                        v2::Content::Image(m) | v2::Content::Audio(m) => {
                            m.data.len() + m.mime_type.len()
                        }
                        v2::Content::Resource(r) => {
                            r.uri.len()
                                + r.mime_type.as_ref().map_or(0, String::len)
                                + match &r.body {
                                    v2::ResourceBody::Text(t) => t.len(),
                                    v2::ResourceBody::Blob(b) => b.len(),
                                }
                        }
                    })
                    .sum();
                (blocks + result.structured.as_ref().map_or(0, String::len)) as u64
            }
        }
    }

    /// The result in the 0.2.0 shape, with secrets redacted from every text
    /// (binary data is passed through as the guest made it). Fails with a
    /// reason when JSON the guest returned does not parse, or structured
    /// content is not an object.
    pub(crate) fn shape(self, redactor: &Redactor) -> Result<Shaped, String> {
        match self {
            GuestResult::V1(json) => {
                let output = parse(&redactor.redact(&json))?;
                let (content, structured) = json_content(&output);
                Ok(Shaped {
                    output,
                    content,
                    structured,
                })
            }
            GuestResult::V2(result) => {
                let (structured, json) = match result.structured {
                    None => (None, None),
                    Some(json) => {
                        let json = redactor.redact(&json);
                        match parse(&json)? {
                            object @ Value::Object(_) => (Some(object), Some(json)),
                            _ => return Err("its structured content is not a JSON object".into()),
                        }
                    }
                };
                let mut content: Vec<Content> = result
                    .content
                    .into_iter()
                    .map(|c| content(c, redactor))
                    .collect();
                // Structured content alone is also shown as its JSON text
                // (as MCP asks): the text the guest handed over, redacted,
                // so it is handed over once and not encoded again.
                if let (true, Some(text)) = (content.is_empty(), json) {
                    content.push(Content::Text { text });
                }
                let output = match (&structured, content.as_slice()) {
                    (Some(s), _) => s.clone(),
                    (None, [Content::Text { text }]) => Value::String(text.clone()),
                    (None, blocks) => serde_json::to_value(blocks).unwrap_or(Value::Null),
                };
                Ok(Shaped {
                    output,
                    content,
                    structured,
                })
            }
        }
    }
}

impl crate::call::CallReport {
    /// The report of a call answered by a subprocess (an MCP server or a
    /// command tool) with one JSON value after `duration`: no store, so no
    /// fuel, memory or guest log to report.
    pub(crate) fn of_subprocess(output: Value, duration: std::time::Duration) -> Self {
        let (content, structured) = json_content(&output);
        crate::call::CallReport {
            output,
            content,
            structured,
            used: crate::usage::Usage::default(),
            log: crate::guest_log::CapturedLog::default(),
            stats: crate::call::CallStats {
                duration,
                fuel_used: 0,
                peak_memory_bytes: 0,
            },
            denials: Vec::new(),
        }
    }
}

/// The content of a tool result that is one JSON value (a 0.1.0 tool's
/// output, or what an MCP server or a command tool returned): one text
/// block (a JSON string as itself, anything else as JSON), and the value as
/// structured content when it is an object.
pub(crate) fn json_content(output: &Value) -> (Vec<Content>, Option<Value>) {
    let text = match output {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    (
        vec![Content::Text { text }],
        output.is_object().then(|| output.clone()),
    )
}

fn parse(json: &str) -> Result<Value, String> {
    warden_guest_output::parse_output(json, u64::MAX).map_err(|e| e.to_string())
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn content(c: v2::Content, r: &Redactor) -> Content {
    match c {
        v2::Content::Text(text) => Content::Text {
            text: r.redact(&text),
        },
        v2::Content::Image(m) => Content::Image {
            data: base64(&m.data),
            mime_type: r.redact(&m.mime_type),
        },
        v2::Content::Audio(m) => Content::Audio {
            data: base64(&m.data),
            mime_type: r.redact(&m.mime_type),
        },
        v2::Content::Resource(res) => {
            let (text, blob) = match res.body {
                v2::ResourceBody::Text(t) => (Some(r.redact(&t)), None),
                v2::ResourceBody::Blob(b) => (None, Some(base64(&b))),
            };
            Content::Resource {
                uri: r.redact(&res.uri),
                mime_type: res.mime_type.map(|m| r.redact(&m)),
                text,
                blob,
            }
        }
    }
}

/// A 0.2.0 spec as the host's [`ToolSpec`] and its [`ToolMeta`].
pub(crate) fn split_spec(spec: v2::ToolSpec) -> (ToolSpec, ToolMeta) {
    (
        ToolSpec {
            name: spec.name,
            description: spec.description,
            input_schema: spec.input_schema,
        },
        ToolMeta {
            title: spec.title,
            output_schema: spec.output_schema,
            destructive: Some(spec.destructive),
        },
    )
}

impl From<v2::ToolError> for ToolError {
    fn from(e: v2::ToolError) -> ToolError {
        match e {
            v2::ToolError::InvalidInput(m) => ToolError::InvalidInput(m),
            v2::ToolError::UnknownTool(m) => ToolError::UnknownTool(m),
            v2::ToolError::NotFound(m) => ToolError::NotFound(m),
            v2::ToolError::Failed(m) => ToolError::Failed(m),
            v2::ToolError::Denied(d) => ToolError::Denied(Denial {
                capability: match d.capability {
                    v2::Capability::Filesystem => Capability::Filesystem,
                    v2::Capability::Network => Capability::Network,
                    v2::Capability::Environment => Capability::Environment,
                    v2::Capability::Secret => Capability::Secret,
                    v2::Capability::Component => Capability::Component,
                },
                target: d.target,
                reason: d.reason,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaped(r: GuestResult) -> Shaped {
        r.shape(&Redactor::default()).expect("shapes")
    }

    #[test]
    fn a_0_1_0_result_becomes_one_text_block_and_structured_for_an_object() {
        let s = shaped(GuestResult::V1(r#"{"n":1}"#.into()));
        assert_eq!(s.output, serde_json::json!({"n": 1}));
        assert_eq!(s.structured, Some(serde_json::json!({"n": 1})));
        assert_eq!(
            s.content,
            [Content::Text {
                text: r#"{"n":1}"#.into()
            }]
        );
        let s = shaped(GuestResult::V1(r#""hi""#.into()));
        assert_eq!(s.content, [Content::Text { text: "hi".into() }]);
        assert_eq!(s.structured, None);
    }

    #[test]
    fn a_0_2_0_result_keeps_its_blocks_and_encodes_bytes() {
        let result = v2::ToolResult {
            content: vec![
                v2::Content::Text("t".into()),
                v2::Content::Image(v2::Media {
                    data: vec![1, 2, 3],
                    mime_type: "image/png".into(),
                }),
                v2::Content::Resource(v2::EmbeddedResource {
                    uri: "test://x".into(),
                    mime_type: None,
                    body: v2::ResourceBody::Blob(vec![0xff]),
                }),
            ],
            structured: None,
        };
        let s = shaped(GuestResult::V2(result));
        assert_eq!(s.content.len(), 3);
        assert_eq!(
            s.content[1],
            Content::Image {
                data: "AQID".into(),
                mime_type: "image/png".into()
            }
        );
        let json = serde_json::to_value(&s.content).expect("serializes");
        assert_eq!(json[2]["blob"], "/w==");
        assert_eq!(s.output, json);
    }

    #[test]
    fn structured_content_alone_is_also_one_text_block() {
        let s = shaped(GuestResult::V2(v2::ToolResult {
            content: vec![],
            structured: Some(r#"{"sum": 42}"#.into()),
        }));
        // The text is the JSON as the guest wrote it, not encoded again.
        assert_eq!(
            s.content,
            [Content::Text {
                text: r#"{"sum": 42}"#.into()
            }]
        );
        assert_eq!(s.output, serde_json::json!({"sum": 42}));
    }

    #[test]
    fn a_secret_in_structured_content_is_redacted_in_its_text_too() {
        let secret = crate::secret::SecretGrant {
            name: "TOKEN".into(),
            value: crate::secret::SecretValue::new("s3cr3t"),
            hosts: Vec::new(),
            header: "authorization".into(),
            format: "Bearer {}".into(),
        };
        let s = GuestResult::V2(v2::ToolResult {
            content: vec![],
            structured: Some(r#"{"echo": "s3cr3t"}"#.into()),
        })
        .shape(&Redactor::new(&[secret]))
        .expect("shapes");
        assert_eq!(
            s.structured,
            Some(serde_json::json!({"echo": "[REDACTED]"}))
        );
        assert_eq!(
            s.content,
            [Content::Text {
                text: r#"{"echo": "[REDACTED]"}"#.into()
            }]
        );
    }

    #[test]
    fn structured_content_must_be_an_object() {
        let result = |structured: &str| {
            GuestResult::V2(v2::ToolResult {
                content: vec![],
                structured: Some(structured.into()),
            })
            .shape(&Redactor::default())
        };
        assert!(result("[1]").is_err());
        assert!(result("{not json").is_err());
        assert_eq!(
            result(r#"{"a":2}"#).expect("object").output,
            serde_json::json!({"a": 2})
        );
    }
}
