//! The sessions of a workspace: one JSON file per session, named
//! `<id>.json`, in the workspace's state directory under warden's home
//! (`$WARDEN_HOME/workspaces/<digest>/sessions/`, see
//! [`crate::WorkspaceState`]) — never inside the workspace, which tools may
//! be granted read-write. Sessions an older warden kept in
//! `<workspace>/.warden/sessions/` are copied here once, the first time the
//! workspace's store is opened (see [`crate::session_migration`]); after
//! that the old directory is never read.
//!
//! Every write is atomic and durable (temp file in the same directory,
//! fsync, rename, fsync of the directory; see
//! [`warden_registry::fsutil::write_atomic`]): a crash leaves the previous
//! version of a session or the new one, never a torn file, plus at worst a
//! stray `.tmp-*` file that readers ignore and [`SessionStore::expire`]
//! removes. A session file that is unreadable all the same (truncated by
//! a full disk, edited by hand) is reported by [`SessionStore::load`] with
//! an error naming the file, and listed as [`ListEntry::Unreadable`] by
//! [`SessionStore::list`], which goes on with the others. Nothing here
//! deletes a file it cannot read.
//!
//! Saves of different sessions may run concurrently. Two saves of the same
//! session are not merged: the last one wins (each run owns its session).
//!
//! Resuming a session is [`SessionStore::load`] then
//! [`Session::active_history`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use warden_registry::fsutil::{sync_dir, write_atomic};

use crate::error::SessionError;
use crate::id::SessionId;
use crate::session::{AgentInfo, FORMAT, Session, Status};
use crate::session_migration::Migration;
use crate::workspace_state::WorkspaceState;

/// The largest session file read, so a stray huge file cannot exhaust memory.
pub const MAX_SESSION_BYTES: u64 = 256 << 20;

/// How many characters of the task a summary shows.
const PREVIEW_CHARS: usize = 72;

/// The sessions of one workspace.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
    /// What the first open copied from the workspace's old directory.
    migrated: Migration,
}

/// One line of [`SessionStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session's id.
    pub id: SessionId,
    /// Its status.
    pub status: Status,
    /// The first line of its first task, shortened.
    pub task_preview: String,
    /// Model turns taken.
    pub turns: usize,
    /// When it was created.
    pub created: Timestamp,
    /// When it last changed.
    pub updated: Timestamp,
}

impl SessionSummary {
    fn of(session: &Session) -> SessionSummary {
        SessionSummary {
            id: session.id.clone(),
            status: session.status.clone(),
            task_preview: session.task_preview(PREVIEW_CHARS),
            turns: session.turns(),
            created: session.created,
            updated: session.updated,
        }
    }
}

/// A file in the sessions directory, as [`SessionStore::list`] found it.
#[derive(Debug)]
pub enum ListEntry {
    /// A readable session.
    Session(SessionSummary),
    /// A `.json` file that is not a readable session; left as it is.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read (names the file).
        error: SessionError,
    },
}

impl SessionStore {
    /// The session store of a workspace: its state directory's
    /// `sessions/` (created if needed). The first open copies in the
    /// sessions an older warden kept inside the workspace
    /// ([`SessionStore::migrated`]).
    pub fn for_workspace(state: &WorkspaceState) -> Result<SessionStore, SessionError> {
        let mut store = SessionStore::open_dir(&state.sessions_dir())?;
        store.migrated = crate::session_migration::migrate_once(state, &store)?;
        Ok(store)
    }

    /// The session store in exactly `dir`, creating it if needed.
    pub fn open_dir(dir: &Path) -> Result<SessionStore, SessionError> {
        std::fs::create_dir_all(dir).map_err(|e| SessionError::io(dir, e))?;
        Ok(SessionStore {
            dir: dir.to_path_buf(),
            migrated: Migration::default(),
        })
    }

    /// The sessions directory (where sessions are written).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What opening this store copied from the workspace's old sessions
    /// directory (empty unless this was the first open and there was one).
    pub fn migrated(&self) -> &Migration {
        &self.migrated
    }

    /// The file of session `id`.
    pub fn path_of(&self, id: &SessionId) -> PathBuf {
        self.dir.join(id.file_name())
    }

    /// The recording of session `id`'s latest run, beside its file.
    pub fn recording_path(&self, id: &SessionId) -> PathBuf {
        self.dir.join(format!("{}.recording.jsonl", id.as_str()))
    }

    /// Creates and saves a new running session of `agent` on `task`. Never
    /// overwrites an existing session: on an id collision it draws another.
    pub fn create(&self, agent: AgentInfo, task: &str) -> Result<Session, SessionError> {
        let mut session = Session::new(agent, task);
        for _ in 0..8 {
            match self.write_new(&session) {
                Ok(()) => return Ok(session),
                Err(SessionError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    session.id = SessionId::generate(session.created);
                }
                Err(e) => return Err(e),
            }
        }
        Err(SessionError::io(
            &self.path_of(&session.id),
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "could not find an unused session id in 8 tries",
            ),
        ))
    }

    /// Writes a session that must not exist yet: temp file, fsync, then a
    /// rename that refuses to replace an existing file.
    fn write_new(&self, session: &Session) -> Result<(), SessionError> {
        use std::io::Write;
        let path = self.path_of(&session.id);
        let bytes = encode(session)?;
        let io = |e| SessionError::io(&path, e);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)
            .map_err(io)?;
        tmp.write_all(&bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist_noclobber(&path).map_err(|e| io(e.error))?;
        sync_dir(&self.dir).map_err(|e| SessionError::io(&self.dir, e))
    }

    /// Reads session `id`. The id is validated first, so no id can name a
    /// file outside the sessions directory.
    pub fn load(&self, id: &str) -> Result<Session, SessionError> {
        let id: SessionId = id.parse()?;
        load_from(&self.dir, &id)
    }

    /// Writes `session` atomically, replacing its previous version.
    pub fn save(&self, session: &Session) -> Result<(), SessionError> {
        let path = self.path_of(&session.id);
        let bytes = encode(session)?;
        write_atomic(&path, &bytes).map_err(|e| SessionError::io(&path, e))
    }

    /// Every session, most recently updated first, then the files that are
    /// not readable sessions (by name). Temp files and other hidden files
    /// are skipped, as is anything not named `*.json`.
    pub fn list(&self) -> Result<Vec<ListEntry>, SessionError> {
        let mut sessions = Vec::new();
        let mut unreadable = Vec::new();
        for path in json_files(&self.dir)? {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            match self.load(&stem) {
                Ok(s) => sessions.push(SessionSummary::of(&s)),
                Err(error) => unreadable.push((path, error)),
            }
        }
        sessions.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| b.id.cmp(&a.id)));
        unreadable.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(sessions
            .into_iter()
            .map(ListEntry::Session)
            .chain(
                unreadable
                    .into_iter()
                    .map(|(path, error)| ListEntry::Unreadable { path, error }),
            )
            .collect())
    }

    /// Deletes session `id`.
    pub fn remove(&self, id: &str) -> Result<(), SessionError> {
        let id: SessionId = id.parse()?;
        let path = self.path_of(&id);
        // Its recording goes with it (there may be none).
        let _ = std::fs::remove_file(self.recording_path(&id));
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir).map_err(|e| SessionError::io(&self.dir, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SessionError::NotFound {
                id: id.to_string(),
                dir: self.dir.clone(),
            }),
            Err(e) => Err(SessionError::io(&path, e)),
        }
    }

    /// Deletes the sessions not updated for `older_than` (whatever their
    /// status: a run that crashed stays `running`), and stray temp files
    /// as old. Unreadable files are kept. Returns the removed ids, oldest
    /// first.
    pub fn expire(&self, older_than: Duration) -> Result<Vec<SessionId>, SessionError> {
        let cutoff = jiff::SignedDuration::try_from(older_than)
            .ok()
            .and_then(|d| Timestamp::now().checked_sub(d).ok())
            .unwrap_or(Timestamp::MIN);
        self.expire_before(cutoff)
    }

    /// Deletes the sessions last updated before `cutoff`, and stray temp
    /// files last modified before it. Returns the removed ids, oldest first.
    pub fn expire_before(&self, cutoff: Timestamp) -> Result<Vec<SessionId>, SessionError> {
        let mut expired: Vec<(Timestamp, SessionId)> = self
            .list()?
            .into_iter()
            .filter_map(|entry| match entry {
                ListEntry::Session(s) if s.updated < cutoff => Some((s.updated, s.id)),
                _ => None,
            })
            .collect();
        expired.sort();
        let mut removed = Vec::with_capacity(expired.len());
        for (_, id) in expired {
            match self.remove(id.as_str()) {
                // Removed meanwhile by someone else: nothing to do.
                Ok(()) | Err(SessionError::NotFound { .. }) => removed.push(id),
                Err(e) => return Err(e),
            }
        }
        self.remove_stray_temp_files(cutoff)?;
        Ok(removed)
    }

    /// Removes `.tmp-*` files (left by a crash mid-write) older than `cutoff`.
    fn remove_stray_temp_files(&self, cutoff: Timestamp) -> Result<(), SessionError> {
        for entry in self.entries()? {
            let is_temp = entry.file_name().to_string_lossy().starts_with(".tmp-");
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| Timestamp::try_from(t).ok());
            if is_temp && modified.is_some_and(|m| m < cutoff) {
                let path = entry.path();
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(SessionError::io(&path, e)),
                }
            }
        }
        Ok(())
    }

    fn entries(&self) -> Result<Vec<std::fs::DirEntry>, SessionError> {
        let io = |e| SessionError::io(&self.dir, e);
        std::fs::read_dir(&self.dir)
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)
    }
}

/// Reads session `id` from `dir`.
pub(crate) fn load_from(dir: &Path, id: &SessionId) -> Result<Session, SessionError> {
    let path = dir.join(id.file_name());
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SessionError::NotFound {
                id: id.to_string(),
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(SessionError::io(&path, e)),
    };
    if meta.len() > MAX_SESSION_BYTES {
        return Err(SessionError::Corrupt {
            path,
            reason: format!(
                "it is {} bytes, over the limit of {MAX_SESSION_BYTES} bytes",
                meta.len()
            ),
        });
    }
    let bytes = std::fs::read(&path).map_err(|e| SessionError::io(&path, e))?;
    decode(&path, id, &bytes)
}

/// The `*.json` files of `dir` that are not hidden.
pub(crate) fn json_files(dir: &Path) -> Result<Vec<PathBuf>, SessionError> {
    let io = |e| SessionError::io(dir, e);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with('.') && name.ends_with(".json") {
            out.push(entry.path());
        }
    }
    Ok(out)
}

fn encode(session: &Session) -> Result<Vec<u8>, SessionError> {
    let mut bytes = serde_json::to_vec_pretty(session).map_err(|e| SessionError::Encode {
        id: session.id.to_string(),
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn decode(path: &Path, id: &SessionId, bytes: &[u8]) -> Result<Session, SessionError> {
    let corrupt = |reason: String| SessionError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let describe = |e: serde_json::Error| {
        if e.is_eof() {
            format!(
                "it is truncated (it ends at line {}, column {} in the middle of the JSON)",
                e.line(),
                e.column()
            )
        } else {
            format!("it is not a valid session: {e}")
        }
    };
    #[derive(serde::Deserialize)]
    struct Probe {
        format: u32,
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| corrupt(describe(e)))?;
    if probe.format != FORMAT {
        return Err(SessionError::UnsupportedFormat {
            path: path.to_path_buf(),
            found: probe.format,
            supported: FORMAT,
        });
    }
    let session: Session = serde_json::from_slice(bytes).map_err(|e| corrupt(describe(e)))?;
    if session.id != *id {
        return Err(corrupt(format!(
            "it holds session `{}`, but its file name says `{id}`",
            session.id
        )));
    }
    session.check().map_err(|e| corrupt(e.to_string()))?;
    Ok(session)
}
