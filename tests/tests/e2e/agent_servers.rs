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

/// `agent.toml` naming a server by URL, `[servers.NAME] url = …`.
fn remote_agent(w: &super::remote_servers::World, name: &str, url: &str) {
    std::fs::write(
        w.workspace().join("agent.toml"),
        format!(
            r#"
name = "tester"
planner = "warden:planner@^0.1"
provider = "warden:openai-provider@^0.1"
tools = []

[servers.{name}]
url = "{url}"
allow = ["echo", "get-sum"]
"#
        ),
    )
    .expect("write agent.toml");
}

#[test]
fn an_agents_remote_server_is_listed_called_and_audited_through_run() {
    let root = match super::remote_servers::mcp_servers() {
        Ok(r) => r,
        Err(why) => return skip(Prerequisite::Node, "agent.toml remote servers", &why),
    };
    let everything = super::remote_servers::HttpEverything::start(&root);
    let w = super::remote_servers::World::new();
    remote_agent(&w, "remote", &everything.url());
    let granted = w.run(&["grant", "server:remote", "network", &everything.grant()]);
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );

    let model = ChatServer::scripted(vec![
        Reply::tool_calls(&[("c1", "remote__get-sum", json!({"a": 19, "b": 23}))]),
        Reply::answer("The sum is 42."),
    ]);
    let out = w.ok(&[
        "run",
        "Add 19 and 23",
        "--endpoint",
        &model.base_url(),
        "--json",
    ]);
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["answer"], "The sum is 42.");
    let requests = model.requests();
    let offered = requests[0]["tools"].to_string();
    assert!(
        offered.contains("remote__echo") && offered.contains("remote__get-sum"),
        "{offered}"
    );
    assert!(!offered.contains("remote__get-env"), "{offered}");
    let answered = requests[1]["messages"].to_string();
    assert!(answered.contains("42"), "{answered}");
    let calls = w.calls_of("server:remote");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["event"]["function"], "get-sum");
    assert_eq!(calls[0]["event"]["outcome"], "ok");
}

#[test]
fn an_agents_remote_server_outside_its_grant_or_the_org_policy_is_never_connected() {
    let w = super::remote_servers::World::new();
    let target = super::remote_servers::Untouched::new();
    let url = format!("http://127.0.0.1:{}/mcp", target.port());
    remote_agent(&w, "remote", &url);
    let model = ChatServer::scripted(vec![Reply::answer("unused")]);

    // Not granted: the run stops before the planner is asked anything.
    let stderr = w.fails(&["run", "Add", "--endpoint", &model.base_url()], 4);
    assert!(
        stderr.contains("cannot list the tools of server `remote`")
            && stderr.contains(&format!("127.0.0.1:{}", target.port())),
        "{stderr}"
    );
    target.assert_untouched();

    // Granted, but the org policy allows only other remote servers.
    let host = format!("http://127.0.0.1:{}", target.port());
    assert!(
        w.run(&["grant", "server:remote", "network", &host])
            .status
            .success()
    );
    w.org(&format!(
        "{}\n[remote-servers]\nallow = [\"https://mcp.example.com/*\"]\n",
        super::remote_servers::OPEN_ORG
    ));
    let stderr = w.fails(&["run", "Add", "--endpoint", &model.base_url()], 4);
    assert!(
        stderr.contains("allows only these remote MCP servers"),
        "{stderr}"
    );
    target.assert_untouched();
    assert!(model.requests().is_empty(), "the model was asked");
}
