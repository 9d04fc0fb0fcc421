//! Record timestamps: whole milliseconds, UTC, RFC 3339.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::AuditError;
use crate::*;

/// A record's time: whole milliseconds, UTC, from 1970 to the end of 9999,
/// written as RFC 3339 (`2026-11-24T14:03:05.123Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: u64,
}

impl Timestamp {
    /// The current time, to the millisecond (rounded down).
    pub fn now() -> Result<Timestamp, AuditError> {
        let now = SystemTime::now();
        Timestamp::from_system_time(now).ok_or_else(|| AuditError::Clock {
            reason: match now.duration_since(UNIX_EPOCH) {
                Err(e) => format!("{} s before 1970", e.duration().as_secs()),
                Ok(d) => format!("{} s after 1970, past the year 9999", d.as_secs()),
            },
        })
    }

    /// `time`, rounded down to the millisecond; `None` before 1970 or after
    /// 9999.
    pub fn from_system_time(time: SystemTime) -> Option<Timestamp> {
        let since = time.duration_since(UNIX_EPOCH).ok()?;
        Timestamp::from_unix_millis(u64::try_from(since.as_millis()).ok()?)
    }

    /// The time `millis` milliseconds after 1970-01-01T00:00:00Z; `None`
    /// after 9999.
    pub fn from_unix_millis(millis: u64) -> Option<Timestamp> {
        (millis <= MAX_MILLIS).then_some(Timestamp { millis })
    }

    /// Parses RFC 3339 UTC (`2026-11-24T14:03:05.123Z`); digits past the
    /// millisecond are dropped.
    pub fn parse(text: &str) -> Option<Timestamp> {
        Timestamp::from_system_time(humantime::parse_rfc3339(text).ok()?)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn unix_millis(&self) -> u64 {
        self.millis
    }

    /// As a [`SystemTime`].
    pub fn system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.millis)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // In range by construction, so humantime never fails here.
        write!(
            f,
            "{}",
            humantime::format_rfc3339_millis(self.system_time())
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(
                "`time` is not an RFC 3339 UTC time from 1970 to 9999 \
                 (like 2026-11-24T14:03:05.123Z)",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_milliseconds() {
        let t = Timestamp::from_unix_millis(1_795_010_585_123).expect("in range");
        assert_eq!(t.to_string(), "2026-11-18T14:03:05.123Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        assert_eq!(
            Timestamp::from_unix_millis(0)
                .map(|t| t.to_string())
                .as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
        assert_eq!(
            Timestamp::from_unix_millis(MAX_MILLIS)
                .map(|t| t.to_string())
                .as_deref(),
            Some("9999-12-31T23:59:59.999Z")
        );
        assert_eq!(Timestamp::from_unix_millis(MAX_MILLIS + 1), None);
        assert_eq!(
            Timestamp::from_system_time(UNIX_EPOCH - Duration::from_secs(1)),
            None
        );
        assert_eq!(Timestamp::parse("2026-11-24 14:03:05"), None);
        assert_eq!(Timestamp::parse("2026-11-24T14:03:05+01:00"), None);
    }
}
