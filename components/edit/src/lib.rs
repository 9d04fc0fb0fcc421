//! warden's `edit` component: the tools a coding agent needs beyond `fs`,
//! each bounded in what it returns and confined to the granted directories:
//!
//! - `edit`: replace one exact, unique occurrence of a string in a file;
//! - `apply_patch`: apply a unified diff, all or nothing;
//! - `glob`: find files by pattern, with sizes and modification times;
//! - `read_lines`: read a file by line numbers, a page at a time.
//!
//! Paths follow the rules of the `grant-paths` crate, checked lexically for
//! a precise error; WASI enforces the grant on every access regardless. The
//! text operations live in `edit-core`, tested on the host.

use std::collections::BTreeMap;
use std::fs;
use std::time::UNIX_EPOCH;

use edit_core::{FilePatch, apply_hunks, page_lines, parse_patch, replace_exact};
use globset::GlobBuilder;
use grant_paths::Access;
use grant_paths::wasi_grant::{granted, io_error, resolve_path};
use serde::{Deserialize, Serialize};
use warden_sdk::{JsonSchema, ToolError, export_tools};

/// The largest file `edit`, `apply_patch` and `read_lines` work on.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// `read_lines` returns at most this many lines unless asked for fewer.
const DEFAULT_LINES: usize = 200;
/// `read_lines` never returns more than this many lines.
const MAX_LINES: usize = 2000;
/// `read_lines` never returns more than this many bytes.
const MAX_PAGE_BYTES: usize = 256 * 1024;
/// `glob` returns at most this many matches.
const MAX_MATCHES: usize = 1000;
/// `glob` looks at no more than this many entries.
const MAX_VISITED: usize = 50_000;

/// Input of `edit`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Edit {
    /// The file to edit: absolute (e.g. `/workspace/src/lib.rs`) or relative to the first granted directory.
    path: String,
    /// The exact text to replace, whitespace and line breaks included; it must occur exactly once in the file.
    old_string: String,
    /// The text to put in its place.
    new_string: String,
}

/// Output of `edit`.
#[derive(Serialize)]
struct EditOutput {
    /// The normalised path that was edited.
    path: String,
    /// The 1-based line where the replaced text started.
    line: usize,
    /// The file's size after the edit, in bytes.
    size: u64,
}

/// Input of `apply_patch`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ApplyPatch {
    /// A unified diff (as `diff -u` or `git diff` writes it). Paths in its `---`/`+++` lines are absolute or relative to the first granted directory; `a/` and `b/` prefixes are removed; `/dev/null` creates or deletes a file.
    patch: String,
}

/// One file a patch changed.
#[derive(Serialize)]
struct Changed {
    /// The normalised path.
    path: String,
    /// `modified`, `created` or `deleted`.
    action: &'static str,
}

/// Output of `apply_patch`.
#[derive(Serialize)]
struct ApplyPatchOutput {
    /// The files changed, in the patch's order.
    files: Vec<Changed>,
}

/// Input of `glob`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Glob {
    /// The pattern, relative to `path`: `*` within a name, `**` across directories, `?`, `[abc]`, `{a,b}`; e.g. `**/*.rs` or `src/*.toml`.
    pattern: String,
    /// The directory to search (default: the first granted directory).
    path: Option<String>,
}

/// One file `glob` found.
#[derive(Serialize)]
struct Found {
    /// The file's absolute path.
    path: String,
    /// Its size in bytes.
    size: u64,
    /// When it was last modified, in seconds since 1970-01-01 UTC (null if unknown).
    modified: Option<u64>,
}

/// Output of `glob`.
#[derive(Serialize)]
struct GlobOutput {
    /// The matching files, sorted by path, at most 1000.
    files: Vec<Found>,
    /// Whether matches or directories were left out (more than 1000 matches, or more than 50000 entries looked at).
    truncated: bool,
}

/// Input of `read_lines`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReadLines {
    /// The file to read: absolute or relative to the first granted directory.
    path: String,
    /// The 1-based line to start at (default 1). To continue, pass the previous `next_line`.
    start_line: Option<usize>,
    /// How many lines to return (default 200, at most 2000; at most 256 KiB in all).
    max_lines: Option<usize>,
}

/// Output of `read_lines`.
#[derive(Serialize)]
struct ReadLinesOutput {
    /// The normalised path that was read.
    path: String,
    /// The lines, each with its line ending.
    content: String,
    /// The number of the first line returned.
    start_line: usize,
    /// The number of the last line returned.
    end_line: usize,
    /// How many lines the file has.
    total_lines: usize,
    /// Where to continue when lines are left, otherwise null.
    next_line: Option<usize>,
}

/// Reads a UTF-8 text file of at most [`MAX_FILE_BYTES`].
fn read_text(path: &str, grants: &[grant_paths::Grant]) -> Result<String, ToolError> {
    let io = |e: std::io::Error| io_error(path, &e, grants);
    let metadata = fs::metadata(path).map_err(io)?;
    if metadata.is_dir() {
        return Err(ToolError::InvalidInput(format!("`{path}` is a directory")));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(ToolError::InvalidInput(format!(
            "`{path}` has {} bytes; this tool works on files of at most 8 MiB",
            metadata.len()
        )));
    }
    let bytes = fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|e| {
        ToolError::InvalidInput(format!(
            "`{path}` is not UTF-8 text (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn edit(input: Edit) -> Result<EditOutput, ToolError> {
    let grants = granted();
    let path = resolve_path(&input.path, &grants, Access::Write)?;
    let text = read_text(&path, &grants)?;
    let edited = replace_exact(&text, &input.old_string, &input.new_string)
        .map_err(|e| ToolError::InvalidInput(format!("`{path}`: {e}; nothing was written")))?;
    fs::write(&path, &edited.text).map_err(|e| io_error(&path, &e, &grants))?;
    Ok(EditOutput {
        size: edited.text.len() as u64,
        line: edited.line,
        path,
    })
}

fn apply_patch(input: ApplyPatch) -> Result<ApplyPatchOutput, ToolError> {
    let grants = granted();
    let files = parse_patch(&input.patch).map_err(|e| ToolError::InvalidInput(e.to_string()))?;
    // Everything is checked and computed first; nothing is written unless
    // every hunk of every file applies.
    let mut planned: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut changed = Vec::new();
    for file in &files {
        let FilePatch {
            old_path, new_path, ..
        } = file;
        let path = resolve_path(file.path(), &grants, Access::Write)?;
        let current = match (old_path, planned.get(&path)) {
            (None, _) => {
                if fs::symlink_metadata(&path).is_ok() {
                    return Err(ToolError::InvalidInput(format!(
                        "the patch creates `{path}`, which exists; nothing was written"
                    )));
                }
                String::new()
            }
            (Some(_), Some(Some(text))) => text.clone(),
            (Some(_), Some(None)) => {
                return Err(ToolError::InvalidInput(format!(
                    "the patch changes `{path}` after deleting it; nothing was written"
                )));
            }
            (Some(_), None) => read_text(&path, &grants)?,
        };
        let text = apply_hunks(&path, &current, &file.hunks)
            .map_err(|e| ToolError::InvalidInput(e.to_string()))?;
        let action = match (old_path, new_path) {
            (None, _) => "created",
            (_, None) => "deleted",
            _ => "modified",
        };
        planned.insert(path.clone(), new_path.as_ref().map(|_| text));
        changed.push(Changed { path, action });
    }
    for (path, text) in &planned {
        let io = |e: std::io::Error| io_error(path, &e, &grants);
        match text {
            Some(text) => {
                if let Some((parent, _)) = path.rsplit_once('/')
                    && !parent.is_empty()
                {
                    fs::create_dir_all(parent).map_err(io)?;
                }
                fs::write(path, text).map_err(io)?;
            }
            None => fs::remove_file(path).map_err(io)?,
        }
    }
    Ok(ApplyPatchOutput { files: changed })
}

fn glob(input: Glob) -> Result<GlobOutput, ToolError> {
    let grants = granted();
    let root = resolve_path(input.path.as_deref().unwrap_or("."), &grants, Access::Read)?;
    let matcher = GlobBuilder::new(&input.pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| {
            ToolError::InvalidInput(format!("the pattern `{}` is invalid: {e}", input.pattern))
        })?
        .compile_matcher();
    let prefix = if root == "/" {
        String::new()
    } else {
        root.clone()
    };
    let mut files = Vec::new();
    let mut pending = vec![String::new()];
    let mut visited = 0usize;
    let mut truncated = false;
    while let Some(relative) = pending.pop() {
        let dir = if relative.is_empty() {
            root.clone()
        } else {
            format!("{prefix}/{relative}")
        };
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            // The root must be readable; a subdirectory that is not is skipped.
            Err(e) if relative.is_empty() => return Err(io_error(&dir, &e, &grants)),
            Err(_) => continue,
        };
        for entry in entries.flatten() {
            visited += 1;
            if visited > MAX_VISITED {
                truncated = true;
                break;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if name != ".git" {
                    pending.push(rel);
                }
            } else if meta.is_file() && matcher.is_match(&rel) {
                files.push(Found {
                    path: format!("{prefix}/{rel}"),
                    size: meta.len(),
                    modified: meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map(|d| d.as_secs()),
                });
            }
        }
        if visited > MAX_VISITED {
            break;
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if files.len() > MAX_MATCHES {
        files.truncate(MAX_MATCHES);
        truncated = true;
    }
    Ok(GlobOutput { files, truncated })
}

fn read_lines(input: ReadLines) -> Result<ReadLinesOutput, ToolError> {
    let grants = granted();
    let path = resolve_path(&input.path, &grants, Access::Read)?;
    let text = read_text(&path, &grants)?;
    let max_lines = input.max_lines.unwrap_or(DEFAULT_LINES).clamp(1, MAX_LINES);
    let page = page_lines(
        &text,
        input.start_line.unwrap_or(1),
        max_lines,
        MAX_PAGE_BYTES,
    );
    Ok(ReadLinesOutput {
        path,
        content: page.content,
        start_line: page.start_line,
        end_line: page.end_line,
        total_lines: page.total_lines,
        next_line: page.next_line,
    })
}

export_tools! {
    /// Replaces one exact occurrence of `old_string` in a file with `new_string`.
    ///
    /// `old_string` must occur exactly once, whitespace included: a missing match or
    /// several matches (the error names their lines) is refused and nothing is written.
    /// Read the file first and copy the text exactly; include surrounding lines to make
    /// the match unique. The file must be inside a directory granted read-write.
    "edit" => edit,
    /// Applies a unified diff (`diff -u` / `git diff` format) to one or more files.
    ///
    /// All or nothing: if any hunk's context or removed lines are not in the file, the
    /// error names the hunk and nothing is written. A hunk a few lines off still applies
    /// where its context is. Files must be inside directories granted read-write.
    "apply_patch" => apply_patch,
    /// Finds files whose path (relative to `path`, default the first granted directory)
    /// matches a glob pattern such as `**/*.rs`; returns each file's absolute path, size
    /// and modification time, sorted by path, at most 1000. `.git` directories are skipped.
    "glob" => glob,
    /// Reads a UTF-8 text file by lines: from `start_line` (1-based), at most `max_lines`
    /// (default 200, at most 2000) and 256 KiB. When `next_line` is not null, call again
    /// with `start_line` = `next_line` for more. `total_lines` says how long the file is.
    "read_lines" => read_lines,
}
