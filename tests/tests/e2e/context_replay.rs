//! Shared-context calls in a run's recording: `warden replay` of a run that
//! recalled a note answers the planner's context calls from the recording,
//! so it reproduces the run after the note changed or is gone, and writes
//! nothing to the live store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use warden_tests::chat::{ChatServer, Reply};

use super::world::World;

/// Every file of the workspace's shared context, with its contents.
fn context_files(w: &World) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let root = w.context_dir("workspace");
    for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        out.insert(
            entry.path(),
            std::fs::read(entry.path()).unwrap_or_default(),
        );
    }
    out
}

#[test]
fn a_run_that_recalled_a_note_replays_without_the_store_and_writes_nothing() {
    let w = World::new();
    w.stored_entry("workspace", "earlier", "RECALLED-NOTE-2718", None);
    let server = ChatServer::scripted(vec![Reply::answer("The note says RECALLED-NOTE-2718.")]);
    w.context_agent(&server, "[context]\nwrite = [\"workspace\"]");
    let out = w.answered("What did earlier sessions note?");
    let id = out["session"].as_str().expect("session").to_string();
    drop(server);

    // The recording holds the planner's context calls: the list that
    // recalled the note (with the note) and the put of its own note.
    let recording = std::fs::read_to_string(w.sessions_dir().join(format!("{id}.recording.jsonl")))
        .expect("recording");
    let kinds: Vec<String> = recording
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|l| l["exchange"]["kind"].as_str().map(String::from))
        .collect();
    assert_eq!(
        kinds,
        ["context", "complete", "context", "end"],
        "{recording}"
    );
    assert!(recording.contains("RECALLED-NOTE-2718"));

    // The note changes, the run's own note is removed: the live store no
    // longer holds what the run saw.
    for path in context_files(&w).keys() {
        std::fs::remove_file(path).expect("remove");
    }
    w.stored_entry("workspace", "earlier", "CHANGED-NOTE", None);
    let before = context_files(&w);
    let writes = w.audit_of("context-write").len();

    let replay = w.run(&["replay", &id]);
    let stderr = String::from_utf8_lossy(&replay.stderr);
    assert_eq!(replay.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&replay.stdout).trim(),
        "The note says RECALLED-NOTE-2718."
    );
    assert!(stderr.contains("reproduced 3 steps"), "{stderr}");
    // Nothing was written: the store is as it was, no write audited.
    assert_eq!(context_files(&w), before);
    assert_eq!(w.audit_of("context-write").len(), writes);
}
