//! Streamable HTTP MCP servers (`warden server add NAME --url …`): the URL
//! is a network capability checked like a component's, and an org policy
//! can forbid remote servers. The server is the npm
//! `@modelcontextprotocol/server-everything` in its `streamableHttp` mode,
//! on 127.0.0.1 (prerequisite: `WARDEN_TEST_MCP_SERVERS`, as for
//! `tool_sources.rs`; missing, the tests skip through `warden_test_skip`,
//! a failure under `WARDEN_TEST_REQUIRE_ALL=1`).
//!
//! Refusals are proven by a listener of the test's own on the URL's port
//! that must see no connection at all.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use warden_test_skip::{Prerequisite, skip};

use super::cli::warden;

/// The npm MCP servers' `node_modules` directory.
pub(super) fn mcp_servers() -> Result<PathBuf, String> {
    let root = std::env::var_os("WARDEN_TEST_MCP_SERVERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/ci-mcp-servers"));
    let script = everything_script(&root);
    if !script.is_file() {
        return Err(format!(
            "{} is missing: npm install --prefix {} @modelcontextprotocol/server-everything \
             (see .ci/run)",
            script.display(),
            root.display()
        ));
    }
    Ok(root)
}

fn everything_script(root: &Path) -> PathBuf {
    root.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

/// server-everything over streamable HTTP on a free loopback port, killed
/// on drop.
pub(super) struct HttpEverything {
    child: Child,
    port: u16,
}

impl HttpEverything {
    pub(super) fn start(root: &Path) -> HttpEverything {
        let port = free_port();
        let child = std::process::Command::new("node")
            .arg(everything_script(root))
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let server = HttpEverything { child, port };
        // Readiness, not timing: wait until it accepts connections.
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "server-everything never listened"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    pub(super) fn grant(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HttpEverything {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A listener of the test's own that must never be connected to.
pub(super) struct Untouched(TcpListener);

impl Untouched {
    pub(super) fn new() -> Untouched {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        Untouched(l)
    }

    pub(super) fn port(&self) -> u16 {
        self.0.local_addr().expect("addr").port()
    }

    pub(super) fn assert_untouched(&self) {
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok((_, peer)) => panic!("something connected from {peer}"),
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A warden home and the audit log.
pub(super) struct World {
    dir: tempfile::TempDir,
}

impl World {
    pub(super) fn new() -> World {
        let w = World {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(w.path("home")).expect("mkdir");
        std::fs::create_dir_all(w.workspace()).expect("mkdir");
        w
    }

    /// Where commands run (beside warden's home, not around it: `warden
    /// run` grants its workspace).
    pub(super) fn workspace(&self) -> PathBuf {
        self.path("work")
    }

    pub(super) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(super) fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// `warden ARGS` with `env` set (e.g. secret values).
    pub(super) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        warden()
            .args(args)
            .env("WARDEN_HOME", self.path("home"))
            .envs(env.iter().copied())
            .current_dir(self.workspace())
            .output()
            .expect("warden runs")
    }

    pub(super) fn ok(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    pub(super) fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        stderr
    }

    pub(super) fn calls_of(&self, component: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("home/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("audit line is JSON"))
            .filter(|r| r["event"]["type"] == "call" && r["event"]["component"] == component)
            .collect()
    }

    /// Signs `rules` with a fresh admin key, trusts it and installs it.
    pub(super) fn org(&self, rules: &str) {
        let key = self.path("admin.key");
        if !key.exists() {
            let out = self.ok(&[
                "key",
                "generate",
                "--out",
                key.to_str().expect("utf-8"),
                "--json",
            ]);
            let public = out["public_key"].as_str().expect("public key").to_string();
            let trusted = self.run(&["policy", "trust", &public, "--label", "test admin"]);
            assert!(trusted.status.success());
        }
        let policy = self.path("policy.toml");
        std::fs::write(&policy, format!("version = 1\n{rules}")).expect("write");
        let signed = self.path("policy.signed.toml");
        let out = self.run(&[
            "policy",
            "sign",
            policy.to_str().expect("utf-8"),
            "--key",
            key.to_str().expect("utf-8"),
            "--out",
            signed.to_str().expect("utf-8"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = self.run(&["policy", "install", signed.to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// An org policy that allows every directory, network destination,
/// variable and secret: only its `[remote-servers]` table restricts.
pub(super) const OPEN_ORG: &str = r#"
[[rule]]
component = "*"
effect = "allow"
dirs = [{ host = "/", mode = "rw" }]
network = [{ scheme = "*", host = "*", port = "*" }]
env = ["*"]
secrets = ["*"]
"#;

#[test]
fn a_streamable_http_server_is_listed_called_denied_and_recorded() {
    let root = match mcp_servers() {
        Ok(r) => r,
        Err(why) => return skip(Prerequisite::Node, "server-everything over HTTP", &why),
    };
    let server = HttpEverything::start(&root);
    let w = World::new();
    let url = server.url();
    let added = w.ok(&[
        "server",
        "add",
        "remote",
        "--url",
        &url,
        "--deny-tool",
        "get-env",
        "--json",
    ]);
    assert_eq!(added["declaration"]["url"], url.as_str());
    let listed = w.ok(&["server", "list", "--json"]);
    assert_eq!(listed["servers"][0]["origin"], url.as_str());

    // Not granted: refused before anything is sent, and recorded.
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:remote",
            "echo",
            r#"{"message": "x"}"#,
        ],
        4,
    );
    assert!(stderr.contains("127.0.0.1"), "{stderr}");

    let host = server.grant();
    let list = w.ok(&[
        "tool",
        "list",
        "server:remote",
        "--allow-host",
        &host,
        "--json",
    ]);
    assert_eq!(list["kind"], "mcp-server");
    assert_eq!(list["origin"], url.as_str());
    super::tool_sources::assert_everything_listed(&list);

    let echo = w.ok(&[
        "tool",
        "call",
        "server:remote",
        "echo",
        r#"{"message": "over http"}"#,
        "--allow-host",
        &host,
        "--json",
    ]);
    assert!(
        echo["output"].to_string().contains("Echo: over http"),
        "{echo}"
    );
    let sum = w.ok(&[
        "tool",
        "call",
        "server:remote",
        "get-sum",
        r#"{"a": 2, "b": 40}"#,
        "--allow-host",
        &host,
        "--json",
    ]);
    assert!(sum["output"].to_string().contains("42"), "{sum}");

    // Denied by the declaration, with the same shape as a component's.
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:remote",
            "get-env",
            "{}",
            "--allow-host",
            &host,
        ],
        4,
    );
    assert!(stderr.contains("denies this tool"), "{stderr}");

    let outcomes: Vec<String> = w
        .calls_of("server:remote")
        .iter()
        .map(|r| {
            r["event"]["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(outcomes, ["denied", "ok", "ok", "denied"]);
}

#[test]
fn a_server_url_on_a_port_or_address_the_grant_does_not_give_is_never_connected() {
    let w = World::new();
    let target = Untouched::new();
    let port = target.port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    w.ok(&["server", "add", "other-port", "--url", &url, "--json"]);
    // Granted: the same host, another port.
    let other = format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1));
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:other-port",
            "echo",
            "{}",
            "--allow-host",
            &other,
        ],
        4,
    );
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    target.assert_untouched();

    // A granted name that resolves to loopback: the connected address is
    // checked, and loopback is reachable only when granted by IP.
    let url = format!("http://localhost:{port}/mcp");
    w.ok(&["server", "add", "by-name", "--url", &url, "--json"]);
    let granted = format!("http://localhost:{port}");
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:by-name",
            "echo",
            "{}",
            "--allow-host",
            &granted,
        ],
        4,
    );
    assert!(stderr.contains("loopback"), "{stderr}");
    target.assert_untouched();
    let recorded = w.calls_of("server:by-name");
    assert_eq!(
        recorded.last().expect("recorded")["event"]["outcome"],
        "denied"
    );
}

#[test]
fn an_org_policy_forbidding_remote_servers_refuses_before_connecting() {
    let w = World::new();
    let target = Untouched::new();
    let port = target.port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    w.ok(&["server", "add", "remote", "--url", &url, "--json"]);
    w.org(&format!("{OPEN_ORG}\n[remote-servers]\nallow = []\n"));
    let host = format!("http://127.0.0.1:{port}");
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:remote",
            "echo",
            "{}",
            "--allow-host",
            &host,
        ],
        4,
    );
    assert!(
        stderr.contains("the org policy forbids remote MCP servers"),
        "{stderr}"
    );
    target.assert_untouched();

    // `policy explain` says so for the server.
    let explain = w.run(&["policy", "explain", "server:remote"]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(explain.status.success(), "{text}");
    assert!(
        text.contains("the org policy forbids remote MCP servers"),
        "{text}"
    );

    // An org policy listing other servers refuses this one the same way.
    w.org(&format!(
        "{OPEN_ORG}\n[remote-servers]\nallow = [\"https://mcp.example.com/*\"]\n"
    ));
    let stderr = w.fails(
        &[
            "tool",
            "call",
            "server:remote",
            "echo",
            "{}",
            "--allow-host",
            &host,
        ],
        4,
    );
    assert!(
        stderr.contains("allows only these remote MCP servers: https://mcp.example.com/*"),
        "{stderr}"
    );
    target.assert_untouched();
}

#[test]
fn an_org_policy_listing_a_server_lets_it_be_used() {
    let root = match mcp_servers() {
        Ok(r) => r,
        Err(why) => return skip(Prerequisite::Node, "server-everything over HTTP", &why),
    };
    let server = HttpEverything::start(&root);
    let w = World::new();
    let url = server.url();
    w.ok(&["server", "add", "remote", "--url", &url, "--json"]);
    w.org(&format!(
        "{OPEN_ORG}\n[remote-servers]\nallow = [\"{url}\"]\n"
    ));
    let echo = w.ok(&[
        "tool",
        "call",
        "server:remote",
        "echo",
        r#"{"message": "listed"}"#,
        "--allow-host",
        &server.grant(),
        "--json",
    ]);
    assert!(
        echo["output"].to_string().contains("Echo: listed"),
        "{echo}"
    );
}
