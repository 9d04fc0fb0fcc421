//! Data residency and session retention, through `warden run` as a user
//! runs it: two scripted chat servers on 127.0.0.1 stand in for a "cloud"
//! model and a "local" one, each recording every request it received. The
//! org policy labels part of the workspace `restricted` and lets that class
//! go only to the local server.

use serde_json::{Value, json};
use warden_tests::chat::{ChatServer, Reply};

use super::world::World;

/// What the secret file holds: it must never reach the cloud server.
pub(super) const SECRET: &str = "TOP-SECRET-MERGER-PLAN";

/// An org policy clause that opens every kind of capability (the org layer
/// denies by default), so only the residency tables restrict anything.
const OPEN: &str = r#"
[[rule]]
component = "*"
effect = "allow"
dirs = [{ host = "/", mode = "rw" }]
network = [{ scheme = "*", host = "*", port = "*" }]
env = ["*"]
secrets = ["*"]
"#;

impl World {
    /// Signs `body` (after [`OPEN`]) with an admin key, trusts the key and
    /// installs the policy.
    pub(super) fn org_policy(&self, body: &str) {
        let key = self.root().join("admin.key");
        if !key.exists() {
            let out: Value = serde_json::from_str(&self.ok(&[
                "key",
                "generate",
                "--out",
                key.to_str().expect("utf-8"),
                "--json",
            ]))
            .expect("json");
            let public = out["public_key"].as_str().expect("public key").to_string();
            self.ok(&["policy", "trust", &public, "--label", "test admin"]);
        }
        let policy = self.root().join("policy.toml");
        std::fs::write(&policy, format!("version = 1\n{OPEN}\n{body}")).expect("write");
        let signed = self.root().join("policy.signed.toml");
        self.ok(&[
            "policy",
            "sign",
            policy.to_str().expect("utf-8"),
            "--key",
            key.to_str().expect("utf-8"),
            "--out",
            signed.to_str().expect("utf-8"),
        ]);
        self.ok(&["policy", "install", signed.to_str().expect("utf-8")]);
    }

    /// The canonical workspace path.
    pub(super) fn ws(&self) -> String {
        self.workspace()
            .canonicalize()
            .expect("canonical")
            .to_str()
            .expect("utf-8")
            .to_string()
    }

    /// Writes `agent.toml` into the workspace: the cloud server as the
    /// model, the local one as the fallback (if given), the fs tool.
    pub(super) fn resident_agent(&self, cloud: &ChatServer, local: Option<&ChatServer>) {
        let fallback = local.map_or(String::new(), |l| {
            format!("\n[fallback]\nendpoint = \"{}\"\n", l.base_url())
        });
        std::fs::write(
            self.workspace().join("agent.toml"),
            format!(
                "name = \"resident\"\nplanner = \"warden:planner@^0.1\"\n\
                 provider = \"warden:openai-provider@^0.1\"\ntools = [\"warden:fs@^0.1\"]\n\n\
                 [model]\nendpoint = \"{}\"\n{fallback}",
                cloud.base_url()
            ),
        )
        .expect("write agent.toml");
    }

    /// `warden run TASK --json` (the run may fail); its JSON result.
    pub(super) fn run_json(&self, task: &str) -> Value {
        let out = self.run(&["run", task, "--json"]);
        serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap_or_else(|e| {
            panic!(
                "no JSON result ({e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// The audit records of type `kind`.
    pub(super) fn audit_of(&self, kind: &str) -> Vec<Value> {
        let tail = self.ok(&["audit", "tail", "-n", "500", "--json"]);
        tail.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["event"]["type"] == kind)
            .collect()
    }
}

/// A workspace with `secret/plan.txt` (labelled) next to `hello.txt`, and
/// an org policy letting `restricted` go only to the server on `local_port`.
pub(super) fn world_with_secret(local_port: u16) -> World {
    let w = World::new();
    std::fs::create_dir(w.workspace().join("secret")).expect("mkdir");
    std::fs::write(w.workspace().join("secret/plan.txt"), SECRET).expect("write");
    w.org_policy(&format!(
        "[[label]]\nclass = \"restricted\"\npaths = [\"{}/secret\"]\n\n\
         [[residency]]\nclass = \"restricted\"\nproviders = [\"127.0.0.1:{local_port}\"]\n",
        w.ws()
    ));
    w
}

pub(super) fn bodies(server: &ChatServer) -> Vec<String> {
    server.requests().iter().map(Value::to_string).collect()
}

#[test]
fn labelled_content_goes_only_to_the_local_model_and_a_policy_change_applies_next_run() {
    // The cloud model asks to read the secret file; whatever turn comes
    // after that must not reach it.
    let cloud = ChatServer::scripted(vec![
        Reply::tool_calls(&[(
            "c1",
            "read_file",
            json!({"path": "/workspace/secret/plan.txt"}),
        )]),
        Reply::answer("CLOUD saw the plan"),
    ]);
    let local = ChatServer::scripted(vec![Reply::answer("LOCAL summary of the plan")]);
    let w = world_with_secret(local.port());
    w.resident_agent(&cloud, Some(&local));

    let out = w.run_json("Summarise the plan in secret/");
    assert_eq!(out["ok"], true, "{out}");
    // The first turn (only the task: unlabelled) went to the cloud; the
    // turn carrying the file went to the local fallback.
    assert_eq!(out["answer"], "LOCAL summary of the plan", "{out}");
    let to_cloud = bodies(&cloud);
    assert_eq!(to_cloud.len(), 1, "{to_cloud:?}");
    assert!(to_cloud[0].contains("Summarise the plan"), "{to_cloud:?}");
    assert!(to_cloud.iter().all(|b| !b.contains(SECRET)), "{to_cloud:?}");
    let to_local = bodies(&local);
    assert_eq!(to_local.len(), 1, "{to_local:?}");
    assert!(to_local[0].contains(SECRET), "{to_local:?}");

    // Every routing decision is in the audit log.
    let routes = w.audit_of("model-route");
    let decisions: Vec<&str> = routes
        .iter()
        .filter_map(|r| r["event"]["decision"].as_str())
        .collect();
    assert_eq!(decisions, ["sent", "fallback"], "{routes:?}");
    assert_eq!(routes[1]["event"]["classes"], json!(["restricted"]));
    w.ok(&["audit", "verify"]);

    // `policy explain` shows the label and who may see it.
    let explain = w.ok(&["policy", "explain", "builtin:fs"]);
    assert!(
        explain.contains(&format!(
            "data class `restricted`: {}/secret (labelled by the org policy)",
            w.ws()
        )),
        "{explain}"
    );
    assert!(
        explain.contains(&format!(
            "data class `restricted` may be sent to: 127.0.0.1:{} (by the org policy)",
            local.port()
        )),
        "{explain}"
    );

    // The org lets `restricted` go anywhere: from the next run on, the
    // cloud model gets it, and the local one nothing more.
    w.org_policy(&format!(
        "[[label]]\nclass = \"restricted\"\npaths = [\"{}/secret\"]\n\n\
         [[residency]]\nclass = \"restricted\"\nproviders = [\"any\"]\n",
        w.ws()
    ));
    let cloud = ChatServer::scripted(vec![
        Reply::tool_calls(&[(
            "c1",
            "read_file",
            json!({"path": "/workspace/secret/plan.txt"}),
        )]),
        Reply::answer("CLOUD saw the plan"),
    ]);
    w.resident_agent(&cloud, Some(&local));
    let out = w.run_json("Summarise the plan in secret/ again");
    assert_eq!(out["answer"], "CLOUD saw the plan", "{out}");
    let to_cloud = bodies(&cloud);
    assert_eq!(to_cloud.len(), 2, "{to_cloud:?}");
    assert!(to_cloud[1].contains(SECRET), "{to_cloud:?}");
    assert_eq!(bodies(&local).len(), 1);
}

#[test]
fn without_a_fallback_the_planner_gets_a_typed_denial_and_a_labelled_workspace_never_reaches_the_cloud()
 {
    let cloud = ChatServer::scripted(vec![
        Reply::tool_calls(&[(
            "c1",
            "read_file",
            json!({"path": "/workspace/secret/plan.txt"}),
        )]),
        Reply::answer("CLOUD saw the plan"),
    ]);
    let w = world_with_secret(1);
    w.resident_agent(&cloud, None);
    let out = w.run_json("Summarise the plan in secret/");
    assert_eq!(out["ok"], false, "{out}");
    let error = out["error"].as_str().expect("an error");
    assert!(error.contains("denied component access"), "{error}");
    assert!(error.contains("data residency"), "{error}");
    assert!(error.contains("no [fallback] provider"), "{error}");
    let to_cloud = bodies(&cloud);
    assert_eq!(to_cloud.len(), 1, "{to_cloud:?}");
    assert!(to_cloud.iter().all(|b| !b.contains(SECRET)));
    let refused: Vec<Value> = w
        .audit_of("model-route")
        .into_iter()
        .filter(|r| r["event"]["decision"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");

    // A task in a labelled workspace is itself labelled: with a local
    // fallback, not even the first turn goes to the cloud.
    let local = ChatServer::scripted(vec![Reply::answer("LOCAL answer")]);
    let w = World::new();
    // Both servers are on loopback here, so name the local one exactly.
    w.org_policy(&format!(
        "[[label]]\nclass = \"restricted\"\npaths = [\"{}\"]\n\n\
         [[residency]]\nclass = \"restricted\"\nproviders = [\"127.0.0.1:{}\"]\n",
        w.ws(),
        local.port()
    ));
    let cloud = ChatServer::scripted(vec![Reply::answer("CLOUD answer")]);
    w.resident_agent(&cloud, Some(&local));
    let out = w.run_json("What is in this workspace?");
    assert_eq!(out["answer"], "LOCAL answer", "{out}");
    assert!(cloud.requests().is_empty(), "{:?}", bodies(&cloud));
}

#[test]
fn retention_prunes_old_sessions_at_run_start_and_on_demand_and_is_audited() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::answer("done")]);
    let url = server.base_url();
    let run = |task: &str| -> String {
        let out: Value = serde_json::from_str(&w.ok(&["run", task, "--endpoint", &url, "--json"]))
            .expect("json");
        out["session"].as_str().expect("session").to_string()
    };
    // Makes a session 26 years old.
    let age = |id: &str| {
        let file = w.session_file(id);
        let mut session: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        session["updated"] = json!("2000-01-01T00:00:00Z");
        std::fs::write(&file, session.to_string()).expect("write");
    };
    let ancient = run("an ancient task");
    age(&ancient);
    let kept = run("a fresh task");

    // `--older-than 30d`, the help's own example, is read: it removes the
    // old session and nothing younger.
    let out: Value =
        serde_json::from_str(&w.ok(&["sessions", "rm", "--older-than", "30d", "--json"]))
            .expect("json");
    assert_eq!(out["removed"], json!([ancient]), "{out}");
    assert!(w.session_file(&kept).exists());

    let old = run("an old task");
    age(&old);

    // No retention set: prune keeps everything.
    let out: Value = serde_json::from_str(&w.ok(&["sessions", "prune", "--json"])).expect("json");
    assert_eq!(out["removed"], json!([]), "{out}");
    assert_eq!(out["keep"], "forever");

    // agent.toml keeps sessions 30 days: prune removes the old one only.
    std::fs::write(
        w.workspace().join("agent.toml"),
        "name = \"keeper\"\nplanner = \"warden:planner@^0.1\"\n\
         provider = \"warden:openai-provider@^0.1\"\n\n[sessions]\nkeep = \"30d\"\n",
    )
    .expect("write");
    let out: Value = serde_json::from_str(&w.ok(&["sessions", "prune", "--json"])).expect("json");
    assert_eq!(out["removed"], json!([old]), "{out}");
    assert_eq!(out["keep"], "30d (agent.toml)");
    assert!(!w.session_file(&old).exists());
    assert!(w.session_file(&kept).exists());
    let pruned = w.audit_of("session-prune");
    assert!(
        pruned
            .iter()
            .any(|r| r["event"]["removed"] == json!([old])
                && r["event"]["keep"] == "30d (agent.toml)"),
        "{pruned:?}"
    );

    // The org says sessions may not persist: a run prunes the others at
    // its start and leaves nothing behind.
    w.org_policy("[sessions]\npersist = false\n");
    let gone = run("a task nobody keeps");
    assert!(!w.session_file(&gone).exists());
    assert!(!w.session_file(&kept).exists());
    let list: Value = serde_json::from_str(&w.ok(&["sessions", "list", "--json"])).expect("json");
    assert_eq!(list["sessions"], json!([]), "{list}");
    let pruned = w.audit_of("session-prune");
    assert!(
        pruned
            .iter()
            .any(|r| r["event"]["removed"] == json!([gone])),
        "{pruned:?}"
    );
}
