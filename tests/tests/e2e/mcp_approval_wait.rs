//! An MCP client that declares elicitation but never answers warden's
//! approval question: the call is refused once `--approval-timeout` has
//! passed (the outcome is asserted, not the time), recorded with the answer
//! `timeout`, and the same server asks again, and serves, the next call.
//! Driven by a minimal JSON-RPC client over stdio (no prerequisites).

use serde_json::{Value, json};

use super::mcp_stdio::{McpStdio, send};

/// Reads messages until the response to `id`, returning it and the
/// server's requests seen on the way (messages with a `method` and an `id`).
fn until_response(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    id: u64,
) -> (Value, Vec<Value>) {
    let mut requests = Vec::new();
    for line in lines {
        let line = line.expect("read from warden mcp");
        let message: Value = serde_json::from_str(&line).expect("a JSON-RPC line");
        if message.get("method").is_some() {
            if message.get("id").is_some() {
                requests.push(message);
            }
            continue;
        }
        if message["id"] == json!(id) {
            return (message, requests);
        }
    }
    panic!("warden mcp closed stdout before answering {id}");
}

/// Reads messages until the server's first request (here: its question).
fn next_request(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> Value {
    for line in lines {
        let line = line.expect("read from warden mcp");
        let message: Value = serde_json::from_str(&line).expect("a JSON-RPC line");
        if message.get("method").is_some() && message.get("id").is_some() {
            return message;
        }
        assert!(
            message.get("result").is_none() && message.get("error").is_none(),
            "a response before the question: {message}"
        );
    }
    panic!("warden mcp closed stdout before asking");
}

#[test]
fn a_client_that_never_answers_is_refused_after_the_timeout_and_the_server_goes_on() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("hello.txt"), "hello after the wait").expect("write");
    let data = data.canonicalize().expect("canonical");
    std::fs::write(
        home.join("grants.toml"),
        format!(
            "version = 1\n\n[[rule]]\ncomponent = \"builtin:fs\"\neffect = \"ask\"\n\
             dirs = [{{ host = \"{}\", guest = \"/data\" }}]\n",
            data.display()
        ),
    )
    .expect("grants");

    let McpStdio {
        mut child,
        mut stdin,
        mut lines,
    } = McpStdio::start(
        &home,
        &["builtin:fs", "--approval-timeout", "1s"],
        "silent-client",
        json!({"elicitation": {"form": {}}}),
    );

    // The question comes; the client says nothing.
    let read = json!({"name": "read_file", "arguments": {"path": "/data/hello.txt"}});
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": read}),
    );
    let question = next_request(&mut lines);
    assert_eq!(question["method"], "elicitation/create", "{question}");
    let (refused, _) = until_response(&mut lines, 2);
    let result = &refused["result"];
    assert_eq!(result["isError"], true, "{refused}");
    let error = &result["structuredContent"]["error"];
    assert_eq!(error["kind"], "denied", "{refused}");
    assert_eq!(error["approval"], "timeout", "{refused}");
    assert!(
        !refused.to_string().contains("hello after the wait"),
        "the tool did not run: {refused}"
    );

    // The same server asks again for the next call; this time the answer
    // comes, and the call runs.
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": read}),
    );
    let question = next_request(&mut lines);
    assert_eq!(question["method"], "elicitation/create", "{question}");
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": question["id"],
               "result": {"action": "accept", "content": {}}}),
    );
    let (served, _) = until_response(&mut lines, 3);
    assert_eq!(served["result"]["isError"], false, "{served}");
    assert!(
        served.to_string().contains("hello after the wait"),
        "{served}"
    );
    drop(stdin);
    let _ = child.wait();

    // The audit log: both questions with their answers, one call.
    let events: Vec<Value> = std::fs::read_to_string(home.join("audit.jsonl"))
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON")["event"].clone())
        .collect();
    let answers: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "approval")
        .filter_map(|e| e["answer"].as_str())
        .collect();
    assert_eq!(answers, ["timeout", "accept"], "{events:#?}");
    let calls = events.iter().filter(|e| e["type"] == "call").count();
    assert_eq!(calls, 1, "only the approved call ran: {events:#?}");
}
