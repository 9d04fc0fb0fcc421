//! The `progress` import of `warden:plugin/tool@0.2.0`: what a guest
//! reports while a call runs, checked and bounded, handed to whoever waits
//! for the call (`warden mcp` forwards it as `notifications/progress`).
//!
//! A guest controls every value, so the host forwards only what is honest
//! and bounded: `progress` must be finite and greater than the last value
//! forwarded (MCP requires it to increase), `total` finite and not
//! negative (else it is left out), the message cut to
//! [`MAX_MESSAGE_BYTES`] with secrets redacted, and at most
//! [`MAX_REPORTS`] reports per call. Everything else is dropped, silently
//! for the guest: reporting progress never fails a call.

use tokio::sync::mpsc::UnboundedSender;

use crate::bindings::tool_v2::warden::plugin::progress as wit_progress;
use crate::sandbox::SandboxState;
use crate::secret::Redactor;

/// The most reports forwarded for one call.
pub const MAX_REPORTS: u32 = 1000;

/// The longest message forwarded, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// One progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// How far the call has got.
    pub progress: f64,
    /// Out of how much, if known.
    pub total: Option<f64>,
    /// For people.
    pub message: Option<String>,
}

/// Where a call's progress goes: the receiving end gets each report that
/// passes the checks, in order.
pub type ProgressSender = UnboundedSender<Progress>;

/// The host side of one call's `progress` import.
pub(crate) struct ProgressSink {
    sender: ProgressSender,
    redactor: Redactor,
    last: Option<f64>,
    sent: u32,
}

impl ProgressSink {
    /// Reports go to `sender`, with `redactor`'s secrets removed.
    pub(crate) fn new(sender: ProgressSender, redactor: Redactor) -> ProgressSink {
        ProgressSink {
            sender,
            redactor,
            last: None,
            sent: 0,
        }
    }

    /// Checks one report and forwards it if it passes.
    pub(crate) fn report(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        let increases = progress.is_finite() && self.last.is_none_or(|last| progress > last);
        if !increases || self.sent >= MAX_REPORTS {
            return;
        }
        let total = total.filter(|t| t.is_finite() && *t >= 0.0);
        let message = message.map(|m| {
            self.redactor
                .redact(crate::bounds::prefix_within(&m, MAX_MESSAGE_BYTES))
        });
        // The caller may have stopped listening; the call goes on.
        let _ = self.sender.send(Progress {
            progress,
            total,
            message,
        });
        self.last = Some(progress);
        self.sent += 1;
    }
}

impl wit_progress::Host for SandboxState {
    fn report(
        &mut self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> wasmtime::Result<()> {
        if let Some(sink) = &mut self.progress {
            sink.report(progress, total, message);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> (ProgressSink, tokio::sync::mpsc::UnboundedReceiver<Progress>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (ProgressSink::new(tx, Redactor::default()), rx)
    }

    fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Progress>) -> Vec<Progress> {
        let mut out = Vec::new();
        while let Ok(p) = rx.try_recv() {
            out.push(p);
        }
        out
    }

    #[test]
    fn only_finite_increasing_progress_is_forwarded() {
        let (mut s, mut rx) = sink();
        s.report(1.0, Some(3.0), None);
        s.report(1.0, None, None); // not greater
        s.report(0.5, None, None); // backwards
        s.report(f64::NAN, None, None);
        s.report(f64::INFINITY, None, None);
        s.report(2.0, Some(f64::NAN), Some("two".into()));
        s.report(3.0, Some(-1.0), None);
        let got = drain(&mut rx);
        let values: Vec<f64> = got.iter().map(|p| p.progress).collect();
        assert_eq!(values, [1.0, 2.0, 3.0]);
        assert_eq!(got[0].total, Some(3.0));
        assert_eq!(got[1].total, None, "a NaN total is left out");
        assert_eq!(got[2].total, None, "a negative total is left out");
        assert_eq!(got[1].message.as_deref(), Some("two"));
    }

    #[test]
    fn a_flood_of_reports_is_bounded_and_messages_are_cut() {
        let (mut s, mut rx) = sink();
        let long = "é".repeat(MAX_MESSAGE_BYTES); // two bytes each
        for i in 0..(MAX_REPORTS as usize * 5) {
            s.report(i as f64, None, Some(long.clone()));
        }
        let got = drain(&mut rx);
        assert_eq!(got.len(), MAX_REPORTS as usize);
        let message = got[0].message.as_deref().unwrap_or_default();
        assert!(message.len() <= MAX_MESSAGE_BYTES && message.starts_with('é'));
    }

    #[test]
    fn a_caller_that_stopped_listening_does_not_fail_the_guest() {
        let (mut s, rx) = sink();
        drop(rx);
        s.report(1.0, None, None);
    }
}
