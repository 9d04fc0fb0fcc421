//! The workspace's shared context through `warden run` as a user runs it:
//! the built-in planner recalls what earlier sessions of the workspace
//! stored (namespace `workspace`) and stores a note at the end, within the
//! `[context]` grant of `agent.toml` and the org policy's `[context]` cap.
//! The model is a scripted chat server on 127.0.0.1 that records every
//! request it receives.

use std::path::PathBuf;

use serde_json::Value;
use warden_tests::chat::{ChatServer, Reply};

use super::world::World;

/// How the planner introduces recalled notes (planner-core's `NOTES_HEADER`).
pub(super) const NOTES_HEADER: &str = "Notes earlier sessions of this workspace stored";

impl World {
    /// Writes `agent.toml`: the built-in parts, `server` as the model, and
    /// `context` as the `[context]` table (none if empty).
    pub(super) fn context_agent(&self, server: &ChatServer, context: &str) {
        std::fs::write(
            self.workspace().join("agent.toml"),
            format!(
                "name = \"rememberer\"\nplanner = \"warden:planner@^0.1\"\n\
                 provider = \"warden:openai-provider@^0.1\"\ntools = [\"warden:fs@^0.1\"]\n\n\
                 [model]\nendpoint = \"{}\"\n\n{context}\n",
                server.base_url()
            ),
        )
        .expect("write agent.toml");
    }

    /// `warden run TASK --json`, which must answer.
    pub(super) fn answered(&self, task: &str) -> Value {
        let out: Value = serde_json::from_str(&self.ok(&["run", task, "--json"])).expect("json");
        assert_eq!(out["ok"], true, "{out}");
        out
    }

    /// The directory of the shared-context namespace `ns` of the workspace:
    /// under warden's home, never in the workspace.
    pub(super) fn context_dir(&self, ns: &str) -> PathBuf {
        self.sessions_dir()
            .parent()
            .expect("workspace state dir")
            .join("context")
            .join(ns)
    }

    /// Stores an entry the way the host does (one JSON file per key),
    /// standing in for an earlier session.
    pub(super) fn stored_entry(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        expires: Option<&str>,
    ) -> PathBuf {
        let dir = self.context_dir(ns);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut entry = serde_json::json!({
            "namespace": ns,
            "key": key,
            "kind": "note",
            "value": value,
            "updated": "2026-01-01T00:00:00Z",
        });
        if let Some(e) = expires {
            entry["expires"] = e.into();
        }
        let path = dir.join(format!(
            "{}.json",
            warden_registry::Digest::of(key.as_bytes()).hex()
        ));
        std::fs::write(&path, entry.to_string()).expect("write entry");
        path
    }
}

/// The system message of the `n`th request `server` received.
pub(super) fn system_of(server: &ChatServer, n: usize) -> String {
    let requests = server.requests();
    requests[n]["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn two_sessions_share_a_note_and_the_write_is_audited_without_its_value() {
    let w = World::new();
    let server = ChatServer::scripted(vec![
        Reply::answer("The build command is `make ci-7731`."),
        Reply::answer("Noted."),
    ]);
    w.context_agent(&server, "[context]\nwrite = [\"workspace\"]");

    let first = w.answered("How is this project built?");
    let second = w.answered("Add a release target");
    assert_ne!(first["session"], second["session"], "two sessions");

    // The first run had nothing to recall; the second run's request carries
    // what the first stored.
    assert!(!system_of(&server, 0).contains(NOTES_HEADER));
    let recalled = system_of(&server, 1);
    assert!(recalled.contains(NOTES_HEADER), "{recalled}");
    assert!(
        recalled.contains("How is this project built?") && recalled.contains("make ci-7731"),
        "{recalled}"
    );

    // Stored under warden's home, out of the tools' reach.
    assert!(w.context_dir("workspace").is_dir());
    assert!(!w.workspace().join(".warden").exists());

    // Every write is audited: namespace, digest, size; never the value.
    let writes = w.audit_of("context-write");
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[0]["event"]["namespace"], "workspace");
    assert_eq!(writes[0]["event"]["component"], "planner", "{writes:?}");
    for record in &writes {
        assert!(!record.to_string().contains("make ci-7731"), "{record}");
    }
    w.ok(&["audit", "verify"]);

    // `policy explain` shows the planner's grant.
    let explain = w.ok(&["policy", "explain", "builtin:planner"]);
    assert!(
        explain.contains("shared context `workspace`: write (by agent.toml)"),
        "{explain}"
    );
}

#[test]
fn a_planner_without_the_grant_is_denied_and_the_run_still_completes() {
    let w = World::new();
    let server = ChatServer::scripted(vec![
        Reply::answer("The build command is `make ci-7731`."),
        Reply::answer("Noted."),
    ]);
    // A note an earlier, granted session left: this agent may not read it.
    w.stored_entry("workspace", "earlier", "SECRET-NOTE-4412", None);
    w.context_agent(&server, "");

    w.answered("How is this project built?");
    w.answered("Add a release target");
    for n in 0..2 {
        let system = system_of(&server, n);
        assert!(!system.contains("SECRET-NOTE-4412"), "{system}");
        assert!(!system.contains(NOTES_HEADER), "{system}");
    }
    // The typed denial is in the audit log; nothing was written.
    let denials = w.audit_of("denial");
    let context: Vec<&Value> = denials
        .iter()
        .filter(|d| d["event"]["target"] == "context:workspace")
        .collect();
    assert_eq!(context.len(), 2, "one per run: {denials:?}");
    let reason = context[0]["event"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("not granted read access to the context namespace `workspace`"),
        "{reason}"
    );
    assert!(w.audit_of("context-write").is_empty());

    // Read-only: it recalls, but its note is refused.
    let server = ChatServer::scripted(vec![Reply::answer("Read it.")]);
    w.context_agent(&server, "[context]\nread = [\"workspace\"]");
    w.answered("What did earlier sessions note?");
    assert!(system_of(&server, 0).contains("SECRET-NOTE-4412"));
    assert!(w.audit_of("context-write").is_empty());
    let reason = w
        .audit_of("denial")
        .last()
        .map(|d| d["event"]["reason"].to_string())
        .unwrap_or_default();
    assert!(reason.contains("not granted write access"), "{reason}");
}

#[test]
fn an_expired_entry_is_gone() {
    let w = World::new();
    let expired = w.stored_entry(
        "workspace",
        "old",
        "EXPIRED-NOTE-9911",
        Some("2020-01-01T00:00:00Z"),
    );
    w.stored_entry(
        "workspace",
        "current",
        "LIVE-NOTE-5521",
        Some("2999-01-01T00:00:00Z"),
    );
    let server = ChatServer::scripted(vec![Reply::answer("ok")]);
    w.context_agent(&server, "[context]\nread = [\"workspace\"]");
    w.answered("What is noted?");
    let system = system_of(&server, 0);
    assert!(system.contains("LIVE-NOTE-5521"), "{system}");
    assert!(!system.contains("EXPIRED-NOTE-9911"), "{system}");
    assert!(!expired.exists(), "an expired entry is removed when seen");
}

#[test]
fn a_full_namespace_refuses_the_note_and_loses_nothing() {
    let w = World::new();
    // The org caps a namespace at 64 bytes; an earlier note holds 60.
    w.org_policy("[context]\nmax_namespace = \"64\"\n");
    let kept = "K".repeat(60);
    let path = w.stored_entry("workspace", "earlier", &kept, None);
    let before = std::fs::read(&path).expect("read");
    let server = ChatServer::scripted(vec![Reply::answer("Answered anyway."), Reply::answer("ok")]);
    w.context_agent(&server, "[context]\nwrite = [\"workspace\"]");

    let out = w.answered("A task whose note does not fit");
    assert_eq!(out["answer"], "Answered anyway.");
    assert!(
        w.audit_of("context-write").is_empty(),
        "nothing was written"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "kept as it was"
    );
    // The next run still reads it back, and nothing else.
    w.answered("What is noted?");
    let system = system_of(&server, 1);
    assert!(system.contains(&kept), "{system}");
    assert!(!system.contains("Answered anyway."), "{system}");
}

#[test]
fn a_full_namespace_tells_the_user_and_what_to_do_and_the_note_fits_once_room_is_made() {
    let w = World::new();
    w.org_policy("[context]\nmax_namespace = \"64\"\n");
    let kept = "K".repeat(60);
    w.stored_entry("workspace", "earlier", &kept, None);
    let server = ChatServer::scripted(vec![Reply::answer("Answered anyway.")]);
    w.context_agent(&server, "[context]\nwrite = [\"workspace\"]");

    // With --json, the refusal is in the result. (The note, ~45 bytes,
    // fits an entry but not beside the 60 bytes already there.)
    let out = w.answered("Task one");
    let warnings = out["warnings"].to_string();
    assert!(
        warnings.contains("context namespace `workspace` is full")
            && warnings.contains("nothing was written"),
        "{out}"
    );
    // Without, on stderr, with what to do.
    let run = w.run(&["run", "Task two"]);
    assert_eq!(run.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(
            "warning: the shared context was not changed: context namespace `workspace` is full"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: see what `workspace` holds with `warden context list workspace`"),
        "{stderr}"
    );
    assert!(
        w.audit_of("context-write").is_empty(),
        "nothing was written"
    );

    // The user does what the hint says: the entry is listed, removed (and
    // the removal audited), and the next run's note fits.
    let listed: Value =
        serde_json::from_str(&w.ok(&["context", "list", "workspace", "--json"])).expect("json");
    assert_eq!(listed["entries"][0]["key"], "earlier", "{listed}");
    assert_eq!(listed["entries"][0]["bytes"], 60, "{listed}");
    let namespaces = w.ok(&["context", "list"]);
    assert!(
        namespaces.contains("workspace\t1 entries\t60 bytes"),
        "{namespaces}"
    );
    w.ok(&["context", "rm", "workspace", "earlier"]);
    let removals = w.audit_of("context-write");
    assert_eq!(removals.len(), 1, "{removals:?}");
    assert_eq!(removals[0]["event"]["removed"], true, "{removals:?}");
    w.fails(
        &["context", "rm", "workspace", "earlier"],
        "no entry `earlier`",
    );

    let out = w.answered("A short one");
    assert!(out.get("warnings").is_none(), "{out}");
    let listed: Value =
        serde_json::from_str(&w.ok(&["context", "list", "workspace", "--json"])).expect("json");
    assert_eq!(listed["entries"][0]["key"], "task: A short one", "{listed}");
}
