//! What a user reads when something goes wrong, pinned as snapshots
//! (`cli/tests/snapshots/`): a change to an error message, a hint or an exit
//! code is a reviewed diff (`cargo insta review`), never an accident.
//!
//! Each case runs the real `warden` binary against a fresh home and
//! snapshots its exit code and stderr, with the temporary paths replaced by
//! `[HOME]` and `[DIR]`.

use std::path::Path;
use std::process::Command;

/// Runs `warden ARGS` with `home` as its home (and `dir` as the working
/// directory) and returns `exit N` and stderr, paths redacted.
fn run(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .env("WARDEN_HOME", home)
        .env_remove("WARDEN_LOG")
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("warden runs");
    let stderr = String::from_utf8_lossy(&out.stderr)
        .replace(&home.display().to_string(), "[HOME]")
        .replace(&dir.display().to_string(), "[DIR]");
    format!("exit {:?}\n{stderr}", out.status.code())
}

struct Case {
    home: tempfile::TempDir,
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case {
            home: tempfile::tempdir().expect("tempdir"),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn run(&self, args: &[&str]) -> String {
        run(self.home.path(), self.dir.path(), args)
    }
}

#[test]
fn an_unknown_builtin_names_the_builtins() {
    let case = Case::new();
    insta::assert_snapshot!(case.run(&["tool", "call", "builtin:nope", "x"]));
}

#[test]
fn tool_input_that_is_not_json_is_refused() {
    let case = Case::new();
    insta::assert_snapshot!(case.run(&["tool", "call", "builtin:fs", "read_file", "{"]));
}

#[test]
fn tool_input_that_is_not_an_object_is_refused() {
    let case = Case::new();
    insta::assert_snapshot!(case.run(&["tool", "call", "builtin:fs", "read_file", "[1]"]));
}

#[test]
fn granting_wardens_home_is_refused_with_a_hint() {
    let case = Case::new();
    let home = case.home.path().display().to_string();
    insta::assert_snapshot!(case.run(&[
        "tool",
        "call",
        "builtin:fs",
        "list_dir",
        r#"{"path": "/h"}"#,
        "--dir",
        &format!("{home}:/h:ro"),
    ]));
}

#[test]
fn a_read_outside_the_grant_is_denied_naming_the_path() {
    let case = Case::new();
    let dir = case.dir.path().display().to_string();
    insta::assert_snapshot!(case.run(&[
        "tool",
        "call",
        "builtin:fs",
        "read_file",
        r#"{"path": "/etc/passwd"}"#,
        "--dir",
        &format!("{dir}:/work:ro"),
    ]));
}

#[test]
fn a_package_that_is_not_installed_is_named() {
    let case = Case::new();
    insta::assert_snapshot!(case.run(&["tool", "call", "acme:grep@^1", "grep", "{}"]));
}

#[test]
fn replaying_a_session_that_does_not_exist_is_refused() {
    let case = Case::new();
    insta::assert_snapshot!(case.run(&["replay", "no-such-session"]));
}

#[test]
fn output_over_its_limit_is_refused_with_the_flag_in_a_hint() {
    let case = Case::new();
    std::fs::write(case.dir.path().join("big.txt"), "x".repeat(8192)).expect("write");
    let dir = case.dir.path().display().to_string();
    insta::assert_snapshot!(case.run(&[
        "tool",
        "call",
        "builtin:fs",
        "read_file",
        r#"{"path": "/work/big.txt"}"#,
        "--dir",
        &format!("{dir}:/work:ro"),
        "--max-output",
        "1K",
    ]));
}

#[test]
fn a_call_out_of_fuel_names_the_flag_in_a_hint() {
    let case = Case::new();
    let dir = case.dir.path().display().to_string();
    insta::assert_snapshot!(case.run(&[
        "tool",
        "call",
        "builtin:fs",
        "list_dir",
        r#"{"path": "/work"}"#,
        "--dir",
        &format!("{dir}:/work:ro"),
        "--fuel",
        "1000",
    ]));
}

#[test]
fn a_damaged_index_says_how_to_rebuild_it() {
    let case = Case::new();
    std::fs::write(case.home.path().join("index.json"), "{ not json").expect("write");
    insta::assert_snapshot!(case.run(&["list"]));
}

#[test]
fn a_model_provider_denied_the_network_is_told_what_run_offers() {
    let case = Case::new();
    // `127.1` is granted as written, but the request goes to 127.0.0.1:
    // the provider is denied, and `warden run` has no --allow-host.
    insta::assert_snapshot!(
        case.run(&["run", "hi", "--endpoint", "http://127.1:9/v1", "--quiet",])
    );
}

#[test]
fn asking_for_a_limit_is_refused() {
    let case = Case::new();
    insta::assert_snapshot!(case.run(&["grant", "builtin:fs", "limit", "memory=64MiB", "--ask"]));
}

#[test]
fn ask_and_deny_together_are_refused() {
    let case = Case::new();
    insta::assert_snapshot!(case.run(&[
        "grant",
        "builtin:fs",
        "network",
        "api.example.com",
        "--ask",
        "--deny"
    ]));
}
