//! `warden policy suggest` as a user runs it: a recorded run whose tools
//! read one directory and fetched one host yields exactly those grants
//! (and the provider exactly its endpoint); a grant never used is listed
//! as unused; a refused fetch is listed as denied and never suggested;
//! `--apply --yes` writes the rules; `--audit --since` finds the same
//! uses in the audit log.

use super::world::World;

use serde_json::{Value, json};
use warden_tests::TestServer;
use warden_tests::chat::{ChatServer, Reply};

/// Runs a task whose model reads hello.txt, fetches `/hello` from `web`,
/// then fetches from `refused_port` (not granted), then answers.
fn recorded_run(w: &World, web: &TestServer, refused_port: u16) -> (String, u16) {
    let url = format!("http://127.0.0.1:{}/hello", web.port());
    let refused = format!("http://127.0.0.1:{refused_port}/hello");
    let server = ChatServer::scripted(vec![
        Reply::tool_calls(&[("c1", "read_file", json!({"path": "/workspace/hello.txt"}))]),
        Reply::tool_calls(&[("c2", "fetch", json!({"url": url}))]),
        Reply::tool_calls(&[("c3", "fetch", json!({"url": refused}))]),
        Reply::answer("done"),
    ]);
    let out: Value = serde_json::from_str(&w.ok(&[
        "run",
        "Read hello.txt and fetch the page",
        "--endpoint",
        &server.base_url(),
        "--json",
    ]))
    .expect("json");
    assert_eq!(out["answer"], "done", "{out}");
    (
        out["session"].as_str().expect("session").to_string(),
        server.port(),
    )
}

fn suggest(w: &World, args: &[&str]) -> Value {
    let mut all = vec!["policy", "suggest", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&w.ok(&all)).expect("json")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn a_run_that_read_one_dir_and_fetched_one_host_yields_exactly_those_grants() {
    let w = World::new();
    let web = TestServer::start();
    let other = TestServer::start();
    let grant = format!("http://127.0.0.1:{}", web.port());
    w.ok(&["grant", "builtin:http-fetch", "network", &grant]);
    w.ok(&["grant", "builtin:http-fetch", "env", "NEVER_READ"]);
    let (id, chat_port) = recorded_run(&w, &web, other.port());

    let out = suggest(&w, &["--session", &id]);
    let components = &out["components"];
    for c in [
        "builtin:fs",
        "builtin:http-fetch",
        "builtin:openai-provider",
    ] {
        assert!(components[c].is_object(), "{c} missing: {out:#}");
    }
    let ws = w.workspace().canonicalize().expect("canonical");
    assert_eq!(
        strings(&components["builtin:fs"]["grants"]),
        vec![format!(
            "directory {} at /workspace (read-only)",
            ws.display()
        )],
        "{out:#}"
    );
    assert_eq!(
        strings(&components["builtin:http-fetch"]["grants"]),
        vec![format!("network http://127.0.0.1:{}", web.port())],
        "{out:#}"
    );
    // The provider: exactly its endpoint (the env it was handed comes with it).
    let provider = strings(&components["builtin:openai-provider"]["grants"]);
    assert!(
        provider.contains(&format!("network http://127.0.0.1:{chat_port}")),
        "{provider:?}"
    );
    assert!(
        provider.iter().all(|g| !g.starts_with("directory")),
        "{provider:?}"
    );
    // grep and edit were never called: nothing suggested for them.
    assert!(components.get("builtin:grep").is_none(), "{out:#}");
    // Granted, never used.
    assert_eq!(
        strings(&components["builtin:http-fetch"]["unused"]),
        vec!["environment variable NEVER_READ".to_string()],
        "{out:#}"
    );
    // The refused fetch is listed apart and is no grant.
    let denied = components["builtin:http-fetch"]["denied"]
        .as_array()
        .expect("denied");
    assert_eq!(denied.len(), 1, "{out:#}");
    assert_eq!(denied[0]["capability"], "network");
    assert_eq!(
        denied[0]["target"],
        format!("127.0.0.1:{}", other.port()),
        "{out:#}"
    );
    let toml = out["grants_toml"].as_str().expect("toml");
    assert!(!toml.contains(&other.port().to_string()), "{toml}");
    assert!(toml.contains("mode = \"ro\""), "{toml}");

    // The text form says the same, as rules ready to paste.
    let text = w.ok(&["policy", "suggest", "--session", &id]);
    assert!(text.contains("builtin:fs:"), "{text}");
    assert!(
        text.contains("unused  environment variable NEVER_READ"),
        "{text}"
    );
    assert!(text.contains("denied  network 127.0.0.1:"), "{text}");
    assert!(text.contains("[[rule]]"), "{text}");

    // --apply without a terminal asks for --yes; with it, the rules land.
    let refused = w.run(&["policy", "suggest", "--session", &id, "--apply"]);
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--yes"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    w.ok(&["policy", "suggest", "--session", &id, "--apply", "--yes"]);
    let grants = std::fs::read_to_string(w.home().join("grants.toml")).expect("grants");
    assert!(grants.contains("component = \"builtin:fs\""), "{grants}");
    assert!(grants.contains("/workspace"), "{grants}");
    assert!(!grants.contains(&other.port().to_string()), "{grants}");

    // The audit log holds the same uses.
    let audit = suggest(&w, &["--audit", "--since", "1h"]);
    assert_eq!(
        strings(&audit["components"]["builtin:http-fetch"]["grants"]),
        vec![format!("network http://127.0.0.1:{}", web.port())],
        "{audit:#}"
    );
    assert!(
        strings(&audit["components"]["builtin:fs"]["grants"])
            .iter()
            .any(|g| g.contains("/workspace (read-only)")),
        "{audit:#}"
    );
}

#[test]
fn a_session_without_a_recording_is_refused_with_a_hint() {
    let w = World::new();
    let out = w.run(&["policy", "suggest", "--session", "no-such-session"]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-session"), "{err}");
}

/// What the guards note per call, through the library: a read, a listing
/// and a write each name the granted directory they went through, with
/// read-write only for the write; a directory granted but not touched is
/// not named.
#[test]
fn each_call_reports_the_granted_directories_it_used_and_how() {
    use warden::DirMode;
    use warden_tests::{builtin, call, grant_dirs};
    let used = tempfile::tempdir().expect("tempdir");
    let untouched = tempfile::tempdir().expect("tempdir");
    std::fs::write(used.path().join("a.txt"), "a").expect("write");
    let grant = grant_dirs(&[
        (used.path(), "/data", DirMode::ReadWrite),
        (untouched.path(), "/other", DirMode::ReadWrite),
    ]);
    let fs = builtin("fs");
    let host = used.path().canonicalize().expect("canonical");

    let read = call(&fs, "read_file", json!({"path": "/data/a.txt"}), &grant).expect("read");
    assert_eq!(read.used.dirs.len(), 1, "{:?}", read.used);
    assert_eq!(read.used.dirs[0].host, host.display().to_string());
    assert_eq!(read.used.dirs[0].guest, "/data");
    assert!(!read.used.dirs[0].write);
    assert!(read.used.hosts.is_empty() && read.used.env.is_empty());

    let list = call(&fs, "list_dir", json!({"path": "/data"}), &grant).expect("list");
    assert_eq!(list.used.dirs.len(), 1, "{:?}", list.used);
    assert!(!list.used.dirs[0].write);

    let write = call(
        &fs,
        "write_file",
        json!({"path": "/data/b.txt", "content": "b"}),
        &grant,
    )
    .expect("write");
    assert_eq!(write.used.dirs.len(), 1, "{:?}", write.used);
    assert!(write.used.dirs[0].write, "{:?}", write.used);
}

#[test]
fn a_log_written_before_usage_moved_into_the_call_record_is_still_read() {
    // Earlier versions wrote what a call used as a separate `used` record
    // after its `call` record; `--audit` still reads those.
    let w = World::new();
    let data = w.path("legacy-data");
    std::fs::create_dir_all(&data).expect("mkdir");
    let host = data
        .canonicalize()
        .expect("canonical")
        .display()
        .to_string();
    let log = warden_audit::AuditLog::open(w.home().join("audit.jsonl"), None).expect("log");
    let usage = warden_audit::Usage {
        dirs: vec![warden_audit::DirUse {
            host: host.clone(),
            guest: "/legacy".into(),
            write: false,
        }],
        ..Default::default()
    };
    log.append(
        warden_audit::AuditEvent::Used {
            component: "builtin:fs".into(),
            digest: "sha256:00".into(),
            function: "read_file".into(),
            usage,
        },
        &[],
    )
    .expect("append a legacy record");
    let audit = suggest(&w, &["--audit", "--since", "1h"]);
    assert!(
        strings(&audit["components"]["builtin:fs"]["grants"])
            .iter()
            .any(|g| g.contains(&host) && g.contains("/legacy")),
        "{audit:#}"
    );
}
