//! The log file itself: its lock, snapshots of its length, and reading
//! its lines forwards and backwards without loading it whole.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::*;

/// The lock file next to the log (`audit.jsonl` → `audit.lock`), held
/// exclusively by every append and repair.
pub fn lock_path(log: &Path) -> PathBuf {
    log.with_extension("lock")
}

/// Options that create files owner-only.
pub(crate) fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Takes the log's exclusive lock, waiting for other holders; released
/// when the returned file is dropped. Each call opens its own handle, so
/// threads of one process exclude each other as processes do.
pub(crate) fn lock(log: &Path) -> Result<File, AuditError> {
    let file = open_lock(log)?;
    file.lock()
        .map_err(|e| AuditError::io(&lock_path(log), e))?;
    Ok(file)
}

/// Opens (creating) the lock file of `log` without taking the lock.
pub(crate) fn open_lock(log: &Path) -> Result<File, AuditError> {
    let path = lock_path(log);
    private_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| AuditError::io(&path, e))
}

/// Opens the log for reading, with its length at a moment no append was
/// in progress: readers read only that far, so a line being appended as
/// they read is never mistaken for a torn one. The shared lock is held only
/// while the length is taken, and only if the lock file exists (reading a
/// copy of a log elsewhere creates nothing next to it).
pub(crate) fn open_snapshot(path: &Path) -> Result<(File, u64), AuditError> {
    let io = |e| AuditError::io(path, e);
    let file = File::open(path).map_err(io)?;
    let lock = File::open(lock_path(path)).ok();
    if let Some(lock) = &lock {
        // Best effort: without the lock, a concurrent append may show as a
        // torn last line, which a second look clears.
        let _ = lock.lock_shared();
    }
    let len = file.metadata().map_err(io)?.len();
    drop(lock);
    Ok((file, len))
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Reads `buf.len()` bytes at `offset`.
pub(crate) fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// The number of newlines in the first `end` bytes (so the 1-based line
/// number of the line starting at `end` is this plus one). Reads from the
/// start: used only to name a line in an error.
pub(crate) fn newlines_before(file: &mut File, end: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(CHUNK as usize, file.take(end));
    let mut count = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}

/// The offset of the last newline before `end`, reading backwards.
pub(crate) fn last_newline_before(file: &mut File, end: u64) -> io::Result<Option<u64>> {
    let mut pos = end;
    let mut buf = vec![0u8; CHUNK as usize];
    while pos > 0 {
        let n = CHUNK.min(pos);
        pos -= n;
        let chunk = &mut buf[..n as usize];
        read_at(file, pos, chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(pos + i as u64));
        }
    }
    Ok(None)
}

/// The end of the log's last complete line: `Ok(end)` where `end` is the
/// offset of its newline (or 0 when the file is empty), or `Err(start)`
/// when the file ends with a torn line starting at `start`.
pub(crate) fn complete_end(file: &mut File, len: u64) -> io::Result<Result<u64, u64>> {
    if len == 0 {
        return Ok(Ok(0));
    }
    let mut last = [0u8];
    read_at(file, len - 1, &mut last)?;
    if last[0] == b'\n' {
        return Ok(Ok(len - 1));
    }
    Ok(Err(last_newline_before(file, len)?.map_or(0, |p| p + 1)))
}

/// What [`ReverseLines::prev`] found.
pub(crate) enum Prev {
    /// A line (without its newline) and its offset.
    Line(u64, Vec<u8>),
    /// A line longer than [`MAX_LINE_BYTES`], ending at this offset.
    TooLong(u64),
    /// The start of the file.
    Start,
}

/// Reads the lines of `[0, end)` backwards, a chunk at a time. `end` must
/// be a line end (the offset of a newline, or 0).
pub(crate) struct ReverseLines<'a> {
    file: &'a mut File,
    /// Bytes `[start, start + buf.len())`, not yet returned.
    buf: Vec<u8>,
    start: u64,
    exhausted: bool,
}

impl<'a> ReverseLines<'a> {
    pub(crate) fn new(file: &'a mut File, end: u64) -> ReverseLines<'a> {
        ReverseLines {
            file,
            buf: Vec::new(),
            start: end,
            exhausted: false,
        }
    }

    pub(crate) fn prev(&mut self) -> io::Result<Prev> {
        if self.exhausted {
            return Ok(Prev::Start);
        }
        loop {
            if let Some(i) = self.buf.iter().rposition(|&b| b == b'\n') {
                let line = self.buf[i + 1..].to_vec();
                self.buf.truncate(i);
                return Ok(Prev::Line(self.start + i as u64 + 1, line));
            }
            if self.buf.len() > MAX_LINE_BYTES {
                self.exhausted = true;
                return Ok(Prev::TooLong(self.start + self.buf.len() as u64));
            }
            if self.start == 0 {
                self.exhausted = true;
                return Ok(Prev::Line(0, std::mem::take(&mut self.buf)));
            }
            let n = CHUNK.min(self.start);
            let mut chunk = vec![0u8; n as usize];
            read_at(self.file, self.start - n, &mut chunk)?;
            chunk.extend_from_slice(&self.buf);
            self.buf = chunk;
            self.start -= n;
        }
    }
}

/// One line read forwards by [`read_line`].
pub(crate) struct LineRead {
    /// Whether it ended with a newline (only the last line may not).
    pub(crate) terminated: bool,
    /// Its length without the newline; only the first
    /// `MAX_LINE_BYTES + 1` bytes are kept.
    pub(crate) len: u64,
}

impl LineRead {
    pub(crate) fn too_long(&self) -> bool {
        self.len > MAX_LINE_BYTES as u64
    }
}

/// Reads the next line into `buf` (without its newline), keeping at most
/// `MAX_LINE_BYTES + 1` bytes of it; `None` at the end of the file.
pub(crate) fn read_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
) -> io::Result<Option<LineRead>> {
    buf.clear();
    let mut len = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((len > 0).then_some(LineRead {
                terminated: false,
                len,
            }));
        }
        let (take, found) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&available[..take.min(room)]);
        len += take as u64;
        reader.consume(take + usize::from(found));
        if found {
            return Ok(Some(LineRead {
                terminated: true,
                len,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_lines_reads_every_line_back_across_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lines");
        let lines: Vec<String> = (0..5000)
            .map(|i| format!("line {i} {}", "x".repeat(i % 97)))
            .collect();
        std::fs::write(&path, format!("\n{}\n", lines.join("\n"))).expect("write");
        let mut file = File::open(&path).expect("open");
        let len = file.metadata().expect("stat").len();
        let mut rev = ReverseLines::new(&mut file, len - 1);
        let mut back = Vec::new();
        while let Prev::Line(_, bytes) = rev.prev().expect("read") {
            back.push(String::from_utf8(bytes).expect("utf8"));
        }
        back.reverse();
        assert_eq!(back[0], "", "the empty first line");
        assert_eq!(back[1..], lines[..]);
    }
}
