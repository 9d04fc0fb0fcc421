//! Shared-context notes carry data-residency labels, through `warden run`
//! as a user runs it: a note stored by a run whose conversation held
//! `restricted` data is labelled `restricted`, and a later run that recalls
//! it carries the class, so its model requests go only to the local
//! fallback (or are refused without one). Two scripted chat servers on
//! 127.0.0.1 stand in for "cloud" and "local" and record every request.
//! Also: a run killed after a labelled read leaves a session that carries
//! the class.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warden_tests::chat::{ChatServer, Reply};

use super::context::NOTES_HEADER;
use super::residency::{SECRET, bodies, world_with_secret};
use super::world::World;

impl World {
    /// `agent.toml`: `cloud` as the model, `local` as the fallback (if
    /// given), the fs tool, and the planner granted the `workspace` notes.
    fn remembering_resident(&self, cloud: &ChatServer, local: Option<&ChatServer>) {
        let fallback = local.map_or(String::new(), |l| {
            format!("\n[fallback]\nendpoint = \"{}\"\n", l.base_url())
        });
        std::fs::write(
            self.workspace().join("agent.toml"),
            format!(
                "name = \"resident\"\nplanner = \"warden:planner@^0.1\"\n\
                 provider = \"warden:openai-provider@^0.1\"\ntools = [\"warden:fs@^0.1\"]\n\n\
                 [model]\nendpoint = \"{}\"\n{fallback}\n[context]\nwrite = [\"workspace\"]\n",
                cloud.base_url()
            ),
        )
        .expect("write agent.toml");
    }

    /// Every stored entry of namespace `ns`, as its JSON file.
    fn entries(&self, ns: &str) -> Vec<Value> {
        std::fs::read_dir(self.context_dir(ns))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read(e.path()).ok())
                    .filter_map(|b| serde_json::from_slice(&b).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn read_secret() -> Reply {
    Reply::tool_calls(&[(
        "c1",
        "read_file",
        json!({"path": "/workspace/secret/plan.txt"}),
    )])
}

#[test]
fn a_note_from_a_labelled_run_is_labelled_and_a_run_that_recalls_it_stays_local() {
    // Run 1 reads the labelled file: the turn after it goes to the local
    // model, whose answer (quoting the plan) the planner stores as a note.
    let cloud = ChatServer::scripted(vec![read_secret(), Reply::answer("CLOUD must not answer")]);
    let local = ChatServer::scripted(vec![
        Reply::answer(&format!("The plan is {SECRET}.")),
        Reply::answer("LOCAL recalled the plan"),
    ]);
    let w = world_with_secret(local.port());
    w.remembering_resident(&cloud, Some(&local));
    let first = w.run_json("Summarise the plan in secret/");
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(bodies(&cloud).len(), 1, "only the unlabelled first turn");

    // The note is stored with the run's class (and the value, under the
    // home: the label travels with it).
    let entries = w.entries("workspace");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["classes"], json!(["restricted"]), "{entries:?}");
    assert!(
        entries[0]["value"]
            .as_str()
            .unwrap_or_default()
            .contains(SECRET),
        "{entries:?}"
    );
    // The write is audited with the class (and never the value).
    let writes = w.audit_of("context-write");
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0]["event"]["classes"],
        json!(["restricted"]),
        "{writes:?}"
    );
    assert!(!writes[0].to_string().contains(SECRET), "{writes:?}");
    // `warden context list` shows the label.
    let listed: Value =
        serde_json::from_str(&w.ok(&["context", "list", "workspace", "--json"])).expect("json");
    assert_eq!(
        listed["entries"][0]["classes"],
        json!(["restricted"]),
        "{listed}"
    );

    // Run 2, a new session whose task and tools touch nothing labelled,
    // recalls the note: every one of its requests goes to the local model.
    let second = w.run_json("What do we know so far?");
    assert_eq!(second["answer"], "LOCAL recalled the plan", "{second}");
    assert_ne!(first["session"], second["session"]);
    let to_cloud = bodies(&cloud);
    assert_eq!(
        to_cloud.len(),
        1,
        "the cloud saw nothing of run 2: {to_cloud:?}"
    );
    assert!(to_cloud.iter().all(|b| !b.contains(SECRET)), "{to_cloud:?}");
    let to_local = bodies(&local);
    assert_eq!(to_local.len(), 2, "{to_local:?}");
    assert!(
        to_local[1].contains(NOTES_HEADER) && to_local[1].contains(SECRET),
        "the recalled note went to the local model: {}",
        to_local[1]
    );
    let routes = w.audit_of("model-route");
    let last = routes.last().expect("a route");
    assert_eq!(last["event"]["decision"], "fallback", "{routes:?}");
    assert_eq!(
        last["event"]["classes"],
        json!(["restricted"]),
        "{routes:?}"
    );
    // Run 2's session carries the class too.
    let session = w.session(second["session"].as_str().expect("id"));
    assert_eq!(session["data_classes"], json!(["restricted"]), "{session}");

    // Without a fallback, a run that recalls the note is refused with a
    // typed denial, and the cloud still sees nothing.
    w.remembering_resident(&cloud, None);
    let third = w.run_json("And what else?");
    assert_eq!(third["ok"], false, "{third}");
    let error = third["error"].as_str().expect("an error");
    assert!(error.contains("data residency"), "{error}");
    assert!(error.contains("restricted"), "{error}");
    assert_eq!(bodies(&cloud).len(), 1, "{:?}", bodies(&cloud));
    let refused = w.audit_of("model-route");
    assert_eq!(
        refused.last().map(|r| r["event"]["decision"].clone()),
        Some(json!("refused")),
        "{refused:?}"
    );
}

#[test]
fn an_unlabelled_note_does_not_taint_and_an_old_entry_reads_as_unlabelled() {
    // An entry written before entries were labelled (no `classes`): a run
    // that recalls it is unlabelled and its requests go to the cloud.
    let cloud = ChatServer::scripted(vec![Reply::answer("CLOUD answer")]);
    let local = ChatServer::scripted(vec![Reply::answer("LOCAL answer")]);
    let w = world_with_secret(local.port());
    w.stored_entry("workspace", "old", "OLD-NOTE-3141", None);
    w.remembering_resident(&cloud, Some(&local));
    let out = w.run_json("What is noted?");
    assert_eq!(out["answer"], "CLOUD answer", "{out}");
    let to_cloud = bodies(&cloud);
    assert!(to_cloud[0].contains("OLD-NOTE-3141"), "{to_cloud:?}");
    assert!(local.requests().is_empty());
}

#[test]
fn a_run_killed_after_a_labelled_read_leaves_a_session_that_carries_the_class() {
    // The local model never answers the turn after the read: the run is
    // killed while it waits.
    let cloud = ChatServer::scripted(vec![read_secret(), Reply::answer("CLOUD saw the plan")]);
    let local = ChatServer::scripted(vec![
        Reply::Slow(
            Duration::from_secs(600),
            Box::new(Reply::answer("too late")),
        ),
        Reply::answer("LOCAL resumed"),
    ]);
    let w = world_with_secret(local.port());
    w.resident_agent(&cloud, Some(&local));
    let mut child = w
        .command(&["run", "Summarise the plan in secret/", "--json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn warden run");
    // Wait until the labelled turn reached the local model (the tool
    // result is in the session by then), then kill the run.
    let deadline = Instant::now() + Duration::from_secs(300);
    while local.requests().is_empty() {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            panic!("the run never asked the local model");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("kill");
    let _ = child.wait();

    let list: Value = serde_json::from_str(&w.ok(&["sessions", "list", "--json"])).expect("json");
    let id = list["sessions"][0]["id"]
        .as_str()
        .expect("a session")
        .to_string();
    let session: Value =
        serde_json::from_str(&std::fs::read_to_string(w.session_file(&id)).expect("read"))
            .expect("json");
    assert_eq!(session["data_classes"], json!(["restricted"]), "{session}");
    assert_eq!(
        session["status"]["state"], "running",
        "it never finished: {session}"
    );

    // Resumed, the session's conversation (which holds the tool result)
    // goes to the local model only.
    let out = w.run(&["run", "Go on", "--session", &id, "--json"]);
    let out: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(out["answer"], "LOCAL resumed", "{out}");
    let to_cloud = bodies(&cloud);
    assert_eq!(to_cloud.len(), 1, "{to_cloud:?}");
    assert!(to_cloud.iter().all(|b| !b.contains(SECRET)), "{to_cloud:?}");
}
