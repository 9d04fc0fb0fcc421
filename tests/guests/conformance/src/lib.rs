//! The tools the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`, server scenarios) calls, under the
//! names and with the behaviour its scenarios expect, as far as the
//! `warden:plugin@0.1.0` tool interface can express them:
//!
//! | tool | scenario | does |
//! |---|---|---|
//! | `test_simple_text` | `tools-call-simple-text` | returns a fixed text |
//! | `test_error_handling` | `tools-call-error` | always fails |
//! | `test_tool_with_logging` | `tools-call-with-logging` | logs three `info` lines, ~50 ms apart |
//! | `test_tool_with_progress` | `tools-call-with-progress` | waits ~100 ms (0.1.0 has no progress import) |
//! | `json_schema_2020_12_tool` | `json-schema-2020-12` | an input schema with `$schema`, `$defs`, `additionalProperties` |
//!
//! Image, audio and embedded-resource results need a richer result type
//! than 0.1.0's JSON output; `docs/mcp.md` lists those scenarios.

use std::time::Duration;

use warden_sdk::{ToolError, ToolSpec, ToolsGuest};

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

/// Name, description and input schema of every tool.
const TOOLS: &[(&str, &str, &str)] = &[
    (
        "test_simple_text",
        "Returns a simple text response.",
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
        "Runs for about 100 ms, in steps.",
        NO_ARGUMENTS,
    ),
    (
        "json_schema_2020_12_tool",
        "Tool with JSON Schema 2020-12 features",
        SCHEMA_2020_12,
    ),
];

/// Text returned by `test_simple_text`.
const SIMPLE_TEXT: &str = "This is a simple text response for testing.";

/// JSON string literal for `text`.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

impl ToolsGuest for Conformance {
    fn list_tools() -> Vec<ToolSpec> {
        TOOLS
            .iter()
            .map(|(name, description, schema)| ToolSpec {
                name: name.to_string(),
                description: description.to_string(),
                input_schema: schema.to_string(),
            })
            .collect()
    }

    fn call(name: String, _input: String) -> Result<String, ToolError> {
        match name.as_str() {
            "test_simple_text" => Ok(quoted(SIMPLE_TEXT)),
            "test_error_handling" => Err(ToolError::Failed(
                "This tool intentionally returns an error for testing".into(),
            )),
            "test_tool_with_logging" => {
                warden_sdk::log::info("Tool execution started");
                std::thread::sleep(Duration::from_millis(50));
                warden_sdk::log::info("Tool processing data");
                std::thread::sleep(Duration::from_millis(50));
                warden_sdk::log::info("Tool execution completed");
                Ok(quoted("Tool with logging executed successfully"))
            }
            "test_tool_with_progress" => {
                for _ in 0..2 {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(quoted("Tool with progress executed successfully"))
            }
            "json_schema_2020_12_tool" => Ok(quoted("ok")),
            other => Err(ToolError::UnknownTool(other.to_string())),
        }
    }
}

warden_sdk::bindings::__export_tool_world!(Conformance with_types_in warden_sdk::bindings);
