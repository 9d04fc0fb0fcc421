//! Replaying a recorded run ([`super::recording`]): the broker answers the
//! planner from the recording instead of the model and the tools, and
//! checks that every request the planner makes is the one recorded.
//!
//! Three modes ([`ReplayMode`]):
//! - `Offline`: every answer from the recording; no provider, no tool runs.
//! - `LiveTools`: the model's answers from the recording, tools run for
//!   real; a tool result that differs from the recorded one is a divergence.
//! - `ForkAt(n)`: steps before `n` from the recording, step `n` and the
//!   rest live (a fork onto another model).
//!
//! A request that differs from the recorded one stops the run: the broker
//! traps the planner and the [`Divergence`] (with both sides) is kept here
//! for the caller to report.

use std::sync::Mutex;

use serde::Serialize;

use super::context_call::ContextCall;
use super::recording::{Exchange, Recording};
use crate::bindings::ToolError;
use crate::bindings::planner::warden::plugin::chat::{
    Completion, CompletionRequest, ModelError, ToolCall,
};
use crate::bindings::planner::warden::plugin::planning::{Delegation, Outcome, RunError};

/// How a replay answers the planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// Every answer from the recording.
    Offline,
    /// Model answers from the recording; tools run for real and their
    /// results are compared with the recorded ones.
    LiveTools,
    /// Steps before this one from the recording, the rest live.
    ForkAt(u64),
}

/// Where a replay stopped because the planner (or a live tool) did not do
/// what the recording says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The step (1-based) at which it diverged.
    pub step: u64,
    /// What differs, in words ("the model request", "the result of tool
    /// call `c1` (`read_file`)").
    pub what: String,
    /// The recorded side, pretty-printed.
    pub expected: String,
    /// The side this run produced, pretty-printed.
    pub actual: String,
}

impl Divergence {
    /// A line diff of `expected` and `actual`: `-` recorded, `+` this run,
    /// long unchanged stretches elided.
    pub fn diff(&self) -> String {
        line_diff(&self.expected, &self.actual)
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the replay diverged at step {}: {} differs from the recording",
            self.step, self.what
        )
    }
}

#[derive(Debug, Default)]
struct Cursor {
    /// Steps answered so far.
    next: usize,
    divergence: Option<Divergence>,
}

/// Answers a planner's broker requests from a recording.
#[derive(Debug)]
pub struct Replayer {
    recording: Recording,
    mode: ReplayMode,
    cursor: Mutex<Cursor>,
}

/// The results of one `call-tools` request, in the order of its calls.
pub(crate) type ToolResults = Vec<Result<String, ToolError>>;

/// What the broker should do with a request.
pub(crate) enum Answer<T> {
    /// Answer this (from the recording).
    Recorded(T),
    /// Run it live (after a fork point, or a live tool).
    Live,
}

/// The error a diverged replay traps the planner with.
pub(crate) fn diverged(d: &Divergence) -> wasmtime::Error {
    wasmtime::Error::msg(d.to_string())
}

fn pretty<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("<not serialisable: {e}>"))
}

fn same<T: Serialize, U: Serialize>(a: &T, b: &U) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl Replayer {
    /// A replayer of `recording` in `mode`.
    pub fn new(recording: Recording, mode: ReplayMode) -> Replayer {
        Replayer {
            recording,
            mode,
            cursor: Mutex::new(Cursor::default()),
        }
    }

    /// The recording.
    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// The mode.
    pub fn mode(&self) -> ReplayMode {
        self.mode
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, Cursor> {
        self.cursor.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the replay diverged, if it did.
    pub fn divergence(&self) -> Option<Divergence> {
        self.cursor().divergence.clone()
    }

    /// Steps answered from the recording (or checked against it) so far.
    pub fn reproduced(&self) -> u64 {
        self.cursor().next as u64
    }

    /// Whether step `step` (1-based) runs live.
    fn live(&self, step: u64) -> bool {
        matches!(self.mode, ReplayMode::ForkAt(n) if step >= n)
    }

    /// Keeps the first divergence and returns the trap that stops the planner.
    fn diverge(&self, cursor: &mut Cursor, d: Divergence) -> wasmtime::Error {
        let err = diverged(&d);
        cursor.divergence.get_or_insert(d);
        err
    }

    /// Takes the next recorded step if it is of the kind `kind` and its
    /// request equals `actual`; a divergence otherwise.
    fn take<R: Serialize>(
        &self,
        kind: &str,
        what: &str,
        actual: &R,
        request_of: impl Fn(&Exchange) -> Option<serde_json::Value>,
    ) -> wasmtime::Result<Option<(u64, Exchange)>> {
        let mut cursor = self.cursor();
        if let Some(d) = &cursor.divergence {
            return Err(diverged(d));
        }
        let step = cursor.next as u64 + 1;
        if self.live(step) {
            return Ok(None);
        }
        let actual_text = pretty(&serde_json::json!({ "kind": kind, "request": actual }));
        let Some(recorded) = self.recording.steps().get(cursor.next).cloned() else {
            let d = Divergence {
                step,
                what: format!("{what} (the recording ends after step {})", step - 1),
                expected: pretty(&serde_json::json!({ "kind": "end" })),
                actual: actual_text,
            };
            return Err(self.diverge(&mut cursor, d));
        };
        let expected = request_of(&recorded);
        let matches = expected
            .as_ref()
            .is_some_and(|e| serde_json::to_value(actual).is_ok_and(|a| &a == e));
        if !matches {
            let expected_text = pretty(&serde_json::json!({
                "kind": recorded.kind(),
                "request": expected.unwrap_or(serde_json::Value::Null),
            }));
            let d = Divergence {
                step,
                what: what.to_string(),
                expected: expected_text,
                actual: actual_text,
            };
            return Err(self.diverge(&mut cursor, d));
        }
        cursor.next += 1;
        Ok(Some((step, recorded)))
    }

    /// `broker.complete`: the recorded completion, if `request` is the
    /// recorded one.
    pub(crate) fn complete(
        &self,
        request: &CompletionRequest,
    ) -> wasmtime::Result<Answer<Result<Completion, ModelError>>> {
        let taken = self.take("complete", "the model request", request, |x| match x {
            Exchange::Complete { request, .. } => serde_json::to_value(request).ok(),
            _ => None,
        })?;
        Ok(match taken {
            Some((_, Exchange::Complete { answer, .. })) => Answer::Recorded(answer),
            _ => Answer::Live,
        })
    }

    /// `broker.call-tools`: the recorded results if `calls` are the
    /// recorded ones (in `LiveTools` mode: the recorded results to compare
    /// the live ones with, see [`Replayer::check_tool_results`]).
    pub(crate) fn call_tools(
        &self,
        calls: &[ToolCall],
    ) -> wasmtime::Result<Answer<(u64, ToolResults)>> {
        let taken = self.take("call-tools", "the tool calls", &calls, |x| match x {
            Exchange::CallTools { calls, .. } => serde_json::to_value(calls).ok(),
            _ => None,
        })?;
        Ok(match taken {
            Some((step, Exchange::CallTools { answer, .. })) => Answer::Recorded((step, answer)),
            _ => Answer::Live,
        })
    }

    /// `LiveTools`: compares the live results of `calls` (step `step`)
    /// with the recorded ones; the first that differs is a divergence.
    pub(crate) fn check_tool_results(
        &self,
        step: u64,
        calls: &[ToolCall],
        recorded: &[Result<String, ToolError>],
        live: &[Result<String, ToolError>],
    ) -> wasmtime::Result<()> {
        for (i, call) in calls.iter().enumerate() {
            let (r, l) = (recorded.get(i), live.get(i));
            if !same(&r, &l) {
                let mut cursor = self.cursor();
                let d = Divergence {
                    step,
                    what: format!("the result of tool call `{}` (`{}`)", call.id, call.name),
                    expected: result_text(r),
                    actual: result_text(l),
                };
                return Err(self.diverge(&mut cursor, d));
            }
        }
        Ok(())
    }

    /// `broker.delegate`: the recorded outcomes, if `requests` are the
    /// recorded ones.
    pub(crate) fn delegate(
        &self,
        requests: &[Delegation],
    ) -> wasmtime::Result<Answer<Vec<Result<Outcome, RunError>>>> {
        let taken = self.take("delegate", "the delegation", &requests, |x| match x {
            Exchange::Delegate { requests, .. } => serde_json::to_value(requests).ok(),
            _ => None,
        })?;
        Ok(match taken {
            Some((_, Exchange::Delegate { answer, .. })) => Answer::Recorded(answer),
            _ => Answer::Live,
        })
    }

    /// A `context` request: the recorded answer if `call` is the recorded
    /// request. A recording made before context requests were recorded
    /// (it holds none) answers none of them: they run as they did then.
    pub(crate) fn context(
        &self,
        call: &ContextCall,
    ) -> wasmtime::Result<Answer<super::context_call::ContextAnswer>> {
        let recorded_any = self
            .recording
            .steps()
            .iter()
            .any(|x| matches!(x, Exchange::Context { .. }));
        if !recorded_any {
            return Ok(Answer::Live);
        }
        let taken = self.take("context", "the context request", call, |x| match x {
            Exchange::Context { call, .. } => serde_json::to_value(call).ok(),
            _ => None,
        })?;
        Ok(match taken {
            Some((_, Exchange::Context { answer, .. })) => Answer::Recorded(answer),
            _ => Answer::Live,
        })
    }

    /// After the planner returned: the run must have used every recorded
    /// step and ended with the recorded answer. Returns the steps
    /// reproduced, or the divergence (also the one a broker call found).
    pub fn finish(&self, answer: Option<&str>, error: Option<&str>) -> Result<u64, Divergence> {
        let mut cursor = self.cursor();
        if let Some(d) = &cursor.divergence {
            return Err(d.clone());
        }
        if matches!(self.mode, ReplayMode::ForkAt(_)) {
            return Ok(cursor.next as u64);
        }
        let step = cursor.next as u64 + 1;
        if let Some(next) = self.recording.steps().get(cursor.next) {
            let d = Divergence {
                step,
                what: "the end of the run (the planner returned, the recording goes on)".into(),
                expected: pretty(&serde_json::json!({ "kind": next.kind() })),
                actual: pretty(
                    &serde_json::json!({ "kind": "end", "answer": answer, "error": error }),
                ),
            };
            cursor.divergence = Some(d.clone());
            return Err(d);
        }
        if let Some((rec_answer, rec_error)) = self.recording.end()
            && (rec_answer != answer || rec_error.is_some() != error.is_some())
        {
            let d = Divergence {
                step,
                what: "the run's answer".into(),
                expected: pretty(&serde_json::json!({ "answer": rec_answer, "error": rec_error })),
                actual: pretty(&serde_json::json!({ "answer": answer, "error": error })),
            };
            cursor.divergence = Some(d.clone());
            return Err(d);
        }
        Ok(cursor.next as u64)
    }
}

fn result_text(r: Option<&Result<String, ToolError>>) -> String {
    match r {
        Some(Ok(text)) => text.clone(),
        Some(Err(e)) => pretty(e),
        None => "(no result)".into(),
    }
}

/// Lines kept around a change in [`line_diff`].
const CONTEXT: usize = 3;
/// Texts longer than this many lines are compared in full but shown cut.
const MAX_DIFF_LINES: usize = 4000;

/// A line diff of two texts (longest common subsequence): ` ` both, `-`
/// only in `old`, `+` only in `new`; unchanged stretches longer than twice
/// [`CONTEXT`] lines are elided.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().take(MAX_DIFF_LINES).collect();
    let b: Vec<&str> = new.lines().take(MAX_DIFF_LINES).collect();
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<bool> = ops.iter().map(|(k, _)| *k != ' ').collect();
    let near = |k: usize| {
        let lo = k.saturating_sub(CONTEXT);
        let hi = (k + CONTEXT + 1).min(ops.len());
        changed[lo..hi].iter().any(|c| *c)
    };
    let mut out = String::new();
    let mut elided = false;
    for (k, (kind, line)) in ops.iter().enumerate() {
        if near(k) {
            out.push_str(&format!("{kind} {line}\n"));
            elided = false;
        } else if !elided {
            out.push_str("  …\n");
            elided = true;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_line_diff_marks_removed_and_added_lines() {
        let d = line_diff("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(d, "  a\n- b\n+ B\n  c\n");
    }

    #[test]
    fn a_line_diff_elides_long_unchanged_stretches() {
        let old: String = (0..40).map(|i| format!("{i}\n")).collect();
        let new = old.replace("20\n", "twenty\n");
        let d = line_diff(&old, &new);
        assert!(d.contains("- 20\n+ twenty\n"), "{d}");
        assert!(d.contains("…"), "{d}");
        assert!(!d.contains("  5\n"), "{d}");
    }

    fn recording_with(steps: &[Exchange]) -> (tempfile::TempDir, Recording) {
        use super::super::recording::{RecordedLimits, Recorder, RecordingHeader, WIT_PACKAGE};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        let header = RecordingHeader {
            format: super::super::recording::RECORDING_FORMAT,
            wit: WIT_PACKAGE.into(),
            session: "s".into(),
            task: "t".into(),
            planner: "planner".into(),
            components: Default::default(),
            tools: Vec::new(),
            history: Vec::new(),
            skills: Vec::new(),
            limits: RecordedLimits {
                max_turns: 3,
                max_tool_calls: 3,
                token_budget: 100,
                wall_clock_ms: 1000,
                max_parallel_tools: 1,
            },
            setup: Default::default(),
            parent: None,
        };
        let r =
            Recorder::create(&path, &header, crate::secret::Redactor::default()).expect("create");
        for step in steps {
            r.record(step);
        }
        r.finish(Some("done".into()), None).expect("finish");
        let recording = Recording::load(&path).expect("load");
        (dir, recording)
    }

    fn list(namespace: &str) -> ContextCall {
        ContextCall::List {
            namespace: namespace.into(),
        }
    }

    #[test]
    fn a_recorded_context_call_is_answered_from_the_recording_with_its_classes() {
        let entry: warden_agent::ContextEntry = serde_json::from_value(serde_json::json!({
            "namespace": "workspace", "key": "k", "kind": "note", "value": "recalled",
            "updated": "2026-01-01T00:00:00Z", "classes": ["restricted"],
        }))
        .expect("an entry");
        let (_dir, recording) = recording_with(&[Exchange::Context {
            call: list("workspace"),
            answer: Ok(vec![entry.clone()]),
        }]);
        let replayer = Replayer::new(recording.clone(), ReplayMode::Offline);
        match replayer
            .context(&list("workspace"))
            .expect("the recorded call")
        {
            Answer::Recorded(Ok(entries)) => assert_eq!(entries, [entry]),
            _ => panic!("answered from the recording"),
        }
        // Another request than the recorded one diverges, naming it.
        let replayer = Replayer::new(recording, ReplayMode::Offline);
        assert!(replayer.context(&list("other")).is_err());
        let d = replayer.divergence().expect("diverged");
        assert_eq!(d.step, 1);
        assert_eq!(d.what, "the context request");
    }

    #[test]
    fn a_recording_without_context_calls_answers_them_as_before() {
        let (_dir, recording) = recording_with(&[]);
        let replayer = Replayer::new(recording, ReplayMode::Offline);
        assert!(matches!(
            replayer.context(&list("workspace")).expect("no divergence"),
            Answer::Live
        ));
        assert_eq!(replayer.reproduced(), 0);
    }
}
