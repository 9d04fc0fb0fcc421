//! warden's `grep` component: searches files in the granted directories for
//! lines matching a regular expression.
//!
//! Paths follow the rules of the `grant-paths` crate, like the `fs` tools.
//! The walk never follows symlinks and skips version-control directories,
//! large files and binary files; its output is bounded.

use std::fs;
use std::io::Read;

use globset::{GlobBuilder, GlobMatcher};
use grant_paths::wasi_grant::{granted, io_error, resolve_path};
use grant_paths::{Access, Grant};
use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use warden_sdk::{JsonSchema, ToolError, export_tools};

/// Default for `max_matches`.
const DEFAULT_MATCHES: u32 = 200;
/// Upper bound for `max_matches`.
const MAX_MATCHES: u32 = 5000;
/// Files larger than this are skipped.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// A NUL byte in this many leading bytes marks a file as binary.
const BINARY_SNIFF_BYTES: usize = 8 * 1024;
/// Matched lines are cut to this many characters.
const MAX_LINE_CHARS: usize = 400;
/// The walk stops after visiting this many directory entries.
const MAX_VISITED: usize = 200_000;
/// Directories the walk does not enter.
const SKIPPED_DIRS: &[&str] = &[".git", ".hg", ".svn"];

/// Input of `grep`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Grep {
    /// The regular expression to search for, in Rust `regex` syntax (e.g. `fn\s+main`, `TODO|FIXME`). It is matched against each line separately.
    pattern: String,
    /// The file or directory to search (recursively): absolute, or relative to the first granted directory. Default: the first granted directory.
    path: Option<String>,
    /// Only search files whose name matches this glob, e.g. `*.rs` or `*.{md,txt}`. A glob containing `/` is matched against the path relative to `path` instead, e.g. `src/**/*.rs`.
    glob: Option<String>,
    /// Match case-insensitively (default false).
    ignore_case: Option<bool>,
    /// Stop after this many matching lines (default 200, at most 5000).
    max_matches: Option<u32>,
}

/// One matching line.
#[derive(Serialize)]
struct Match {
    /// The file's path (absolute guest path, usable with read_file).
    path: String,
    /// 1-based line number.
    line_number: u64,
    /// The line, without its line ending, cut to 400 characters.
    line: String,
}

/// Output of `grep`.
#[derive(Serialize)]
struct GrepOutput {
    /// The matching lines, file by file in name order.
    matches: Vec<Match>,
    /// How many files were searched.
    files_searched: u64,
    /// Files skipped because they are binary, larger than 8 MiB or unreadable.
    files_skipped: u64,
    /// Whether the search stopped early (at `max_matches`, or after 200000 directory entries), so there may be more matches.
    truncated: bool,
}

/// The state of one search.
struct Search {
    regex: Regex,
    glob: Option<(GlobMatcher, bool)>,
    max_matches: usize,
    matches: Vec<Match>,
    files_searched: u64,
    files_skipped: u64,
    visited: usize,
    truncated: bool,
}

impl Search {
    fn full(&self) -> bool {
        self.truncated || self.matches.len() >= self.max_matches
    }

    /// Whether the file at `path` (`relative` to the search root, with file
    /// `name`) passes the glob.
    fn wanted(&self, name: &str, relative: &str) -> bool {
        match &self.glob {
            None => true,
            Some((glob, false)) => glob.is_match(name),
            Some((glob, true)) => glob.is_match(relative),
        }
    }

    /// Walks the directory `root` depth-first in name order.
    fn walk(&mut self, root: &str) {
        // (directory path, its path relative to the search root)
        let mut stack = vec![(root.to_string(), String::new())];
        while let Some((dir, relative)) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                self.files_skipped += 1;
                continue;
            };
            let mut children: Vec<(String, fs::FileType)> = Vec::new();
            for entry in entries.flatten() {
                self.visited += 1;
                if self.visited > MAX_VISITED {
                    self.truncated = true;
                    return;
                }
                if let Ok(kind) = entry.file_type() {
                    children.push((entry.file_name().to_string_lossy().into_owned(), kind));
                }
            }
            children.sort_by(|a, b| a.0.cmp(&b.0));
            let base = if dir == "/" {
                String::new()
            } else {
                dir.clone()
            };
            let mut subdirs = Vec::new();
            for (name, kind) in children {
                let path = format!("{base}/{name}");
                let rel = if relative.is_empty() {
                    name.clone()
                } else {
                    format!("{relative}/{name}")
                };
                // `file_type` does not follow symlinks, so symlinks are
                // neither files nor directories here and are skipped.
                if kind.is_dir() {
                    if !SKIPPED_DIRS.contains(&name.as_str()) {
                        subdirs.push((path, rel));
                    }
                } else if kind.is_file() && self.wanted(&name, &rel) {
                    self.search_file(&path);
                    if self.full() {
                        return;
                    }
                }
            }
            // Files of a directory come before its subdirectories; the
            // subdirectories in name order.
            stack.extend(subdirs.into_iter().rev());
        }
    }

    /// Searches one file, skipping large, binary and unreadable ones.
    fn search_file(&mut self, path: &str) {
        let Ok(file) = fs::File::open(path) else {
            self.files_skipped += 1;
            return;
        };
        match file.metadata() {
            Ok(m) if m.len() <= MAX_FILE_BYTES => {}
            _ => {
                self.files_skipped += 1;
                return;
            }
        }
        let mut bytes = Vec::new();
        // The file may grow after the size check: read one byte more than
        // the limit to notice.
        if file
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .is_err()
            || bytes.len() as u64 > MAX_FILE_BYTES
            || bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0)
        {
            self.files_skipped += 1;
            return;
        }
        self.files_searched += 1;
        for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if self.regex.is_match(line) {
                self.matches.push(Match {
                    path: path.to_string(),
                    line_number: index as u64 + 1,
                    line: cut(&String::from_utf8_lossy(line)),
                });
                if self.full() {
                    self.truncated = true;
                    return;
                }
            }
        }
    }
}

/// Cuts `line` to [`MAX_LINE_CHARS`] characters, marking a cut with `…`.
fn cut(line: &str) -> String {
    if line.chars().count() <= MAX_LINE_CHARS {
        return line.to_string();
    }
    let mut out: String = line.chars().take(MAX_LINE_CHARS - 1).collect();
    out.push('…');
    out
}

fn grep(input: Grep) -> Result<GrepOutput, ToolError> {
    let regex = RegexBuilder::new(&input.pattern)
        .case_insensitive(input.ignore_case.unwrap_or(false))
        .build()
        .map_err(|e| {
            ToolError::InvalidInput(format!(
                "`pattern` is not a valid regular expression (Rust regex syntax): {e}"
            ))
        })?;
    let glob = match input.glob.as_deref() {
        None | Some("") => None,
        Some(glob) => {
            let matcher = GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    ToolError::InvalidInput(format!("`glob` is not a valid glob pattern: {e}"))
                })?
                .compile_matcher();
            Some((matcher, glob.contains('/')))
        }
    };
    let max_matches = input
        .max_matches
        .unwrap_or(DEFAULT_MATCHES)
        .clamp(1, MAX_MATCHES) as usize;

    let grants: Vec<Grant> = granted();
    let given = input.path.as_deref().unwrap_or(".");
    let root = resolve_path(given, &grants, Access::Read)?;
    // The root itself is followed if it is a symlink (WASI keeps that inside
    // the grant); symlinks below it are not.
    let metadata = fs::metadata(&root).map_err(|e| io_error(&root, &e, &grants))?;
    let mut search = Search {
        regex,
        glob,
        max_matches,
        matches: Vec::new(),
        files_searched: 0,
        files_skipped: 0,
        visited: 0,
        truncated: false,
    };
    if metadata.is_dir() {
        search.walk(&root);
    } else if metadata.is_file() {
        // A file named explicitly is searched whatever the glob says.
        search.search_file(&root);
    } else {
        return Err(ToolError::InvalidInput(format!(
            "`{root}` is neither a file nor a directory"
        )));
    }
    Ok(GrepOutput {
        matches: search.matches,
        files_searched: search.files_searched,
        files_skipped: search.files_skipped,
        truncated: search.truncated,
    })
}

export_tools! {
    /// Searches files for lines matching a regular expression (Rust regex syntax) and
    /// returns each matching line with its file path and line number.
    ///
    /// Searches `path` recursively (default: the first granted directory), files in name
    /// order, optionally only files matching `glob` (e.g. `*.rs`). Symlinks are not
    /// followed; `.git`, `.hg` and `.svn` directories, binary files and files over 8 MiB
    /// are skipped. Lines are cut to 400 characters; at most `max_matches` lines are
    /// returned (default 200) and `truncated` says when there may be more.
    ///
    /// Paths: only the granted directories are accessible. A relative path is relative
    /// to the first granted directory; `.` and `..` are resolved lexically; a path
    /// outside every granted directory is denied, and the error lists the grants.
    "grep" => grep,
}
