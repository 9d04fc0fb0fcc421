//! The shipped `run_tests` command tool end to end: `cargo test` on a tiny
//! crate inside a granted directory, through `warden tool call`. A failing
//! test's output comes back bounded and tail-first; without a grant
//! nothing runs; a test that writes outside the grant is stopped by the
//! kernel (Landlock).
//!
//! Prerequisites: Linux with Landlock, and cargo (the toolchain that builds
//! warden). Missing Landlock, the tests skip through `warden_test_skip`
//! (a failure under `WARDEN_TEST_REQUIRE_ALL=1`).

use std::path::{Path, PathBuf};
use std::process::Output;

use warden::confine::KernelSupport;
use warden_test_skip::{Prerequisite, skip};

use super::cli::warden;

/// Lines the noisy test prints before it fails.
const NOISE_LINES: usize = 3000;

fn landlock() -> Result<(), String> {
    if KernelSupport::detect().filesystem {
        Ok(())
    } else {
        Err("the kernel has no Landlock (Linux 5.13+ with `landlock` in the LSM list)".into())
    }
}

/// The toolchain directories cargo reads (rustup's proxies and toolchains).
fn toolchain_dirs() -> Vec<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let cargo = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cargo"));
    let rustup = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".rustup"));
    [cargo, rustup].into_iter().filter(|d| d.is_dir()).collect()
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    /// A warden home, a crate with a noisy failing test and a test that
    /// writes outside the crate, and a directory outside the grant.
    fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        for d in ["home", "crate/src", "crate/tmp", "outside"] {
            std::fs::create_dir_all(f.path(d)).expect("mkdir");
        }
        std::fs::write(
            f.path("crate/Cargo.toml"),
            "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .expect("write");
        let outside = f.path("outside/escaped.txt");
        std::fs::write(
            f.path("crate/src/lib.rs"),
            format!(
                r#"
#[cfg(test)]
mod tests {{
    #[test]
    fn adds() {{
        assert_eq!(2 + 2, 4);
    }}

    #[test]
    fn noisy_then_fails() {{
        for i in 0..{NOISE_LINES} {{
            println!("noise line {{i}}");
        }}
        panic!("THE-FINAL-ASSERTION-FAILED");
    }}

    #[test]
    fn writes_outside() {{
        std::fs::write({outside:?}, "escaped").expect("WRITE-OUTSIDE");
    }}
}}
"#
            ),
        )
        .expect("write");
        f
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, input: &str, extra: &[&str]) -> Output {
        let mut cmd = warden();
        cmd.args([
            "tool",
            "call",
            "command:run_tests",
            "run_tests",
            input,
            "--json",
        ])
        .args(extra)
        .env("WARDEN_HOME", self.path("home"))
        .current_dir(self.dir.path());
        cmd.output().expect("warden runs")
    }

    /// The grant flags: the crate read-write, the toolchain read-only, the
    /// variables cargo needs, a generous wall clock and a small output cap.
    fn granted(&self) -> Vec<String> {
        let krate = self.path("crate");
        let mut flags = vec![
            "--dir".to_string(),
            format!("{}:rw", krate.display()),
            "--env".into(),
            "HOME".into(),
            "--env".into(),
            "PATH".into(),
            "--env".into(),
            format!("TMPDIR={}", self.path("crate/tmp").display()),
            "--timeout".into(),
            "600s".into(),
            "--max-output".into(),
            "8KiB".into(),
        ];
        for var in ["CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"] {
            if std::env::var_os(var).is_some() {
                flags.extend(["--env".into(), var.into()]);
            }
        }
        for dir in toolchain_dirs() {
            flags.extend(["--dir".into(), format!("{}:ro", dir.display())]);
        }
        flags
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "JSON on stdout: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn output_text(v: &serde_json::Value, stream: &str) -> String {
    v["output"][stream].as_str().unwrap_or_default().to_string()
}

#[test]
fn run_tests_needs_a_grant_and_returns_a_failure_bounded_tail_first() {
    if let Err(why) = landlock() {
        return skip(Prerequisite::Confinement, "run_tests", &why);
    }
    let f = Fixture::new();

    // No grant names a directory: nothing runs, and cargo wrote nothing.
    let out = f.run(r#"{"filter": "adds"}"#, &[]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = json(&out);
    assert_eq!(refused["error"]["kind"], "denied", "{refused}");
    assert!(
        refused["error"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no granted directory")),
        "{refused}"
    );
    assert!(
        !f.path("crate/target").exists(),
        "cargo ran without a grant"
    );

    let flags = f.granted();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let passing = json(&f.run(r#"{"filter": "adds"}"#, &flags));
    assert_eq!(passing["output"]["exit_code"], 0, "{passing}");

    // A failing test: cargo's exit code, and the end of a long output.
    let failing = json(&f.run(r#"{"filter": "noisy_then_fails"}"#, &flags));
    assert_eq!(failing["output"]["exit_code"], 101, "{failing}");
    let stdout = output_text(&failing, "stdout");
    assert!(stdout.contains("THE-FINAL-ASSERTION-FAILED"), "{stdout}");
    assert!(stdout.contains("test result: FAILED"), "{stdout}");
    let last = format!("noise line {}", NOISE_LINES - 1);
    assert!(stdout.contains(&last), "the tail is kept: {stdout}");
    assert!(!stdout.contains("noise line 0\n"), "the head is dropped");
    assert!(stdout.len() <= 8 * 1024, "bounded: {} bytes", stdout.len());
    assert!(
        failing["output"]["truncated_bytes"].as_u64().unwrap_or(0) > 0,
        "{failing}"
    );
}

#[test]
fn a_test_writing_outside_the_granted_crate_is_refused_by_the_kernel() {
    if let Err(why) = landlock() {
        return skip(Prerequisite::Confinement, "run_tests", &why);
    }
    let f = Fixture::new();
    let flags = f.granted();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let out = json(&f.run(r#"{"filter": "writes_outside"}"#, &flags));
    assert_eq!(out["output"]["exit_code"], 101, "{out}");
    let stdout = output_text(&out, "stdout");
    assert!(
        stdout.contains("WRITE-OUTSIDE") && stdout.contains("PermissionDenied"),
        "{stdout}"
    );
    assert!(
        !Path::new(&f.path("outside/escaped.txt")).exists(),
        "the write outside the grant happened"
    );
}

#[test]
fn policy_explain_shows_what_applies_to_a_command_and_not_a_components_limits() {
    let f = Fixture::new();
    let warden_ok = |args: &[&str]| {
        let out = warden()
            .args(args)
            .env("WARDEN_HOME", f.path("home"))
            .output()
            .expect("warden runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    warden_ok(&["grant", "command:run-tests", "limit", "memory=128MiB"]);
    warden_ok(&["grant", "command:run-tests", "limit", "wall-clock=90s"]);
    let text = warden_ok(&["policy", "explain", "command:run_tests"]);
    assert!(
        text.contains("source   command command:run-tests"),
        "{text}"
    );
    assert!(text.contains("wall clock 90s per call"), "{text}");
    assert!(text.contains("processes: 256"), "{text}");
    assert!(
        text.contains("n/a      memory, fuel, stack"),
        "memory does not bound a subprocess: {text}"
    );
    assert!(!text.contains("memory limit"), "no memory row: {text}");
    let kernel = KernelSupport::detect();
    let confined = match kernel.landlock_abi {
        Some(abi) => format!("confined Landlock ABI {abi}"),
        None => "confined no".to_string(),
    };
    assert!(text.contains(&confined), "{text}");
    assert!(
        text.contains("the org policy does not require confinement"),
        "{text}"
    );

    // The JSON form carries the same lines and leaves out the same rows.
    let json: serde_json::Value = serde_json::from_str(&warden_ok(&[
        "policy",
        "explain",
        "command:run_tests",
        "--json",
    ]))
    .expect("json");
    let decisions = json["decisions"].to_string();
    assert!(!decisions.contains("memory"), "{decisions}");
    assert!(decisions.contains("wall-clock"), "{decisions}");
    assert!(
        json["source"].to_string().contains("processes: 256"),
        "{json}"
    );
}
