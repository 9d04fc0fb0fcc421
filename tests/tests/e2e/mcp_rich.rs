//! `warden:plugin@0.2.0` tools over MCP, served beside a 0.1.0 component:
//! a title, an output schema and structured content, the destructive hint
//! where the grant lets a tool write, image and resource content blocks,
//! and progress reports forwarded as `notifications/progress` to a client
//! that sent a token (and to no other). The 0.1.0 `hostile` component
//! answers from the same server as before. Driven by a minimal JSON-RPC
//! client over stdio (no prerequisites).

use serde_json::{Value, json};
use warden_tests::components::{CONFORMANCE, HOSTILE};

use super::mcp_stdio::{McpStdio, response, send};

/// The base64 of the 1×1 red PNG the conformance component returns.
const RED_PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

fn tool<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("tools/list has no `{name}`: {tools:?}"))
}

#[test]
fn rich_results_output_schemas_and_progress_from_0_2_0_beside_a_0_1_0_component() {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let home = tmp.join("mcp-rich-home");
    let _ = std::fs::remove_dir_all(&home);
    // Outside the home: warden never grants its own home.
    let data = tmp.join("mcp-rich-data");
    std::fs::create_dir_all(&data).expect("data dir");
    let dir = format!("{}:/data:rw", data.display());
    let McpStdio {
        mut child,
        mut stdin,
        mut lines,
    } = McpStdio::start(
        &home,
        &[CONFORMANCE, HOSTILE, "--dir", &dir],
        "rich-test",
        json!({}),
    );

    // Metadata: declared by the 0.2.0 tools, nothing claimed for 0.1.0 ones.
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    let (list, _) = response(&mut lines, 2);
    let tools = list["result"]["tools"].as_array().expect("tools").clone();
    let structured = tool(&tools, "test_structured");
    assert_eq!(structured["title"], "Add two integers", "{structured}");
    assert_eq!(
        structured["outputSchema"]["properties"]["sum"]["type"], "integer",
        "{structured}"
    );
    let wipe = tool(&tools, "test_wipe");
    assert_eq!(wipe["annotations"]["destructiveHint"], true, "{wipe}");
    assert_eq!(wipe["annotations"]["readOnlyHint"], false, "{wipe}");
    let simple = tool(&tools, "test_simple_text");
    assert_eq!(simple["annotations"]["destructiveHint"], false, "{simple}");
    let echo = tool(&tools, "echo");
    assert!(
        echo["annotations"].get("destructiveHint").is_none(),
        "{echo}"
    );
    assert!(echo.get("outputSchema").is_none(), "{echo}");

    // Structured content that matches the declared schema.
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "test_structured", "arguments": {"a": 2, "b": 40}}}),
    );
    let (sum, _) = response(&mut lines, 3);
    assert_eq!(sum["result"]["isError"], false, "{sum}");
    assert_eq!(
        sum["result"]["structuredContent"],
        json!({"sum": 42}),
        "{sum}"
    );
    assert_eq!(
        sum["result"]["content"][0]["text"], r#"{"sum":42}"#,
        "{sum}"
    );

    // Several kinds of block, in the guest's order, bytes as base64.
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "test_multiple_content_types", "arguments": {}}}),
    );
    let (mixed, _) = response(&mut lines, 4);
    let content = mixed["result"]["content"].as_array().expect("content");
    let kinds: Vec<&str> = content.iter().filter_map(|c| c["type"].as_str()).collect();
    assert_eq!(kinds, ["text", "image", "resource"], "{mixed}");
    assert_eq!(content[1]["data"], RED_PIXEL_PNG, "{mixed}");
    assert_eq!(content[1]["mimeType"], "image/png", "{mixed}");
    assert_eq!(
        content[2]["resource"],
        json!({"uri": "test://mixed-content-resource", "mimeType": "application/json",
               "text": r#"{"test":"data","value":123}"#}),
        "{mixed}"
    );

    // Progress, to a client that asked for it, before the result.
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "arguments": {},
                   "_meta": {"progressToken": "tok-5"}}}),
    );
    let mut progress = Vec::new();
    let result = loop {
        let line = lines.next().expect("a line").expect("read");
        let message: Value = serde_json::from_str(&line).expect("JSON-RPC");
        if message["id"] == 5 {
            break message;
        }
        if message["method"] == "notifications/progress" {
            progress.push(message["params"].clone());
        }
    };
    assert_eq!(result["result"]["isError"], false, "{result}");
    let values: Vec<f64> = progress
        .iter()
        .map(|p| p["progress"].as_f64().expect("a number"))
        .collect();
    assert_eq!(values, [0.0, 50.0, 100.0], "{progress:?}");
    assert!(
        progress
            .iter()
            .all(|p| p["progressToken"] == "tok-5" && p["total"] == 100.0)
    );
    assert_eq!(progress[1]["message"], "halfway");

    // Without a token nothing is sent; the 0.1.0 component still answers.
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "arguments": {}}}),
    );
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "from 0.1.0"}}}),
    );
    let mut unasked = Vec::new();
    let mut answers = Vec::new();
    while answers.len() < 2 {
        let line = lines.next().expect("a line").expect("read");
        let message: Value = serde_json::from_str(&line).expect("JSON-RPC");
        if message["method"] == "notifications/progress" {
            unasked.push(message);
        } else if message.get("id").is_some() {
            answers.push(message);
        }
    }
    assert!(unasked.is_empty(), "{unasked:?}");
    let echo = answers
        .iter()
        .find(|a| a["id"] == 7)
        .expect("echo answered");
    assert_eq!(echo["result"]["isError"], false, "{echo}");
    assert_eq!(
        echo["result"]["structuredContent"],
        json!({"text": "from 0.1.0"}),
        "{echo}"
    );
    assert_eq!(
        echo["result"]["content"][0]["text"], r#"{"text":"from 0.1.0"}"#,
        "{echo}"
    );

    drop(stdin);
    let _ = child.wait();
    let log = std::fs::read_to_string(home.join("audit.jsonl")).expect("audit log");
    for function in ["test_structured", "test_multiple_content_types", "echo"] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("\"{function}\"")) && l.contains("\"ok\"")),
            "no ok record of {function}: {log}"
        );
    }
}
