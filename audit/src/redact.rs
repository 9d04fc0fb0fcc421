//! Keeping secrets and bulk out of records: argument digests, secret
//! redaction and bounded fields.

use crate::*;
use warden_core::digest::Digest;

/// The digest recorded for a tool call's arguments (`sha256:<hex>` of their
/// bytes), so that the arguments themselves never reach the log.
pub fn argument_digest(arguments: &str) -> String {
    Digest::of(arguments.as_bytes()).to_string()
}

/// `text` with every occurrence of each non-empty secret replaced by
/// `[REDACTED]`.
///
/// Occurrences that overlap or touch another secret's are replaced as one
/// run, so no byte of any occurrence survives (replacing secrets one after
/// the other could leave part of one that overlaps another).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let step = secret.chars().next().map_or(1, char::len_utf8);
        let mut from = 0;
        while let Some(i) = text[from..].find(secret) {
            let start = from + i;
            spans.push((start, start + secret.len()));
            // Overlapping occurrences too (`aa` in `aaa`); `step` keeps
            // `from` on a character boundary.
            from = start + step;
        }
    }
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut spans = spans.into_iter().peekable();
    while let Some((start, mut end)) = spans.next() {
        while let Some(&(next_start, next_end)) = spans.peek() {
            if next_start > end {
                break;
            }
            end = end.max(next_end);
            spans.next();
        }
        out.push_str(&text[done..start]);
        out.push_str(REDACTED);
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// `text` cut to at most [`MAX_FIELD_BYTES`] (on a character boundary) and
/// ended with `…[truncated: N bytes, sha256:…]`, the full length and the
/// digest of the whole text, when it is longer; otherwise `text` as is.
pub fn bound_field(text: &str) -> Option<String> {
    if text.len() <= MAX_FIELD_BYTES {
        return None;
    }
    let marker = format!(
        "…[truncated: {} bytes, {}]",
        text.len(),
        Digest::of(text.as_bytes())
    );
    let mut keep = MAX_FIELD_BYTES.saturating_sub(marker.len());
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    Some(format!("{}{marker}", &text[..keep]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_replaces_every_occurrence_and_overlaps_as_one() {
        assert_eq!(
            redact("a s3cr3t b s3cr3t", &["s3cr3t"]),
            "a [REDACTED] b [REDACTED]"
        );
        assert_eq!(redact("nothing here", &["s3cr3t", ""]), "nothing here");
        // An empty secret would match everywhere: it is ignored.
        assert_eq!(redact("abc", &[""]), "abc");
        // `xa` and `abcdef` overlap: neither may leave a part behind.
        assert_eq!(redact("-xabcdef-", &["xa", "abcdef"]), "-[REDACTED]-");
        // Self-overlapping occurrences.
        assert_eq!(redact("aaa", &["aa"]), "[REDACTED]");
        // Multi-byte characters keep boundaries.
        assert_eq!(redact("é-ü-é-ü", &["ü"]), "é-[REDACTED]-é-[REDACTED]");
        assert_eq!(redact("ééé", &["éé"]), "[REDACTED]");
    }
}
