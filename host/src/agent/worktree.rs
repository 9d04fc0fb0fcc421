//! Git worktrees for executors that ask for one: a detached worktree of
//! the workspace's repository in a temporary directory, and tool grants of
//! the workspace pointed at it instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::grant::Grant;

/// A git worktree created for one executor. It is kept after the run (the
/// manager or the user merges or discards it); its path is reported.
#[derive(Debug)]
pub struct Worktree {
    path: PathBuf,
}

impl Worktree {
    /// Creates a detached worktree of the repository at `workspace`.
    pub fn create(workspace: &Path) -> Result<Worktree, String> {
        let base = workspace.join(".warden").join("worktrees");
        std::fs::create_dir_all(&base)
            .map_err(|e| format!("cannot create {}: {e}", base.display()))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = base.join(format!("executor-{stamp:x}"));
        let out = Command::new("git")
            .arg("-C")
            .arg(workspace)
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`git worktree add` failed in {}: {}",
                workspace.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let path = path
            .canonicalize()
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(Worktree { path })
    }

    /// The worktree's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Points every directory of `grant` that is the workspace (or inside
    /// it) at the same place in this worktree.
    pub fn redirect(&self, grant: &mut Grant, workspace: &Path) {
        let Ok(workspace) = workspace.canonicalize() else {
            return;
        };
        for dir in &mut grant.dirs {
            if let Ok(rest) = dir.host.strip_prefix(&workspace) {
                dir.host = self.path.join(rest);
            }
        }
    }
}
