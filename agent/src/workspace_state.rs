//! Where warden keeps its own state for a workspace: under warden's home,
//! never inside the workspace.
//!
//! A workspace is what an agent's tools are granted (read-only, or
//! read-write with `--write`), so anything the runtime keeps there — the
//! record of each run above all — a tool could rewrite. The state of the
//! workspace at canonical path `P` lives instead in
//!
//! ```text
//! $WARDEN_HOME/workspaces/<sha256 of P's bytes, hex>/
//!   workspace                 the canonical path P, for people (never read back)
//!   sessions/<id>.json        the sessions of `warden run` (see crate::SessionStore)
//!   legacy-sessions-migrated  sessions of <P>/.warden/sessions were copied once
//! ```
//!
//! and the host refuses to grant warden's home, or any directory inside or
//! around it, to a component.

use std::path::{Path, PathBuf};

use warden_registry::Digest;
use warden_registry::fsutil::write_atomic;

use crate::error::SessionError;

/// The directory under warden's home holding every workspace's state.
pub const WORKSPACES_DIR: &str = "workspaces";

/// The file naming the workspace a state directory belongs to.
pub const WORKSPACE_FILE: &str = "workspace";

/// Where sessions were kept before they moved under warden's home, relative
/// to the workspace. Copied once, then never read again (see
/// [`crate::session_migration`]).
pub const LEGACY_SESSIONS_DIR: &str = ".warden/sessions";

/// The state directory of one workspace under warden's home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceState {
    workspace: PathBuf,
    dir: PathBuf,
}

impl WorkspaceState {
    /// The state of `workspace` (canonicalised; it must exist) under
    /// `home`, creating its directory and `workspace` file if needed.
    pub fn open(home: &Path, workspace: &Path) -> Result<WorkspaceState, SessionError> {
        let workspace = workspace
            .canonicalize()
            .map_err(|e| SessionError::io(workspace, e))?;
        let dir = state_dir(home, &workspace);
        std::fs::create_dir_all(&dir).map_err(|e| SessionError::io(&dir, e))?;
        let marker = dir.join(WORKSPACE_FILE);
        if !marker.exists() {
            let text = format!("{}\n", workspace.display());
            write_atomic(&marker, text.as_bytes()).map_err(|e| SessionError::io(&marker, e))?;
        }
        Ok(WorkspaceState { workspace, dir })
    }

    /// The workspace, canonical.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the sessions of this workspace are kept.
    pub fn sessions_dir(&self) -> PathBuf {
        self.dir.join("sessions")
    }

    /// Where sessions of this workspace were kept before they moved (inside
    /// the workspace), if that directory exists.
    pub fn legacy_sessions_dir(&self) -> Option<PathBuf> {
        let dir = self.workspace.join(LEGACY_SESSIONS_DIR);
        dir.is_dir().then_some(dir)
    }
}

/// The state directory of the workspace at canonical path `workspace`:
/// `home/workspaces/<sha256 of the path's bytes>`.
pub fn state_dir(home: &Path, workspace: &Path) -> PathBuf {
    home.join(WORKSPACES_DIR)
        .join(Digest::of(workspace.as_os_str().as_encoded_bytes()).hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_workspace_gets_its_own_directory_under_home_never_inside_it() {
        let root = tempfile::tempdir().expect("tempdir");
        let home = root.path().join("home");
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        for dir in [&a, &b] {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        let sa = WorkspaceState::open(&home, &a).expect("a");
        let sb = WorkspaceState::open(&home, &b).expect("b");
        assert_ne!(sa.dir(), sb.dir());
        assert!(sa.dir().starts_with(home.join(WORKSPACES_DIR)));
        assert!(!sa.sessions_dir().starts_with(&a));
        // The same workspace by another path (`a/.`) is the same state.
        let again = WorkspaceState::open(&home, &a.join(".")).expect("a again");
        assert_eq!(again, sa);
        let marker = std::fs::read_to_string(sa.dir().join(WORKSPACE_FILE)).expect("marker");
        assert_eq!(
            marker.trim(),
            a.canonicalize().expect("canon").display().to_string()
        );
        assert_eq!(sa.legacy_sessions_dir(), None);
        std::fs::create_dir_all(a.join(LEGACY_SESSIONS_DIR)).expect("mkdir");
        assert!(sa.legacy_sessions_dir().is_some());
    }
}
