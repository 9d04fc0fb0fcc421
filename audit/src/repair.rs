//! Moving a torn last line aside: [`repair_torn_tail`].

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::file::*;
use crate::time::*;
use crate::*;
use warden_core::fsutil::sync_dir;

/// What [`repair_torn_tail`] moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairedTail {
    /// The 1-based line number the torn line had.
    pub line_no: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// The side file now holding it (`audit.jsonl.torn-<time>`).
    pub moved_to: PathBuf,
    /// Its first 1 KiB, as text (invalid UTF-8 replaced).
    pub fragment: String,
}

/// Moves a torn last line (an interrupted write) out of the log, into a new
/// side file next to it named `<log name>.torn-<UTC time>`, and cuts the log
/// back to its last complete line, so appends can resume. Returns what was
/// moved, or `None` if the log does not end torn (nothing is changed then).
///
/// The side file is written and synced before the log is cut, so a crash in
/// between leaves the fragment in both places, never in neither. Takes the
/// log's lock, like `append`.
pub fn repair_torn_tail(path: &Path) -> Result<Option<RepairedTail>, AuditError> {
    let io = |e| AuditError::io(path, e);
    let _lock = lock(path)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let start = match complete_end(&mut file, len).map_err(io)? {
        Ok(_) => return Ok(None),
        Err(start) => start,
    };
    let line_no = newlines_before(&mut file, start).map_err(io)? + 1;
    let bytes = len - start;

    let time = Timestamp::now()?.to_string().replace(':', "-");
    let name = path
        .file_name()
        .map_or_else(|| "audit".into(), |n| n.to_string_lossy().into_owned());
    let dir = parent_dir(path);
    let mut attempt = 0u32;
    let (moved_to, mut side) = loop {
        let candidate = match attempt {
            0 => dir.join(format!("{name}.torn-{time}")),
            n => dir.join(format!("{name}.torn-{time}-{n}")),
        };
        match private_options()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(f) => break (candidate, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(AuditError::io(&candidate, e)),
        }
    };
    let side_io = |e| AuditError::io(&moved_to, e);
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut preview = Vec::new();
    (&mut file)
        .take(FRAGMENT_PREVIEW as u64)
        .read_to_end(&mut preview)
        .map_err(io)?;
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let copied = io::copy(&mut (&mut file).take(bytes), &mut side).map_err(side_io)?;
    if copied != bytes {
        return Err(side_io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "copied {copied} of the {bytes} bytes of the torn line; the log was not changed"
            ),
        )));
    }
    side.sync_all().map_err(side_io)?;
    sync_dir(dir).map_err(|e| AuditError::io(dir, e))?;

    file.set_len(start).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(Some(RepairedTail {
        line_no,
        bytes,
        moved_to,
        fragment: String::from_utf8_lossy(&preview).into_owned(),
    }))
}
