//! Paging a text by lines.

/// A window of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePage {
    /// The lines, each with its line ending.
    pub content: String,
    /// The 1-based number of the first line returned.
    pub start_line: usize,
    /// The 1-based number of the last line returned (`start_line - 1` when none).
    pub end_line: usize,
    /// How many lines the text has.
    pub total_lines: usize,
    /// Where to continue, when lines are left.
    pub next_line: Option<usize>,
}

/// Lines `start_line..` (1-based) of `text`: at most `max_lines` lines and
/// `max_bytes` bytes, but always at least one line when there is one (cut
/// to `max_bytes` at a character boundary if it alone is larger).
pub fn page_lines(text: &str, start_line: usize, max_lines: usize, max_bytes: usize) -> LinePage {
    let start_line = start_line.max(1);
    let total_lines = text.lines().count();
    let mut content = String::new();
    let mut end_line = start_line - 1;
    for line in text
        .split_inclusive('\n')
        .skip(start_line - 1)
        .take(max_lines)
    {
        if !content.is_empty() && content.len() + line.len() > max_bytes {
            break;
        }
        if line.len() > max_bytes {
            let mut cut = max_bytes;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            content.push_str(&line[..cut]);
            end_line += 1;
            break;
        }
        content.push_str(line);
        end_line += 1;
    }
    LinePage {
        content,
        start_line,
        end_line,
        total_lines,
        next_line: (end_line < total_lines).then_some(end_line + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_by_lines_and_bytes() {
        let text = "one\ntwo\nthree\nfour";
        let p = page_lines(text, 2, 2, 1000);
        assert_eq!(p.content, "two\nthree\n");
        assert_eq!((p.start_line, p.end_line, p.total_lines), (2, 3, 4));
        assert_eq!(p.next_line, Some(4));
        let p = page_lines(text, 4, 10, 1000);
        assert_eq!(p.content, "four");
        assert_eq!(p.next_line, None);
        // The byte bound stops before a line that does not fit…
        let p = page_lines(text, 1, 10, 9);
        assert_eq!(p.content, "one\ntwo\n");
        assert_eq!(p.next_line, Some(3));
        // …and cuts one that alone is too long, at a character boundary.
        let p = page_lines("ééé\n", 1, 10, 3);
        assert_eq!(p.content, "é");
        // Past the end: nothing, and nothing next.
        let p = page_lines(text, 9, 10, 1000);
        assert_eq!((p.content.as_str(), p.end_line, p.next_line), ("", 8, None));
    }
}
