//! Git worktrees for executors that ask for one: a detached worktree of
//! the workspace's repository in a temporary directory, and tool grants of
//! the workspace pointed at it instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::grant::Grant;

/// Why a worktree could not be created.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    /// A directory could not be created or opened.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `create` or `open`.
        action: &'static str,
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `git` could not be started.
    #[error("cannot run git: {source}")]
    Git {
        /// The OS error.
        source: std::io::Error,
    },
    /// `git worktree add` failed.
    #[error("`git worktree add` failed in {}: {stderr}", workspace.display())]
    Add {
        /// The workspace.
        workspace: PathBuf,
        /// What git said.
        stderr: String,
    },
}

/// A git worktree created for one executor. It is kept after the run (the
/// manager or the user merges or discards it); its path is reported.
#[derive(Debug)]
pub struct Worktree {
    path: PathBuf,
}

impl Worktree {
    /// Creates a detached worktree of the repository at `workspace`.
    pub fn create(workspace: &Path) -> Result<Worktree, WorktreeError> {
        let base = workspace.join(".warden").join("worktrees");
        std::fs::create_dir_all(&base).map_err(|source| WorktreeError::Io {
            action: "create",
            path: base.clone(),
            source,
        })?;
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
            .map_err(|source| WorktreeError::Git { source })?;
        if !out.status.success() {
            return Err(WorktreeError::Add {
                workspace: workspace.to_path_buf(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let path = path.canonicalize().map_err(|source| WorktreeError::Io {
            action: "open",
            path: path.clone(),
            source,
        })?;
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
