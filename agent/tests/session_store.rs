//! Sessions on disk: round-trips, crash leftovers, corruption, concurrent
//! saves, id validation (no path traversal), listing and expiry.

use std::path::Path;
use std::time::Duration;

use warden_agent::{
    AgentInfo, ListEntry, Message, Role, SessionError, SessionStore, Status, Step, StepKind,
    TokenUsage, ToolCall, WorkspaceState, default_agent,
};
use warden_registry::Digest;

fn agent() -> AgentInfo {
    AgentInfo::of(&default_agent())
}

/// A scratch directory holding a warden home (`home/`) and a workspace
/// (`ws/`), and the session store of that workspace.
fn store() -> (tempfile::TempDir, SessionStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = workspace_state(dir.path());
    let store = SessionStore::for_workspace(&state).expect("open");
    (dir, store)
}

fn workspace_state(root: &Path) -> WorkspaceState {
    std::fs::create_dir_all(root.join("ws")).expect("mkdir");
    WorkspaceState::open(&root.join("home"), &root.join("ws")).expect("state")
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_session_round_trips_with_everything_it_records() {
    let (root, store) = store();
    let ws = root.path().join("ws").canonicalize().expect("canonical");
    assert_eq!(
        store.dir(),
        warden_agent::workspace_state::state_dir(&root.path().join("home"), &ws).join("sessions")
    );
    assert!(!store.dir().starts_with(&ws), "{}", store.dir().display());
    let mut s = store
        .create(agent(), "Find the TODOs in src/\nand list them")
        .expect("create");
    s.push_message(Message::system("You are careful."));
    s.push_message(Message::user("Find the TODOs in src/"));
    s.push_message(Message::assistant(
        "",
        vec![ToolCall::new("call_1", "grep", r#"{"pattern":"TODO"}"#)],
    ));
    s.push_message(Message::tool_result("call_1", "[\"src/main.rs:3\"]"));
    s.push_message(Message::assistant("One TODO, in src/main.rs.", vec![]));
    s.record_step(Step {
        kind: StepKind::Tool,
        name: "grep".into(),
        ok: false,
        duration_ms: 5,
        error: Some("denied: /etc".into()),
    });
    s.record_component("warden:grep", Digest::of(b"grep"));
    s.add_usage(TokenUsage {
        prompt_tokens: 100,
        completion_tokens: 7,
    });
    s.add_usage(TokenUsage {
        prompt_tokens: 50,
        completion_tokens: 3,
    });
    s.set_status(Status::Failed {
        reason: "budget".into(),
    });
    store.save(&s).expect("save");

    let back = store.load(s.id.as_str()).expect("load");
    assert_eq!(back, s);
    assert_eq!(back.usage.total(), 160);
    assert_eq!(back.turns(), 2);

    // The file is the documented JSON shape.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.path_of(&s.id)).expect("read")).expect("json");
    assert_eq!(json["format"], 1);
    assert_eq!(json["status"]["state"], "failed");
    assert_eq!(json["status"]["reason"], "budget");
    assert_eq!(
        json["messages"][2]["tool_calls"][0]["arguments"],
        r#"{"pattern":"TODO"}"#
    );
    assert_eq!(json["messages"][3]["tool_call_id"], "call_1");
    assert_eq!(json["messages"][3]["role"], "tool");
    assert!(json["messages"][1].get("tool_calls").is_none());
    assert_eq!(json["steps"][0]["kind"], "tool");
    assert_eq!(
        json["components"]["warden:grep"],
        Digest::of(b"grep").to_string()
    );
    let created = json["created"].as_str().expect("string");
    assert!(
        created.ends_with('Z') && created.contains('T'),
        "RFC 3339 UTC: {created}"
    );
    assert_eq!(back.messages[3].role, Role::Tool);
}

#[test]
fn save_replaces_atomically_and_leaves_no_temp_files() {
    let (_ws, store) = store();
    let mut s = store.create(agent(), "task").expect("create");
    for i in 0..5 {
        s.push_message(Message::user(format!("message {i}")));
        store.save(&s).expect("save");
    }
    assert_eq!(file_names(store.dir()), [s.id.file_name()]);
    assert_eq!(store.load(s.id.as_str()).expect("load").messages.len(), 5);
}

#[test]
fn a_crash_leftover_and_a_truncated_file_do_not_hide_the_other_sessions() {
    let (_ws, store) = store();
    let good = store.create(agent(), "the good one").expect("create");
    let broken = store.create(agent(), "the broken one").expect("create");

    // A crash mid-write leaves a stray temp file (ignored) ...
    std::fs::write(store.dir().join(".tmp-abc123"), b"{\"format\": 1, \"id\"").expect("write");
    // ... and a disk that filled up left a truncated session.
    let path = store.path_of(&broken.id);
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    // Someone dropped an unrelated file there too.
    std::fs::write(store.dir().join("notes.json"), b"{}").expect("write");

    let err = store.load(broken.id.as_str()).expect_err("truncated");
    let message = err.to_string();
    assert!(matches!(err, SessionError::Corrupt { .. }), "{message}");
    assert!(
        message.contains(&path.display().to_string()),
        "names the file: {message}"
    );
    assert!(message.contains("truncated"), "{message}");

    let listed = store.list().expect("list");
    assert_eq!(listed.len(), 3, "{listed:?}");
    match &listed[0] {
        ListEntry::Session(s) => {
            assert_eq!(s.id, good.id);
            assert_eq!(s.task_preview, "the good one");
            assert_eq!(s.status, Status::Running);
        }
        other => panic!("expected the good session first, got {other:?}"),
    }
    let unreadable: Vec<String> = listed[1..]
        .iter()
        .map(|e| match e {
            ListEntry::Unreadable { path, error } => {
                assert!(
                    error.to_string().contains(&path.display().to_string())
                        || matches!(error, SessionError::InvalidId(_)),
                    "{error}"
                );
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned()
            }
            other => panic!("expected unreadable, got {other:?}"),
        })
        .collect();
    let mut expected = vec![broken.id.file_name(), "notes.json".to_string()];
    expected.sort();
    assert_eq!(unreadable, expected);

    // Nothing was deleted or rewritten.
    assert_eq!(
        std::fs::read(&path).expect("read"),
        &bytes[..bytes.len() / 2]
    );
    assert!(store.dir().join(".tmp-abc123").exists());
}

#[test]
fn a_file_that_is_not_a_session_or_another_sessions_is_reported() {
    let (_ws, store) = store();
    let a = store.create(agent(), "a").expect("create");
    let b = store.create(agent(), "b").expect("create");
    // b's file now holds a's session.
    std::fs::copy(store.path_of(&a.id), store.path_of(&b.id)).expect("copy");
    let message = store.load(b.id.as_str()).expect_err("mismatch").to_string();
    assert!(
        message.contains(&format!("holds session `{}`", a.id)),
        "{message}"
    );

    std::fs::write(store.path_of(&b.id), b"{\"format\": 1, \"id\": 42}").expect("write");
    let message = store.load(b.id.as_str()).expect_err("bad").to_string();
    assert!(message.contains("not a valid session"), "{message}");

    std::fs::write(store.path_of(&b.id), b"{\"format\": 2}").expect("write");
    let err = store.load(b.id.as_str()).expect_err("newer");
    assert!(
        matches!(err, SessionError::UnsupportedFormat { found: 2, .. }),
        "{err}"
    );
}

#[test]
fn ids_that_could_escape_the_directory_are_refused_before_any_file_access() {
    let (workspace, store) = store();
    // A file the traversal would reach if the id were used as a path.
    std::fs::write(workspace.path().join("secret.json"), b"{\"format\": 1}").expect("write");
    for bad in [
        "../../secret",
        "../sessions/x",
        "/etc/passwd",
        "..",
        "a/b",
        "20250314-093012-7kq2mz/../../../secret",
        "20250314-093012-7kq2mz\0",
        "",
    ] {
        for result in [store.load(bad).map(|_| ()), store.remove(bad)] {
            let err = result.expect_err(bad);
            assert!(matches!(err, SessionError::InvalidId(_)), "{bad}: {err}");
        }
    }
    assert!(workspace.path().join("secret.json").exists());

    // A well-formed id that does not exist is simply not found.
    let err = store.load("20250314-093012-7kq2mz").expect_err("absent");
    assert!(matches!(err, SessionError::NotFound { .. }), "{err}");
    let err = store.remove("20250314-093012-7kq2mz").expect_err("absent");
    assert!(matches!(err, SessionError::NotFound { .. }), "{err}");
}

#[test]
fn concurrent_saves_of_different_sessions_all_land() {
    let (_ws, store) = store();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut s = store.create(agent(), &format!("task {t}")).expect("create");
                for i in 0..20 {
                    s.push_message(Message::user(format!("{t}:{i}")));
                    store.save(&s).expect("save");
                }
                s
            })
        })
        .collect();
    let sessions: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    for s in &sessions {
        let back = store.load(s.id.as_str()).expect("load");
        assert_eq!(back, *s);
        assert_eq!(back.messages.len(), 20);
    }
    let listed = store.list().expect("list");
    assert_eq!(listed.len(), 8);
    assert!(listed.iter().all(|e| matches!(e, ListEntry::Session(_))));
    // Only session files: no temp file left behind.
    assert!(
        file_names(store.dir())
            .iter()
            .all(|n| n.ends_with(".json") && !n.starts_with('.'))
    );
}

#[test]
fn list_is_sorted_by_update_time_newest_first_with_a_summary() {
    let (_ws, store) = store();
    let mut old = store.create(agent(), "old task").expect("create");
    let mut new = store.create(agent(), &"x".repeat(200)).expect("create");
    old.updated = "2025-01-01T00:00:00Z".parse().expect("time");
    new.updated = "2025-06-01T00:00:00Z".parse().expect("time");
    new.push_message(Message::assistant("a", vec![]));
    new.updated = "2025-06-01T00:00:00Z".parse().expect("time");
    store.save(&old).expect("save");
    store.save(&new).expect("save");
    let listed: Vec<_> = store
        .list()
        .expect("list")
        .into_iter()
        .map(|e| match e {
            ListEntry::Session(s) => s,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(listed[0].id, new.id);
    assert_eq!(listed[1].id, old.id);
    assert_eq!(listed[0].turns, 1);
    assert_eq!(listed[0].task_preview.chars().count(), 72);
    assert!(listed[0].task_preview.ends_with('…'));
}

#[test]
fn expire_removes_old_sessions_and_stray_temp_files_but_keeps_unreadable_ones() {
    let (_ws, store) = store();
    let mut old = store.create(agent(), "old").expect("create");
    old.updated = "2020-01-01T00:00:00Z".parse().expect("time");
    store.save(&old).expect("save");
    let mut old_running = store.create(agent(), "crashed long ago").expect("create");
    old_running.updated = "2020-01-02T00:00:00Z".parse().expect("time");
    store.save(&old_running).expect("save");
    let recent = store.create(agent(), "recent").expect("create");
    let broken = store.create(agent(), "broken").expect("create");
    std::fs::write(store.path_of(&broken.id), b"{").expect("truncate");
    let stray = store.dir().join(".tmp-stray");
    std::fs::write(&stray, b"partial").expect("write");
    let old_time = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(&stray)
        .expect("open")
        .set_modified(old_time)
        .expect("set mtime");

    let removed = store
        .expire(Duration::from_secs(24 * 3600))
        .expect("expire");
    assert_eq!(removed, [old.id.clone(), old_running.id.clone()]);
    assert!(matches!(
        store.load(old.id.as_str()),
        Err(SessionError::NotFound { .. })
    ));
    store.load(recent.id.as_str()).expect("recent is kept");
    assert!(
        store.path_of(&broken.id).exists(),
        "unreadable files are kept"
    );
    assert!(!stray.exists(), "old temp files are removed");

    // Nothing else is old enough.
    assert!(
        store
            .expire(Duration::from_secs(3600))
            .expect("expire")
            .is_empty()
    );
    // A huge age expires nothing rather than overflowing.
    assert!(store.expire(Duration::MAX).expect("expire").is_empty());
}

#[test]
fn create_never_overwrites_an_existing_session() {
    let (_ws, store) = store();
    let ids: std::collections::HashSet<_> = (0..200)
        .map(|i| store.create(agent(), &format!("t{i}")).expect("create").id)
        .collect();
    assert_eq!(ids.len(), 200);
    assert_eq!(file_names(store.dir()).len(), 200);
}

#[test]
fn resuming_adds_a_task_and_sets_it_running() {
    let (_ws, store) = store();
    let mut s = store.create(agent(), "first").expect("create");
    s.set_status(Status::Completed);
    store.save(&s).expect("save");
    let mut resumed = store.load(s.id.as_str()).expect("load");
    resumed.add_task("second");
    assert_eq!(resumed.tasks, ["first", "second"]);
    assert_eq!(resumed.status, Status::Running);
    assert!(resumed.updated >= s.updated);
}

#[test]
fn sessions_an_older_warden_kept_in_the_workspace_are_copied_once_then_never_read() {
    let root = tempfile::tempdir().expect("tempdir");
    let state = workspace_state(root.path());
    let legacy_dir = root.path().join("ws/.warden/sessions");
    let old_store = SessionStore::open_dir(&legacy_dir).expect("legacy");
    let mut old = old_store.create(agent(), "an old task").expect("create");
    old.push_message(Message::user("an old task"));
    old_store.save(&old).expect("save");
    std::fs::write(legacy_dir.join("not-a-session.json"), b"{").expect("write");
    let legacy_file = legacy_dir.join(format!("{}.json", old.id));
    let legacy_bytes = std::fs::read(&legacy_file).expect("read");

    let store = SessionStore::for_workspace(&state).expect("open");
    let migrated = store.migrated();
    assert_eq!(migrated.copied, [old.id.clone()]);
    assert_eq!(
        migrated.skipped,
        [legacy_dir
            .canonicalize()
            .expect("c")
            .join("not-a-session.json")]
    );
    assert_eq!(store.load(old.id.as_str()).expect("copied"), old);
    // The old files are left as they were.
    assert_eq!(std::fs::read(&legacy_file).expect("read"), legacy_bytes);

    // A session planted in the old directory afterwards (as a tool granted
    // the workspace could) is never read, nor is a change to a copied one.
    let mut planted = old_store.create(agent(), "PLANTED").expect("create");
    planted.push_message(Message::user("PLANTED"));
    old_store.save(&planted).expect("save");
    let mut forged = old.clone();
    forged.push_message(Message::user("FORGED"));
    old_store.save(&forged).expect("save");
    let again = SessionStore::for_workspace(&state).expect("reopen");
    assert!(again.migrated().is_empty());
    assert!(matches!(
        again.load(planted.id.as_str()),
        Err(SessionError::NotFound { .. })
    ));
    assert_eq!(again.load(old.id.as_str()).expect("load"), old);
    assert_eq!(again.list().expect("list").len(), 1);
}
