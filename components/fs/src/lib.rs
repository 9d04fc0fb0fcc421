//! warden's `fs` component: `read_file`, `list_dir` and `write_file` inside
//! the directories the component was granted.
//!
//! Paths follow the rules of the `grant-paths` crate (stated in each tool's
//! description for the model). The tool checks them lexically first, for a
//! precise error; WASI then enforces the grant on every access regardless
//! (e.g. it refuses to follow a symlink out of a granted directory).

use std::fs::{self, OpenOptions};
use std::io::Write;

use grant_paths::Access;
use grant_paths::wasi_grant::{OpenedFile, Preopens, granted, io_error, io_from, resolve_path};
use serde::{Deserialize, Serialize};
use warden_sdk::{JsonSchema, ToolError, export_tools};
use wasi::filesystem::types::DescriptorType;

/// `read_file` returns at most this much unless asked otherwise.
const DEFAULT_READ_BYTES: u64 = 256 * 1024;
/// `read_file`'s first read asks for at most this much: a file that ends
/// within it needs no `stat`. (The host zeroes a buffer of this size for
/// each read, so it is not larger.)
const FIRST_READ_BYTES: u64 = 16 * 1024;
/// `read_file` never returns more than this at once.
const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;
/// `list_dir` returns at most this many entries.
const MAX_ENTRIES: usize = 1000;

/// Input of `read_file`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReadFile {
    /// The file to read: absolute (e.g. `/repo/src/main.rs`) or relative to the first granted directory.
    path: String,
    /// Byte offset to start reading at (default 0). To continue a truncated read, pass the previous `next_offset`.
    offset: Option<u64>,
    /// Maximum number of bytes to return (default 262144 = 256 KiB, at most 4194304 = 4 MiB).
    max_bytes: Option<u64>,
}

/// Output of `read_file`.
#[derive(Serialize)]
struct ReadFileOutput {
    /// The normalised path that was read.
    path: String,
    /// The text read, from `offset`.
    content: String,
    /// The file's total size in bytes.
    size: u64,
    /// The byte offset `content` starts at.
    offset: u64,
    /// Whether the file continues after `content`.
    truncated: bool,
    /// Where to continue reading when `truncated`, otherwise null.
    next_offset: Option<u64>,
}

/// Input of `list_dir`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListDir {
    /// The directory to list: absolute (e.g. `/repo/src`) or relative to the first granted directory (`.` is the first granted directory itself).
    path: String,
}

/// One entry of a directory listing.
#[derive(Serialize)]
struct Entry {
    /// The entry's file name.
    name: String,
    /// `file`, `dir`, `symlink` or `other`; symlinks are not followed.
    kind: &'static str,
    /// Size in bytes for a file, 0 otherwise.
    size: u64,
}

/// Output of `list_dir`.
#[derive(Serialize)]
struct ListDirOutput {
    /// The normalised path that was listed.
    path: String,
    /// The entries, sorted by name.
    entries: Vec<Entry>,
    /// How many entries the directory has in all.
    total: usize,
    /// Whether entries were left out (more than 1000).
    truncated: bool,
}

/// Input of `write_file`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WriteFile {
    /// The file to write: absolute (e.g. `/out/report.md`) or relative to the first granted directory. It must be inside a directory granted read-write.
    path: String,
    /// The text to write (UTF-8).
    content: String,
    /// Append to the file instead of replacing its content (default false).
    append: Option<bool>,
    /// Create missing parent directories first (default false).
    create_dirs: Option<bool>,
}

/// Output of `write_file`.
#[derive(Serialize)]
struct WriteFileOutput {
    /// The normalised path that was written.
    path: String,
    /// How many bytes were written.
    bytes_written: u64,
}

fn read_file(input: ReadFile) -> Result<ReadFileOutput, ToolError> {
    // Straight through `wasi:filesystem`: one open through the grant's own
    // descriptor, then reads of exactly what is wanted, with no stream to
    // set up. A small file is one read: fewer bytes than asked for means
    // the end of the file, so its size is known without a `stat`.
    let preopens = Preopens::get();
    let OpenedFile { path, file } = preopens.open_file(&input.path)?;
    let io = |code| io_error(&path, &io_from(code), &preopens.grants());
    let offset = input.offset.unwrap_or(0);
    let max_bytes = input
        .max_bytes
        .unwrap_or(DEFAULT_READ_BYTES)
        .min(MAX_READ_BYTES);

    let first = max_bytes.min(FIRST_READ_BYTES);
    let mut bytes: Vec<u8> = match file.read(first, offset) {
        // Short of what was asked for: the end of the file. (Nothing read
        // past offset 0 could also be an offset past the end: the `stat`
        // below tells.)
        Ok((chunk, _)) if (chunk.len() as u64) < first && (offset == 0 || !chunk.is_empty()) => {
            let size = offset + chunk.len() as u64;
            return text_window(path, chunk, offset, size);
        }
        Ok((chunk, _)) => chunk,
        // A directory cannot be read: the `stat` below says so.
        Err(_) => Vec::new(),
    };
    let stat = file.stat().map_err(io)?;
    if stat.type_ == DescriptorType::Directory {
        return Err(ToolError::InvalidInput(format!(
            "`{path}` is a directory; use list_dir to see its entries"
        )));
    }
    let size = stat.size;
    if offset > size {
        return Err(ToolError::InvalidInput(format!(
            "offset {offset} is past the end of `{path}`, which has {size} bytes"
        )));
    }

    // At most what the file holds now.
    let want = max_bytes.min(size - offset);
    while (bytes.len() as u64) < want {
        let at = offset + bytes.len() as u64;
        let (chunk, end) = file.read(want - bytes.len() as u64, at).map_err(io)?;
        let done = end || chunk.is_empty();
        if bytes.is_empty() {
            bytes = chunk;
        } else {
            bytes.extend_from_slice(&chunk);
        }
        if done {
            break;
        }
    }
    bytes.truncate(usize::try_from(want).unwrap_or(usize::MAX));
    text_window(path, bytes, offset, size)
}

/// The answer of `read_file` for `bytes` read from `path` at `offset`, the
/// file being `size` bytes long: the text, starting at the first whole
/// character, or an error if it is not text.
fn text_window(
    path: String,
    mut bytes: Vec<u8>,
    offset: u64,
    size: u64,
) -> Result<ReadFileOutput, ToolError> {
    if bytes.contains(&0) {
        return Err(not_text(&path, "it contains NUL bytes"));
    }
    // An offset inside a multi-byte character: start at the next character.
    let skip = if offset > 0 {
        bytes
            .iter()
            .take(3)
            .take_while(|b| (**b & 0xC0) == 0x80)
            .count()
    } else {
        0
    };
    let start = offset + skip as u64;
    let end = offset + bytes.len() as u64;
    let truncated = end < size;
    bytes.drain(..skip);
    // The bytes become the text as they are, without a copy.
    let content = match String::from_utf8(bytes) {
        Ok(text) => text,
        // Cut inside the last character by `max_bytes`: stop before it.
        Err(e) if e.utf8_error().error_len().is_none() && truncated => {
            let valid = e.utf8_error().valid_up_to();
            String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned()
        }
        Err(e) => {
            return Err(not_text(
                &path,
                &format!(
                    "it is not valid UTF-8 at byte {}",
                    start + e.utf8_error().valid_up_to() as u64
                ),
            ));
        }
    };
    let next = start + content.len() as u64;
    let truncated = next < size;
    Ok(ReadFileOutput {
        path,
        content,
        size,
        offset: start,
        truncated,
        next_offset: truncated.then_some(next),
    })
}

fn not_text(path: &str, why: &str) -> ToolError {
    ToolError::InvalidInput(format!(
        "`{path}` looks like a binary file ({why}); read_file only returns UTF-8 text"
    ))
}

fn list_dir(input: ListDir) -> Result<ListDirOutput, ToolError> {
    let grants = granted();
    let path = resolve_path(&input.path, &grants, Access::Read)?;
    let io = |e: std::io::Error| io_error(&path, &e, &grants);

    let metadata = fs::metadata(&path).map_err(io)?;
    if !metadata.is_dir() {
        return Err(ToolError::InvalidInput(format!(
            "`{path}` is not a directory; use read_file to read a file"
        )));
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(&path).map_err(io)? {
        let entry = entry.map_err(io)?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    let total = names.len();
    let prefix = if path == "/" {
        String::new()
    } else {
        path.clone()
    };
    let entries = names
        .into_iter()
        .take(MAX_ENTRIES)
        .map(|name| {
            let (kind, size) = match fs::symlink_metadata(format!("{prefix}/{name}")) {
                Ok(m) if m.is_file() => ("file", m.len()),
                Ok(m) if m.is_dir() => ("dir", 0),
                Ok(m) if m.file_type().is_symlink() => ("symlink", 0),
                _ => ("other", 0),
            };
            Entry { name, kind, size }
        })
        .collect();
    Ok(ListDirOutput {
        path,
        entries,
        total,
        truncated: total > MAX_ENTRIES,
    })
}

fn write_file(input: WriteFile) -> Result<WriteFileOutput, ToolError> {
    if input.path.ends_with('/') {
        return Err(ToolError::InvalidInput(format!(
            "`{}` ends with `/`, which names a directory; give the path of a file",
            input.path
        )));
    }
    let grants = granted();
    let path = resolve_path(&input.path, &grants, Access::Write)?;
    let io = |e: std::io::Error| io_error(&path, &e, &grants);

    if input.create_dirs.unwrap_or(false)
        && let Some((parent, _)) = path.rsplit_once('/')
        && !parent.is_empty()
    {
        fs::create_dir_all(parent).map_err(|e| io_error(parent, &e, &grants))?;
    }
    let append = input.append.unwrap_or(false);
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ToolError::NotFound(format!(
                "cannot create `{path}`: its parent directory does not exist; pass \"create_dirs\": true to create it"
            )),
            _ => io(e),
        })?;
    file.write_all(input.content.as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(WriteFileOutput {
        path,
        bytes_written: input.content.len() as u64,
    })
}

export_tools! {
    /// Reads a UTF-8 text file and returns its content.
    ///
    /// Returns at most `max_bytes` (default 256 KiB, at most 4 MiB) from `offset`;
    /// when `truncated` is true, call again with `offset` = `next_offset` for the rest.
    /// Binary (non-UTF-8) files are refused.
    ///
    /// Paths: only the granted directories are accessible. A relative path is relative
    /// to the first granted directory; `.` and `..` are resolved lexically; a path
    /// outside every granted directory is denied, and the error lists the grants.
    "read_file" => read_file,
    /// Lists a directory: each entry's name, kind (file, dir, symlink, other) and size,
    /// sorted by name, at most 1000 entries (`truncated` says when there are more).
    ///
    /// Paths: only the granted directories are accessible. A relative path is relative
    /// to the first granted directory (`.` lists it); `.` and `..` are resolved lexically;
    /// a path outside every granted directory is denied, and the error lists the grants.
    "list_dir" => list_dir,
    /// Writes UTF-8 text to a file, replacing it (or appending with `append`), creating
    /// the file if needed and its parent directories with `create_dirs`.
    ///
    /// Paths: only directories granted read-write are writable. A relative path is
    /// relative to the first granted directory; `.` and `..` are resolved lexically; a
    /// path outside every granted directory, or inside one granted read-only, is denied,
    /// and the error says which grants exist.
    "write_file" => write_file,
}
