//! Unified diffs: parsed, then applied all or nothing.

use std::fmt;

/// Why a patch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The text is not a unified diff.
    Malformed {
        /// The 1-based line of the patch.
        line: usize,
        /// What is wrong there.
        reason: String,
    },
    /// A hunk's context and removed lines are not in the file.
    HunkDoesNotApply {
        /// The file.
        path: String,
        /// The hunk's 1-based number in its file.
        hunk: usize,
        /// The line the hunk says it starts at.
        at_line: usize,
        /// The first line the hunk expects there.
        expected: String,
    },
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchError::Malformed { line, reason } => {
                write!(f, "the patch is not a unified diff: line {line}: {reason}")
            }
            PatchError::HunkDoesNotApply {
                path,
                hunk,
                at_line,
                expected,
            } => write!(
                f,
                "hunk {hunk} of `{path}` (at line {at_line}) does not apply: its context and removed lines are not in the file (it expects {expected:?} there); nothing was written. Read the file again and make the patch from its current content"
            ),
        }
    }
}

/// One hunk: the lines it expects (context and removed) and the lines it
/// leaves (context and added), without line endings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The 1-based line the hunk starts at in the old file (0 for a new file).
    pub old_start: usize,
    /// Context and removed lines, in order.
    pub old_lines: Vec<String>,
    /// Context and added lines, in order.
    pub new_lines: Vec<String>,
    /// Whether the new file ends without a newline after this hunk.
    pub no_newline_at_end: bool,
}

/// The changes to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatch {
    /// The old path (`None` for a new file, `/dev/null` in the diff).
    pub old_path: Option<String>,
    /// The new path (`None` for a deleted file).
    pub new_path: Option<String>,
    /// The hunks, in order.
    pub hunks: Vec<Hunk>,
}

impl FilePatch {
    /// The path the patch is about (the new one, else the old one).
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }
}

/// Parses a unified diff (as `diff -u` and `git diff` write it) into one
/// [`FilePatch`] per file. `a/` and `b/` prefixes are removed.
pub fn parse_patch(patch: &str) -> Result<Vec<FilePatch>, PatchError> {
    let lines: Vec<&str> = patch.lines().collect();
    let mut files = Vec::new();
    let mut i = 0;
    let malformed = |line: usize, reason: &str| PatchError::Malformed {
        line: line + 1,
        reason: reason.to_string(),
    };
    while i < lines.len() {
        let Some(old) = lines[i].strip_prefix("--- ") else {
            // `diff --git`, `index`, mode lines and prose before a file.
            i += 1;
            continue;
        };
        let Some(new) = lines.get(i + 1).and_then(|l| l.strip_prefix("+++ ")) else {
            return Err(malformed(
                i + 1,
                "a `--- OLD` line must be followed by `+++ NEW`",
            ));
        };
        let mut file = FilePatch {
            old_path: diff_path(old, "a/"),
            new_path: diff_path(new, "b/"),
            hunks: Vec::new(),
        };
        if file.old_path.is_none() && file.new_path.is_none() {
            return Err(malformed(i, "both paths are /dev/null"));
        }
        i += 2;
        while let Some(header) = lines.get(i).filter(|l| l.starts_with("@@")) {
            let (old_start, old_count, new_count) = hunk_header(header)
                .ok_or_else(|| malformed(i, "a hunk header must read `@@ -L,N +L,N @@`"))?;
            i += 1;
            let mut hunk = Hunk {
                old_start,
                old_lines: Vec::new(),
                new_lines: Vec::new(),
                no_newline_at_end: false,
            };
            let mut last_added = false;
            while hunk.old_lines.len() < old_count || hunk.new_lines.len() < new_count {
                let Some(line) = lines.get(i) else {
                    return Err(malformed(
                        i,
                        "the patch ends inside a hunk (its line counts are larger than its lines)",
                    ));
                };
                match line.chars().next() {
                    Some(' ') | None => {
                        let text = line.get(1..).unwrap_or_default().to_string();
                        hunk.old_lines.push(text.clone());
                        hunk.new_lines.push(text);
                        last_added = true;
                    }
                    Some('-') => {
                        hunk.old_lines.push(line[1..].to_string());
                        last_added = false;
                    }
                    Some('+') => {
                        hunk.new_lines.push(line[1..].to_string());
                        last_added = true;
                    }
                    Some('\\') => {}
                    Some(_) => {
                        return Err(malformed(i, "a hunk line must start with ' ', '-' or '+'"));
                    }
                }
                i += 1;
            }
            if hunk.old_lines.len() != old_count || hunk.new_lines.len() != new_count {
                return Err(malformed(
                    i,
                    "the hunk's lines do not match its header's counts",
                ));
            }
            if let Some(marker) = lines.get(i)
                && marker.starts_with('\\')
            {
                hunk.no_newline_at_end = last_added;
                i += 1;
            }
            file.hunks.push(hunk);
        }
        if file.hunks.is_empty() {
            return Err(malformed(i, "a file in the patch has no hunks"));
        }
        files.push(file);
    }
    if files.is_empty() {
        return Err(malformed(0, "no `--- OLD` / `+++ NEW` file header found"));
    }
    Ok(files)
}

/// The path of a `---`/`+++` line; `None` for `/dev/null`.
fn diff_path(rest: &str, prefix: &str) -> Option<String> {
    // A tab starts an optional timestamp.
    let path = rest.split('\t').next().unwrap_or_default().trim_end();
    if path == "/dev/null" {
        return None;
    }
    Some(path.strip_prefix(prefix).unwrap_or(path).to_string())
}

/// `(old_start, old_count, new_count)` of `@@ -L[,N] +L[,N] @@ …`.
fn hunk_header(line: &str) -> Option<(usize, usize, usize)> {
    let inner = line.strip_prefix("@@ ")?;
    let (ranges, _) = inner.split_once(" @@")?;
    let (old, new) = ranges.split_once(' ')?;
    let range = |r: &str, sign: char| -> Option<(usize, usize)> {
        let r = r.strip_prefix(sign)?;
        match r.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (old_start, old_count) = range(old, '-')?;
    let (_, new_count) = range(new, '+')?;
    Some((old_start, old_count, new_count))
}

/// Applies `hunks` to `original` (the file `path`): each hunk where it
/// says, or the nearest place after the previous hunk where its expected
/// lines are; the first that matches nowhere refuses the whole patch.
pub fn apply_hunks(path: &str, original: &str, hunks: &[Hunk]) -> Result<String, PatchError> {
    let had_newline = original.ends_with('\n') || original.is_empty();
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    let mut floor = 0usize;
    let mut shift: isize = 0;
    let mut ends_without_newline = !had_newline;
    for (n, hunk) in hunks.iter().enumerate() {
        let wanted = (hunk.old_start.saturating_sub(1) as isize + shift).max(0) as usize;
        let fits = |at: usize| {
            at + hunk.old_lines.len() <= lines.len()
                && lines[at..at + hunk.old_lines.len()] == hunk.old_lines[..]
        };
        // Nearest first: wanted, wanted+1, wanted-1, …, never before `floor`.
        let at = (0..=lines.len())
            .flat_map(|d| {
                [
                    wanted.checked_add(d),
                    wanted.checked_sub(d).filter(|_| d > 0),
                ]
            })
            .flatten()
            .find(|&at| at >= floor && at <= lines.len() && fits(at))
            .ok_or_else(|| PatchError::HunkDoesNotApply {
                path: path.to_string(),
                hunk: n + 1,
                at_line: hunk.old_start,
                expected: hunk.old_lines.first().cloned().unwrap_or_default(),
            })?;
        let removed = hunk.old_lines.len();
        lines.splice(at..at + removed, hunk.new_lines.iter().cloned());
        floor = at + hunk.new_lines.len();
        shift += hunk.new_lines.len() as isize - removed as isize;
        if floor == lines.len() {
            ends_without_newline = hunk.no_newline_at_end;
        }
    }
    let mut text = lines.join("\n");
    if !lines.is_empty() && !ends_without_newline {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const FILE: &str = "one\ntwo\nthree\nfour\nfive\n";

    #[test]
    fn a_git_diff_applies() {
        let patch = "diff --git a/src/x.txt b/src/x.txt\nindex 1..2 100644\n--- a/src/x.txt\n+++ b/src/x.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n@@ -5 +5,2 @@\n five\n+six\n";
        let files = parse_patch(patch).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path(), "src/x.txt");
        let out = apply_hunks("src/x.txt", FILE, &files[0].hunks).unwrap();
        assert_eq!(out, "one\nTWO\nthree\nfour\nfive\nsix\n");
    }

    #[test]
    fn a_hunk_off_by_some_lines_still_applies_where_its_context_is() {
        let patch = "--- x\n+++ x\n@@ -1,2 +1,2 @@\n three\n-four\n+FOUR\n";
        let files = parse_patch(patch).unwrap();
        let out = apply_hunks("x", FILE, &files[0].hunks).unwrap();
        assert_eq!(out, "one\ntwo\nthree\nFOUR\nfive\n");
    }

    #[test]
    fn a_hunk_that_does_not_match_refuses_the_whole_patch() {
        let patch =
            "--- x\n+++ x\n@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n@@ -4,1 +4,1 @@\n-not there\n+x\n";
        let files = parse_patch(patch).unwrap();
        match apply_hunks("x", FILE, &files[0].hunks) {
            Err(PatchError::HunkDoesNotApply {
                hunk,
                at_line,
                expected,
                ..
            }) => {
                assert_eq!((hunk, at_line, expected.as_str()), (2, 4, "not there"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn new_and_deleted_files_and_missing_newlines() {
        let patch = "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n";
        let files = parse_patch(patch).unwrap();
        assert_eq!(files[0].old_path, None);
        assert_eq!(apply_hunks("new.txt", "", &files[0].hunks).unwrap(), "a\nb");
        assert_eq!(files[1].new_path, None);
        assert_eq!(
            apply_hunks("old.txt", "gone\n", &files[1].hunks).unwrap(),
            ""
        );
    }

    #[test]
    fn malformed_patches_say_where() {
        for (patch, needle) in [
            ("just prose", "no `--- OLD`"),
            ("--- a\nno plus line", "followed by `+++ NEW`"),
            ("--- a\n+++ b\n@@ bad @@\n", "hunk header"),
            ("--- a\n+++ b\n@@ -1,3 +1,3 @@\n x\n", "ends inside a hunk"),
            ("--- a\n+++ b\n", "no hunks"),
            ("--- a\n+++ b\n@@ -1 +1 @@\n*x\n", "must start with"),
        ] {
            let err = parse_patch(patch).unwrap_err().to_string();
            assert!(err.contains(needle), "{patch:?}: {err}");
        }
    }
}
