//! The tools the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`, server scenarios) calls, under the
//! names and with the behaviour its scenarios expect, through the
//! `warden:plugin@0.2.0` tool interface (rich results, progress):
//!
//! | tool | scenario | does |
//! |---|---|---|
//! | `test_simple_text` | `tools-call-simple-text` | returns a fixed text |
//! | `test_image_content` | `tools-call-image` | returns a 1×1 red PNG |
//! | `test_audio_content` | `tools-call-audio` | returns a short silent WAV |
//! | `test_embedded_resource` | `tools-call-embedded-resource` | returns a text resource |
//! | `test_multiple_content_types` | `tools-call-mixed-content` | text, image and a JSON resource |
//! | `test_error_handling` | `tools-call-error` | always fails |
//! | `test_tool_with_logging` | `tools-call-with-logging` | logs three `info` lines, ~50 ms apart |
//! | `test_tool_with_progress` | `tools-call-with-progress` | reports 0, 50 and 100 of 100, ~50 ms apart |
//! | `json_schema_2020_12_tool` | `json-schema-2020-12` | an input schema with `$schema`, `$defs`, `additionalProperties` |
//!
//! And two of warden's own, for its tests (`tests/tests/e2e/mcp_rich.rs`):
//! `test_structured` declares a title and an output schema and returns
//! structured content; `test_wipe` declares itself destructive.

use std::time::Duration;

use warden_sdk::{
    Content, EmbeddedResource, Media, ResourceBody, ToolError, ToolResult, ToolSpec, ToolsGuest,
};

/// The component.
struct Conformance;

/// An input schema for a tool without arguments.
const NO_ARGUMENTS: &str = r#"{"type":"object","properties":{}}"#;

/// The 2020-12 schema the `json-schema-2020-12` scenario expects verbatim.
const SCHEMA_2020_12: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "$defs": {
    "address": {
      "type": "object",
      "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
    }
  },
  "properties": {
    "name": { "type": "string" },
    "address": { "$ref": "#/$defs/address" }
  },
  "additionalProperties": false
}"##;

/// Output schema of `test_structured`.
const STRUCTURED_SCHEMA: &str =
    r#"{"type":"object","properties":{"sum":{"type":"integer"}},"required":["sum"]}"#;

/// A 1×1 red pixel PNG.
const RED_PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x05, 0x02, 0x00, 0x5f, 0xc8, 0xf1, 0xd2, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A WAV file of `samples` bytes of 8-bit mono silence at 8 kHz.
fn silent_wav(samples: u32) -> Vec<u8> {
    let mut wav = Vec::with_capacity(44 + samples as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    wav.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&samples.to_le_bytes());
    wav.resize(44 + samples as usize, 0x80); // 8-bit silence
    wav
}

fn image() -> Content {
    Content::Image(Media {
        data: RED_PIXEL_PNG.to_vec(),
        mime_type: "image/png".into(),
    })
}

fn text_resource(uri: &str, mime_type: &str, text: &str) -> Content {
    Content::Resource(EmbeddedResource {
        uri: uri.into(),
        mime_type: Some(mime_type.into()),
        body: ResourceBody::Text(text.into()),
    })
}

/// Name, description and input schema of every tool.
const TOOLS: &[(&str, &str, &str)] = &[
    (
        "test_simple_text",
        "Returns a simple text response.",
        NO_ARGUMENTS,
    ),
    (
        "test_image_content",
        "Returns an image (a 1x1 red PNG).",
        NO_ARGUMENTS,
    ),
    (
        "test_audio_content",
        "Returns audio (a short silent WAV).",
        NO_ARGUMENTS,
    ),
    (
        "test_embedded_resource",
        "Returns an embedded text resource.",
        NO_ARGUMENTS,
    ),
    (
        "test_multiple_content_types",
        "Returns text, an image and an embedded JSON resource.",
        NO_ARGUMENTS,
    ),
    (
        "test_error_handling",
        "Always fails, to test error reporting.",
        NO_ARGUMENTS,
    ),
    (
        "test_tool_with_logging",
        "Logs three lines while it runs.",
        NO_ARGUMENTS,
    ),
    (
        "test_tool_with_progress",
        "Runs for about 100 ms, reporting progress at 0, 50 and 100 of 100.",
        NO_ARGUMENTS,
    ),
    (
        "json_schema_2020_12_tool",
        "Tool with JSON Schema 2020-12 features",
        SCHEMA_2020_12,
    ),
    (
        "test_wipe",
        "Pretends to wipe something: declares itself destructive.",
        NO_ARGUMENTS,
    ),
];

/// Text returned by `test_simple_text`.
const SIMPLE_TEXT: &str = "This is a simple text response for testing.";

impl ToolsGuest for Conformance {
    fn list_tools() -> Vec<ToolSpec> {
        let mut tools: Vec<ToolSpec> = TOOLS
            .iter()
            .map(|(name, description, schema)| ToolSpec::new(*name, *description, *schema))
            .collect();
        if let Some(wipe) = tools.iter_mut().find(|t| t.name == "test_wipe") {
            wipe.destructive = true;
        }
        let mut structured = ToolSpec::new(
            "test_structured",
            "Adds two integers and returns the sum as structured content.",
            r#"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}"#,
        );
        structured.title = Some("Add two integers".into());
        structured.output_schema = Some(STRUCTURED_SCHEMA.into());
        tools.push(structured);
        tools
    }

    fn call(name: String, input: String) -> Result<ToolResult, ToolError> {
        match name.as_str() {
            "test_simple_text" => Ok(ToolResult::text(SIMPLE_TEXT)),
            "test_image_content" => Ok(ToolResult {
                content: vec![image()],
                structured: None,
            }),
            "test_audio_content" => Ok(ToolResult {
                content: vec![Content::Audio(Media {
                    data: silent_wav(800),
                    mime_type: "audio/wav".into(),
                })],
                structured: None,
            }),
            "test_embedded_resource" => Ok(ToolResult {
                content: vec![text_resource(
                    "test://embedded-resource",
                    "text/plain",
                    "This is an embedded resource content.",
                )],
                structured: None,
            }),
            "test_multiple_content_types" => Ok(ToolResult {
                content: vec![
                    Content::Text("Multiple content types test:".into()),
                    image(),
                    text_resource(
                        "test://mixed-content-resource",
                        "application/json",
                        r#"{"test":"data","value":123}"#,
                    ),
                ],
                structured: None,
            }),
            "test_error_handling" => Err(ToolError::Failed(
                "This tool intentionally returns an error for testing".into(),
            )),
            "test_tool_with_logging" => {
                warden_sdk::log::info("Tool execution started");
                std::thread::sleep(Duration::from_millis(50));
                warden_sdk::log::info("Tool processing data");
                std::thread::sleep(Duration::from_millis(50));
                warden_sdk::log::info("Tool execution completed");
                Ok(ToolResult::text("Tool with logging executed successfully"))
            }
            "test_tool_with_progress" => {
                warden_sdk::progress::report(0.0, Some(100.0), None);
                std::thread::sleep(Duration::from_millis(50));
                warden_sdk::progress::report(50.0, Some(100.0), Some("halfway"));
                std::thread::sleep(Duration::from_millis(50));
                warden_sdk::progress::report(100.0, Some(100.0), None);
                Ok(ToolResult::text("Tool with progress executed successfully"))
            }
            "json_schema_2020_12_tool" => Ok(ToolResult::text("ok")),
            "test_wipe" => Ok(ToolResult::text("nothing was wiped")),
            "test_structured" => {
                let v: serde_json::Value = serde_json::from_str(&input)
                    .map_err(|e| ToolError::InvalidInput(e.to_string()))?;
                let (Some(a), Some(b)) = (v["a"].as_i64(), v["b"].as_i64()) else {
                    return Err(ToolError::InvalidInput(
                        "`a` and `b` must be integers".into(),
                    ));
                };
                let sum = a.checked_add(b).ok_or_else(|| {
                    ToolError::InvalidInput("the sum does not fit in 64 bits".into())
                })?;
                Ok(ToolResult::json(&serde_json::json!({ "sum": sum })))
            }
            other => Err(ToolError::UnknownTool(other.to_string())),
        }
    }
}

warden_sdk::bindings::__export_tool_world!(Conformance with_types_in warden_sdk::bindings);
