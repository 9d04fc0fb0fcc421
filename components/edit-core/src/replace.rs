//! Exact-string replacement.

use std::fmt;

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// `old` is empty.
    EmptyOld,
    /// `old` does not occur in the text.
    NotFound,
    /// `old` occurs more than once: at these 1-based lines (at most 20 listed).
    NotUnique {
        /// How many times it occurs.
        count: usize,
        /// The lines where the first occurrences start.
        lines: Vec<usize>,
    },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::EmptyOld => {
                write!(f, "`old_string` is empty; give the exact text to replace")
            }
            EditError::NotFound => write!(
                f,
                "`old_string` does not occur in the file; read the file and copy the text exactly, whitespace included"
            ),
            EditError::NotUnique { count, lines } => write!(
                f,
                "`old_string` occurs {count} times (starting on lines {}); include more surrounding text so it matches once",
                lines
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The text after an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The whole new text.
    pub text: String,
    /// The 1-based line where the replaced text started.
    pub line: usize,
}

/// Replaces the one occurrence of `old` in `text` with `new`.
pub fn replace_exact(text: &str, old: &str, new: &str) -> Result<Edited, EditError> {
    if old.is_empty() {
        return Err(EditError::EmptyOld);
    }
    let starts: Vec<usize> = text.match_indices(old).map(|(i, _)| i).collect();
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    match starts.as_slice() {
        [] => Err(EditError::NotFound),
        [at] => {
            let mut out = String::with_capacity(text.len() + new.len());
            out.push_str(&text[..*at]);
            out.push_str(new);
            out.push_str(&text[at + old.len()..]);
            Ok(Edited {
                text: out,
                line: line_of(*at),
            })
        }
        several => Err(EditError::NotUnique {
            count: several.len(),
            lines: several.iter().take(20).map(|at| line_of(*at)).collect(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_match_is_replaced() {
        let e = replace_exact("a\nb\nc\n", "b\n", "B\nB2\n").unwrap();
        assert_eq!(e.text, "a\nB\nB2\nc\n");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn missing_repeated_and_empty_matches_are_refused_saying_which() {
        assert_eq!(replace_exact("abc", "x", "y"), Err(EditError::NotFound));
        assert_eq!(replace_exact("abc", "", "y"), Err(EditError::EmptyOld));
        let err = replace_exact("x\ny\nx\n", "x", "z").unwrap_err();
        assert_eq!(
            err,
            EditError::NotUnique {
                count: 2,
                lines: vec![1, 3]
            }
        );
        assert!(
            err.to_string()
                .contains("occurs 2 times (starting on lines 1, 3)")
        );
        // Whitespace counts: an indented copy does not match.
        assert_eq!(replace_exact("    x", "\tx", "y"), Err(EditError::NotFound));
    }
}
