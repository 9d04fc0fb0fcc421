//! MCP servers declared in `agent.toml` (`[servers.NAME]`): `warden run`
//! offers their tools to the planner as `NAME__TOOL` beside the tool
//! components, and every call goes through the same call path and audit
//! log. The server is the npm `@modelcontextprotocol/server-everything`
//! over stdio; the model is a scripted chat server on 127.0.0.1.
//! Prerequisite: `WARDEN_TEST_MCP_SERVERS` (default `/tmp/ci-mcp-servers`,
//! installed by `.ci/run`); missing, the test skips through
//! `warden_test_skip` (a failure under `WARDEN_TEST_REQUIRE_ALL=1`).

use std::path::PathBuf;

use serde_json::{Value, json};
use warden_test_skip::{Prerequisite, skip};
use warden_tests::chat::{ChatServer, Reply};

use super::world::World;

fn mcp_servers() -> Result<PathBuf, String> {
    let root = std::env::var_os("WARDEN_TEST_MCP_SERVERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/ci-mcp-servers"));
    let script = root.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if !script.is_file() {
        return Err(format!(
            "{} is missing: npm install --prefix {} @modelcontextprotocol/server-everything \
             (see .ci/run)",
            script.display(),
            root.display()
        ));
    }
    Ok(root)
}

#[test]
fn an_agents_server_tools_reach_the_planner_and_each_call_is_audited() {
    let root = match mcp_servers() {
        Ok(r) => r,
        Err(why) => return skip(Prerequisite::Node, "agent.toml servers", &why),
    };
    let script = root.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let w = World::new();
    std::fs::write(
        w.workspace().join("agent.toml"),
        format!(
            r#"
name = "tester"
planner = "warden:planner@^0.1"
provider = "warden:openai-provider@^0.1"
tools = ["warden:fs@^0.1"]

[servers.everything]
command = ["node", {script:?}, "stdio"]
allow = ["echo"]
"#,
            script = script.display().to_string()
        ),
    )
    .expect("write agent.toml");
    // The server reads its own code: granted like any directory.
    w.ok(&[
        "grant",
        "server:everything",
        "dir",
        &format!("{}:ro", root.display()),
    ]);

    let server = ChatServer::scripted(vec![
        Reply::tool_calls(&[(
            "c1",
            "everything__echo",
            json!({"message": "from the agent"}),
        )]),
        Reply::answer("It echoed."),
    ]);
    let url = server.base_url();
    let out: Value =
        serde_json::from_str(&w.ok(&["run", "Echo something", "--endpoint", &url, "--json"]))
            .expect("json result");
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["answer"], "It echoed.");
    assert_eq!(out["usage"]["tool_calls"], 1);

    // The planner offered the server's allowed tool beside the component's,
    // and only that one.
    let requests = server.requests();
    let first = requests[0]["tools"].to_string();
    assert!(
        first.contains("everything__echo") && first.contains("read_file"),
        "{first}"
    );
    assert!(!first.contains("everything__get-sum"), "{first}");
    // The server's answer reached the model.
    let second = requests[1]["messages"].to_string();
    assert!(second.contains("Echo: from the agent"), "{second}");

    // The call is in the audit log like a component's.
    let audit = w.ok(&["audit", "tail", "-n", "50", "--json"]);
    let calls: Vec<Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .flat_map(|v| match v {
            Value::Array(items) => items,
            other => vec![other],
        })
        .filter(|r| r["event"]["component"] == "server:everything")
        .collect();
    assert!(
        calls
            .iter()
            .any(|r| r["event"]["function"] == "echo" && r["event"]["outcome"] == "ok"),
        "{audit}"
    );
    w.ok(&["audit", "verify"]);
}
