//! The shared scratch world of the `warden` binary tests: a warden home and
//! a workspace with one file, and the commands run against them.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use super::cli::{expect_ok, warden};

/// A warden home and a workspace holding `hello.txt`, in one temp dir.
pub struct World {
    dir: tempfile::TempDir,
}

impl World {
    /// A fresh world.
    pub fn new() -> World {
        let w = World {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(w.home()).expect("mkdir");
        std::fs::create_dir_all(w.workspace()).expect("mkdir");
        std::fs::write(w.workspace().join("hello.txt"), "hello from the workspace").expect("write");
        w
    }

    /// The temp dir holding the home and the workspace (for scratch files
    /// outside both).
    pub fn root(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Warden's home.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The workspace (the commands' working directory).
    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    /// `warden ARGS` in the workspace, with this home and no model endpoint
    /// from the environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = warden();
        cmd.args(args)
            .env("WARDEN_HOME", self.home())
            .env_remove("WARDEN_MODEL_ENDPOINT")
            .current_dir(self.workspace());
        cmd
    }

    /// Runs `warden ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("warden runs")
    }

    /// Runs `warden ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        expect_ok(&self.run(args), args)
    }

    /// Where this workspace's sessions are kept: under warden's home, in
    /// `workspaces/<sha256 of the canonical workspace path>/sessions`.
    pub fn sessions_dir(&self) -> PathBuf {
        let ws = self.workspace().canonicalize().expect("canonical");
        self.home()
            .join("workspaces")
            .join(warden_registry::Digest::of(ws.as_os_str().as_encoded_bytes()).hex())
            .join("sessions")
    }

    /// A session's file.
    pub fn session_file(&self, id: &str) -> PathBuf {
        self.sessions_dir().join(format!("{id}.json"))
    }

    /// `warden sessions show ID --json`.
    pub fn session(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["sessions", "show", id, "--json"])).expect("session json")
    }
}
