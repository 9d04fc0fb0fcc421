//! # warden-test-skip
//!
//! The one way a warden test says it cannot run because something outside
//! the repository is missing (a `docker-registry`, Python and PyPI, the
//! guest build). A skipped test passes, but never silently:
//!
//! - it writes `skipped: <test>: <why and how to fix it>` straight to the
//!   terminal (stderr, past the test harness's output capture), and
//! - appends one line to the skip log, `<target dir>/tmp/warden-test-skips.txt`
//!   (or `$WARDEN_TEST_SKIP_LOG`), which `tests/skips` prints as a summary
//!   after a run: `cargo test` has no global teardown, so the summary is a
//!   step after it (`.ci/run` runs it; see the README).
//!
//! Where every test must run, a skip is a failure instead:
//! `WARDEN_TEST_REQUIRE_ALL=1` (set by `.ci/run`) fails every skip, and
//! [`Prerequisite::require_var`] names the older per-prerequisite switch
//! (`WARDEN_TEST_REQUIRE_PYTHON=1`). The failure still records the line.
//!
//! ```no_run
//! use warden_test_skip::{Prerequisite, skip};
//!
//! fn registry() -> Result<(), String> {
//!     Err("docker-registry is not installed (apt-get install docker-registry)".into())
//! }
//!
//! if let Err(why) = registry() {
//!     return skip(Prerequisite::DockerRegistry, "oci publish/install", &why);
//! }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

/// Under `=1`, every skip fails its test.
pub const REQUIRE_ALL: &str = "WARDEN_TEST_REQUIRE_ALL";

/// Overrides where skips are recorded.
pub const SKIP_LOG: &str = "WARDEN_TEST_SKIP_LOG";

/// The skip log's file name, under `<target dir>/tmp/`.
pub const SKIP_LOG_NAME: &str = "warden-test-skips.txt";

/// What a skipped test was missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prerequisite {
    /// Debian's `docker-registry`, for the OCI tests.
    DockerRegistry,
    /// Python 3 with venv and pip, and PyPI (`mcp`, `componentize-py`).
    Python,
    /// The guest components under `target/guests`, built by the workspace
    /// build (`cargo build --release --workspace`).
    GuestBuild,
    /// npm and its registry, for the MCP conformance suite
    /// (`tests/mcp/conformance`), and Node.js >= 20.19 with jco and
    /// componentize-js for the JavaScript tool (`examples/js-words`).
    Node,
    /// Linux Landlock (the kernel's confinement of subprocess tool
    /// sources), and the npm MCP servers the tool-source tests run
    /// (`WARDEN_TEST_MCP_SERVERS`).
    Confinement,
}

impl Prerequisite {
    /// Its name in skip lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Prerequisite::DockerRegistry => "docker-registry",
            Prerequisite::Python => "python",
            Prerequisite::GuestBuild => "guest-build",
            Prerequisite::Node => "node",
            Prerequisite::Confinement => "confinement",
        }
    }

    /// An older switch that, set to `1`, fails skips of this prerequisite
    /// alone (besides [`REQUIRE_ALL`]).
    pub fn require_var(self) -> Option<&'static str> {
        match self {
            Prerequisite::Python => Some("WARDEN_TEST_REQUIRE_PYTHON"),
            Prerequisite::DockerRegistry
            | Prerequisite::GuestBuild
            | Prerequisite::Node
            | Prerequisite::Confinement => None,
        }
    }

    /// The variable that makes this skip a failure, if one is set to `1`.
    fn required_by(self) -> Option<&'static str> {
        let set = |var: &str| std::env::var(var).is_ok_and(|v| v == "1");
        if set(REQUIRE_ALL) {
            return Some(REQUIRE_ALL);
        }
        self.require_var().filter(|var| set(var))
    }
}

/// Says that `test` did not run because `prerequisite` is missing
/// (`reason`: why, and how to fix it), records it in the skip log, and
/// returns so the test can pass; panics instead (failing the test) when
/// [`REQUIRE_ALL`] or the prerequisite's own switch is `1`.
#[track_caller]
pub fn skip(prerequisite: Prerequisite, test: &str, reason: &str) {
    // libtest names each test's thread after the test.
    let test = match std::thread::current().name() {
        Some(thread) if thread != "main" && thread != test => format!("{thread} ({test})"),
        _ => test.to_string(),
    };
    let test = test.as_str();
    let line = skip_line(prerequisite, test, reason);
    record(&line);
    if let Some(var) = prerequisite.required_by() {
        panic!(
            "{var}=1, so every test must run, but `{test}` cannot: {reason}\n\
             (install what is missing; .ci/run shows how)"
        );
    }
    // Straight to the terminal: `eprintln!` would be captured, and only
    // shown for failing tests.
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "skipped: {test}: {reason}");
}

/// The skip log's line for one skip: prerequisite, test and the first line
/// of the reason, tab-separated.
pub fn skip_line(prerequisite: Prerequisite, test: &str, reason: &str) -> String {
    let reason = reason.lines().next().unwrap_or("").trim();
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    format!(
        "{}\t{}\t{}",
        prerequisite.as_str(),
        clean(test),
        clean(reason)
    )
}

/// Where skips are recorded: `$WARDEN_TEST_SKIP_LOG`, else
/// `<target dir>/tmp/warden-test-skips.txt` (the target dir found from the
/// running test binary, `<target dir>/<profile>/deps/<test>`), else the
/// system temp dir.
pub fn skip_log() -> PathBuf {
    if let Some(path) = std::env::var_os(SKIP_LOG).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(target_dir_of)
        .map_or_else(std::env::temp_dir, |target| target.join("tmp"))
        .join(SKIP_LOG_NAME)
}

/// The target dir of a test binary at `<target>/[<triple>/]<profile>/deps/<name>`.
fn target_dir_of(exe: &Path) -> Option<PathBuf> {
    let deps = exe
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "deps"))?;
    let profile = deps.parent()?;
    let above = profile.parent()?;
    // `<target>/<triple>/<profile>`: the target dir holds `CACHEDIR.TAG`.
    if above.join("CACHEDIR.TAG").is_file() {
        return Some(above.to_path_buf());
    }
    let triple_parent = above.parent()?;
    if triple_parent.join("CACHEDIR.TAG").is_file() {
        return Some(triple_parent.to_path_buf());
    }
    Some(above.to_path_buf())
}

/// Appends `line` to the skip log (one `write` of a short line in append
/// mode, so parallel tests do not interleave). A log that cannot be
/// written is reported, not fatal: the skip line on stderr still says it.
fn record(line: &str) {
    let path = skip_log();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = written {
        let _ = writeln!(
            std::io::stderr().lock(),
            "warning: cannot record the skip in {}: {e}",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_line_is_one_line_of_three_fields() {
        let line = skip_line(
            Prerequisite::Python,
            "mcp\tclient",
            "pip failed\nlong output\n",
        );
        assert_eq!(line, "python\tmcp client\tpip failed");
    }

    #[test]
    fn the_target_dir_is_found_from_a_test_binary() {
        let target = tempfile_dir();
        std::fs::create_dir_all(target.join("release/deps")).expect("mkdir");
        std::fs::write(target.join("CACHEDIR.TAG"), "").expect("tag");
        let exe = target.join("release/deps/e2e-0123");
        assert_eq!(target_dir_of(&exe), Some(target.clone()));
        std::fs::create_dir_all(target.join("wasm32-wasip2/release/deps")).expect("mkdir");
        let exe = target.join("wasm32-wasip2/release/deps/e2e-0123");
        assert_eq!(target_dir_of(&exe), Some(target.clone()));
        assert_eq!(target_dir_of(Path::new("/usr/bin/warden")), None);
        let _ = std::fs::remove_dir_all(&target);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warden-test-skip-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}
