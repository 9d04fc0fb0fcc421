//! Reading records back: the last few ([`tail`]) or all since a time
//! ([`export`]).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::AuditError;
use crate::file::*;
use crate::record::*;
use crate::*;

/// The last `n` complete records, oldest first, reading only the end of the
/// log. A torn last line is not a record and is skipped (see [`verify`]).
/// Does not check hashes or the chain.
pub fn tail(path: &Path, n: usize) -> Result<Vec<Record>, AuditError> {
    let io = |e| AuditError::io(path, e);
    let (mut file, len) = open_snapshot(path)?;
    let end = match complete_end(&mut file, len).map_err(io)? {
        Ok(end) => end,
        // The line before the torn one ends at `start - 1`.
        Err(0) => return Ok(Vec::new()),
        Err(start) => start - 1,
    };
    if len == 0 || n == 0 {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut damaged = None;
    {
        let mut lines = ReverseLines::new(&mut file, end);
        while found.len() < n {
            match lines.prev().map_err(io)? {
                Prev::Start => break,
                Prev::Line(offset, bytes) => match parse_record(&bytes) {
                    Ok(record) => found.push(record),
                    Err(reason) => {
                        damaged = Some((offset, reason.to_string()));
                        break;
                    }
                },
                Prev::TooLong(end) => {
                    damaged = Some((
                        end,
                        format!("the line is longer than {MAX_LINE_BYTES} bytes"),
                    ));
                    break;
                }
            }
        }
    }
    if let Some((at, reason)) = damaged {
        return Err(AuditError::Corrupt {
            path: path.to_path_buf(),
            line_no: newlines_before(&mut file, at).map_err(io)? + 1,
            reason,
        });
    }
    found.reverse();
    Ok(found)
}

/// The records written at or after `since`, oldest first, read lazily
/// from the start of the log. Does not check hashes or the chain: run
/// [`verify`] for that. Yields an error for a damaged line and then goes on
/// with the next; a torn last line ends the iteration (see
/// [`Export::torn_tail`]).
pub fn export(path: &Path, since: SystemTime) -> Result<Export, AuditError> {
    let (file, len) = open_snapshot(path)?;
    Ok(Export {
        reader: BufReader::with_capacity(CHUNK as usize, file.take(len)),
        path: path.to_path_buf(),
        since,
        line_no: 0,
        buf: Vec::new(),
        done: false,
        torn: false,
    })
}

/// The iterator [`export`] returns.
#[derive(Debug)]
pub struct Export {
    reader: BufReader<io::Take<File>>,
    path: PathBuf,
    since: SystemTime,
    line_no: u64,
    buf: Vec<u8>,
    done: bool,
    torn: bool,
}

impl Export {
    /// Whether the iteration stopped at a torn last line (an interrupted
    /// write), which was not returned.
    pub fn torn_tail(&self) -> bool {
        self.torn
    }
}

impl Iterator for Export {
    type Item = Result<Record, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = match read_line(&mut self.reader, &mut self.buf) {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    self.done = true;
                    return Some(Err(AuditError::io(&self.path, e)));
                }
            };
            self.line_no += 1;
            if !line.terminated {
                self.torn = true;
                break;
            }
            let corrupt = |reason| {
                Some(Err(AuditError::Corrupt {
                    path: self.path.clone(),
                    line_no: self.line_no,
                    reason,
                }))
            };
            if line.too_long() {
                return corrupt(format!("the line is longer than {MAX_LINE_BYTES} bytes"));
            }
            match parse_record(&self.buf) {
                Err(reason) => return corrupt(reason.to_string()),
                Ok(record) if record.time.system_time() >= self.since => return Some(Ok(record)),
                Ok(_) => {}
            }
        }
        self.done = true;
        None
    }
}
