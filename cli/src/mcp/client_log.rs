//! Guest log lines as MCP `notifications/message`, at the level the client
//! chose with `logging/setLevel`.
//!
//! Until the client sets a level nothing is sent (the lines still go to
//! stderr, as for `warden tool call`). Each session (the stdio client, or
//! one HTTP session) has its own level.
//!
//! The 2026-07-28 revision deprecates logging (SEP-2577, hence the `allow`);
//! clients of 2025-11-25 and earlier still use it.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::service::{Peer, RoleServer};
use serde_json::json;
use warden::guest_log::{CapturedLog, LogLine};

/// One session's chosen level.
#[derive(Clone, Default)]
pub struct ClientLog {
    level: Arc<Mutex<Option<LoggingLevel>>>,
}

impl ClientLog {
    /// Sets the level from `logging/setLevel`.
    pub fn set(&self, level: LoggingLevel) {
        *self.level.lock().unwrap_or_else(|p| p.into_inner()) = Some(level);
    }

    fn level(&self) -> Option<LoggingLevel> {
        *self.level.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends the lines of `log` at or above the session's level to `peer`,
    /// tagged with `component`; a line dropped for the log budget is
    /// reported as one `warning`.
    pub async fn forward(&self, peer: &Peer<RoleServer>, component: &str, log: &CapturedLog) {
        let Some(threshold) = self.level() else {
            return;
        };
        for line in &log.lines {
            let level = level_of(line);
            if rank(level) < rank(threshold) {
                continue;
            }
            let data = json!({ "message": line.message, "source": line.source });
            let mut param = LoggingMessageNotificationParam::new(level, data);
            param.logger = Some(component.to_string());
            if peer.notify_logging_message(param).await.is_err() {
                return; // The client went away; the call's own answer says so.
            }
        }
        if log.dropped_bytes > 0 && rank(LoggingLevel::Warning) >= rank(threshold) {
            let data = json!({
                "message": format!("{} bytes of log dropped (over the call's log budget)", log.dropped_bytes)
            });
            let mut param = LoggingMessageNotificationParam::new(LoggingLevel::Warning, data);
            param.logger = Some(component.to_string());
            let _ = peer.notify_logging_message(param).await;
        }
    }
}

/// `level`'s severity, lowest first (the spec's order).
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// The MCP level of a guest line (`trace` has no MCP level and maps to
/// `debug`).
fn level_of(line: &LogLine) -> LoggingLevel {
    match line.level {
        "trace" | "debug" => LoggingLevel::Debug,
        "warn" | "warning" => LoggingLevel::Warning,
        "error" => LoggingLevel::Error,
        _ => LoggingLevel::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden::guest_log::LogSource;

    #[test]
    fn guest_levels_map_to_mcp_levels_in_order() {
        let line = |level| LogLine {
            source: LogSource::Log,
            level,
            message: String::new(),
        };
        let mapped: Vec<_> = ["trace", "debug", "info", "warn", "error"]
            .into_iter()
            .map(|l| level_of(&line(l)))
            .collect();
        assert_eq!(
            mapped,
            [
                LoggingLevel::Debug,
                LoggingLevel::Debug,
                LoggingLevel::Info,
                LoggingLevel::Warning,
                LoggingLevel::Error
            ]
        );
        assert!(rank(LoggingLevel::Warning) > rank(LoggingLevel::Info));
    }
}
