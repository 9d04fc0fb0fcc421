//! Builds warden's guest components from source for `wasm32-wasip2`.
//!
//! warden never commits compiled `.wasm`: the first-party tools (`components/`) and
//! the hostile test components (`tests/guests/`) are built by the build
//! scripts of the crates that need them (`host/build.rs` embeds the tools,
//! `tests/build.rs` exposes the test components as path constants). Both call
//! [`build_workspace`], which runs a nested `cargo build` with:
//!
//! - its own target directory (`target/guests` at the repository root), and
//! - a scrubbed environment: the outer build's `RUSTC`, `RUSTFLAGS`, `CARGO_*`
//!   and `RUSTUP_TOOLCHAIN` would otherwise leak into the guest build.
//!
//! A missing `wasm32-wasip2` target is detected before building and reported
//! with the exact command to run.
//!
//! Two variables adjust the build for machines without a rustup toolchain:
//! `WARDEN_GUEST_CARGO` (the `cargo` to run, default `cargo` on `PATH`) and
//! `WARDEN_GUEST_BUILD_STD=1` (build `std` from source with `-Zbuild-std`, for
//! Debian's `rustc-web` toolchain; see `docs/guest-toolchain.md`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every guest is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// Why a guest build failed.
#[derive(Debug)]
pub enum BuildError {
    /// `cargo` or `rustc` could not be run at all.
    Toolchain(String),
    /// The `wasm32-wasip2` standard library is not installed.
    MissingTarget(String),
    /// `cargo build` ran and failed.
    Cargo {
        /// The workspace being built.
        manifest: PathBuf,
        /// The tail of cargo's output.
        output: String,
    },
    /// The build succeeded but an expected artifact is missing.
    MissingArtifact(PathBuf),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Toolchain(msg) => write!(
                f,
                "cannot run the Rust toolchain for guest components: {msg}"
            ),
            BuildError::MissingTarget(msg) => write!(f, "{msg}"),
            BuildError::Cargo { manifest, output } => write!(
                f,
                "building guest components in {} for {TARGET} failed:\n{output}",
                manifest.display()
            ),
            BuildError::MissingArtifact(path) => {
                write!(
                    f,
                    "guest build succeeded but {} was not produced",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// A guest workspace to build.
#[derive(Debug, Clone)]
pub struct GuestWorkspace {
    /// Path of the workspace's `Cargo.toml`.
    pub manifest: PathBuf,
    /// Directories whose changes must rebuild the guests (sources, WIT, SDK).
    pub watch: Vec<PathBuf>,
    /// The artifact names (`fs` for `fs.wasm`) the build must produce.
    pub artifacts: Vec<String>,
}

/// Where [`build_workspace`] puts guest builds: `target/guests` under the
/// repository root (`repo_root`).
pub fn guest_target_dir(repo_root: &Path) -> PathBuf {
    repo_root.join("target").join("guests")
}

/// Builds `workspace` in release mode for `wasm32-wasip2` into
/// `target_dir` and returns the paths of its artifacts, in the order of
/// `workspace.artifacts`. Prints `cargo:rerun-if-changed` lines for the
/// watched directories, so call it from a build script.
pub fn build_workspace(
    workspace: &GuestWorkspace,
    target_dir: &Path,
) -> Result<Vec<PathBuf>, BuildError> {
    for dir in &workspace.watch {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    for var in ["WARDEN_GUEST_CARGO", "WARDEN_GUEST_BUILD_STD"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let build_std = std::env::var("WARDEN_GUEST_BUILD_STD").is_ok_and(|v| v == "1");
    if !build_std {
        check_target_installed()?;
    }

    let mut cmd = scrubbed(guest_cargo());
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(&workspace.manifest)
        .arg("--target-dir")
        .arg(target_dir);
    if build_std {
        // Debian's cargo must find Debian's rustc, not a rustup proxy.
        let cargo = PathBuf::from(guest_cargo());
        if let Some(dir) = cargo.parent().filter(|d| !d.as_os_str().is_empty()) {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir.to_path_buf()];
            dirs.extend(std::env::split_paths(&path));
            if let Ok(joined) = std::env::join_paths(dirs) {
                cmd.env("PATH", joined);
            }
        }
        cmd.arg("-Zbuild-std=std,panic_abort")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUSTFLAGS", "-L /usr/lib/wasm32-wasi");
    }
    let output = cmd
        .output()
        .map_err(|e| BuildError::Toolchain(format!("running {cmd:?}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(BuildError::Cargo {
            manifest: workspace.manifest.clone(),
            output: tail.join("\n"),
        });
    }

    let out_dir = target_dir.join(TARGET).join("release");
    workspace
        .artifacts
        .iter()
        .map(|name| {
            let path = out_dir.join(format!("{name}.wasm"));
            if path.is_file() {
                Ok(path)
            } else {
                Err(BuildError::MissingArtifact(path))
            }
        })
        .collect()
}

fn guest_cargo() -> OsString {
    std::env::var_os("WARDEN_GUEST_CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// A command with the outer build's toolchain and flags removed from its
/// environment.
fn scrubbed(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let leaks = key.starts_with("CARGO_")
            || key.starts_with("RUSTC")
            || key.starts_with("RUSTDOC")
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTUP_TOOLCHAIN"
                    | "CARGO"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "NUM_JOBS"
            )
            || key.starts_with("DEP_");
        // CARGO_HOME is where the user keeps their registry cache: keep it.
        if leaks && key != "CARGO_HOME" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Checks that the toolchain `cargo` will use has the `wasm32-wasip2`
/// standard library, and says exactly what to run if not.
fn check_target_installed() -> Result<(), BuildError> {
    let mut cmd = scrubbed("rustc");
    cmd.args(["--print", "target-libdir", "--target", TARGET]);
    let output = cmd.output().map_err(|e| {
        BuildError::Toolchain(format!("running `rustc --print target-libdir`: {e}"))
    })?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let has_std = output.status.success()
        && std::fs::read_dir(&libdir)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
            })
            .unwrap_or(false);
    if has_std {
        return Ok(());
    }
    Err(BuildError::MissingTarget(format!(
        "the Rust target `{TARGET}` is not installed, so warden's components cannot be built.\n\
         Install it with:\n\n    rustup target add {TARGET}\n\n\
         (without rustup, see docs/guest-toolchain.md for the Debian `rustc-web` route with \
         WARDEN_GUEST_BUILD_STD=1). rustc said: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}
