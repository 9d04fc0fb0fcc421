//! `warden replay` as a user runs it: a run recorded against the scripted
//! chat server, replayed with the server gone; an edited recording
//! refused; a changed planner and a changed file found as divergences
//! with their diffs; a fork onto a second server as a new session.

use super::world::World;
use std::path::PathBuf;
use std::process::Output;

use serde_json::{Value, json};
use warden_tests::chat::{ChatServer, Reply};

/// The exit code of a replay that diverged (cli/src/exit.rs).
const DIVERGED: i32 = 14;
/// The exit code of a refused recording.
const RECORDING_REFUSED: i32 = 15;

impl World {
    fn recording(&self, id: &str) -> PathBuf {
        let ws = self.workspace().canonicalize().expect("canonical");
        self.home()
            .join("workspaces")
            .join(warden_registry::Digest::of(ws.as_os_str().as_encoded_bytes()).hex())
            .join("sessions")
            .join(format!("{id}.recording.jsonl"))
    }

    fn record(&self) -> String {
        let server = ChatServer::scripted(vec![
            Reply::tool_calls(&[("c1", "read_file", json!({"path": "/workspace/hello.txt"}))]),
            Reply::answer("It says hello."),
        ]);
        let url = server.base_url();
        let out: Value = serde_json::from_str(&self.ok(&[
            "run",
            "What does hello.txt say?",
            "--endpoint",
            &url,
            "--json",
        ]))
        .expect("json");
        assert_eq!(out["answer"], "It says hello.", "{out}");
        out["session"].as_str().expect("session").to_string()
        // The server stops here: nothing answers on its port any more.
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_recorded_run_replays_offline_with_its_server_gone() {
    let w = World::new();
    let id = w.record();
    let recording =
        std::fs::read_to_string(w.recording(&id)).expect("recording beside the session");
    assert_eq!(
        recording.lines().count(),
        5,
        "header, 3 steps, end:\n{recording}"
    );
    // Every component's digest is in the header.
    for part in ["warden:planner", "warden:openai-provider", "warden:fs"] {
        assert!(
            recording.lines().next().is_some_and(|h| h.contains(part)),
            "{part}"
        );
    }

    let out = w.run(&["replay", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "It says hello.");
    assert!(
        stderr(&out).contains("reproduced 3 steps"),
        "{}",
        stderr(&out)
    );

    // The session says where its recording ends.
    let session: Value =
        serde_json::from_str(&w.ok(&["sessions", "show", &id, "--json"])).expect("json");
    assert_eq!(session["recording"]["steps"], 3, "{session}");
}

#[test]
fn one_edited_byte_of_the_recording_is_refused_naming_the_step() {
    let w = World::new();
    let id = w.record();
    let path = w.recording(&id);
    let text = std::fs::read_to_string(&path).expect("read");
    // Step 2 is the tool call: make the tool's result say something else.
    let line = text.lines().nth(2).expect("step 2");
    assert!(line.contains("hello from the workspace"), "{line}");
    let edited = text.replacen("hello from the workspace", "jello from the workspace", 1);
    assert_eq!(edited.len(), text.len());
    std::fs::write(&path, edited).expect("write");

    let out = w.run(&["replay", &id]);
    assert_eq!(
        out.status.code(),
        Some(RECORDING_REFUSED),
        "{}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("hash chain at step 2"), "{err}");
    assert!(err.contains("edited"), "{err}");
}

#[test]
fn a_recording_cut_short_is_refused() {
    let w = World::new();
    let id = w.record();
    let path = w.recording(&id);
    let text = std::fs::read_to_string(&path).expect("read");
    let cut: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, cut).expect("write");
    let out = w.run(&["replay", &id]);
    assert_eq!(
        out.status.code(),
        Some(RECORDING_REFUSED),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("steps were removed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_planner_with_a_changed_prompt_diverges_at_step_1_with_the_diff() {
    let w = World::new();
    let id = w.record();
    // The planner rebuilt with another system prompt: the same component
    // with the prompt's text changed in its data.
    let original = warden::builtin::lookup("planner").expect("built-in planner");
    let (from, to) = (
        b"You are an agent that completes".as_slice(),
        b"You are an AGENT that completes".as_slice(),
    );
    let at = original
        .windows(from.len())
        .position(|w| w == from)
        .expect("the prompt is in the planner's data");
    let mut changed = original.to_vec();
    changed[at..at + to.len()].copy_from_slice(to);
    let file = w.root().join("planner-v2.wasm");
    std::fs::write(&file, changed).expect("write");

    let out = w.run(&["replay", &id, "--planner", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(DIVERGED), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("diverged at step 1"), "{err}");
    assert!(err.contains("the model request differs"), "{err}");
    let removed = err
        .lines()
        .any(|l| l.starts_with("- ") && l.contains("You are an agent that completes"));
    let added = err
        .lines()
        .any(|l| l.starts_with("+ ") && l.contains("You are an AGENT that completes"));
    assert!(removed && added, "{err}");

    // The unchanged planner, given as a file, reproduces the run.
    let same = w.root().join("planner-v1.wasm");
    std::fs::write(&same, original).expect("write");
    let out = w.run(&["replay", &id, "--planner", same.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn live_tools_find_a_changed_file_as_a_divergence_naming_the_tool_call() {
    let w = World::new();
    let id = w.record();
    // Unchanged, the tools give what they gave: reproduced.
    let out = w.run(&["replay", &id, "--live-tools"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reproduced 3 steps"),
        "{}",
        stderr(&out)
    );

    std::fs::write(
        w.workspace().join("hello.txt"),
        "goodbye from the workspace",
    )
    .expect("write");
    let out = w.run(&["replay", &id, "--live-tools"]);
    assert_eq!(out.status.code(), Some(DIVERGED), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("diverged at step 2"), "{err}");
    assert!(err.contains("tool call `c1` (`read_file`)"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("- ") && l.contains("hello from the workspace")),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("+ ") && l.contains("goodbye from the workspace")),
        "{err}"
    );
}

#[test]
fn a_fork_at_step_2_runs_on_a_second_server_as_a_new_session_with_its_lineage() {
    let w = World::new();
    let id = w.record();
    let second = ChatServer::scripted(vec![Reply::answer("Forked answer.")]);
    let url = second.base_url();
    let out = w.run(&[
        "replay",
        &id,
        "--from-step",
        "2",
        "--endpoint",
        &url,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let result: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(result["answer"], "Forked answer.", "{result}");
    let fork = result["session"].as_str().expect("session").to_string();
    assert_ne!(fork, id);
    // Step 1 came from the recording; the tool ran live (step 2) and the
    // second server answered step 3, seeing the tool's result.
    let requests = second.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].to_string().contains("hello from the workspace"),
        "{}",
        requests[0]
    );

    let show = w.ok(&["sessions", "show", &fork]);
    assert!(
        show.contains(&format!("forked from session {id} at step 2")),
        "{show}"
    );
    let session: Value =
        serde_json::from_str(&w.ok(&["sessions", "show", &fork, "--json"])).expect("json");
    assert_eq!(session["parent"]["session"], id.as_str(), "{session}");
    assert_eq!(session["parent"]["from_step"], 2, "{session}");

    // The fork is recorded in full, so it replays offline too.
    drop(second);
    let out = w.run(&["replay", &fork]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "Forked answer.");
    assert!(
        stderr(&out).contains("reproduced 3 steps"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_recording_whose_planner_digest_is_not_available_is_refused_naming_it() {
    use warden::agent::{Exchange, Recorder, Recording};
    let w = World::new();
    let id = w.record();
    // The same run, as if recorded with a planner build this machine does
    // not have: the header names another digest, and the chain (rewritten
    // by the library, so it holds) and the session's head agree with it.
    let path = w.recording(&id);
    let recording = Recording::load(&path).expect("load");
    let mut header = recording.header.clone();
    let missing = format!("sha256:{}", "ab".repeat(32));
    header
        .components
        .insert(header.planner.clone(), missing.clone());
    std::fs::remove_file(&path).expect("remove");
    let r = Recorder::create(&path, &header, warden::secret::Redactor::default()).expect("create");
    let (mut answer, mut error) = (None, None);
    for step in &recording.exchanges {
        match step {
            Exchange::End {
                answer: a,
                error: e,
            } => (answer, error) = (a.clone(), e.clone()),
            other => r.record(other),
        }
    }
    let head = r.finish(answer, error).expect("finish");
    let file = w.session_file(&id);
    let mut session: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("session")).expect("json");
    session["recording"]["head"] = json!(head.hash);
    std::fs::write(&file, session.to_string()).expect("write session");

    let out = w.run(&["replay", &id]);
    assert_eq!(
        out.status.code(),
        Some(RECORDING_REFUSED),
        "{}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("warden:planner"), "{err}");
    assert!(err.contains(&missing), "{err}");
    assert!(err.contains("--planner"), "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}
