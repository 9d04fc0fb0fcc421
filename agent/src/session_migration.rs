//! Sessions an older warden kept inside the workspace
//! (`<workspace>/.warden/sessions/`, where a tool granted the workspace
//! read-write could rewrite them) are copied once into the workspace's
//! state directory under warden's home, the first time its store is opened.
//!
//! A marker file in the state directory records that this happened; from
//! then on the old directory is never read, so a session file a tool plants
//! there later is ignored. The old files are left where they are (they are
//! the user's); files that are not readable sessions are not copied.

use std::path::PathBuf;

use warden_registry::fsutil::write_atomic;

use crate::error::SessionError;
use crate::id::SessionId;
use crate::session_store::{SessionStore, json_files, load_from};
use crate::workspace_state::WorkspaceState;

/// The marker, in the workspace's state directory, written by the first
/// open of its session store.
pub const MIGRATED_MARKER: &str = "legacy-sessions-migrated";

/// What the first open of a workspace's session store copied in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    /// The old directory sessions were copied from, if there was one.
    pub from: Option<PathBuf>,
    /// The sessions copied.
    pub copied: Vec<SessionId>,
    /// Files of the old directory that are not readable sessions, left
    /// behind.
    pub skipped: Vec<PathBuf>,
}

impl Migration {
    /// Whether anything was found in an old directory.
    pub fn is_empty(&self) -> bool {
        self.copied.is_empty() && self.skipped.is_empty()
    }
}

/// Copies the sessions of the workspace's old directory into `store`,
/// unless the workspace's marker says this was done already; then writes
/// the marker. A session `store` already has is not overwritten.
pub(crate) fn migrate_once(
    state: &WorkspaceState,
    store: &SessionStore,
) -> Result<Migration, SessionError> {
    let marker = state.dir().join(MIGRATED_MARKER);
    if marker.exists() {
        return Ok(Migration::default());
    }
    let mut migration = Migration::default();
    if let Some(legacy) = state.legacy_sessions_dir() {
        for path in json_files(&legacy)? {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let loaded = stem
                .parse::<SessionId>()
                .map_err(SessionError::from)
                .and_then(|id| load_from(&legacy, &id));
            match loaded {
                Ok(session) if !store.path_of(&session.id).exists() => {
                    store.save(&session)?;
                    migration.copied.push(session.id);
                }
                Ok(_) => {}
                Err(_) => migration.skipped.push(path),
            }
        }
        migration.copied.sort();
        migration.skipped.sort();
        migration.from = Some(legacy);
    }
    let text = match &migration.from {
        Some(from) => format!(
            "sessions copied from {} ({} copied, {} skipped); that directory is no longer read\n",
            from.display(),
            migration.copied.len(),
            migration.skipped.len()
        ),
        None => "no sessions to copy; the workspace's .warden/sessions is never read\n".into(),
    };
    write_atomic(&marker, text.as_bytes()).map_err(|e| SessionError::io(&marker, e))?;
    Ok(migration)
}
