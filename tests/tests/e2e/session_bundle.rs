//! Sharing a session: `warden sessions export` writes one signed bundle
//! (stored secret values redacted), `warden sessions import` verifies its
//! signature and signer before storing it; a tampered bundle is refused.

use serde_json::Value;
use warden_tests::chat::{ChatServer, Reply};

use super::world::World;

/// A secret value the user keeps in `secrets.toml` and pasted into a task.
const SECRET: &str = "sk-live-DO-NOT-SHARE-4242";

#[test]
fn an_exported_session_imports_elsewhere_without_secrets_and_a_tampered_one_is_refused() {
    let w = World::new();
    let secrets = w.home().join("secrets.toml");
    std::fs::write(&secrets, format!("API_TOKEN = \"{SECRET}\"\n")).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let server = ChatServer::scripted(vec![Reply::answer("Shared answer.")]);
    let url = server.base_url();
    let task = format!("Why does {SECRET} fail?");
    let out: Value =
        serde_json::from_str(&w.ok(&["run", &task, "--endpoint", &url, "--json"])).expect("json");
    let id = out["session"].as_str().expect("id").to_string();

    let key = w.root().join("me.key");
    let generated: Value = serde_json::from_str(&w.ok(&[
        "key",
        "generate",
        "--out",
        key.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("json");
    let public = generated["public_key"]
        .as_str()
        .expect("public")
        .to_string();
    let bundle = w.root().join("session.bundle.json");
    w.ok(&[
        "sessions",
        "export",
        &id,
        "--key",
        key.to_str().expect("utf-8"),
        "--out",
        bundle.to_str().expect("utf-8"),
    ]);
    let text = std::fs::read_to_string(&bundle).expect("read");
    assert!(!text.contains(SECRET), "a secret value left in the bundle");
    assert!(text.contains("[REDACTED]"), "{text}");
    assert!(text.contains("warden:planner"), "component digests: {text}");

    // Another user, another home: the signer must be trusted.
    let other = World::new();
    let out = other.run(&["sessions", "import", bundle.to_str().expect("utf-8")]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a trusted key"), "{err}");
    assert!(other.ok(&["sessions", "list", "--json"]).contains("[]"));

    let imported: Value = serde_json::from_str(&other.ok(&[
        "sessions",
        "import",
        bundle.to_str().expect("utf-8"),
        "--signer",
        &public,
        "--json",
    ]))
    .expect("json");
    assert_eq!(imported["session"], id.as_str());
    // The recording held the secret (in the task): it was left out rather
    // than edited, which would break its hash chain.
    assert_eq!(imported["recording"], false, "{imported}");
    assert!(text.contains("recording_withheld\\\":true"), "{text}");
    let shown = other.session(&id);
    assert!(shown.to_string().contains("Shared answer."), "{shown}");
    assert!(!shown.to_string().contains(SECRET));
    // Importing it again would overwrite: refused.
    let again = other.run(&[
        "sessions",
        "import",
        bundle.to_str().expect("utf-8"),
        "--signer",
        &public,
    ]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // A session without secrets travels with its recording.
    let out: Value =
        serde_json::from_str(&w.ok(&["run", "A harmless task", "--endpoint", &url, "--json"]))
            .expect("json");
    let plain = out["session"].as_str().expect("id").to_string();
    let plain_bundle = w.root().join("plain.bundle.json");
    w.ok(&[
        "sessions",
        "export",
        &plain,
        "--key",
        key.to_str().expect("utf-8"),
        "--out",
        plain_bundle.to_str().expect("utf-8"),
    ]);
    let imported: Value = serde_json::from_str(&other.ok(&[
        "sessions",
        "import",
        plain_bundle.to_str().expect("utf-8"),
        "--signer",
        &public,
        "--json",
    ]))
    .expect("json");
    assert_eq!(imported["recording"], true, "{imported}");

    // One changed character of the payload: refused, nothing stored.
    let tampered = w.root().join("tampered.json");
    std::fs::write(
        &tampered,
        text.replacen("Shared answer.", "Shared answEr.", 1),
    )
    .expect("write");
    let third = World::new();
    let out = third.run(&[
        "sessions",
        "import",
        tampered.to_str().expect("utf-8"),
        "--signer",
        &public,
    ]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was changed after it was signed"), "{err}");
    assert!(third.ok(&["sessions", "list", "--json"]).contains("[]"));
}
