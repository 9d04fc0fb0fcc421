//! Capability policy through the `warden` binary and real components: each
//! rule allows and refuses, org ceilings beat user grants, deny beats
//! allow, the network check holds at the resolved address, a symlink is
//! judged by where it leads, and a policy that does not verify stops
//! everything.

use std::path::PathBuf;
use std::process::Output;

use warden_tests::TestServer;
use warden_tests::components::HOSTILE;

use super::cli::{expect_ok, warden};

/// An org policy clause that opens every kind of capability, for policies
/// that mean to restrict only some (the org layer denies by default).
const OPEN_DIRS: &str = r#"dirs = [{ host = "/", mode = "rw" }]"#;
const OPEN_NET: &str = r#"network = [{ scheme = "*", host = "*", port = "*" }]"#;
const OPEN_NAMES: &str = r#"env = ["*"]
secrets = ["*"]"#;

/// A warden home, an admin key and a data directory, in a temp directory.
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
        std::fs::write(h.path("data/hello.txt"), "hello policy").expect("write");
        h
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `data`, canonical (the temp dir may sit behind a symlink).
    fn data(&self) -> String {
        self.path("data")
            .canonicalize()
            .expect("canonical")
            .to_str()
            .expect("utf-8")
            .to_string()
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = warden();
        cmd.args(args)
            .env("WARDEN_HOME", self.path("home"))
            .current_dir(self.dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("warden runs")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        expect_ok(&self.run(args), args)
    }

    /// Runs a call expected to fail with exit `code`; returns stderr.
    fn fails(&self, args: &[&str], code: i32, needle: &str) -> String {
        expect_failure(&self.run(args), args, code, needle)
    }

    fn grant(&self, target: &str, kind: &str, spec: &str) {
        self.ok(&["grant", target, kind, spec]);
    }

    /// Signs `rules` with a fresh admin key, trusts it and installs it.
    fn org(&self, rules: &str) {
        let key = self.path("admin.key");
        if !key.exists() {
            let out: serde_json::Value = serde_json::from_str(&self.ok(&[
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
        let policy = self.path("policy.toml");
        std::fs::write(&policy, format!("version = 1\n{rules}")).expect("write");
        let signed = self.path("policy.signed.toml");
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

    /// Calls `builtin:fs` `tool` with `input` and extra flags.
    fn fs(&self, tool: &str, input: &str, flags: &[&str]) -> Output {
        let mut args = vec!["tool", "call", "builtin:fs", tool, input, "--json"];
        args.extend_from_slice(flags);
        self.run(&args)
    }

    fn hostile(&self, tool: &str, input: &str, flags: &[&str]) -> Output {
        let mut args = vec!["tool", "call", HOSTILE, tool, input, "--json"];
        args.extend_from_slice(flags);
        self.run(&args)
    }

    fn fetch(&self, url: &str, env: &[(&str, &str)]) -> Output {
        let input = serde_json::json!({ "url": url }).to_string();
        self.run_env(
            &[
                "tool",
                "call",
                "builtin:http-fetch",
                "fetch",
                &input,
                "--json",
            ],
            env,
        )
    }
}

fn expect_failure(out: &Output, args: &[&str], code: i32, needle: &str) -> String {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "warden {args:?} should exit {code}:\n{all}"
    );
    assert!(all.contains(needle), "`{needle}` not in:\n{all}");
    all
}

fn succeeded(out: &Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "call failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

fn failed_with(out: &Output, code: i32, needle: &str) {
    expect_failure(out, &[], code, needle);
}

const READ: &str = r#"{"path":"/data/hello.txt"}"#;
const WRITE: &str = r#"{"path":"/data/new.txt","content":"written"}"#;

#[test]
fn a_recorded_dir_grant_applies_to_every_call_until_revoked() {
    let h = Home::new();
    let spec = format!("{}:/data", h.data());
    // Deny by default: nothing is mounted.
    failed_with(&h.fs("read_file", READ, &[]), 4, "denied");
    h.grant("builtin:fs", "dir", &spec);
    let out = succeeded(&h.fs("read_file", READ, &[]));
    assert_eq!(out["output"]["content"], "hello policy");
    // Read-only unless granted rw.
    failed_with(&h.fs("write_file", WRITE, &[]), 4, "denied");
    h.grant("builtin:fs", "dir", &format!("{spec}:rw"));
    succeeded(&h.fs("write_file", WRITE, &[]));
    assert_eq!(
        std::fs::read_to_string(h.path("data/new.txt")).expect("written"),
        "written"
    );
    h.ok(&["revoke", "builtin:fs", "dir", &spec]);
    failed_with(&h.fs("read_file", READ, &[]), 4, "denied");
    // `policy show` lists what is left (nothing) and the change is audited.
    let show = h.ok(&["policy", "show"]);
    assert!(show.contains("no grants"), "{show}");
    let audit = h.ok(&["audit", "tail", "--json"]);
    assert!(
        audit.contains("\"grant\"") && audit.contains("\"revoke\""),
        "{audit}"
    );
    h.ok(&["audit", "verify"]);
}

#[test]
fn an_org_ceiling_caps_a_user_grant_and_explain_says_which_rule() {
    let h = Home::new();
    h.grant("builtin:fs", "dir", &format!("{}:/data:rw", h.data()));
    succeeded(&h.fs("write_file", WRITE, &[]));
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
dirs = [{{ host = "/", mode = "ro" }}]
{OPEN_NET}
{OPEN_NAMES}
"#
    ));
    // Reading still works; writing is capped away, by the grant or a flag.
    succeeded(&h.fs("read_file", READ, &[]));
    failed_with(&h.fs("write_file", WRITE, &[]), 4, "denied");
    let flag = format!("{}:/data:rw", h.data());
    let out = h.fs("write_file", WRITE, &["--dir", &flag]);
    failed_with(&out, 4, "denied");
    assert!(String::from_utf8_lossy(&out.stderr).contains("narrowed to"));
    let explain = h.ok(&["policy", "explain", "builtin:fs"]);
    assert!(explain.contains("capped"), "{explain}");
    assert!(explain.contains("org policy rule 1"), "{explain}");
    assert!(explain.contains("signed by ed25519:"), "{explain}");
}

#[test]
fn a_deny_rule_beats_every_grant_and_refuses_flags_outright() {
    let h = Home::new();
    let spec = format!("{}:/data", h.data());
    h.grant("builtin:fs", "dir", &spec);
    succeeded(&h.fs("read_file", READ, &[]));
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
{OPEN_DIRS}
{OPEN_NET}
{OPEN_NAMES}

[[rule]]
component = "*"
effect = "deny"
dirs = [{{ host = "{}" }}]
"#,
        h.data()
    ));
    failed_with(&h.fs("read_file", READ, &[]), 4, "denied");
    let err = h.fs("read_file", READ, &["--dir", &spec]);
    failed_with(&err, 4, "may not have directory");
    failed_with(&err, 4, "org policy rule 2");
    // The user's own deny rule works the same way, for one component only.
    let h2 = Home::new();
    h2.grant("builtin:fs", "dir", &format!("{}:/data", h2.data()));
    h2.ok(&["grant", "builtin:grep", "--deny", "dir", &h2.data()]);
    succeeded(&h2.fs("read_file", READ, &[]));
    h2.ok(&["grant", "builtin:fs", "--deny", "dir", &h2.data()]);
    failed_with(&h2.fs("read_file", READ, &[]), 4, "denied");
}

#[test]
fn a_symlink_is_judged_by_the_directory_it_leads_to() {
    let h = Home::new();
    let secret = h.path("secret");
    std::fs::create_dir_all(&secret).expect("mkdir");
    std::fs::write(secret.join("key.txt"), "do not read").expect("write");
    let link = h.path("innocent");
    std::os::unix::fs::symlink(&secret, &link).expect("symlink");
    let secret = secret.canonicalize().expect("canonical");
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
{OPEN_DIRS}
{OPEN_NET}
{OPEN_NAMES}

[[rule]]
component = "*"
effect = "deny"
dirs = [{{ host = "{}" }}]
"#,
        secret.display()
    ));
    let read = r#"{"path":"/x/key.txt"}"#;
    // Through a recorded grant: not mounted.
    h.grant(
        "builtin:fs",
        "dir",
        &format!("{}:/x", link.to_str().expect("utf-8")),
    );
    failed_with(&h.fs("read_file", read, &[]), 4, "denied");
    // Through a flag: refused, naming the real directory.
    let flag = format!("{}:/x", link.to_str().expect("utf-8"));
    failed_with(
        &h.fs("read_file", read, &["--dir", &flag]),
        4,
        &secret.display().to_string(),
    );
    // `..` in a flag is resolved before the check as well.
    let dotdot = format!("{}/../secret:/x", h.data());
    failed_with(
        &h.fs("read_file", read, &["--dir", &dotdot]),
        4,
        "may not have",
    );
}

#[test]
fn network_rules_match_scheme_host_port_and_cidr() {
    let server = TestServer::start();
    let port = server.port().to_string();
    let hello = format!("http://127.0.0.1:{port}/hello");

    // Nothing granted: refused.
    let h = Home::new();
    failed_with(&h.fetch(&hello, &[]), 4, "denied");
    // Granted by exact scheme, address and port.
    h.grant(
        "builtin:http-fetch",
        "network",
        &format!("http://127.0.0.1:{port}"),
    );
    let out = succeeded(&h.fetch(&hello, &[]));
    assert!(
        out["output"]["body"]
            .as_str()
            .unwrap_or("")
            .contains("hello"),
        "{out}"
    );

    // The wrong scheme is refused.
    let h = Home::new();
    h.grant(
        "builtin:http-fetch",
        "network",
        &format!("https://127.0.0.1:{port}"),
    );
    failed_with(&h.fetch(&hello, &[]), 4, "denied");

    // A CIDR network grants every address in it.
    let h = Home::new();
    h.grant("builtin:http-fetch", "network", "*://127.0.0.0/8:*");
    succeeded(&h.fetch(&hello, &[]));
    // ...unless an org deny rule takes part of it away: the deny wins.
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
{OPEN_DIRS}
{OPEN_NET}
{OPEN_NAMES}

[[rule]]
component = "*"
effect = "deny"
network = [{{ host = "127.0.0.1", port = {port} }}]
"#
    ));
    failed_with(&h.fetch(&hello, &[]), 4, "deny rule");
}

#[test]
fn an_org_network_ceiling_beats_the_users_grant() {
    let server = TestServer::start();
    let port = server.port();
    let h = Home::new();
    h.grant("builtin:http-fetch", "network", "*://127.0.0.0/8:*");
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
{OPEN_DIRS}
network = [{{ scheme = "https", host = "*", port = 443 }}]
{OPEN_NAMES}
"#
    ));
    failed_with(
        &h.fetch(&format!("http://127.0.0.1:{port}/hello"), &[]),
        4,
        "denied",
    );
    let explain = h.ok(&["policy", "explain", "builtin:http-fetch"]);
    assert!(
        explain.contains("capped") && explain.contains("https://127.0.0.0/8:443"),
        "{explain}"
    );
}

#[test]
fn a_granted_name_that_resolves_to_loopback_is_refused_and_redirects_are_rechecked() {
    let server = TestServer::start();
    let other = TestServer::start();
    let (port, other_port) = (server.port(), other.port());
    let h = Home::new();
    // By name: `localhost` resolves to a loopback address, which only a
    // grant by IP may reach.
    h.grant(
        "builtin:http-fetch",
        "network",
        &format!("http://localhost:{port}"),
    );
    failed_with(
        &h.fetch(&format!("http://localhost:{port}/hello"), &[]),
        4,
        "loopback",
    );
    // A redirect to an address a deny rule forbids is refused at the hop.
    h.grant("builtin:http-fetch", "network", "*://127.0.0.0/8:*");
    h.ok(&[
        "grant",
        "builtin:http-fetch",
        "--deny",
        "network",
        &format!("*://127.0.0.1:{other_port}"),
    ]);
    let redirect =
        format!("http://127.0.0.1:{port}/redirect?to=http://127.0.0.1:{other_port}/hello");
    failed_with(&h.fetch(&redirect, &[]), 4, "deny rule");
    succeeded(&h.fetch(&format!("http://127.0.0.1:{port}/hello"), &[]));
}

#[test]
fn env_grants_pass_values_and_org_forbids_remove_them() {
    let h = Home::new();
    let env = [("POLICY_TEST_VAR", "visible")];
    let call = |h: &Home| {
        succeeded(&h.run_env(
            &[
                "tool",
                "call",
                HOSTILE,
                "env",
                r#"{"name":"POLICY_TEST_VAR"}"#,
                "--json",
            ],
            &env,
        ))
    };
    assert_eq!(call(&h)["output"]["value"], serde_json::Value::Null);
    h.grant("file:hostile", "env", "POLICY_TEST_VAR");
    assert_eq!(call(&h)["output"]["value"], "visible");
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
{OPEN_DIRS}
{OPEN_NET}
env = ["*"]
secrets = ["*"]

[[rule]]
component = "file:*"
effect = "deny"
env = ["POLICY_TEST_VAR"]
"#
    ));
    assert_eq!(call(&h)["output"]["value"], serde_json::Value::Null);
}

#[test]
fn secret_grants_are_injected_by_the_host_unless_the_org_forbids_them() {
    let server = TestServer::start();
    let port = server.port();
    let url = format!("http://127.0.0.1:{port}/echo-auth");
    let env = [("POLICY_API_TOKEN", "s3cr3t-value-123")];
    let h = Home::new();
    h.grant(
        "builtin:http-fetch",
        "network",
        &format!("http://127.0.0.1:{port}"),
    );
    let out = succeeded(&h.fetch(&url, &env));
    assert_eq!(out["output"]["body"], "auth: none");
    h.grant(
        "builtin:http-fetch",
        "secret",
        &format!("POLICY_API_TOKEN@http://127.0.0.1:{port}"),
    );
    let out = h.fetch(&url, &env);
    let body = succeeded(&out);
    assert_eq!(body["output"]["body"], "auth: Bearer [REDACTED]");
    let everything = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(h.path("home/audit.jsonl")).expect("audit log")
    );
    assert!(!everything.contains("s3cr3t-value-123"), "{everything}");
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
{OPEN_DIRS}
{OPEN_NET}
env = ["*"]

[[rule]]
component = "*"
effect = "deny"
secrets = ["*"]
"#
    ));
    let out = succeeded(&h.fetch(&url, &env));
    assert_eq!(out["output"]["body"], "auth: none");
}

/// An org policy capping one limit (and opening everything else).
fn cap(h: &Home, limit: &str) {
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
{OPEN_DIRS}
{OPEN_NET}
{OPEN_NAMES}
limits = {{ {limit} }}
"#
    ));
}

#[test]
fn org_limit_ceilings_beat_larger_user_limits() {
    // Memory: a 1 GiB flag is capped to the org's 32 MiB.
    let h = Home::new();
    cap(&h, r#"memory = "32MiB""#);
    succeeded(&h.hostile("echo", r#"{"text":"small"}"#, &["--memory", "1GiB"]));
    let out = h.hostile("hog", "{}", &["--memory", "1GiB"]);
    failed_with(&out, 6, "32 MiB");

    // Fuel: a spinning guest stops at the org's budget, not the flag's.
    let h = Home::new();
    cap(&h, "fuel = 100000000");
    succeeded(&h.hostile("echo", r#"{"text":"small"}"#, &[]));
    failed_with(
        &h.hostile(
            "spin",
            "{}",
            &["--fuel", "900000000000", "--timeout", "60s"],
        ),
        7,
        "100000000",
    );

    // Wall clock.
    let h = Home::new();
    cap(&h, r#"wall-clock = "500ms""#);
    succeeded(&h.hostile("sleep", r#"{"ms":10}"#, &["--timeout", "60s"]));
    failed_with(
        &h.hostile("sleep", r#"{"ms":5000}"#, &["--timeout", "60s"]),
        5,
        "timed out",
    );

    // Output size.
    let h = Home::new();
    cap(&h, r#"output = "4KiB""#);
    succeeded(&h.hostile("flood", r#"{"bytes":100}"#, &["--max-output", "1GiB"]));
    failed_with(
        &h.hostile("flood", r#"{"bytes":65536}"#, &["--max-output", "1GiB"]),
        9,
        "invalid output",
    );

    // Stack.
    let h = Home::new();
    cap(&h, r#"stack = "64KiB""#);
    succeeded(&h.hostile("echo", r#"{"text":"small"}"#, &["--max-stack", "8MiB"]));
    failed_with(
        &h.hostile("recurse", "{}", &["--max-stack", "8MiB"]),
        11,
        "64 KiB",
    );
}

#[test]
fn an_org_policy_that_does_not_verify_stops_every_call() {
    let h = Home::new();
    h.grant("builtin:fs", "dir", &format!("{}:/data", h.data()));
    h.org(&format!(
        r#"
[[rule]]
component = "*"
effect = "allow"
{OPEN_DIRS}
{OPEN_NET}
{OPEN_NAMES}
"#
    ));
    succeeded(&h.fs("read_file", READ, &[]));

    // Someone loosens the installed policy by hand.
    let installed = h.path("home/org-policy.toml");
    let text = std::fs::read_to_string(&installed).expect("read");
    std::fs::write(
        &installed,
        text.replacen("version = 1", "version = 1\n#", 1),
    )
    .expect("write");
    failed_with(&h.fs("read_file", READ, &[]), 1, "does not verify");
    let show = h.ok(&["policy", "show"]);
    assert!(show.contains("REFUSED"), "{show}");

    // A policy signed by a key nobody trusts is not installed.
    let stranger = h.path("stranger.key");
    h.ok(&[
        "key",
        "generate",
        "--out",
        stranger.to_str().expect("utf-8"),
    ]);
    let policy = h.path("policy.toml");
    let signed = h.path("stranger.signed.toml");
    h.ok(&[
        "policy",
        "sign",
        policy.to_str().expect("utf-8"),
        "--key",
        stranger.to_str().expect("utf-8"),
        "--out",
        signed.to_str().expect("utf-8"),
    ]);
    h.fails(
        &["policy", "install", signed.to_str().expect("utf-8")],
        1,
        "not a trusted admin key",
    );
    // The tampered file is still what is installed: calls stay stopped
    // until an admin replaces it.
    failed_with(&h.fs("read_file", READ, &[]), 1, "does not verify");
    let good = h.path("policy.signed.toml");
    h.ok(&["policy", "install", good.to_str().expect("utf-8")]);
    succeeded(&h.fs("read_file", READ, &[]));
    let audit = h.ok(&["audit", "tail", "-n", "50", "--json"]);
    assert!(audit.contains("policy-change"), "{audit}");
}

#[test]
fn an_instances_limit_refuses_a_concurrent_call_and_frees_its_slot() {
    use warden_tests::{block_on, hostile, runtime};
    let runtime = runtime();
    let component = hostile();
    let mut grant = warden::Grant::default();
    grant.limits.max_instances = Some(1);
    let (slow, second) = block_on(async {
        tokio::join!(
            runtime.call_tool(&component, "sleep", r#"{"ms":500}"#, &grant),
            runtime.call_tool(&component, "echo", r#"{"text":"me too"}"#, &grant),
        )
    });
    slow.expect("the first call runs");
    let err = second.expect_err("the second call is over the limit");
    assert_eq!(err.kind(), "throttled");
    assert!(err.to_string().contains("1 at once"), "{err}");
    // The slot is free again once the first call is done.
    block_on(runtime.call_tool(&component, "echo", r#"{"text":"now"}"#, &grant))
        .expect("a call after the first finished");
}

#[test]
fn a_calls_per_minute_limit_refuses_the_call_over_it_only() {
    use warden_tests::{block_on, hostile, runtime};
    let runtime = runtime();
    let component = hostile();
    let other = hostile();
    let mut grant = warden::Grant::default();
    grant.limits.calls_per_minute = Some(3);
    for i in 0..3 {
        block_on(runtime.call_tool(&component, "echo", r#"{"text":"x"}"#, &grant))
            .unwrap_or_else(|e| panic!("call {i} is within the limit: {e}"));
    }
    let err = block_on(runtime.call_tool(&component, "echo", r#"{"text":"x"}"#, &grant))
        .expect_err("the fourth call in a minute is refused");
    assert_eq!(err.kind(), "throttled");
    assert!(err.to_string().contains("3 per minute"), "{err}");
    // Another loaded component keeps its own count; an unlimited grant is
    // never throttled.
    block_on(runtime.call_tool(&other, "echo", r#"{"text":"x"}"#, &grant))
        .expect("a separate component has its own window");
    block_on(runtime.call_tool(
        &component,
        "echo",
        r#"{"text":"x"}"#,
        &warden::Grant::default(),
    ))
    .expect("no limit, no refusal");
}

#[test]
fn audit_records_can_be_signed_and_the_signatures_checked() {
    let h = Home::new();
    let key = h.path("audit.key");
    let out: serde_json::Value = serde_json::from_str(&h.ok(&[
        "key",
        "generate",
        "--out",
        key.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("json");
    let public = out["public_key"].as_str().expect("public key").to_string();
    h.ok(&["audit", "sign", "--key", key.to_str().expect("utf-8")]);
    h.grant("builtin:fs", "dir", &format!("{}:/data", h.data()));
    succeeded(&h.fs("read_file", READ, &[]));
    h.ok(&["audit", "verify", "--key", &public]);
    // Another key did not sign them.
    let other = h.path("other.key");
    let out: serde_json::Value = serde_json::from_str(&h.ok(&[
        "key",
        "generate",
        "--out",
        other.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("json");
    let other_public = out["public_key"].as_str().expect("public key").to_string();
    let out = h.run(&["audit", "verify", "--key", &other_public]);
    assert_ne!(out.status.code(), Some(0));
    h.ok(&["audit", "sign", "--off"]);
}

#[test]
fn warden_run_holds_every_part_to_the_org_stack_ceiling() {
    let server =
        warden_tests::chat::ChatServer::scripted(vec![warden_tests::chat::Reply::answer("fine")]);
    let url = server.base_url();
    let run = [
        "run",
        "Say fine",
        "--endpoint",
        url.as_str(),
        "--workspace",
        "data",
    ];

    // A generous ceiling: the agent runs.
    let h = Home::new();
    cap(&h, r#"stack = "1MiB""#);
    assert_eq!(h.ok(&run).trim(), "fine");

    // A ceiling no planner fits in: the run stops on the stack limit, where
    // it used to run with the default engine's 512 KiB.
    let h = Home::new();
    cap(&h, r#"stack = "4KiB""#);
    let out = h.run(&run);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("stack"), "{said}");
    assert_eq!(
        server.requests().len(),
        1,
        "only the first run reached the model"
    );
}

#[test]
fn an_org_policy_can_require_every_audit_record_synced_and_mcp_refuses_batching() {
    let h = Home::new();
    h.org(&format!(
        "[audit]\nsync = \"every-record\"\n\n[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\n\
         {OPEN_DIRS}\n{OPEN_NET}\n{OPEN_NAMES}\n"
    ));
    let batched = h.run(&["mcp", "builtin:fs", "--audit-sync", "batched"]);
    let text = String::from_utf8_lossy(&batched.stderr).to_string();
    assert!(!batched.status.success(), "{text}");
    assert!(
        text.contains("org policy requires every audit record to be synced")
            && text.contains("`--audit-sync batched` is refused"),
        "{text}"
    );
    // Without the flag, or with `every-record`, the server starts (and, its
    // stdin closed here, stops at the handshake, past the durability check).
    for args in [
        &["mcp", "builtin:fs"][..],
        &["mcp", "builtin:fs", "--audit-sync", "every-record"][..],
    ] {
        let out = h.run(args);
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!text.contains("is refused"), "{args:?}: {text}");
        assert!(text.contains("handshake"), "{args:?}: {text}");
    }
}
