//! The `warden` binary: grant flags, `--json`, and one exit code per kind of
//! failure.

use std::path::PathBuf;
use std::process::{Command, Output};

use warden_tests::components::HOSTILE;

/// The `warden` binary of this build (`cargo test --workspace` builds it).
pub fn warden() -> Command {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let bin: PathBuf = profile_dir.join("warden");
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` (which builds it), or build it first with `cargo build [--release] -p warden-cli`",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    // Keep the audit log and registry of CLI tests out of the user's home.
    cmd.env(
        "WARDEN_HOME",
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-home"),
    );
    cmd
}

fn run(args: &[&str]) -> Output {
    warden().args(args).output().expect("warden runs")
}

/// The stdout of a `warden` run that had to succeed; otherwise fails the
/// test with everything the run printed.
pub fn expect_ok(out: &Output, args: &[&str]) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "warden {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The stderr of a `warden` run that had to fail saying `needle` there.
pub fn expect_failed(out: &Output, args: &[&str], needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(out.status.code(), Some(0), "warden {args:?} should fail");
    assert!(
        stderr.contains(needle),
        "warden {args:?}: `{needle}` not in:\n{stderr}"
    );
    stderr
}

fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn a_closed_stdout_ends_warden_quietly_with_the_broken_pipe_code() {
    // The reading end is closed before warden starts, so its first write
    // fails (as `warden tool list | head -0` would make it).
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = warden()
        .args(["tool", "list", "builtin:fs", "--json"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("warden runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.trim().is_empty(), "nothing to say: {stderr}");
    // Any other failure still reports as before.
    let out = run(&["tool", "list", "/no/such/component.wasm"]);
    assert_ne!(out.status.code(), Some(141));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error:"));
}

#[test]
fn tool_list_json_shows_each_tool_and_its_schema() {
    let out = run(&["tool", "list", "builtin:fs", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["ok"], true);
    let tools = v["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 3);
    assert_eq!(tools[0]["input_schema"]["type"], "object");
}

#[test]
fn a_call_inside_the_grant_prints_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.txt"), "alpha").expect("write");
    let grant = format!("{}:/work", dir.path().display());
    let out = run(&[
        "tool",
        "call",
        "builtin:fs",
        "read_file",
        r#"{"path":"/work/a.txt"}"#,
        "--dir",
        &grant,
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out);
    assert_eq!(v["output"]["content"], "alpha");
    assert!(v["stats"]["fuel_used"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn a_denial_exits_4_and_says_which_capability() {
    let dir = tempfile::tempdir().expect("tempdir");
    let grant = format!("{}:/work:ro", dir.path().display());
    let out = run(&[
        "tool",
        "call",
        "builtin:fs",
        "read_file",
        r#"{"path":"/etc/passwd"}"#,
        "--dir",
        &grant,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let v = json_of(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["kind"], "denied");
    assert_eq!(v["error"]["capability"], "filesystem");
    assert_eq!(v["error"]["target"], "/etc/passwd");

    let out = run(&[
        "tool",
        "call",
        "builtin:fs",
        "write_file",
        r#"{"path":"/work/x","content":"x"}"#,
        "--dir",
        &grant,
    ]);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("denied filesystem access"), "{stderr}");
    assert!(!dir.path().join("x").exists());
}

#[test]
fn each_failure_kind_has_its_own_exit_code() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["spin", "{}", "--timeout", "200ms"], 5, "timed out"),
        (
            &["hog", r#"{"step_kib":1024}"#, "--memory", "16MiB"],
            6,
            "out of memory",
        ),
        (&["spin", "{}", "--fuel", "1000000"], 7, "out of fuel"),
        (&["panic", "{}"], 8, "panics on purpose"),
        (&["bad_json", "{}"], 9, "not JSON"),
        (&["recurse", "{}"], 11, "overflowed its stack"),
        (&["echo", r#"{"wrong":1}"#], 3, "rejected its input"),
    ];
    for (args, code, needle) in cases {
        let mut full = vec!["tool", "call", HOSTILE];
        full.extend_from_slice(args);
        let out = run(&full);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in: {stderr}"
        );
    }
}

#[test]
fn loading_errors_exit_10_and_usage_errors_exit_1() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let not_a_tool = fixtures.join("not-a-tool.wat");
    let out = run(&["tool", "list", not_a_tool.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(10));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a warden tool"));

    let out = run(&["tool", "call", "builtin:fs", "read_file", "{not json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));

    let out = run(&[
        "tool",
        "call",
        "builtin:fs",
        "read_file",
        "{}",
        "--dir",
        "/no/such/dir:/x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open host directory"));

    let out = run(&["tool", "call", "builtin:nope", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("built-ins: fs, grep, http-fetch"));
}

#[test]
fn input_can_come_from_stdin() {
    use std::io::Write;
    let mut child = warden()
        .args(["tool", "call", HOSTILE, "echo", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(br#"{"text":"from stdin"}"#)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(json_of(&out)["output"]["text"], "from stdin");
}

#[test]
fn secrets_given_on_the_command_line_never_appear_in_any_output() {
    let server = warden_tests::TestServer::start();
    let value = "cli-secret-9b2e7d";
    let url = format!("http://127.0.0.1:{}/echo-auth", server.port());
    let host = format!("127.0.0.1:{}", server.port());
    let secret = format!("WARDEN_TEST_TOKEN@http://{host}");
    for json in [true, false] {
        let mut args = vec!["tool", "call", "builtin:http-fetch", "fetch"];
        let input = serde_json::json!({ "url": url }).to_string();
        args.push(&input);
        args.extend(["--allow-host", &host, "--secret", &secret, "-v"]);
        if json {
            args.push("--json");
        }
        let out = warden()
            .args(&args)
            .env("WARDEN_TEST_TOKEN", value)
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stdout.contains("Bearer [REDACTED]"), "{stdout}");
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "leaked: {stdout}{stderr}"
        );
    }
    // A secret with no value says where to put one.
    let out = warden()
        .args([
            "tool",
            "call",
            "builtin:http-fetch",
            "fetch",
            "{}",
            "--secret",
            "WARDEN_TEST_UNSET_TOKEN",
        ])
        .env_remove("WARDEN_TEST_UNSET_TOKEN")
        .env(
            "WARDEN_HOME",
            std::env::temp_dir().join("warden-no-such-home"),
        )
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("set the environment variable WARDEN_TEST_UNSET_TOKEN")
    );
}

/// A component file is compiled once: the artifact is cached under the
/// digest of the bytes read, so an edited file can never hit a stale one.
#[test]
fn a_component_file_is_compiled_once_into_the_cache_by_digest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let file = dir.path().join("echoer.wasm");
    let bytes = std::fs::read(HOSTILE).expect("hostile.wasm");
    std::fs::write(&file, &bytes).expect("write");
    let call = || {
        let out = warden()
            .args(["tool", "call", file.to_str().expect("utf-8"), "echo"])
            .arg(r#"{"text": "cached"}"#)
            .arg("--json")
            .env("WARDEN_HOME", &home)
            .output()
            .expect("warden runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json_of(&out)["output"]["text"], "cached");
    };
    let artifacts = || -> Vec<String> {
        std::fs::read_dir(home.join("cache"))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .collect()
    };
    call();
    let digest = warden_registry::Digest::of(&bytes).hex();
    assert_eq!(artifacts(), [format!("{digest}.cwasm")]);
    call();
    assert_eq!(artifacts().len(), 1, "the second call compiled nothing new");
}
