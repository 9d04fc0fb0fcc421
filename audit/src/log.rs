//! Appending to the log: [`AuditLog`].

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::event::*;
use crate::file::*;
use crate::record::*;
use crate::time::*;
use crate::*;
use warden_core::fsutil::sync_dir;
use warden_core::keys::{PublicKey, SecretKey};

/// An audit log open for appending.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    signer: Option<SecretKey>,
    /// Set for [`Durability::Batched`]: the thread that syncs written
    /// records to disk.
    syncer: Option<Syncer>,
    /// Where this log's last append left the file: if the file still ends
    /// there (same inode, same length) when the next append holds the lock,
    /// nobody else appended, and the chain continues from here without
    /// reading the file's tail.
    head: std::sync::Mutex<Option<Head>>,
    /// The lock file and the log, kept open between appends (a server
    /// appends a record per call): each append takes the lock on the same
    /// handle and checks by one `stat` of the path that the log is still
    /// the file it has open (a repair moves it aside).
    files: std::sync::Mutex<Option<OpenFiles>>,
}

/// The lock file and the log file of an [`AuditLog`], open.
#[derive(Debug)]
struct OpenFiles {
    lock: File,
    log: File,
    inode: u64,
}

/// Opens (creating, owner-only) the log at `path` for reading its tail and
/// appending.
fn open_log(path: &Path) -> Result<File, AuditError> {
    private_options()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| AuditError::io(path, e))
}

/// The exclusive lock on an open lock file, released when dropped.
struct Held<'a>(&'a File);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Closing the handle would release it too; the handle stays open.
        let _ = self.0.unlock();
    }
}

/// The end of the file after this log's last append.
#[derive(Debug, Clone, Copy)]
struct Head {
    inode: u64,
    len: u64,
    seq: u64,
    hash: warden_core::Digest,
}

impl AuditLog {
    /// The log at `path` (`$WARDEN_HOME/audit.jsonl`), created owner-only if
    /// missing (with its parent directory). With a `signer`, every record
    /// appended is signed with it.
    pub fn open(path: impl AsRef<Path>, signer: Option<SecretKey>) -> Result<AuditLog, AuditError> {
        let path = path.as_ref().to_path_buf();
        let dir = parent_dir(&path);
        std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        let existed = path.exists();
        private_options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| AuditError::io(&path, e))?;
        if !existed {
            sync_dir(dir).map_err(|e| AuditError::io(dir, e))?;
        }
        Ok(AuditLog {
            path,
            signer,
            syncer: None,
            head: std::sync::Mutex::new(None),
            files: std::sync::Mutex::new(None),
        })
    }

    /// Sets how appended records reach the disk (see [`Durability`]). The
    /// default is [`Durability::EveryRecord`].
    pub fn with_durability(mut self, durability: Durability) -> Result<AuditLog, AuditError> {
        self.syncer = match durability {
            Durability::EveryRecord => None,
            Durability::Batched { window } => Some(Syncer::start(&self.path, window)?),
        };
        Ok(self)
    }

    /// How appended records reach the disk.
    pub fn durability(&self) -> Durability {
        match &self.syncer {
            None => Durability::EveryRecord,
            Some(s) => Durability::Batched { window: s.window },
        }
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public key of the signer, if records are signed.
    pub fn signer(&self) -> Option<PublicKey> {
        self.signer.as_ref().map(SecretKey::public)
    }

    /// Appends one record for `event` and returns it, once it is on disk.
    ///
    /// Every occurrence of each value in `redact` (the secret values in play,
    /// e.g. those granted to the component) is replaced by `[REDACTED]` in
    /// every string of the event first, so a secret passed by mistake never
    /// reaches the log. Then every string longer than [`MAX_FIELD_BYTES`] is
    /// cut and marked with its full length and digest ([`bound_field`]), so
    /// no event a component can influence (a denial's target and reason) is
    /// too big to record.
    ///
    /// Takes the exclusive lock; reads only the end of the log to chain onto
    /// its last record; writes the line with one `write_all` to the file
    /// opened for appending and syncs it (`sync_data`). If the write or sync fails, the log is cut
    /// back to its previous length and the error returned. Refuses to append
    /// after a torn last line ([`AuditError::TornTail`]) or an unreadable
    /// last record ([`AuditError::Corrupt`]).
    pub fn append(&self, event: AuditEvent, redact: &[&str]) -> Result<Record, AuditError> {
        let path = &self.path;
        if let Some(e) = self.syncer.as_ref().and_then(Syncer::take_failure) {
            return Err(AuditError::io(path, e));
        }
        let event = event.redacted(redact).bounded();
        event.check()?;
        let io = |e| AuditError::io(path, e);

        // One append at a time in this process; other processes (and other
        // `AuditLog`s of the same file) are held off by the file lock.
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let open = match files.take() {
            Some(open) => open,
            None => {
                let log = open_log(path)?;
                let inode = log.metadata().map_err(io)?.ino();
                OpenFiles {
                    lock: open_lock(path)?,
                    log,
                    inode,
                }
            }
        };
        let OpenFiles {
            lock,
            log: kept,
            inode: kept_inode,
        } = open;
        lock.lock()
            .map_err(|e| AuditError::io(&lock_path(path), e))?;
        let held = Held(&lock);
        // Still the file this log has open? (A repair moves it aside.)
        let (mut file, len, inode) = match std::fs::metadata(path) {
            Ok(meta) if meta.ino() == kept_inode => (kept, meta.len(), kept_inode),
            _ => {
                let log = open_log(path)?;
                let meta = log.metadata().map_err(io)?;
                (log, meta.len(), meta.ino())
            }
        };
        let result = self.append_held(&mut file, len, inode, event);
        drop(held);
        *files = Some(OpenFiles {
            lock,
            log: file,
            inode,
        });
        result
    }

    /// The part of [`AuditLog::append`] done holding the lock, with the log
    /// open as `file` (`len` bytes long, inode `inode`).
    fn append_held(
        &self,
        file: &mut File,
        len: u64,
        inode: u64,
        event: AuditEvent,
    ) -> Result<Record, AuditError> {
        let path = &self.path;
        let io = |e| AuditError::io(path, e);
        let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
        let known = head.filter(|h| h.inode == inode && h.len == len && len > 0);
        // Cleared until this append succeeds.
        *head = None;
        let last = match known {
            Some(h) => Some((h.seq, h.hash)),
            None => last_record(file, path, len)?.map(|r| (r.seq, r.hash)),
        };
        let (seq, prev) = match last {
            None => (0, genesis()),
            Some((last_seq, last_hash)) => match last_seq.checked_add(1) {
                Some(seq) => (seq, last_hash),
                None => {
                    return Err(AuditError::Corrupt {
                        path: path.clone(),
                        // The log ends with a newline: one per line.
                        line_no: newlines_before(file, len).map_err(io)?,
                        reason: "its seq is the largest possible".into(),
                    });
                }
            },
        };
        let time = Timestamp::now()?;
        let hash = content_hash(seq, &time, &prev, &event);
        let sig = self
            .signer
            .as_ref()
            .map(|key| hex::encode(key.sign(&signed_message(&hash))));
        let record = Record {
            seq,
            time,
            prev,
            hash,
            event,
            sig,
        };
        let mut line = record.to_line();
        if line.len() > MAX_LINE_BYTES {
            return Err(AuditError::InvalidEvent {
                event: record.event.kind().to_string(),
                reason: format!(
                    "its record would be {} bytes, over the limit of {MAX_LINE_BYTES}",
                    line.len()
                ),
            });
        }
        line.push('\n');
        let batched = self.syncer.is_some() && len > 0;
        if let Err(e) = file
            .write_all(line.as_bytes())
            .and_then(|()| if batched { Ok(()) } else { file.sync_data() })
        {
            // Leave no torn line behind (best effort: if this fails too,
            // verify reports the torn line and repair moves it aside).
            let _ = file.set_len(len).and_then(|()| file.sync_data());
            return Err(io(e));
        }
        if len == 0 {
            let dir = parent_dir(path);
            sync_dir(dir).map_err(|e| AuditError::io(dir, e))?;
        }
        if let (true, Some(syncer)) = (batched, &self.syncer) {
            syncer.mark_written();
        }
        *head = Some(Head {
            inode,
            len: len + line.len() as u64,
            seq: record.seq,
            hash: record.hash,
        });
        Ok(record)
    }

    /// Syncs every record written so far to disk now (a no-op with
    /// [`Durability::EveryRecord`]).
    pub fn sync(&self) -> Result<(), AuditError> {
        match &self.syncer {
            Some(s) => s.sync_now(),
            None => Ok(()),
        }
    }
}

/// How appended records reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Each record is written and synced (`fdatasync`) before `append`
    /// returns: a power loss loses no record `append` returned.
    EveryRecord,
    /// Each record is written to the file before `append` returns (so a
    /// killed process loses nothing it was told was recorded), and synced
    /// by a background thread at most `window` later, one sync for every
    /// record written meanwhile (group commit), and when the log is
    /// dropped. A power loss can lose at most the last `window` of records.
    Batched {
        /// The longest a written record waits for its sync.
        window: std::time::Duration,
    },
}

/// The background sync of a [`Durability::Batched`] log.
#[derive(Debug)]
struct Syncer {
    window: std::time::Duration,
    state: std::sync::Arc<SyncState>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct SyncState {
    file: File,
    path: PathBuf,
    /// (records written and not yet synced, stop requested).
    flags: std::sync::Mutex<(bool, bool)>,
    wake: std::sync::Condvar,
    /// A background sync that failed, reported by the next append.
    failed: std::sync::Mutex<Option<std::io::Error>>,
}

impl SyncState {
    fn flags(&self) -> std::sync::MutexGuard<'_, (bool, bool)> {
        self.flags.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Syncs if anything was written since the last sync.
    fn sync_pending(&self) -> Result<(), AuditError> {
        let pending = std::mem::replace(&mut self.flags().0, false);
        if pending {
            self.file
                .sync_data()
                .map_err(|e| AuditError::io(&self.path, e))?;
        }
        Ok(())
    }
}

impl Syncer {
    fn start(path: &Path, window: std::time::Duration) -> Result<Syncer, AuditError> {
        let file = private_options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| AuditError::io(path, e))?;
        let state = std::sync::Arc::new(SyncState {
            file,
            path: path.to_path_buf(),
            flags: std::sync::Mutex::new((false, false)),
            wake: std::sync::Condvar::new(),
            failed: std::sync::Mutex::new(None),
        });
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("audit-sync".into())
            .spawn(move || {
                loop {
                    {
                        let mut flags = shared.flags();
                        while !flags.0 && !flags.1 {
                            flags = shared.wake.wait(flags).unwrap_or_else(|p| p.into_inner());
                        }
                        if flags.1 {
                            break;
                        }
                    }
                    // Let the records of the next few ms share this sync.
                    std::thread::sleep(window);
                    if let Err(AuditError::Io { source, .. }) = shared.sync_pending() {
                        *shared.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(source);
                    }
                }
                let _ = shared.sync_pending();
            })
            .map_err(|e| AuditError::io(path, e))?;
        Ok(Syncer {
            window,
            state,
            thread: Some(thread),
        })
    }

    /// The error of a background sync that failed since the last call.
    fn take_failure(&self) -> Option<std::io::Error> {
        self.state
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn mark_written(&self) {
        self.state.flags().0 = true;
        self.state.wake.notify_one();
    }

    fn sync_now(&self) -> Result<(), AuditError> {
        self.state.sync_pending()
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.state.flags().1 = true;
        self.state.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The last record of the log (`None` if empty), reading only its end.
pub(crate) fn last_record(
    file: &mut File,
    path: &Path,
    len: u64,
) -> Result<Option<Record>, AuditError> {
    let io = |e| AuditError::io(path, e);
    let end = match complete_end(file, len).map_err(io)? {
        Ok(end) => end,
        Err(start) => {
            return Err(AuditError::TornTail {
                path: path.to_path_buf(),
                line_no: newlines_before(file, start).map_err(io)? + 1,
                bytes: len - start,
            });
        }
    };
    if len == 0 {
        return Ok(None);
    }
    let corrupt = |file: &mut File, at: u64, reason: String| -> AuditError {
        match newlines_before(file, at) {
            Ok(n) => AuditError::Corrupt {
                path: path.to_path_buf(),
                line_no: n + 1,
                reason,
            },
            Err(e) => AuditError::io(path, e),
        }
    };
    let mut lines = ReverseLines::new(file, end);
    match lines.prev().map_err(io)? {
        Prev::Line(offset, bytes) => match parse_record(&bytes) {
            Ok(record) => Ok(Some(record)),
            Err(reason) => Err(corrupt(file, offset, reason.to_string())),
        },
        Prev::TooLong(end) => Err(corrupt(
            file,
            end,
            format!("the line is longer than {MAX_LINE_BYTES} bytes"),
        )),
        Prev::Start => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::Digest;

    #[test]
    fn an_event_with_a_huge_field_is_recorded_cut_with_its_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, None).expect("open");
        let target = format!("s3cr3t{}", "t".repeat(20 << 20));
        let full = redact(&target, &["s3cr3t"]);
        let record = log
            .append(
                AuditEvent::Denial {
                    component: "hostile".into(),
                    digest: None,
                    capability: "network".into(),
                    target,
                    reason: "é".repeat(MAX_FIELD_BYTES),
                },
                &["s3cr3t"],
            )
            .expect("recorded");
        let AuditEvent::Denial { target, reason, .. } = &record.event else {
            panic!("not a denial: {record:?}");
        };
        assert!(target.len() <= MAX_FIELD_BYTES, "{}", target.len());
        assert!(target.starts_with("[REDACTED]ttt"), "{}", &target[..20]);
        let marker = format!(
            "…[truncated: {} bytes, {}]",
            full.len(),
            Digest::of(full.as_bytes())
        );
        assert!(
            target.ends_with(&marker),
            "{}",
            &target[target.len() - 100..]
        );
        assert!(reason.len() <= MAX_FIELD_BYTES && reason.contains("truncated"));
        let report = verify(&path, None).expect("verify");
        assert!(report.is_intact(), "{:?}", report.problems);
        assert_eq!(report.records, 1);
    }
}
