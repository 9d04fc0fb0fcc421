//! The shared scratch world of the `warden` binary tests: a warden home and
//! a workspace with one file, and the commands run against them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::cli::{expect_failed, expect_ok, warden};

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

    /// `rel` under the world's temp dir (outside the home and the
    /// workspace): keys, packages, scratch files.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
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

    /// Runs `warden ARGS`, which must fail with `needle` in its stderr; its
    /// stderr.
    pub fn fails(&self, args: &[&str], needle: &str) -> String {
        expect_failed(&self.run(args), args, needle)
    }

    /// Generates a signing key at `name` (under [`World::path`]); its public
    /// key.
    pub fn key(&self, name: &str) -> String {
        let out = self.path(name);
        self.ok(&["key", "generate", "--out", out.to_str().expect("utf-8")])
            .trim()
            .to_string()
    }

    /// Packages `component` with `manifest`, signed with the key file
    /// `key`, as `out` (all under [`World::path`]).
    pub fn package(&self, component: &[u8], manifest: &str, key: &str, out: &str) -> PathBuf {
        let stem = out.trim_end_matches(".wpkg");
        let wasm = self.path(&format!("{stem}.wasm"));
        let toml = self.path(&format!("{stem}.toml"));
        std::fs::write(&wasm, component).expect("write");
        std::fs::write(&toml, manifest).expect("write");
        let pkg = self.path(out);
        self.ok(&[
            "package",
            "--manifest",
            toml.to_str().expect("utf-8"),
            "--component",
            wasm.to_str().expect("utf-8"),
            "--key",
            self.path(key).to_str().expect("utf-8"),
            "--out",
            pkg.to_str().expect("utf-8"),
        ]);
        pkg
    }

    /// Every file under the home (except the lock), with its contents.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.file_name().is_some_and(|n| n != "lock") {
                    out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.home(), &mut out);
        out
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
