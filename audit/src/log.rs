//! Appending to the log: [`AuditLog`].

use std::fs::File;
use std::io::Write;
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
        Ok(AuditLog { path, signer })
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
        let event = event.redacted(redact).bounded();
        event.check()?;
        let path = &self.path;
        let io = |e| AuditError::io(path, e);

        let _lock = lock(path)?;
        let mut file = private_options()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let (seq, prev) = match last_record(&mut file, path, len)? {
            None => (0, genesis()),
            Some(last) => match last.seq.checked_add(1) {
                Some(seq) => (seq, last.hash),
                None => {
                    return Err(AuditError::Corrupt {
                        path: path.clone(),
                        // The log ends with a newline: one per line.
                        line_no: newlines_before(&mut file, len).map_err(io)?,
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
        if let Err(e) = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
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
        Ok(record)
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
            Err(reason) => Err(corrupt(file, offset, reason)),
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
