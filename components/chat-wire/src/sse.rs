//! An incremental reader of `text/event-stream` (server-sent events), the
//! framing of a streamed chat completion: bytes go in as they arrive, in
//! chunks split anywhere (inside a line, a `\r\n` or a UTF-8 character),
//! and the `data` of each complete event comes out.
//!
//! Per the SSE format: lines end with `\n`, `\r\n` or `\r`; a blank line
//! ends an event; `data:` lines are joined with `\n` (one leading space of
//! each value is dropped); comment lines (`:`) and other fields (`event`,
//! `id`, `retry`) are ignored. A line or event longer than
//! [`MAX_EVENT_BYTES`] is an error, so a hostile server cannot make the
//! reader hold unbounded memory.

/// The largest event (and line) accepted: 1 MiB. A streamed chunk of a
/// chat completion is a few hundred bytes.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// An event or line longer than the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

impl std::fmt::Display for EventTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "an event of the stream is longer than {} bytes",
            self.limit
        )
    }
}

impl std::error::Error for EventTooLarge {}

/// The reader's state between chunks.
#[derive(Debug, Default)]
pub struct SseReader {
    /// The current, unfinished line.
    line: Vec<u8>,
    /// The `data` of the current event so far.
    data: Vec<u8>,
    /// Whether the current event has a `data` field (even an empty one).
    has_data: bool,
    /// The last byte was a `\r`: a `\n` right after it ends nothing.
    after_cr: bool,
}

impl SseReader {
    /// A reader at the start of a stream.
    pub fn new() -> SseReader {
        SseReader::default()
    }

    /// Reads `bytes`, appending the data of every event they complete to
    /// `events`.
    pub fn feed(&mut self, bytes: &[u8], events: &mut Vec<String>) -> Result<(), EventTooLarge> {
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    self.end_line(events);
                }
                _ => {
                    if self.line.len() + self.data.len() >= MAX_EVENT_BYTES {
                        return Err(EventTooLarge {
                            limit: MAX_EVENT_BYTES,
                        });
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(())
    }

    /// The end of the stream: the data of an event that was not ended by a
    /// blank line (the stream was cut, or the server left the blank line
    /// out), if there is one.
    pub fn finish(mut self) -> Option<String> {
        if !self.line.is_empty() {
            let mut events = Vec::new();
            self.end_line(&mut events);
        }
        self.has_data
            .then(|| String::from_utf8_lossy(&self.data).into_owned())
    }

    /// Whether part of an event has been read and not yet completed.
    pub fn is_mid_event(&self) -> bool {
        self.has_data || !self.line.is_empty()
    }

    fn end_line(&mut self, events: &mut Vec<String>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if self.has_data {
                events.push(String::from_utf8_lossy(&self.data).into_owned());
            }
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line.starts_with(b":") {
            return;
        }
        let (field, value) = match line.iter().position(|&c| c == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (&line[..], &[][..]),
        };
        if field == b"data" {
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn read_all(chunks: &[&[u8]]) -> (Vec<String>, Option<String>) {
        let mut reader = SseReader::new();
        let mut events = Vec::new();
        for chunk in chunks {
            reader.feed(chunk, &mut events).unwrap();
        }
        (events, reader.finish())
    }

    #[test]
    fn events_come_out_the_same_however_the_bytes_are_split() {
        let stream = "data: {\"a\":1}\n\n: a comment\r\nevent: x\r\ndata: héllo\r\ndata:two\r\n\r\nid: 3\rdata: [DONE]\r\r";
        let expected = vec![
            "{\"a\":1}".to_string(),
            "héllo\ntwo".to_string(),
            "[DONE]".to_string(),
        ];
        let bytes = stream.as_bytes();
        // Every split point, and byte by byte (inside `é`, between `\r` and `\n`).
        for split in 0..=bytes.len() {
            let (events, rest) = read_all(&[&bytes[..split], &bytes[split..]]);
            assert_eq!(events, expected, "split at {split}");
            assert_eq!(rest, None);
        }
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(read_all(&single).0, expected);
    }

    #[test]
    fn an_unfinished_event_is_handed_back_at_the_end() {
        let (events, rest) = read_all(&[b"data: {\"a\":1}\n\ndata: {\"cho"]);
        assert_eq!(events, ["{\"a\":1}"]);
        assert_eq!(rest.as_deref(), Some("{\"cho"));
        let (events, rest) = read_all(&[b"data: [DONE]\n"]);
        assert!(events.is_empty());
        assert_eq!(rest.as_deref(), Some("[DONE]"));
    }

    #[test]
    fn lines_without_data_make_no_events() {
        let (events, rest) = read_all(&[b"\n\n: keep-alive\n\nevent: ping\n\nretry: 10\n\n"]);
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(rest, None);
    }

    #[test]
    fn a_hostile_endless_line_is_refused_without_holding_it() {
        let mut reader = SseReader::new();
        let mut events = Vec::new();
        let chunk = vec![b'x'; 64 * 1024];
        let mut refused = None;
        for i in 0..64 {
            if let Err(e) = reader.feed(&chunk, &mut events) {
                refused = Some((i, e));
                break;
            }
        }
        let (i, e) = refused.expect("an endless line is refused");
        assert!(
            i <= MAX_EVENT_BYTES / chunk.len(),
            "refused only after {i} chunks"
        );
        assert_eq!(e.limit, MAX_EVENT_BYTES);
        // Endless data lines in one event are refused the same way.
        let mut reader = SseReader::new();
        let line = [b"data: ".as_slice(), &[b'y'; 1000], b"\n"].concat();
        let mut result = Ok(());
        for _ in 0..2000 {
            result = reader.feed(&line, &mut events);
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
        assert!(events.is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let (events, _) = read_all(&[b"data: a\xffb\n\n"]);
        assert_eq!(events, ["a\u{fffd}b"]);
    }
}
