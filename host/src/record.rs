//! The *record* step of the call path: the audit record of every call the
//! runtime makes.
//!
//! A [`Runtime`](crate::Runtime) is built with an [`AuditSink`]; every
//! tool call, model completion and planner run it makes ends in the sink,
//! whoever asked for it (`warden tool call`, `warden mcp`, the agent
//! broker, a program using the library). A runtime that should record
//! nothing is built with [`AuditSink::disabled`], said explicitly.
//!
//! This is the only place an [`AuditEvent::Call`] is built: entry points
//! never write call records themselves, so a new one cannot forget to.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_audit::{AuditError, AuditEvent, AuditLog, argument_digest};
use warden_core::Digest;

use crate::bindings::Denial;
use crate::call::CallStats;
use crate::error::capability_name;

/// What to do when a record cannot be written: the call has already
/// happened, so it is reported, not undone.
type FailureHandler = Arc<dyn Fn(&AuditError) + Send + Sync>;

/// Where the runtime writes the audit record of each call.
#[derive(Clone)]
pub struct AuditSink {
    log: Option<Arc<AuditLog>>,
    on_failure: FailureHandler,
}

impl fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.log {
            Some(log) => f.debug_tuple("AuditSink").field(&log.path()).finish(),
            None => f.write_str("AuditSink(disabled)"),
        }
    }
}

impl AuditSink {
    /// Records every call in `log`. A record that cannot be written is
    /// reported through `tracing` at error level (see
    /// [`AuditSink::on_failure`]).
    pub fn log(log: AuditLog) -> AuditSink {
        AuditSink {
            log: Some(Arc::new(log)),
            on_failure: Arc::new(|e| {
                tracing::error!("a call was not recorded in the audit log: {e}")
            }),
        }
    }

    /// Records nothing. Only for programs that keep no audit trail on
    /// purpose (tests, benchmarks, embedders with their own).
    pub fn disabled() -> AuditSink {
        AuditSink {
            log: None,
            on_failure: Arc::new(|_| {}),
        }
    }

    /// Calls `handler` with the error when a record cannot be written,
    /// instead of logging it.
    pub fn on_failure(
        mut self,
        handler: impl Fn(&AuditError) + Send + Sync + 'static,
    ) -> AuditSink {
        self.on_failure = Arc::new(handler);
        self
    }

    /// Whether calls are recorded.
    pub fn is_enabled(&self) -> bool {
        self.log.is_some()
    }

    /// The log calls are recorded in, if any.
    pub fn audit_log(&self) -> Option<&AuditLog> {
        self.log.as_deref()
    }

    /// Records a denial made outside any call (the broker refusing a tool
    /// the planner is not given).
    pub(crate) fn record_denial(&self, component: &str, digest: Option<&Digest>, denial: &Denial) {
        let Some(log) = &self.log else {
            return;
        };
        if let Err(e) = log.append(denial_event(component, digest, denial), &[]) {
            (self.on_failure)(&e);
        }
    }

    /// Records a question put to the user (an `ask` rule) and the answer,
    /// before the call it is about runs (or is refused).
    pub(crate) fn record_approval(
        &self,
        question: &crate::approval::Question,
        answer: &crate::approval::Answer,
        channel: &str,
    ) {
        let Some(log) = &self.log else {
            return;
        };
        let detail = match answer {
            crate::approval::Answer::Unavailable { reason } => reason.clone(),
            _ => channel.to_string(),
        };
        let event = AuditEvent::Approval {
            component: question.component.clone(),
            digest: question.digest.to_string(),
            function: question.tool.clone(),
            capabilities: question.capabilities.clone(),
            question: question.text(),
            answer: answer.as_str().to_string(),
            detail,
        };
        if let Err(e) = log.append(event, &[]) {
            (self.on_failure)(&e);
        }
    }

    /// Records where a model request went under the data-residency policy
    /// (`provider`: the one it was sent to, or kept from).
    pub(crate) fn record_route(
        &self,
        provider: &str,
        decision: &crate::agent::residency::RouteDecision,
    ) {
        let Some(log) = &self.log else {
            return;
        };
        use crate::agent::residency::Route;
        let event = AuditEvent::ModelRoute {
            provider: provider.to_string(),
            classes: decision.classes.clone(),
            decision: match decision.route {
                Route::Primary => "sent",
                Route::Fallback => "fallback",
                Route::Refused { .. } => "refused",
            }
            .to_string(),
            reason: decision.reason.clone(),
        };
        if let Err(e) = log.append(event, &[]) {
            (self.on_failure)(&e);
        }
    }

    /// Records a write of the shared context store (its digest, namespace
    /// and size; never the value).
    pub(crate) fn record_context_write(&self, component: &str, receipt: &warden_agent::PutReceipt) {
        let Some(log) = &self.log else {
            return;
        };
        let event = AuditEvent::ContextWrite {
            component: component.to_string(),
            namespace: receipt.namespace.clone(),
            digest: receipt.digest.to_string(),
            size: receipt.size,
            removed: false,
            classes: receipt.classes.clone(),
        };
        if let Err(e) = log.append(event, &[]) {
            (self.on_failure)(&e);
        }
    }

    /// Records that `component` removed an entry of the shared context:
    /// the namespace, and the digest and size of the value removed.
    pub(crate) fn record_context_removal(
        &self,
        component: &str,
        namespace: &str,
        removed: &warden_agent::ContextEntry,
    ) {
        let Some(log) = &self.log else {
            return;
        };
        let event = AuditEvent::ContextWrite {
            component: component.to_string(),
            namespace: namespace.to_string(),
            digest: warden_core::Digest::of(removed.value.as_bytes()).to_string(),
            size: removed.value.len() as u64,
            removed: true,
            classes: removed.classes.clone(),
        };
        if let Err(e) = log.append(event, &[]) {
            (self.on_failure)(&e);
        }
    }

    /// Writes the record of `call` (and of its denial, if it was denied).
    pub(crate) fn record(&self, call: &CallRecord<'_>) {
        let Some(log) = &self.log else {
            return;
        };
        for event in call.events() {
            if let Err(e) = log.append(event, &call.secrets) {
                (self.on_failure)(&e);
                return;
            }
        }
    }
}

/// Records a call as `cancelled` if it is dropped before it ends: the
/// caller stopped waiting (an MCP client's `notifications/cancelled`, a
/// closed connection, an aborted task), so the guest's store was dropped
/// with the call. [`CancelGuard::finish`] disarms it once the call ended.
pub(crate) struct CancelGuard<'a> {
    sink: &'a AuditSink,
    call: Option<CallRecord<'a>>,
    started: Instant,
}

impl<'a> CancelGuard<'a> {
    /// Arms the guard for the call `call` describes (its outcome, stats
    /// and denial are ignored).
    pub(crate) fn new(sink: &'a AuditSink, call: CallRecord<'a>) -> CancelGuard<'a> {
        CancelGuard {
            sink,
            call: Some(call),
            started: Instant::now(),
        }
    }

    /// When the call started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// The call ended (however it ended): nothing to record on drop.
    pub(crate) fn finish(mut self) {
        self.call = None;
    }
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if let Some(mut call) = self.call.take() {
            call.outcome = "cancelled";
            call.duration = self.started.elapsed();
            call.stats = None;
            call.denial = None;
            call.used = None;
            self.sink.record(&call);
        }
    }
}

/// What one call was, for its audit record.
pub(crate) struct CallRecord<'a> {
    /// The component's name.
    pub(crate) component: &'a str,
    /// The digest of the component's bytes.
    pub(crate) digest: &'a Digest,
    /// The export called: a tool's name, `complete`, `run`.
    pub(crate) function: &'a str,
    /// The call's arguments; only their digest is recorded.
    pub(crate) arguments: &'a str,
    /// `ok` or the error's kind (`denied`, `timeout`, ...).
    pub(crate) outcome: &'a str,
    /// Wall-clock time of the call.
    pub(crate) duration: Duration,
    /// What the guest used, when the call ran to the end.
    pub(crate) stats: Option<&'a CallStats>,
    /// The host denial that ended the call, if any.
    pub(crate) denial: Option<&'a Denial>,
    /// Secret values granted to the call, redacted from the record.
    pub(crate) secrets: Vec<&'a str>,
    /// What the call used of its grant, when it ran to the end.
    pub(crate) used: Option<&'a crate::usage::Usage>,
}

impl CallRecord<'_> {
    /// The call event (with what it used, if anything: one record, one
    /// append), then the denial event if there was one.
    fn events(&self) -> Vec<AuditEvent> {
        let mut events = vec![AuditEvent::Call {
            component: self.component.to_string(),
            digest: self.digest.to_string(),
            function: self.function.to_string(),
            argument_digest: argument_digest(self.arguments),
            outcome: self.outcome.to_string(),
            duration_ms: self.duration.as_secs_f64() * 1000.0,
            fuel_used: self.stats.map(|s| s.fuel_used),
            peak_memory_bytes: self.stats.map(|s| s.peak_memory_bytes),
            used: self.used.filter(|u| !u.is_empty()).cloned(),
        }];
        if let Some(d) = self.denial {
            events.push(denial_event(self.component, Some(self.digest), d));
        }
        events
    }
}

/// The record of a denial.
fn denial_event(component: &str, digest: Option<&Digest>, denial: &Denial) -> AuditEvent {
    AuditEvent::Denial {
        component: component.to_string(),
        digest: digest.map(ToString::to_string),
        capability: capability_name(denial.capability).to_string(),
        target: denial.target.clone(),
        reason: denial.reason.clone(),
    }
}
