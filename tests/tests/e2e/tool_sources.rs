//! Tool sources that are not components: subprocess confinement
//! (`warden::confine`), native command tools and MCP servers, all through
//! the one call path (`Runtime::call_source`) and the same audit log.
//!
//! Prerequisites: Linux with Landlock, and the npm MCP servers
//! `@modelcontextprotocol/server-everything` and `server-filesystem`
//! installed under `WARDEN_TEST_MCP_SERVERS` (default `/tmp/ci-mcp-servers`,
//! what `.ci/run` installs). Missing, the tests skip through
//! `warden_test_skip` (a failure under `WARDEN_TEST_REQUIRE_ALL=1`).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use warden::confine::{Confinement, KernelSupport, Requirement, RunFailure};
use warden::{DirMode, Grant};
use warden_test_skip::{Prerequisite, skip};

use super::cli::warden;

fn landlock() -> Result<(), String> {
    if KernelSupport::detect().filesystem {
        Ok(())
    } else {
        Err("the kernel has no Landlock (Linux 5.13+ with `landlock` in the LSM list)".into())
    }
}

/// The npm MCP servers' `node_modules` directory.
fn mcp_servers() -> Result<PathBuf, String> {
    let root = std::env::var_os("WARDEN_TEST_MCP_SERVERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/ci-mcp-servers"));
    let script = root.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if !script.is_file() {
        return Err(format!(
            "{} is missing: npm install --prefix {} @modelcontextprotocol/server-everything \
             @modelcontextprotocol/server-filesystem (see .ci/run)",
            script.display(),
            root.display()
        ));
    }
    Ok(root)
}

fn grant(dirs: &[(&Path, DirMode)]) -> Grant {
    let mut grant = Grant::default();
    for (dir, mode) in dirs {
        grant
            .dirs
            .push(warden::DirGrant::new(dir, None, *mode).expect("an existing directory"));
    }
    grant
}

fn run(program: &str, args: &[&str], grant: &Grant) -> warden::confine::Finished {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let confinement =
        Confinement::from_grant("test", program, &args, None, grant, None).expect("confinable");
    let run = warden::confine::run(
        &confinement,
        Requirement::Required,
        Duration::from_secs(60),
        1 << 20,
    );
    match warden_tests::block_on(run) {
        Ok(f) => f,
        Err(RunFailure::Confine(e)) => panic!("not started: {e}"),
        Err(RunFailure::Timeout) => panic!("timed out"),
    }
}

#[test]
fn the_kernel_refuses_a_hostile_command_what_its_grant_does_not_give() {
    if let Err(why) = landlock() {
        return skip(Prerequisite::Confinement, "confinement", &why);
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let granted = tmp.path().join("granted");
    std::fs::create_dir_all(&granted).expect("mkdir");
    std::fs::write(granted.join("ok.txt"), "inside").expect("write");
    std::fs::write(tmp.path().join("secret.txt"), "outside").expect("write");
    let g = grant(&[(&granted, DirMode::ReadOnly)]);

    let inside = run(
        "cat",
        &[granted.join("ok.txt").to_str().expect("utf-8")],
        &g,
    );
    assert_eq!(
        (inside.exit_code, inside.stdout.as_str()),
        (Some(0), "inside")
    );

    // The same program, one directory up: the kernel says no.
    let secret = tmp.path().join("secret.txt");
    let outside = run("cat", &[secret.to_str().expect("utf-8")], &g);
    assert_ne!(outside.exit_code, Some(0));
    assert!(outside.stderr.contains("Permission denied"), "{outside:?}");
    assert!(!outside.stdout.contains("outside"));

    // Read-only means read-only.
    let write = run(
        "sh",
        &["-c", &format!("echo x > {}/new.txt", granted.display())],
        &g,
    );
    assert_ne!(write.exit_code, Some(0), "{write:?}");
    assert!(!granted.join("new.txt").exists());

    // Nothing of warden's environment leaks: only what is granted.
    // SAFETY-free: the variable is set for this process only.
    let env = run("env", &[], &g);
    assert_eq!(env.stdout, "", "{env:?}");
    let mut with_env = g.clone();
    with_env.env.push(("GRANTED".into(), "yes".into()));
    let env = run("env", &[], &with_env);
    assert_eq!(env.stdout.trim(), "GRANTED=yes");
}

#[test]
fn a_confined_command_cannot_connect_to_a_port_it_is_not_granted() {
    if let Err(why) = landlock() {
        return skip(Prerequisite::Confinement, "confinement", &why);
    }
    if !KernelSupport::detect().tcp {
        return skip(
            Prerequisite::Confinement,
            "tcp confinement",
            "the kernel's Landlock ABI is older than 4 (no TCP rules)",
        );
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let tmp = tempfile::tempdir().expect("tempdir");
    let g = grant(&[(tmp.path(), DirMode::ReadOnly)]);
    let script = format!(
        "import socket\ntry:\n socket.create_connection(('127.0.0.1', {port}), timeout=5)\n \
         print('connected')\nexcept OSError as e:\n print('refused', e.errno)"
    );
    let out = run("/usr/bin/python3", &["-c", &script], &g);
    assert_eq!(out.stdout.trim(), "refused 13", "{out:?}");
    // Granted that port, it connects.
    let mut g = g;
    g.hosts
        .push(warden::HostPattern::parse(&format!("127.0.0.1:{port}")).expect("pattern"));
    let out = run("/usr/bin/python3", &["-c", &script], &g);
    assert_eq!(out.stdout.trim(), "connected", "{out:?}");
}

#[test]
fn a_command_that_outlives_its_wall_clock_is_killed_with_its_process_group() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let g = grant(&[(tmp.path(), DirMode::ReadWrite)]);
    let pidfile = tmp.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let args = vec!["-c".to_string(), script];
    let confinement =
        Confinement::from_grant("test", "sh", &args, None, &g, None).expect("confinable");
    let run = warden::confine::run(
        &confinement,
        Requirement::BestEffort,
        Duration::from_secs(2),
        1024,
    );
    assert!(matches!(
        warden_tests::block_on(run),
        Err(RunFailure::Timeout)
    ));
    let pid = std::fs::read_to_string(&pidfile).expect("the child wrote its pid");
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    // The grandchild was killed with the group: gone, or a zombie.
    let alive = std::fs::read_to_string(&stat)
        .ok()
        .and_then(|s| s.rsplit(')').next().map(|r| r.trim().starts_with('S')))
        .unwrap_or(false);
    let mut alive = alive;
    for _ in 0..100 {
        if !alive {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        alive = std::fs::read_to_string(&stat)
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim().starts_with('S')))
            .unwrap_or(false);
    }
    assert!(!alive, "the background sleep outlived its group");
}

/// A warden home, a git repository and the audit log.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let w = World {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(w.path("home")).expect("mkdir");
        std::fs::create_dir_all(w.path("repo")).expect("mkdir");
        w
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        warden()
            .args(args)
            .env("WARDEN_HOME", self.path("home"))
            .current_dir(self.dir.path())
            .output()
            .expect("warden runs")
    }

    fn ok(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        stderr
    }

    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("home/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    fn calls_of(&self, component: &str) -> Vec<serde_json::Value> {
        self.audit()
            .into_iter()
            .filter(|r| r["event"]["type"] == "call" && r["event"]["component"] == component)
            .collect()
    }
}

fn git(repo: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .current_dir(repo)
        .status()
        .expect("git runs")
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn git_command_tools_run_only_when_granted_and_are_recorded() {
    if let Err(why) = landlock() {
        return skip(Prerequisite::Confinement, "command tools", &why);
    }
    let w = World::new();
    let repo = w.path("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("a.txt"), "one\n").expect("write");
    git(&repo, &["add", "a.txt"]);
    git(&repo, &["commit", "-q", "-m", "first commit"]);
    std::fs::write(repo.join("a.txt"), "two\n").expect("write");

    // Listed like any tool, with kind and origin.
    let list = w.ok(&["tool", "list", "command:git_log", "--json"]);
    assert_eq!(list["kind"], "command");
    assert_eq!(list["tools"][0]["name"], "git_log");
    assert_eq!(list["tools"][0]["kind"], "command");
    assert_eq!(list["tools"][0]["input_schema"]["required"][0], "count");
    assert!(list["origin"].as_str().expect("origin").starts_with("git "));

    // No grant names it: it does not run, and the denial is recorded.
    let stderr = w.fails(
        &["tool", "call", "command:git_status", "git_status", "{}"],
        4,
    );
    assert!(stderr.contains("no granted directory"), "{stderr}");
    let calls = w.calls_of("command:git-status");
    assert_eq!(
        calls.last().expect("recorded")["event"]["outcome"],
        "denied"
    );

    let dir = format!("{}:ro", repo.display());
    let status = w.ok(&[
        "tool",
        "call",
        "command:git_status",
        "git_status",
        "{}",
        "--dir",
        &dir,
        "--json",
    ]);
    assert_eq!(status["kind"], "command");
    let out = status["output"]["stdout"].as_str().expect("stdout");
    assert!(
        out.contains("## main") && out.contains(" M a.txt"),
        "{status}"
    );

    let diff = w.ok(&[
        "tool",
        "call",
        "command:git_diff",
        "git_diff",
        r#"{"paths": ["a.txt"]}"#,
        "--dir",
        &dir,
        "--json",
    ]);
    assert!(
        diff["output"]["stdout"]
            .as_str()
            .expect("stdout")
            .contains("+two"),
        "{diff}"
    );

    let log = w.ok(&[
        "tool",
        "call",
        "command:git_log",
        "git_log",
        r#"{"count": 5}"#,
        "--dir",
        &dir,
        "--json",
    ]);
    assert!(
        log["output"]["stdout"]
            .as_str()
            .expect("stdout")
            .contains("first commit")
    );

    // An argument that would be an option is refused before anything runs.
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "command:git_diff",
            "git_diff",
            r#"{"paths": [], "staged": "--output=/tmp/x"}"#,
            "--dir",
            &dir,
        ],
        3,
    );
    assert!(stderr.contains("staged"), "{stderr}");

    let outcomes: Vec<_> = w
        .calls_of("command:git-status")
        .iter()
        .map(|r| {
            r["event"]["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(outcomes, ["denied", "ok"]);
}

fn everything(w: &World, modules: &Path, extra: &[&str]) {
    let script = modules.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let mut args = vec!["server", "add", "everything"];
    args.extend_from_slice(extra);
    args.extend([
        "--json",
        "--",
        "node",
        script.to_str().expect("utf-8"),
        "stdio",
    ]);
    w.ok(&args);
}

#[test]
fn server_everything_is_listed_called_denied_bounded_and_recorded() {
    let modules = match landlock().and_then(|()| mcp_servers()) {
        Ok(m) => m,
        Err(why) => return skip(Prerequisite::Confinement, "server-everything", &why),
    };
    let w = World::new();
    everything(&w, &modules, &["--deny-tool", "get-env"]);
    let listed = w.ok(&["server", "list", "--json"]);
    assert_eq!(listed["servers"][0]["subject"], "server:everything");

    let dir = format!("{}:ro", modules.display());
    let list = w.ok(&["tool", "list", "server:everything", "--dir", &dir, "--json"]);
    assert_eq!(list["kind"], "mcp-server");
    assert_everything_listed(&list);

    let echo = w.ok(&[
        "tool",
        "call",
        "server:everything",
        "echo",
        r#"{"message": "hi there"}"#,
        "--dir",
        &dir,
        "--json",
    ]);
    assert!(
        echo["output"].to_string().contains("Echo: hi there"),
        "{echo}"
    );

    // Denied by the declaration: the same denial shape as a component's.
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:everything",
            "get-env",
            "{}",
            "--dir",
            &dir,
        ],
        4,
    );
    assert!(stderr.contains("denies this tool"), "{stderr}");

    // Not granted a directory: it does not start.
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:everything",
            "echo",
            r#"{"message":"x"}"#,
        ],
        4,
    );
    assert!(stderr.contains("no granted directory"), "{stderr}");

    // A call that hangs is stopped at the wall clock.
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:everything",
            "trigger-long-running-operation",
            r#"{"duration": 120, "steps": 2}"#,
            "--dir",
            &dir,
            "--timeout",
            "3s",
        ],
        5,
    );
    assert!(stderr.contains("timed out"), "{stderr}");

    // A flood is capped.
    let big = "x".repeat(120_000);
    let input = serde_json::json!({ "message": big }).to_string();
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:everything",
            "echo",
            &input,
            "--dir",
            &dir,
            "--max-output",
            "16KiB",
        ],
        9,
    );
    assert!(stderr.contains("over the limit"), "{stderr}");

    let outcomes: Vec<String> = w
        .calls_of("server:everything")
        .iter()
        .map(|r| {
            r["event"]["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        outcomes,
        ["ok", "denied", "denied", "timeout", "invalid-output"]
    );
    let denials: Vec<_> = w
        .audit()
        .into_iter()
        .filter(|r| r["event"]["type"] == "denial")
        .map(|r| {
            r["event"]["target"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        denials.contains(&"server:everything/get-env".to_string()),
        "{denials:?}"
    );
}

#[test]
fn server_filesystem_reading_outside_its_grant_is_refused_by_the_kernel() {
    let modules = match landlock().and_then(|()| mcp_servers()) {
        Ok(m) => m,
        Err(why) => return skip(Prerequisite::Confinement, "server-filesystem", &why),
    };
    let w = World::new();
    let root = w.path("root");
    std::fs::create_dir_all(root.join("granted")).expect("mkdir");
    std::fs::write(root.join("granted/ok.txt"), "granted text").expect("write");
    std::fs::write(root.join("secret.txt"), "secret text").expect("write");
    let script = modules.join("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
    // The server itself is told it may serve all of `root`; the grant says
    // only `root/granted`.
    w.ok(&[
        "server",
        "add",
        "fs",
        "--json",
        "--",
        "node",
        script.to_str().expect("utf-8"),
        root.to_str().expect("utf-8"),
    ]);
    let granted = format!("{}:ro", root.join("granted").display());
    let modules_dir = format!("{}:ro", modules.display());
    let read = |path: &Path| {
        w.run(&[
            "tool",
            "call",
            "server:fs",
            "read_text_file",
            &serde_json::json!({ "path": path }).to_string(),
            "--dir",
            &granted,
            "--dir",
            &modules_dir,
            "--json",
        ])
    };
    let ok = read(&root.join("granted/ok.txt"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("granted text"));

    let refused = read(&root.join("secret.txt"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!refused.status.success(), "{text}");
    assert!(
        text.contains("EACCES") || text.contains("permission denied"),
        "{text}"
    );
    assert!(!text.contains("secret text"), "{text}");
}

#[test]
fn a_crashed_server_is_started_again_at_its_next_call() {
    let modules = match landlock().and_then(|()| mcp_servers()) {
        Ok(m) => m,
        Err(why) => return skip(Prerequisite::Confinement, "server restart", &why),
    };
    let script = modules.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let decl = warden::source::servers::ServerDecl {
        command: vec!["node".into(), script.display().to_string(), "stdio".into()],
        url: None,
        cwd: None,
        allow: None,
        deny: Vec::new(),
        secrets: Vec::new(),
    };
    let warden::resolve::Resolved::Source { source, .. } = warden::resolve::server("crashy", decl)
    else {
        unreachable!("a server is a source")
    };
    let warden::ToolSource::McpServer(server) = &source else {
        unreachable!("an MCP server")
    };
    let runtime = warden_tests::runtime();
    let g = grant(&[(&modules, DirMode::ReadOnly)]);
    let echo = |message: &str| {
        let input = serde_json::json!({ "message": message }).to_string();
        warden_tests::block_on(runtime.call_source(&source, "echo", &input, &g))
    };
    echo("first").expect("the first call works");
    let pid = warden_tests::block_on(server.pid()).expect("running");
    // Crash it from outside.
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(killed);
    // The next call (maybe after one that saw it die) is served by a new
    // process.
    let again = echo("second").or_else(|_| echo("third"));
    let report = again.expect("restarted");
    assert!(
        report.output.to_string().contains("Echo:"),
        "{:?}",
        report.output
    );
    assert_eq!(warden_tests::block_on(server.starts()), 2);
    assert_ne!(warden_tests::block_on(server.pid()), Some(pid));
}

#[test]
fn warden_mcp_serves_a_servers_tools_under_its_prefix_as_a_gateway() {
    use std::io::{BufRead, BufReader, Write};
    let modules = match landlock().and_then(|()| mcp_servers()) {
        Ok(m) => m,
        Err(why) => return skip(Prerequisite::Confinement, "mcp gateway", &why),
    };
    let w = World::new();
    everything(
        &w,
        &modules,
        &["--allow-tool", "echo", "--allow-tool", "get-sum"],
    );
    let dir = format!("{}:ro", modules.display());
    let mut child = warden()
        .args(["mcp", "server:everything", "command:git_log", "--dir", &dir])
        .env("WARDEN_HOME", w.path("home"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("warden mcp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut send = |v: serde_json::Value| {
        writeln!(stdin, "{v}").expect("write");
        stdin.flush().expect("flush");
    };
    let mut answer = |id: u64| -> serde_json::Value {
        for line in lines.by_ref() {
            let v: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("JSON");
            if v["id"] == id {
                return v;
            }
        }
        panic!("no answer to {id}");
    };
    send(
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}}),
    );
    answer(1);
    send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let list = answer(2);
    let mut names: Vec<String> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["everything__echo", "everything__get-sum", "git_log"]
    );
    send(
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "everything__echo", "arguments": {"message": "through the gateway"}}}),
    );
    let call = answer(3);
    assert!(
        call.to_string().contains("Echo: through the gateway"),
        "{call}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let calls = w.calls_of("server:everything");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["event"]["function"], "echo");
    assert_eq!(calls[0]["event"]["outcome"], "ok");
}

#[test]
fn policy_suggest_says_a_commands_use_is_unobserved_and_claims_nothing_unused() {
    if let Err(why) = landlock() {
        return skip(Prerequisite::Confinement, "suggest for commands", &why);
    }
    let w = World::new();
    let repo = w.path("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("a.txt"), "one\n").expect("write");
    let dir = format!("{}:ro", repo.display());
    // Granted in grants.toml, and used by the call below (git reads the
    // repository), though nothing can see it do so.
    let granted = w.run(&["grant", "command:git-status", "dir", &dir]);
    assert!(granted.status.success());
    w.ok(&[
        "tool",
        "call",
        "command:git_status",
        "git_status",
        "{}",
        "--json",
    ]);
    let out = w.ok(&["policy", "suggest", "--audit", "--since", "1h", "--json"]);
    let command = &out["components"]["command:git-status"];
    assert!(command.is_object(), "{out:#}");
    assert_eq!(command["grants"], serde_json::json!([]), "{out:#}");
    // Not reported unused: its use is not observed, not absent.
    assert_eq!(command["unused"], serde_json::json!([]), "{out:#}");
    assert!(
        command["skipped"]
            .to_string()
            .contains("used nothing observable"),
        "{out:#}"
    );
}

/// `tool list --json` of `server-everything` served with `--deny-tool
/// get-env`: its `echo` and `get-sum` are listed, the denied tool is not.
pub(super) fn assert_everything_listed(list: &serde_json::Value) {
    let names = tool_names(list);
    assert!(
        names.contains(&"echo") && names.contains(&"get-sum"),
        "{names:?}"
    );
    assert!(!names.contains(&"get-env"), "a denied tool is not listed");
}

/// The tool names in a `tool list --json` answer.
pub(super) fn tool_names(list: &serde_json::Value) -> Vec<&str> {
    list["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect()
}
