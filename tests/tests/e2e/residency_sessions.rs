//! Data residency across the life of a session: a resumed session keeps
//! the data classes its conversation carries, its history compaction goes
//! through the broker's model path under those classes (never to a
//! provider that may not see them), and the taint of one run never leaks
//! into another run on the same runtime. Scripted chat servers on
//! 127.0.0.1 stand in for "cloud" and "local" and record every request.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use warden::agent::{AgentLimits, AgentTool, Broker, BrokerParts, NoObserver, ResidencyGuard};
use warden::{DirMode, Grant, HostPattern};
use warden_tests::chat::{ChatServer, Reply};
use warden_tests::{block_on, grant_dirs, runtime};

use super::residency::{SECRET, bodies, world_with_secret};
use super::world::World;

/// How the host asks for a summary (`warden::agent::compaction`).
const SUMMARY_ASK: &str = "Summarise the conversation you are given";

fn read(id: &str, path: &str) -> Reply {
    Reply::tool_calls(&[(id, "read_file", json!({"path": path}))])
}

/// A session of five turns whose conversation holds the labelled secret
/// (~28k tokens of it, so resuming compacts the history): the first turn
/// went to `cloud`, the rest (the fs tool reaches the labelled directory)
/// to `local`, whose script must start with two reads and an answer.
fn labelled_session(w: &World, cloud: &ChatServer, local: &ChatServer) -> String {
    std::fs::write(
        w.workspace().join("secret/plan.txt"),
        format!("{SECRET}\n{}", "filler ".repeat(16_000)),
    )
    .expect("write");
    w.resident_agent(cloud, Some(local));
    let first = w.run_json("Look around, then summarise the plan in secret/");
    assert_eq!(first["answer"], "LOCAL one", "{first}");
    let id = first["session"].as_str().expect("session").to_string();
    assert_eq!(bodies(cloud).len(), 1, "only the unlabelled first turn");
    let session: Value =
        serde_json::from_str(&std::fs::read_to_string(w.session_file(&id)).expect("read"))
            .expect("json");
    assert_eq!(session["data_classes"], json!(["restricted"]), "{session}");
    id
}

/// `warden run TASK --session ID --json`: its JSON result and stderr.
fn resume(w: &World, id: &str, task: &str) -> (Value, String) {
    let out = w.run(&["run", task, "--session", id, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (json, stderr)
}

#[test]
fn a_resumed_labelled_session_keeps_its_classes_and_its_compaction_never_reaches_the_cloud() {
    let cloud = ChatServer::scripted(vec![
        read("c1", "/workspace/hello.txt"),
        Reply::answer("CLOUD answer"),
    ]);
    let local = ChatServer::scripted(vec![
        read("c2", "/workspace/hello.txt"),
        read("c3", "/workspace/secret/plan.txt"),
        Reply::answer("LOCAL one"),
        Reply::answer("LOCAL summary"),
        Reply::answer("LOCAL two"),
    ]);
    let w = world_with_secret(local.port());
    let id = labelled_session(&w, &cloud, &local);

    // Resumed: the history holds the secret, so the summary and every turn
    // go to the local model, none to the cloud (although the workspace
    // itself, and so the new task, is unlabelled).
    let (out, _) = resume(&w, &id, "What is next?");
    assert_eq!(out["answer"], "LOCAL two", "{out}");
    let to_cloud = bodies(&cloud);
    assert_eq!(to_cloud.len(), 1, "{to_cloud:?}");
    assert!(
        to_cloud
            .iter()
            .all(|b| !b.contains(SECRET) && !b.contains(SUMMARY_ASK))
    );
    let to_local = bodies(&local);
    assert_eq!(to_local.len(), 5, "{to_local:?}");
    assert!(to_local[3].contains(SUMMARY_ASK), "{}", to_local[3]);
    assert!(to_local[3].contains("Look around"), "{}", to_local[3]);
    assert!(to_local[4].contains("LOCAL summary"), "{}", to_local[4]);
    let session = w.session(&id);
    assert_eq!(
        session["compactions"].as_array().map(Vec::len),
        Some(1),
        "{session}"
    );

    // Every routing decision is audited, the summary's included.
    let decisions: Vec<String> = w
        .audit_of("model-route")
        .iter()
        .filter_map(|r| r["event"]["decision"].as_str().map(String::from))
        .collect();
    assert_eq!(
        decisions,
        [
            "sent", "fallback", "fallback", "fallback", "fallback", "fallback"
        ],
        "{decisions:?}"
    );
}

#[test]
fn without_a_permitted_provider_a_labelled_history_is_not_compacted_and_stays_whole() {
    let cloud = ChatServer::scripted(vec![read("c1", "/workspace/hello.txt")]);
    let local = ChatServer::scripted(vec![
        read("c2", "/workspace/hello.txt"),
        read("c3", "/workspace/secret/plan.txt"),
        Reply::answer("LOCAL one"),
    ]);
    let w = world_with_secret(local.port());
    let id = labelled_session(&w, &cloud, &local);
    let messages = w.session(&id)["messages"].clone();

    // The agent loses its fallback: nothing of the session may go anywhere.
    let cloud = ChatServer::scripted(vec![Reply::answer("CLOUD answer")]);
    w.resident_agent(&cloud, None);
    let (out, stderr) = resume(&w, &id, "What is next?");
    assert_eq!(out["ok"], false, "{out}");
    assert!(
        stderr.contains("the history was not compacted") && stderr.contains("data residency"),
        "{stderr}"
    );
    assert!(cloud.requests().is_empty(), "{:?}", bodies(&cloud));
    let session = w.session(&id);
    assert_eq!(session["compactions"], json!([]));
    let kept = session["messages"].to_string();
    for m in messages.as_array().expect("messages") {
        assert!(kept.contains(&m.to_string()), "lost {m}");
    }
}

/// The built-in provider's grant for `server`.
fn provider_grant(server: &ChatServer) -> Grant {
    let mut grant = Grant {
        hosts: vec![HostPattern::parse(&format!("127.0.0.1:{}", server.port())).expect("host")],
        env: vec![
            ("WARDEN_MODEL_ENDPOINT".into(), server.base_url()),
            ("WARDEN_MODEL".into(), "scripted".into()),
        ],
        ..Grant::default()
    };
    grant.limits.timeout = Duration::from_secs(5);
    grant
}

#[test]
fn taint_is_per_run_and_never_leaks_into_the_next_run_on_the_same_runtime() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir(dir.path().join("secret")).expect("mkdir");
    std::fs::write(dir.path().join("secret/plan.txt"), SECRET).expect("write");
    let canon = dir.path().canonicalize().expect("canonical");
    let cloud = ChatServer::scripted(vec![
        Reply::tool_calls(&[("c1", "read_file", json!({"path": "/data/secret/plan.txt"}))]),
        Reply::answer("CLOUD second run"),
    ]);
    let local = ChatServer::scripted(vec![Reply::answer("LOCAL first run")]);
    let policy = warden_policy::GrantsFile::parse(&format!(
        "[[label]]\nclass = \"restricted\"\npaths = [\"{}/secret\"]\n\n\
         [[residency]]\nclass = \"restricted\"\nproviders = [\"127.0.0.1:{}\"]\n",
        canon.display(),
        local.port()
    ))
    .expect("policy")
    .residency()
    .clone();

    let rt = runtime();
    let planner = rt
        .load_planner(
            "planner",
            warden::builtin::lookup("planner").expect("planner"),
        )
        .expect("planner loads");
    let provider = rt
        .load_model(
            "openai-provider",
            warden::builtin::lookup("openai-provider").expect("provider"),
        )
        .expect("provider loads");
    let fs = warden_tests::builtin("fs");
    let fs_grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);
    let tools: Vec<AgentTool> = block_on(rt.list_tools(&fs, &fs_grant))
        .expect("tools")
        .tools
        .into_iter()
        .map(|spec| AgentTool::of_component(spec, fs.clone(), fs_grant.clone()))
        .collect();
    let (cloud_grant, local_grant) = (provider_grant(&cloud), provider_grant(&local));
    let limits = AgentLimits::default();
    // One run: its own broker and its own residency state, on the shared
    // runtime (as a server running many agents would).
    let run = |task: &str| {
        let guard = ResidencyGuard::new(
            policy.clone(),
            None,
            tools.iter().map(|t| (t.spec.name.as_str(), &t.grant)),
            &cloud_grant,
            Some(&local_grant),
        );
        let broker = Broker::new(
            BrokerParts {
                runtime: rt.clone(),
                model: (provider.clone(), cloud_grant.clone()),
                tools: tools.clone(),
                skills: Vec::new(),
                history: Vec::new(),
                limits,
                delegation: None,
            },
            Arc::new(NoObserver),
        )
        .expect("broker")
        .with_residency(
            Arc::new(guard),
            Some((provider.clone(), local_grant.clone())),
        );
        let mut grant = Grant::default();
        grant.limits.timeout = limits.wall_clock;
        block_on(rt.run_planner(&planner, task, &grant, Arc::new(broker)))
            .expect("the run finishes")
            .expect("the run answers")
            .answer
    };
    // The first run reads the labelled file: its later turn goes local.
    assert_eq!(run("Summarise secret/plan.txt"), "LOCAL first run");
    // The second run on the same runtime starts clean: its unlabelled task
    // goes to the cloud model again.
    assert_eq!(run("Say hello"), "CLOUD second run");
    let to_cloud = bodies(&cloud);
    assert_eq!(to_cloud.len(), 2, "{to_cloud:?}");
    assert!(to_cloud.iter().all(|b| !b.contains(SECRET)), "{to_cloud:?}");
    assert_eq!(bodies(&local).len(), 1);
}
