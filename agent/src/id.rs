//! Session ids: short, unique, sortable, and safe to use as a file name.
//!
//! An id is the UTC time the session was created, to the second, then six
//! random characters: `20250314-093012-7kq2mz`. Ids sort by creation time
//! (ties in the same second in random order); 30 random bits make two
//! sessions created in the same second collide about once in a billion
//! pairs, and the store refuses to overwrite an existing session anyway.
//!
//! An id is validated wherever one comes in (a command line, a file name,
//! the file itself), so `../x`, `/etc/passwd` or `a/b` are refused before
//! any path is built from them.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::error::IdError;

/// The characters of the random suffix: Crockford's base 32, lowercase
/// (no `i`, `l`, `o`, `u`, which are easy to misread).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// `YYYYMMDD-HHMMSS-` + the suffix.
const LEN: usize = 8 + 1 + 6 + 1 + SUFFIX_LEN;
const SUFFIX_LEN: usize = 6;
const TIME_FORMAT: &str = "%Y%m%d-%H%M%S";

/// A validated session id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A new id for a session created at `now`, with a random suffix.
    pub fn generate(now: Timestamp) -> SessionId {
        let mut bytes = [0u8; 4];
        // Without an entropy source, fall back to the clock's nanoseconds:
        // the store's no-overwrite create still keeps ids unique.
        if getrandom::fill(&mut bytes).is_err() {
            bytes = now.subsec_nanosecond().to_le_bytes();
        }
        let mut bits = u32::from_le_bytes(bytes);
        let mut suffix = String::with_capacity(SUFFIX_LEN);
        for _ in 0..SUFFIX_LEN {
            suffix.push(char::from(ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        SessionId(format!("{}-{suffix}", now.strftime(TIME_FORMAT)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file name of the session: `<id>.json`.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.0)
    }
}

/// The id as given, made safe to print (at most 80 characters, no control
/// characters).
fn printable(text: &str) -> String {
    text.chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

impl FromStr for SessionId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| IdError {
            id: printable(s),
            reason: reason.to_string(),
        };
        if s.contains(['/', '\\']) || s.contains("..") {
            return Err(invalid("an id is a name, not a path"));
        }
        if s.len() != LEN || !s.is_ascii() {
            return Err(invalid(&format!("an id is {LEN} ASCII characters")));
        }
        let (time, suffix) = s.split_at(LEN - SUFFIX_LEN);
        let time = time.strip_suffix('-');
        let time_ok = time.is_some_and(|time| {
            time.chars()
                .enumerate()
                .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })
                && jiff::civil::DateTime::strptime(TIME_FORMAT, time).is_ok()
        });
        if !time_ok {
            return Err(invalid(
                "it does not start with a date and time `YYYYMMDD-HHMMSS`",
            ));
        }
        if !suffix.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(invalid(
                "its last 6 characters must be lowercase letters and digits (no i, l, o, u)",
            ));
        }
        Ok(SessionId(s.to_string()))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

warden_registry::serde_as_text!(SessionId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_sort_by_time() {
        let early: Timestamp = "2025-03-14T09:30:12.5Z".parse().expect("time");
        let late: Timestamp = "2025-03-14T09:30:13Z".parse().expect("time");
        let a = SessionId::generate(early);
        let b = SessionId::generate(late);
        assert!(a.as_str().starts_with("20250314-093012-"), "{a}");
        assert_eq!(a.as_str().parse::<SessionId>(), Ok(a.clone()));
        assert!(a < b);
        assert_eq!(a.file_name(), format!("{a}.json"));
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "20250314-093012-7kq2m",
            "20250314-093012-7kq2mzz",
            "20251314-093012-7kq2mz",
            "20250314_093012-7kq2mz",
            "20250314-093012-7KQ2MZ",
            "20250314-093012-7kq2mi",
            "20250314-093012/7kq2mz",
        ] {
            assert!(bad.parse::<SessionId>().is_err(), "{bad}");
        }
    }
}
