//! Approvals: a grants.toml `ask` rule is put to the user before the call
//! that needs it — through MCP elicitation in `warden mcp` (answered by the
//! official Python SDK client, `tests/mcp/approvals.py`), on the terminal in
//! `warden tool call` — recorded in the audit log with the answer, and
//! refused when nobody can be asked or an org policy forbids asking.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::cli::{expect_ok, warden};
use super::mcp::{pip_install, python, repo_root, requirement, s, skip, text, warden_bin};

/// A warden home whose grants say to ask before `builtin:fs` gets `data`
/// read-write at /data.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let h = Home {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(h.path("home")).expect("mkdir");
        std::fs::create_dir_all(h.path("data")).expect("mkdir");
        std::fs::write(h.path("data/hello.txt"), "hello approvals").expect("write");
        let data = h.data();
        std::fs::write(
            h.path("home/grants.toml"),
            format!(
                "version = 1\n\n[[rule]]\ncomponent = \"builtin:fs\"\neffect = \"ask\"\n\
                 dirs = [{{ host = \"{data}\", guest = \"/data\", mode = \"rw\" }}]\n"
            ),
        )
        .expect("grants");
        h
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn data(&self) -> String {
        s(&self.path("data").canonicalize().expect("canonical")).to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        warden()
            .args(args)
            .env("WARDEN_HOME", self.path("home"))
            .current_dir(self.dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("warden runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        expect_ok(&self.run(args), args)
    }

    /// The audit events of `type`.
    fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("home/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("audit line is JSON"))
            .map(|r| r["event"].clone())
            .filter(|e| e["type"] == kind)
            .collect()
    }

    /// Signs `rules` with a fresh admin key, trusts it and installs it.
    fn org(&self, rules: &str) {
        let key = self.path("admin.key");
        let out: serde_json::Value =
            serde_json::from_str(&self.ok(&["key", "generate", "--out", s(&key), "--json"]))
                .expect("json");
        let public = out["public_key"].as_str().expect("public key").to_string();
        self.ok(&["policy", "trust", &public, "--label", "test admin"]);
        let policy = self.path("policy.toml");
        std::fs::write(&policy, format!("version = 1\n{rules}")).expect("write");
        let signed = self.path("policy.signed.toml");
        self.ok(&[
            "policy",
            "sign",
            s(&policy),
            "--key",
            s(&key),
            "--out",
            s(&signed),
        ]);
        self.ok(&["policy", "install", s(&signed)]);
    }
}

fn exists(p: &Path) -> bool {
    p.try_exists().expect("stat")
}

#[test]
fn an_ask_grant_is_put_to_the_mcp_client_and_recorded_with_its_answer() {
    let py = match python().and_then(|py| pip_install(&py, requirement("mcp"), "mcp").map(|()| py))
    {
        Ok(py) => py,
        Err(reason) => return skip("MCP elicitation with the official Python client", &reason),
    };
    let h = Home::new();
    let out = Command::new(&py.python)
        .arg(repo_root().join("tests/mcp/approvals.py"))
        .args(["--warden", s(&warden_bin())])
        .args(["--home", s(&h.path("home"))])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the client script runs");
    let report = text(&out);
    assert!(
        out.status.success(),
        "the approvals client failed:\n{report}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("approvals: all checks passed"),
        "{report}"
    );

    // On disk: the accepted write happened, the declined one never ran.
    assert_eq!(
        std::fs::read_to_string(h.path("data/accepted.txt")).expect("accepted write"),
        "yes"
    );
    assert!(
        !exists(&h.path("data/declined.txt")),
        "a declined capability must not be used"
    );

    // In the audit log: each question with its answer, in order.
    let approvals = h.events("approval");
    let answers: Vec<&str> = approvals
        .iter()
        .map(|a| a["answer"].as_str().unwrap_or_default())
        .collect();
    // The 2026-07-28 client: the question deferred to it (input_required),
    // then its retry with the answer.
    assert_eq!(
        answers,
        [
            "accept",
            "decline",
            "accept",
            "unavailable",
            "deferred",
            "accept"
        ],
        "{approvals:#?}"
    );
    assert_eq!(approvals[4]["detail"], "mcp-input-required");
    assert_eq!(approvals[5]["detail"], "mcp-input-required");
    let first = &approvals[0];
    assert_eq!(first["component"], "builtin:fs");
    assert_eq!(first["function"], "write_file");
    assert_eq!(first["detail"], "mcp-elicitation");
    assert!(
        first["question"]
            .as_str()
            .is_some_and(|q| q.contains("read-write") && q.contains("grants.toml rule 1")),
        "{first:#}"
    );
    assert!(
        approvals[3]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did not declare the elicitation capability")),
        "{:#}",
        approvals[3]
    );
    // Only approved calls ran: three, each recorded.
    let calls = h.events("call");
    assert_eq!(calls.len(), 3, "{calls:#?}");
    let verify = h.run(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
}

#[test]
fn warden_tool_call_without_a_terminal_refuses_an_ask_grant_with_a_hint() {
    let h = Home::new();
    let out = h.run(&[
        "tool",
        "call",
        "builtin:fs",
        "write_file",
        r#"{"path": "/data/x.txt", "content": "x"}"#,
    ]);
    let report = text(&out);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a refusal is a denial:\n{report}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("was not given directory")
            && stderr.contains("nobody could be asked: stdin and stderr are not both a terminal"),
        "{report}"
    );
    assert!(
        stderr.contains("hint: a grants.toml `ask` rule needs someone to answer"),
        "{report}"
    );
    assert!(!exists(&h.path("data/x.txt")), "the tool did not run");
    let approvals = h.events("approval");
    assert_eq!(approvals.len(), 1, "{approvals:#?}");
    assert_eq!(approvals[0]["answer"], "unavailable");
    assert_eq!(approvals[0]["function"], "write_file");
    assert!(h.events("call").is_empty(), "the call never ran");

    // `policy explain` says the capability is asked for.
    let explain = h.ok(&["policy", "explain", "builtin:fs"]);
    assert!(explain.contains("ask      directory"), "{explain}");
    assert!(
        explain.contains("grants.toml rule 1 says to ask"),
        "{explain}"
    );

    // `tool list` asks nothing.
    h.ok(&["tool", "list", "builtin:fs"]);
    assert_eq!(h.events("approval").len(), 1);
}

#[test]
fn an_org_policy_that_forbids_asking_makes_the_ask_a_deny() {
    let h = Home::new();
    h.org(
        r#"
[[rule]]
component = "*"
effect = "allow"
dirs = [{ host = "/", mode = "rw" }]

[[rule]]
component = "*"
effect = "no-ask"
dirs = [{ host = "/" }]
"#,
    );
    let explain = h.ok(&["policy", "explain", "builtin:fs"]);
    assert!(explain.contains("denied   directory"), "{explain}");
    assert!(
        explain.contains("org policy rule 2 forbids asking for it (`no-ask`), so it is denied"),
        "{explain}"
    );
    assert!(!explain.contains("ask      directory"), "{explain}");

    // Nothing is asked: the tool runs without the directory and is denied.
    let out = h.run(&[
        "tool",
        "call",
        "builtin:fs",
        "write_file",
        r#"{"path": "/data/x.txt", "content": "x"}"#,
    ]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(4), "{report}");
    assert!(!exists(&h.path("data/x.txt")), "{report}");
    assert!(h.events("approval").is_empty(), "nothing was asked");
    assert_eq!(h.events("denial").len(), 1, "the sandbox denied it");
}

/// `warden tool call ARGS…` on a pseudo-terminal (`tests/tty/answer.py`,
/// standard-library Python) that answers `answer` to the question.
fn on_terminal(h: &Home, py: &std::path::Path, answer: &str, args: &[&str]) -> Output {
    Command::new(py)
        .arg(repo_root().join("tests/tty/answer.py"))
        .arg(answer)
        .arg(warden_bin())
        .args(args)
        .env("WARDEN_HOME", h.path("home"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(h.dir.path())
        .output()
        .expect("answer.py runs")
}

#[test]
fn warden_tool_call_on_a_terminal_runs_on_yes_and_refuses_on_no() {
    let py = match python() {
        Ok(py) => py,
        Err(reason) => return skip("a terminal answering `warden tool call`", &reason),
    };
    let h = Home::new();
    let write = |name: &str| format!(r#"{{"path": "/data/{name}", "content": "{name}"}}"#);

    let yes = on_terminal(
        &h,
        &py.python,
        "y",
        &[
            "tool",
            "call",
            "builtin:fs",
            "write_file",
            &write("yes.txt"),
        ],
    );
    let report = text(&yes);
    assert_eq!(
        yes.status.code(),
        Some(0),
        "`y` lets the call run:\n{report}"
    );
    let shown = String::from_utf8_lossy(&yes.stdout);
    assert!(
        shown.contains("builtin:fs") && shown.contains("write_file") && shown.contains("[y/N]"),
        "the question names the component and the tool:\n{report}"
    );
    assert_eq!(
        std::fs::read_to_string(h.path("data/yes.txt")).expect("the approved write happened"),
        "yes.txt"
    );

    let no = on_terminal(
        &h,
        &py.python,
        "n",
        &["tool", "call", "builtin:fs", "write_file", &write("no.txt")],
    );
    let report = text(&no);
    assert_eq!(no.status.code(), Some(4), "`n` is a denial:\n{report}");
    assert!(
        String::from_utf8_lossy(&no.stdout).contains("the user declined"),
        "{report}"
    );
    assert!(
        !exists(&h.path("data/no.txt")),
        "the declined call never ran"
    );

    let approvals = h.events("approval");
    let answers: Vec<(&str, &str)> = approvals
        .iter()
        .map(|a| {
            (
                a["answer"].as_str().unwrap_or_default(),
                a["detail"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        answers,
        [("accept", "terminal"), ("decline", "terminal")],
        "{approvals:#?}"
    );
    assert_eq!(h.events("call").len(), 1, "only the approved call ran");
    let verify = h.run(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
}

#[test]
fn warden_grant_ask_writes_an_ask_rule_that_explain_shows_and_revoke_removes() {
    let h = Home::new();
    std::fs::remove_file(h.path("home/grants.toml")).expect("start without grants");
    let dir = format!("{}:/data:rw", h.data());
    let said = h.ok(&["grant", "builtin:fs", "dir", &dir, "--ask"]);
    assert!(said.contains("will be asked for"), "{said}");
    let grants = std::fs::read_to_string(h.path("home/grants.toml")).expect("grants.toml");
    assert!(grants.contains("effect = \"ask\""), "{grants}");
    assert!(!grants.contains("effect = \"allow\""), "{grants}");

    let explain = h.ok(&["policy", "explain", "builtin:fs"]);
    assert!(explain.contains("ask      directory"), "{explain}");
    assert!(
        explain.contains("grants.toml rule 1 says to ask"),
        "{explain}"
    );
    // An ask rule, not an allow: without a terminal nobody can be asked.
    let out = h.run(&[
        "tool",
        "call",
        "builtin:fs",
        "write_file",
        r#"{"path": "/data/x.txt", "content": "x"}"#,
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(!exists(&h.path("data/x.txt")));
    assert_eq!(h.events("approval").len(), 1);
    let grant_events = h.events("grant");
    assert!(
        grant_events[0]["capabilities"][0]
            .as_str()
            .is_some_and(|c| c.starts_with("ask ")),
        "{grant_events:#?}"
    );

    h.ok(&["revoke", "builtin:fs", "dir", &dir]);
    let explain = h.ok(&["policy", "explain", "builtin:fs"]);
    assert!(!explain.contains("ask      directory"), "{explain}");
    let grants = std::fs::read_to_string(h.path("home/grants.toml")).expect("grants.toml");
    assert!(!grants.contains("effect = \"ask\""), "{grants}");
}
