//! `warden --help` documents every grant flag and the exit codes. (The
//! end-to-end CLI tests live in `tests/`; this one also makes
//! `cargo test --workspace` build the `warden` binary they drive.)

use std::process::Command;

#[test]
fn help_explains_every_grant_flag_and_exit_code() {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["tool", "call", "--help"])
        .output()
        .expect("warden runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--dir",
        "--allow-host",
        "--env",
        "--timeout",
        "--memory",
        "--fuel",
        "--max-output",
        "--max-stack",
        "--json",
    ] {
        assert!(
            help.contains(flag),
            "--help does not mention {flag}:\n{help}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--help")
        .output()
        .expect("warden runs");
    let help = String::from_utf8_lossy(&out.stdout);
    for code in [
        "4  a capability was denied",
        "5  timed out",
        "10  the component could not be loaded",
    ] {
        assert!(
            help.contains(code),
            "--help does not document exit code `{code}`:\n{help}"
        );
    }
}
