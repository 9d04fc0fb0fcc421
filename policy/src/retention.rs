//! How long sessions may be kept: the org policy's `[sessions]` table.
//!
//! ```toml
//! [sessions]
//! max_keep = "90d"   # no session outlives this, whatever agent.toml says
//! # persist = false  # or: no session is kept once its run ends
//! ```
//!
//! A workspace's own retention (`[sessions] keep` in `agent.toml`) applies
//! under this ceiling: the shorter of the two wins.

use serde::Deserialize;
use warden_core::units::{BareNumber, format_age, parse_duration_ms};

/// The org policy's ceiling on session retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCeiling {
    /// The longest a session may be kept, in milliseconds (`None`: no cap).
    pub max_keep_ms: Option<u64>,
    /// Whether sessions may be kept after their run at all.
    pub persist: bool,
}

/// The raw `[sessions]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSessions {
    max_keep: Option<String>,
    persist: Option<bool>,
}

impl SessionCeiling {
    /// Checks the raw table.
    pub(crate) fn from_raw(raw: RawSessions) -> Result<SessionCeiling, String> {
        let max_keep_ms = raw
            .max_keep
            .map(|t| {
                parse_duration_ms(&t, BareNumber::Refuse)
                    .map_err(|e| format!("`sessions.max_keep`: {e}"))
            })
            .transpose()?;
        if max_keep_ms == Some(0) {
            return Err(
                "`sessions.max_keep` must be longer than 0; to keep no session, write \
                 persist = false"
                    .into(),
            );
        }
        Ok(SessionCeiling {
            max_keep_ms,
            persist: raw.persist.unwrap_or(true),
        })
    }

    /// The retention that applies to a workspace asking for `keep_ms`
    /// (`None`: keep forever): the shorter of the two; `Some(0)` when
    /// sessions may not persist at all.
    pub fn apply(ceiling: Option<&SessionCeiling>, keep_ms: Option<u64>) -> Option<u64> {
        match ceiling {
            None => keep_ms,
            Some(c) if !c.persist => Some(0),
            Some(c) => match (c.max_keep_ms, keep_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    /// One line for `warden policy explain`.
    pub fn explain(&self) -> String {
        match (self.persist, self.max_keep_ms) {
            (false, _) => "sessions: not kept after their run (org policy: persist = false)".into(),
            (true, Some(ms)) => format!(
                "sessions: kept at most {} (org policy: max_keep)",
                format_age(ms)
            ),
            (true, None) => "sessions: no org limit on how long they are kept".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceiling(max_keep: Option<&str>, persist: Option<bool>) -> Result<SessionCeiling, String> {
        SessionCeiling::from_raw(RawSessions {
            max_keep: max_keep.map(str::to_string),
            persist,
        })
    }

    #[test]
    fn the_shorter_retention_wins_and_persist_false_keeps_nothing() {
        let day = 86_400_000;
        let c = ceiling(Some("7d"), None).expect("valid");
        assert_eq!(
            SessionCeiling::apply(Some(&c), Some(30 * day)),
            Some(7 * day)
        );
        assert_eq!(SessionCeiling::apply(Some(&c), Some(day)), Some(day));
        assert_eq!(SessionCeiling::apply(Some(&c), None), Some(7 * day));
        assert_eq!(SessionCeiling::apply(None, Some(day)), Some(day));
        assert_eq!(SessionCeiling::apply(None, None), None);
        let none = ceiling(None, Some(false)).expect("valid");
        assert_eq!(SessionCeiling::apply(Some(&none), Some(day)), Some(0));
        assert!(
            ceiling(Some("0s"), None)
                .expect_err("refused")
                .contains("persist = false")
        );
        assert!(
            ceiling(Some("30"), None)
                .expect_err("refused")
                .contains("needs a unit")
        );
    }
}
