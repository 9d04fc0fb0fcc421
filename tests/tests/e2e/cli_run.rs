//! `warden run` as a user runs it: the built-in planner, the built-in
//! `openai-provider` talking to a scripted chat-completions server on
//! 127.0.0.1, the built-in tools on the workspace; sessions kept under
//! warden's home (out of the tools' reach), resumed, and recovered after a
//! crash; skills; the audit log.

use super::world::World;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warden_tests::chat::{ChatServer, Reply};
use warden_tests::components::SKILL_EXAMPLE;

impl World {
    fn agent_run(&self, server: &ChatServer, task: &str, extra: &[&str]) -> Value {
        let url = server.base_url();
        let mut args = vec!["run", task, "--endpoint", &url, "--json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&self.ok(&args)).expect("json result")
    }
}

fn contents(messages: &Value) -> String {
    messages.to_string()
}

#[test]
fn an_agent_run_answers_keeps_a_session_and_audits_every_step() {
    let w = World::new();
    let server = ChatServer::scripted(vec![
        Reply::tool_calls(&[("c1", "read_file", json!({"path": "/workspace/hello.txt"}))]),
        Reply::answer("It says hello."),
    ]);
    let out = w.agent_run(&server, "What does hello.txt say?", &[]);
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["answer"], "It says hello.");
    assert_eq!(out["usage"]["turns"], 2);
    assert_eq!(out["usage"]["tool_calls"], 1);
    let id = out["session"].as_str().expect("session id").to_string();

    // The session file is under warden's home, not in the workspace, and
    // holds the whole run.
    assert!(w.session_file(&id).is_file());
    assert!(!w.workspace().join(".warden").exists());
    let session = w.session(&id);
    assert_eq!(session["status"]["state"], "completed");
    let messages = contents(&session["messages"]);
    for needle in [
        "What does hello.txt say?",
        "read_file",
        "hello from the workspace",
        "It says hello.",
    ] {
        assert!(messages.contains(needle), "`{needle}` not in {messages}");
    }
    assert_eq!(session["steps"].as_array().map(Vec::len), Some(3));
    for part in ["warden:planner", "warden:openai-provider", "warden:fs"] {
        assert!(
            session["components"][part]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:")),
            "{part}: {session}"
        );
    }
    let list: Value = serde_json::from_str(&w.ok(&["sessions", "list", "--json"])).expect("json");
    assert_eq!(list["sessions"][0]["id"], id.as_str());
    assert_eq!(list["sessions"][0]["status"], "completed");

    // The tools saw the workspace read-only, the planner nothing: the model
    // got the file through the host.
    let audit = w.ok(&["audit", "tail", "-n", "50", "--json"]);
    assert!(audit.contains("\"function\":\"read_file\""), "{audit}");
    assert!(audit.contains("\"function\":\"complete\""), "{audit}");
    assert!(audit.contains("\"function\":\"run\""), "{audit}");
    w.ok(&["audit", "verify"]);

    // Planner, provider and tool were compiled once, into the artifact
    // cache, keyed by their digests: the next run starts from there.
    let digests: Vec<String> = ["warden:planner", "warden:openai-provider", "warden:fs"]
        .iter()
        .filter_map(|p| session["components"][p].as_str())
        .map(|d| d.trim_start_matches("sha256:").to_string())
        .collect();
    assert_eq!(digests.len(), 3, "{session}");
    let cached: Vec<String> = std::fs::read_dir(w.home().join("cache"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|engine_dir| {
            std::fs::read_dir(engine_dir.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    for digest in &digests {
        assert!(
            cached.contains(&format!("{digest}.cwasm")),
            "{digest} not cached: {cached:?}"
        );
    }

    // Removing it.
    w.ok(&["sessions", "rm", &id]);
    assert!(!w.session_file(&id).exists());
}

#[test]
fn a_resumed_session_gives_the_model_its_history() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::answer("First answer.")]);
    let out = w.agent_run(&server, "FIRST-TASK", &[]);
    let id = out["session"].as_str().expect("id").to_string();
    let server2 = ChatServer::scripted(vec![Reply::answer("Second answer.")]);
    let out = w.agent_run(&server2, "SECOND-TASK", &["--session", &id]);
    assert_eq!(out["answer"], "Second answer.");
    assert_eq!(out["session"], id.as_str());
    let request = server2.requests()[0].to_string();
    assert!(
        request.contains("FIRST-TASK") && request.contains("First answer."),
        "{request}"
    );
    assert!(request.contains("SECOND-TASK"), "{request}");
    let session = w.session(&id);
    assert_eq!(session["tasks"], json!(["FIRST-TASK", "SECOND-TASK"]));
}

#[test]
fn a_session_survives_a_crash_mid_run_and_resumes() {
    let w = World::new();
    // The model calls a tool, then takes forever: the process is killed
    // while it waits.
    let server = ChatServer::scripted(vec![
        Reply::tool_calls(&[("c1", "read_file", json!({"path": "/workspace/hello.txt"}))]),
        Reply::Slow(Duration::from_secs(60), Box::new(Reply::answer("too late"))),
    ]);
    let url = server.base_url();
    let mut child = w
        .command(&["run", "CRASH-TASK", "--endpoint", &url, "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn warden");
    let sessions = w.sessions_dir();
    let deadline = Instant::now() + Duration::from_secs(60);
    let file = loop {
        let found = std::fs::read_dir(&sessions).ok().and_then(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "json"))
        });
        if let Some(path) = &found
            && std::fs::read_to_string(path).is_ok_and(|t| t.contains("hello from the workspace"))
            && server.requests().len() >= 2
        {
            break found.expect("found");
        }
        assert!(
            Instant::now() < deadline,
            "the run never reached the tool result"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().expect("kill");
    let _ = child.wait();

    // The file is whole and says where the run was.
    let id = file
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("id")
        .to_string();
    let session = w.session(&id);
    assert_eq!(session["status"]["state"], "running");
    assert!(contents(&session["messages"]).contains("hello from the workspace"));

    // Resume: the model gets what was done before the crash.
    let server2 = ChatServer::scripted(vec![Reply::answer("Recovered.")]);
    let out = w.agent_run(&server2, "continue", &["--session", &id]);
    assert_eq!(out["answer"], "Recovered.");
    let request = server2.requests()[0].to_string();
    assert!(request.contains("CRASH-TASK"), "{request}");
    assert!(request.contains("hello from the workspace"), "{request}");
    assert_eq!(w.session(&id)["status"]["state"], "completed");
}

fn write_skill(dir: &Path, name: &str, when: &str, tools: &[&str], body: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).expect("mkdir");
    let tools = tools
        .iter()
        .map(|t| format!("  - {t}\n"))
        .collect::<String>();
    std::fs::write(
        path.join("SKILL.md"),
        format!(
            "---\nname: {name}\ndescription: The {name} skill\nwhen: {when}\ntools:\n{tools}---\n{body}\n"
        ),
    )
    .expect("write skill");
}

const AGENT: &str = r#"
name = "tester"
planner = "warden:planner@^0.1"
provider = "warden:openai-provider@^0.1"
tools = ["warden:fs@^0.1"]
skills = ["./skills"]
"#;

#[test]
fn skills_that_apply_reach_the_model_and_missing_tools_are_refused() {
    let w = World::new();
    std::fs::write(w.workspace().join("agent.toml"), AGENT).expect("write agent.toml");
    let skills = w.workspace().join("skills");
    write_skill(
        &skills,
        "release-notes",
        "release notes",
        &["read_file"],
        "RELEASE-NOTES-INSTRUCTIONS: read CHANGELOG first.",
    );
    write_skill(
        &skills,
        "haiku",
        "poems",
        &[],
        "HAIKU-INSTRUCTIONS: five seven five.",
    );
    let listed = w.ok(&["skills", "list", "--task", "write the release notes"]);
    assert!(listed.contains("release-notes [applies]"), "{listed}");
    assert!(listed.contains("haiku [does not apply]"), "{listed}");

    let server = ChatServer::scripted(vec![Reply::answer("Done.")]);
    w.agent_run(&server, "write the release notes", &[]);
    let request = server.requests()[0].to_string();
    assert!(request.contains("RELEASE-NOTES-INSTRUCTIONS"), "{request}");
    assert!(!request.contains("HAIKU-INSTRUCTIONS"), "{request}");

    // A skill needing a tool the agent does not have stops the run before
    // anything is asked of the model.
    write_skill(&skills, "deploy", "deploy", &["kubectl"], "Deploy it.");
    let server = ChatServer::scripted(vec![Reply::answer("unused")]);
    let url = server.base_url();
    let out = w.run(&["run", "anything", "--endpoint", &url]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deploy") && err.contains("kubectl"), "{err}");
    assert!(server.requests().is_empty());
}

#[test]
fn without_a_model_endpoint_the_run_says_how_to_give_one() {
    let w = World::new();
    // Probe a port where nothing listens, not the machine's usual ones
    // (tests/tests/e2e/local_model.rs covers probing).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = w
        .command(&["run", "hello"])
        .env("WARDEN_TEST_LOCAL_SERVERS", format!("Ollama={closed}"))
        .output()
        .expect("warden runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no model endpoint") && err.contains("--endpoint"),
        "{err}"
    );
}

#[test]
fn a_model_that_fails_leaves_a_failed_session_with_the_reason() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::Status(500, "upstream exploded".into())]);
    let url = server.base_url();
    let out = w.run(&["run", "hello", "--endpoint", &url, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(result["ok"], false);
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|e| e.contains("the model failed")),
        "{result}"
    );
    let id = result["session"].as_str().expect("id");
    assert_eq!(w.session(id)["status"]["state"], "failed");
}

#[test]
fn a_skill_component_runs_under_its_grant_and_its_skills_are_checked() {
    let w = World::new();
    let work = w.root();
    // Publish the skill component as a signed package and install it.
    let key = work.join("acme.key");
    let out: Value = serde_json::from_str(&w.ok(&[
        "key",
        "generate",
        "--out",
        key.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("json");
    let public = out["public_key"].as_str().expect("key").to_string();
    w.ok(&["trust", "add", "acme", &public]);
    let manifest = work.join("style.toml");
    std::fs::write(
        &manifest,
        r#"name = "acme:style"
version = "1.0.0"
kind = "skill"
description = "Style skills"
world = "warden:plugin/skill@0.1.0"

[capabilities]
env = ["SKILL_EXAMPLE_DEPLOY"]
"#,
    )
    .expect("write manifest");
    let pkg = work.join("style.wpkg");
    w.ok(&[
        "package",
        "--manifest",
        manifest.to_str().expect("utf-8"),
        "--component",
        SKILL_EXAMPLE,
        "--key",
        key.to_str().expect("utf-8"),
        "--out",
        pkg.to_str().expect("utf-8"),
    ]);
    w.ok(&["install", "--from", pkg.to_str().expect("utf-8"), "--yes"]);
    std::fs::write(
        w.workspace().join("agent.toml"),
        r#"
name = "writer"
planner = "warden:planner@^0.1"
provider = "warden:openai-provider@^0.1"
tools = ["warden:fs@^0.1"]
skills = ["acme:style@^1"]
"#,
    )
    .expect("write agent.toml");

    // Its skill reaches the model when the task calls for it.
    let server = ChatServer::scripted(vec![Reply::answer("Done.")]);
    let out = w.agent_run(&server, "check the prose style of hello.txt", &[]);
    let request = server.requests()[0].to_string();
    assert!(request.contains("STYLE-INSTRUCTIONS"), "{request}");
    let session = w.session(out["session"].as_str().expect("id"));
    assert!(session["components"]["acme:style"].is_string(), "{session}");

    // Given the variable it was granted at install, it offers a skill that
    // needs a tool this agent lacks: the run is refused before the model.
    let server = ChatServer::scripted(vec![Reply::answer("unused")]);
    let url = server.base_url();
    let out = w
        .command(&["run", "check the style", "--endpoint", &url])
        .env("SKILL_EXAMPLE_DEPLOY", "1")
        .output()
        .expect("warden runs");
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deploy") && err.contains("kubectl"), "{err}");
    assert!(server.requests().is_empty());
}

#[test]
fn a_long_history_is_compacted_through_the_model_and_the_originals_kept() {
    let w = World::new();
    // Four turns with long answers (about 7,500 tokens each) push the
    // history past its 24,000-token budget.
    let long = "LONG-ANSWER ".repeat(2_500);
    let mut id = String::new();
    for i in 0..4 {
        let server = ChatServer::scripted(vec![Reply::answer(&format!("{i}: {long}"))]);
        let task = format!("TASK-{i}");
        let out = if id.is_empty() {
            w.agent_run(&server, &task, &[])
        } else {
            w.agent_run(&server, &task, &["--session", &id])
        };
        id = out["session"].as_str().expect("id").to_string();
    }
    // The next run first asks the model for a summary, then works from it.
    let server = ChatServer::scripted(vec![
        Reply::answer("SUMMARY-OF-EARLIER-TURNS"),
        Reply::answer("Final."),
    ]);
    let out = w.agent_run(&server, "TASK-LAST", &["--session", &id]);
    assert_eq!(out["answer"], "Final.");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let summary_request = requests[0].to_string();
    assert!(summary_request.contains("Summarise"), "{summary_request}");
    assert!(summary_request.contains("TASK-0"), "{summary_request}");
    let run_request = requests[1].to_string();
    assert!(run_request.contains("SUMMARY-OF-EARLIER-TURNS"));
    assert!(
        !run_request.contains("TASK-0"),
        "the oldest turn was summarised away"
    );
    assert!(run_request.contains("TASK-LAST"));
    // The file keeps every original message, and the compaction.
    let session = w.session(&id);
    assert!(contents(&session["messages"]).contains("TASK-0"));
    assert_eq!(session["compactions"].as_array().map(Vec::len), Some(1));
}

/// A delegated sub-task's whole conversation is kept in the session file
/// next to the manager's, with its outcome.
#[test]
fn an_executors_conversation_is_kept_in_the_session() {
    let w = World::new();
    let server = ChatServer::start(|_, request| {
        let text = request.to_string();
        if text.contains("SUBTASK-B") && !text.contains("MANAGER") {
            if text.contains("\"role\":\"tool\"") {
                Reply::answer("sub-answer B")
            } else {
                Reply::tool_calls(&[("e1", "read_file", json!({"path": "/workspace/hello.txt"}))])
            }
        } else if text.contains("sub-answer B") {
            Reply::answer("Done through an executor.")
        } else {
            Reply::tool_calls(&[(
                "m1",
                "delegate",
                json!({"tasks": [{"task": "SUBTASK-B read hello.txt", "tools": ["read_file"], "max_turns": 3}]}),
            )])
        }
    });
    let out = w.agent_run(&server, "MANAGER: delegate it", &[]);
    assert_eq!(out["answer"], "Done through an executor.", "{out}");
    let session = w.session(out["session"].as_str().expect("id"));
    let executors = session["executors"].as_array().expect("executors");
    assert_eq!(executors.len(), 1, "{session}");
    assert_eq!(executors[0]["task"], "SUBTASK-B read hello.txt");
    assert_eq!(executors[0]["ok"], true);
    let said = contents(&executors[0]["messages"]);
    for needle in ["SUBTASK-B", "hello from the workspace", "sub-answer B"] {
        assert!(said.contains(needle), "`{needle}` not in {said}");
    }
    // The manager's own messages do not mix in the executor's.
    assert!(!contents(&session["messages"]).contains("hello from the workspace"));
    // `sessions show` prints the executor under the manager's conversation.
    let shown = w.ok(&["sessions", "show", out["session"].as_str().expect("id")]);
    assert!(
        shown.contains("executor (ok,") && shown.contains("sub-answer B"),
        "{shown}"
    );
}

#[test]
fn tools_granted_the_workspace_read_write_cannot_reach_the_sessions() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::answer("First answer.")]);
    let out = w.agent_run(&server, "FIRST-TASK", &[]);
    let id = out["session"].as_str().expect("id").to_string();
    let file = w.session_file(&id);
    let before = std::fs::read(&file).expect("the session file is under the home");
    assert!(!file.starts_with(w.workspace()), "{}", file.display());

    // A model that tries to rewrite history through the fs tool, granted the
    // workspace read-write: at the old place inside the workspace (as an
    // older warden left it), and at the session file's real host path.
    std::fs::create_dir_all(w.workspace().join(".warden/sessions")).expect("mkdir");
    let host_path = file.to_str().expect("utf-8").to_string();
    let old_place = format!("/workspace/.warden/sessions/{id}.json");
    let server = ChatServer::scripted(vec![
        Reply::tool_calls(&[
            (
                "c1",
                "write_file",
                json!({"path": old_place, "content": "FORGED-HISTORY"}),
            ),
            (
                "c2",
                "write_file",
                json!({"path": host_path, "content": "FORGED-HISTORY"}),
            ),
            ("c3", "read_file", json!({"path": host_path})),
        ]),
        Reply::answer("Tried."),
    ]);
    let out = w.agent_run(&server, "SECOND-TASK", &["--write"]);
    assert_eq!(out["ok"], true, "{out}");

    // The tool really could write in the workspace...
    let planted = w.workspace().join(format!(".warden/sessions/{id}.json"));
    assert_eq!(
        std::fs::read_to_string(&planted).expect("written in the workspace"),
        "FORGED-HISTORY"
    );
    // ...but not reach the session: its file is byte-for-byte unchanged,
    // and the model was told the host path is outside the grant.
    assert_eq!(std::fs::read(&file).expect("read"), before);
    let results = server.requests()[1].to_string();
    assert!(results.contains("denied"), "{results}");
    let session = w.session(&id);
    assert_eq!(session["tasks"], json!(["FIRST-TASK"]));
    assert!(!session.to_string().contains("FORGED-HISTORY"), "{session}");
    let list = w.ok(&["sessions", "list", "--json"]);
    assert!(!list.contains("FORGED-HISTORY"), "{list}");

    // Resuming gives the model the real history.
    let server = ChatServer::scripted(vec![Reply::answer("Third.")]);
    w.agent_run(&server, "THIRD-TASK", &["--session", &id]);
    let request = server.requests()[0].to_string();
    assert!(request.contains("First answer."), "{request}");
    assert!(!request.contains("FORGED-HISTORY"), "{request}");
}

#[test]
fn a_workspace_containing_wardens_home_is_refused() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::answer("unused")]);
    let url = server.base_url();
    // The home is inside the workspace: its tools could rewrite the trust
    // store, grants and sessions.
    let out = w
        .command(&["run", "anything", "--endpoint", &url, "--write"])
        .env("WARDEN_HOME", w.workspace().join("home"))
        .output()
        .expect("warden runs");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("contains warden's home"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(server.requests().is_empty());
}
