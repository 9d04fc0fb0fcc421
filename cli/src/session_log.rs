//! Recording a run: the session file (saved atomically after every step, so
//! a crash leaves a readable session to resume) and progress lines on
//! stderr. (The audit record of every model turn, tool call and denial is
//! written by the runtime, on the library's call path.)
//! Also history compaction (in the library, on the broker's model path).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden::agent::compaction::{Compaction, compact_history};
use warden::agent::{Broker, ContextFailure, ResidencyGuard, RunEvent, RunObserver};
use warden::bindings::planner::warden::plugin::chat::{
    Message as WitMessage, Role as WitRole, ToolCall as WitToolCall,
};
use warden_agent::compaction::Budget;
use warden_agent::{
    ExecutorRun, Message, Role, Session, SessionStore, Status, Step, StepKind, ToolCall,
};

pub use warden::agent::compaction::{HISTORY_TOKEN_BUDGET, KEEP_LAST_TURNS};

/// A session message as the planner sees it.
pub fn to_wit(m: &Message) -> WitMessage {
    WitMessage {
        role: match m.role {
            Role::System => WitRole::System,
            Role::User => WitRole::User,
            Role::Assistant => WitRole::Assistant,
            Role::Tool => WitRole::Tool,
        },
        content: m.content.clone(),
        tool_calls: m
            .tool_calls
            .iter()
            .map(|c| WitToolCall {
                id: c.id.clone(),
                name: c.name.clone(),
                arguments: c.arguments.clone(),
            })
            .collect(),
        tool_call_id: m.tool_call_id.clone(),
    }
}

/// A planner's message as the session records it.
pub fn from_wit(m: &WitMessage) -> Message {
    Message {
        role: match m.role {
            WitRole::System => Role::System,
            WitRole::User => Role::User,
            WitRole::Assistant => Role::Assistant,
            WitRole::Tool => Role::Tool,
        },
        content: m.content.clone(),
        tool_calls: m
            .tool_calls
            .iter()
            .map(|c| ToolCall::new(c.id.clone(), c.name.clone(), c.arguments.clone()))
            .collect(),
        tool_call_id: m.tool_call_id.clone(),
    }
}

struct Inner {
    store: SessionStore,
    session: Session,
    /// `session.messages.len()` when the run started.
    base_len: usize,
    /// Non-system messages of the history the planner was given (its
    /// requests repeat them before the new ones).
    history_len: usize,
}

/// The run observer of `warden run`.
pub struct SessionRecorder {
    inner: Mutex<Inner>,
    progress: bool,
    /// Depth of the turn whose text is being printed as it streams, if any.
    streaming: Mutex<Option<u32>>,
    /// The run's data-residency state: the session keeps the classes the
    /// run carries from the step they enter it.
    residency: Option<Arc<ResidencyGuard>>,
    /// What the user should know although the run went on (a note the
    /// shared context refused).
    warnings: Mutex<Vec<String>>,
}

impl SessionRecorder {
    /// Records into `session` (saved in `store`); `history` is what the
    /// planner was given. The runtime, not the recorder, writes the audit
    /// record of every call.
    pub fn new(
        store: SessionStore,
        session: Session,
        history: &[Message],
        progress: bool,
    ) -> SessionRecorder {
        SessionRecorder {
            inner: Mutex::new(Inner {
                base_len: session.messages.len(),
                history_len: history.iter().filter(|m| m.role != Role::System).count(),
                store,
                session,
            }),
            progress,
            streaming: Mutex::new(None),
            residency: None,
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// Saves the data classes `guard` says the run carries with every
    /// step, so a run that fails or crashes midway leaves a session that
    /// still carries them (a resumed run starts with them).
    pub fn with_residency(mut self, guard: Arc<ResidencyGuard>) -> SessionRecorder {
        self.residency = Some(guard);
        self
    }

    /// The warnings of the run so far (printed as they happened when
    /// progress is shown).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Keeps `warning` (and prints it, with `hint`, if progress is shown).
    fn warn(&self, warning: String, hint: &str) {
        if self.progress {
            eprintln!("warning: {warning}\nhint: {hint}");
        }
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(warning);
    }

    /// Adds the classes the run carries now to the session.
    fn carry(&self, inner: &mut Inner) {
        if let Some(guard) = &self.residency {
            inner.session.carry_classes(guard.classes());
        }
    }

    /// Prints a streamed piece of a model turn's text on stderr, after
    /// `  model: ` for the first piece of the turn.
    fn show_delta(&self, depth: u32, text: &str) {
        use std::io::Write;
        let mut streaming = self.streaming.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        if *streaming != Some(depth) {
            if streaming.is_some() {
                let _ = writeln!(err);
            }
            let _ = write!(
                err,
                "  {}model: ",
                if depth > 0 { "executor: " } else { "" }
            );
            *streaming = Some(depth);
        }
        let _ = write!(err, "{text}");
        let _ = err.flush();
    }

    /// Ends the line of streamed text, if one is open.
    fn end_stream(&self) {
        let mut streaming = self.streaming.lock().unwrap_or_else(|p| p.into_inner());
        if streaming.take().is_some() {
            eprintln!();
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the session (e.g. to point at its recording) and saves it.
    pub fn update(&self, change: impl FnOnce(&mut Session)) {
        let mut inner = self.inner();
        change(&mut inner.session);
        self.carry(&mut inner);
        save(&inner);
    }

    /// Marks the session done (or failed), saves it and returns it.
    pub fn finish(&self, status: Status, answer: Option<&str>) -> Option<Session> {
        let mut inner = self.inner();
        if let Some(answer) = answer {
            // The final answer is the last message, whatever the planner
            // made of it.
            let last = inner.session.messages.last();
            if !last.is_some_and(|m| m.role == Role::Assistant && m.content == answer) {
                inner
                    .session
                    .push_message(Message::assistant(answer, Vec::new()));
            }
        }
        inner.session.set_status(status);
        self.carry(&mut inner);
        save(&inner);
        Some(inner.session.clone())
    }
}

fn save(inner: &Inner) {
    if let Err(e) = inner.store.save(&inner.session) {
        eprintln!("warning: the session could not be saved: {e}");
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RunObserver for SessionRecorder {
    fn event(&self, event: RunEvent<'_>) {
        // Streamed text is shown, not saved: the turn's completion is.
        if let RunEvent::ModelDelta { depth, text } = event {
            if self.progress {
                self.show_delta(depth, text);
            }
            return;
        }
        if self.progress {
            self.end_stream();
        }
        let mut inner = self.inner();
        let prefix = |depth: u32| if depth > 0 { "executor: " } else { "" };
        match event {
            RunEvent::ModelDelta { .. } => {}
            RunEvent::Model {
                depth,
                request,
                result,
                stats: _,
                duration,
            } => {
                if depth == 0 {
                    // Each request repeats the conversation so far: keep the
                    // session's copy of this run equal to it.
                    let fresh: Vec<Message> = request
                        .messages
                        .iter()
                        .filter(|m| m.role != WitRole::System)
                        .skip(inner.history_len)
                        .map(from_wit)
                        .collect();
                    let base = inner.base_len;
                    inner.session.messages.truncate(base);
                    inner.session.messages.extend(fresh);
                    if let Ok(c) = result {
                        inner.session.push_message(from_wit(&c.message));
                    }
                }
                if let Ok(c) = result {
                    inner.session.add_usage(warden_agent::TokenUsage {
                        prompt_tokens: u64::from(c.usage.prompt_tokens),
                        completion_tokens: u64::from(c.usage.completion_tokens),
                    });
                }
                let error = result.as_ref().err().map(|e| format!("{e:?}"));
                inner.session.record_step(Step {
                    kind: StepKind::Model,
                    name: format!("{}model", prefix(depth)),
                    ok: result.is_ok(),
                    duration_ms: millis(duration),
                    error: error.clone(),
                });
                if self.progress {
                    match (&error, result) {
                        (None, Ok(c)) if !c.message.tool_calls.is_empty() => eprintln!(
                            "  {}model asks for {}",
                            prefix(depth),
                            c.message
                                .tool_calls
                                .iter()
                                .map(|t| t.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        (None, _) => eprintln!("  {}model answered", prefix(depth)),
                        (Some(e), _) => eprintln!("  {}model failed: {e}", prefix(depth)),
                    }
                }
            }
            RunEvent::Tool {
                depth,
                component: _,
                call,
                result,
                duration,
            } => {
                let error = result.as_ref().err().map(ToString::to_string);
                if depth == 0 {
                    // Kept now, so a crash before the next model turn loses
                    // nothing; the next turn's request replaces it with the
                    // planner's own copy.
                    let content = match result {
                        Ok(report) => report.output.to_string(),
                        Err(e) => e.to_string(),
                    };
                    inner
                        .session
                        .push_message(Message::tool_result(call.id.clone(), content));
                }
                inner.session.record_step(Step {
                    kind: StepKind::Tool,
                    name: format!("{}{}", prefix(depth), call.name),
                    ok: result.is_ok(),
                    duration_ms: millis(duration),
                    error: error.clone(),
                });
                if self.progress {
                    match &error {
                        None => eprintln!(
                            "  {}{} ok ({} ms)",
                            prefix(depth),
                            call.name,
                            millis(duration)
                        ),
                        Some(e) => eprintln!("  {}{} failed: {e}", prefix(depth), call.name),
                    }
                }
            }
            RunEvent::Denied { depth, denial } => {
                if self.progress {
                    eprintln!(
                        "  {}refused {}: {}",
                        prefix(depth),
                        denial.target,
                        denial.reason
                    );
                }
            }
            RunEvent::Context { call, result, .. } => {
                // A write the store refused for its limits: the run goes
                // on, but the user should know what was not kept.
                if let (true, Err(ContextFailure::Full(m) | ContextFailure::TooLarge(m))) =
                    (call.writes(), result)
                {
                    self.warn(
                        format!("the shared context was not changed: {m}"),
                        &format!(
                            "see what `{ns}` holds with `warden context list {ns}` and remove \
                             what is no longer needed with `warden context rm {ns} KEY`, or \
                             ask for a larger `max_namespace` in the org policy's [context]",
                            ns = call.namespace()
                        ),
                    );
                }
            }
            RunEvent::Delegation {
                depth,
                task,
                result,
                transcript,
                duration,
            } => {
                let error = result.as_ref().err().map(|e| format!("{e:?}"));
                inner.session.record_step(Step {
                    kind: StepKind::Delegation,
                    name: task.chars().take(120).collect(),
                    ok: result.is_ok(),
                    duration_ms: millis(duration),
                    error: error.clone(),
                });
                inner.session.executors.push(ExecutorRun {
                    task: task.to_string(),
                    ok: result.is_ok(),
                    error,
                    duration_ms: millis(duration),
                    messages: transcript
                        .iter()
                        .filter(|m| m.role != WitRole::System)
                        .map(from_wit)
                        .collect(),
                });
                if self.progress {
                    eprintln!(
                        "  {}executor {} ({} ms)",
                        prefix(depth),
                        if result.is_ok() { "finished" } else { "failed" },
                        millis(duration)
                    );
                }
            }
        }
        self.carry(&mut inner);
        save(&inner);
    }
}

/// Compacts `session`'s history before a resumed run when it is over
/// [`HISTORY_TOKEN_BUDGET`], through `broker`'s model path (so the run's
/// data-residency labels decide where the old turns may go), and says what
/// happened. The original messages stay in the file; a refused or failed
/// summary leaves the history as it is (with a warning).
pub async fn compact(broker: &Broker, session: &mut Session, quiet: bool) {
    match compact_history(
        broker,
        session,
        Budget::Tokens(HISTORY_TOKEN_BUDGET),
        KEEP_LAST_TURNS,
    )
    .await
    {
        Compaction::NotNeeded => {}
        Compaction::Summarised { messages } => {
            if !quiet {
                eprintln!("compacted the session history: {messages} messages summarised");
            }
        }
        Compaction::Refused(d) => eprintln!(
            "warning: the history was not compacted: {}; it is kept as it is",
            d.reason
        ),
        Compaction::Failed(e) => eprintln!("warning: the history was not compacted: {e}"),
    }
}
