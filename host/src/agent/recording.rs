//! The recording of an agent run: every nondeterministic input the planner
//! consumed, in order, so the run can be replayed offline
//! ([`super::replay`]), forked, or checked against a new planner or tool.
//!
//! What is recorded (everything the planner gets through the broker):
//! - in the header: the task, the tool specs, the session history and the
//!   skills the broker hands out, the run's limits, and the digest of
//!   every component the run loaded;
//! - one *exchange* per step: each model completion as the provider
//!   returned it (after the host's secret redaction), each `call-tools`
//!   request with every result or typed error as the model saw it, each
//!   delegation with its executors' outcomes, each shared-context request
//!   with the entries (and their data classes) or the error it returned;
//! - an `end` line with the run's answer or error.
//!
//! Not recorded: the planner's WASI clock readings and random bytes. The
//! planner has no source of time but the broker's budget (which replay
//! computes from the recorded limits and the replayed usage) and its
//! monotonic clock, which only feeds step durations in its outcome;
//! replay compares requests and the final answer, never durations.
//!
//! The file is JSON Lines. Line 0 holds the header and its hash; each
//! following line holds a step number, the previous line's hash, the
//! exchange (exactly as written) and the hash of all three, so an edited,
//! reordered or removed line breaks the chain at the step it touches. The
//! session keeps the last hash (its *head*), so a truncated file is
//! caught as well. Secret values of any grant in the run are replaced by
//! `[REDACTED]` before a line is written.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use warden_registry::Digest;

use crate::bindings::planner::warden::plugin::chat::{
    Completion, CompletionRequest, Message, ModelError, ToolCall,
};
use crate::bindings::planner::warden::plugin::planning::{Delegation, Outcome, RunError};
use crate::bindings::{SkillSpec, ToolError, ToolSpec};
use crate::secret::Redactor;

/// The recording format this build writes and reads.
pub const RECORDING_FORMAT: u32 = 1;

/// The WIT package whose values a recording holds; a recording made
/// against another version is refused.
pub const WIT_PACKAGE: &str = "warden:plugin@0.1.0";

/// The hash a chain starts from (the header's `prev`).
const GENESIS: &str = "warden-recording-v1";

/// Why a recording cannot be written or used.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file could not be read or written.
    #[error("cannot access the recording {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is not what this format writes.
    #[error("the recording {path} is damaged at step {step}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The step (line) that could not be read; 0 is the header.
        step: u64,
        /// What is wrong.
        reason: String,
    },
    /// A line's hash does not match its content or its predecessor.
    #[error(
        "the recording {path} fails its hash chain at step {step}: {reason}; it was edited after \
         it was recorded"
    )]
    BrokenChain {
        /// The file.
        path: PathBuf,
        /// The first step whose hash does not hold; 0 is the header.
        step: u64,
        /// What does not match.
        reason: String,
    },
    /// The recording holds values of another WIT package version.
    #[error(
        "the recording {path} was made with {found} (format {format}); this warden replays \
         {WIT_PACKAGE} (format {RECORDING_FORMAT}) only"
    )]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// The WIT package it names.
        found: String,
        /// Its format number.
        format: u32,
    },
    /// A component the recording names is not available with the digest
    /// it ran with.
    #[error("the recording needs {component} {digest}, which is not available: {reason}")]
    ComponentUnavailable {
        /// The component (its name in the agent manifest).
        component: String,
        /// The digest it ran with.
        digest: String,
        /// What was found instead.
        reason: String,
    },
    /// A value could not be serialised.
    #[error("cannot serialise a recording line: {0}")]
    Serialise(#[from] serde_json::Error),
}

/// The run's limits, as recorded (replay gives the planner the same budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedLimits {
    /// Model completions.
    pub max_turns: u32,
    /// Tool calls.
    pub max_tool_calls: u32,
    /// Prompt plus completion tokens (recordings before the rename call it
    /// `max_tokens`).
    #[serde(alias = "max_tokens")]
    pub token_budget: u64,
    /// Wall-clock time for the whole run, in milliseconds.
    pub wall_clock_ms: u64,
    /// Tool calls run at once.
    pub max_parallel_tools: usize,
}

/// Where a forked run came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedParent {
    /// The parent session's id.
    pub session: String,
    /// The step at which the fork left the parent's recording (steps
    /// before it were answered from the parent's recording).
    pub from_step: u64,
}

/// The first line of a recording: what the run was given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordingHeader {
    /// [`RECORDING_FORMAT`].
    pub format: u32,
    /// [`WIT_PACKAGE`].
    pub wit: String,
    /// The session the run belongs to.
    pub session: String,
    /// The task.
    pub task: String,
    /// The planner's name (a key of `components`).
    pub planner: String,
    /// Every component the run loaded, by the name it ran under, with its
    /// digest (`sha256:…`).
    pub components: BTreeMap<String, String>,
    /// What `broker.tools` answered.
    pub tools: Vec<ToolSpec>,
    /// What `broker.history` answered.
    pub history: Vec<Message>,
    /// What `broker.skills` answered.
    pub skills: Vec<SkillSpec>,
    /// The run's limits.
    pub limits: RecordedLimits,
    /// How the run was set up, for replaying it with live parts (the
    /// workspace, whether it was writable, the endpoint and model name;
    /// never secret values).
    #[serde(default)]
    pub setup: BTreeMap<String, String>,
    /// The session and step this run was forked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<RecordedParent>,
}

/// What one component used of its grant in one call of a run, and what
/// the host refused it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedUse {
    /// The component, by the name it ran under.
    pub component: String,
    /// What it used.
    #[serde(default)]
    pub usage: crate::usage::Usage,
    /// What the host refused it during the call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied: Vec<RecordedDenial>,
}

/// A refusal, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedDenial {
    /// The capability refused (`network`, `filesystem`, ...).
    pub capability: String,
    /// What was asked for (a host, a path, ...).
    pub target: String,
    /// Why it was refused.
    pub reason: String,
}

impl RecordedDenial {
    /// The record of `denial`.
    pub fn of(denial: &crate::bindings::Denial) -> RecordedDenial {
        RecordedDenial {
            capability: crate::error::capability_name(denial.capability).to_string(),
            target: denial.target.clone(),
            reason: denial.reason.clone(),
        }
    }
}

/// One step: a broker request and what the planner was answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
// One exchange is built per step and written at once; boxing the larger
// variants would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Exchange {
    /// `broker.complete`.
    Complete {
        /// The request (tools filtered to the agent's).
        request: CompletionRequest,
        /// The completion or the provider's typed error.
        answer: Result<Completion, ModelError>,
        /// What the model provider used of its grant (not replayed; for
        /// `warden policy suggest`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        used: Option<RecordedUse>,
    },
    /// `broker.call-tools`.
    CallTools {
        /// The calls, as the planner made them.
        calls: Vec<ToolCall>,
        /// Each result or typed error, in the order of `calls`.
        answer: Vec<Result<String, ToolError>>,
        /// What each tool call that ran used of its grant, and what the
        /// host refused it (not replayed; for `warden policy suggest`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        used: Vec<RecordedUse>,
    },
    /// `broker.delegate`.
    Delegate {
        /// The delegation requests.
        requests: Vec<Delegation>,
        /// Each executor's outcome.
        answer: Vec<Result<Outcome, RunError>>,
    },
    /// A `context` request (`get`, `list-entries`, `put`, `delete`).
    Context {
        /// The request, as the planner made it.
        call: super::context_call::ContextCall,
        /// The entries it returned (with their data classes), or the
        /// typed error the planner got.
        answer: super::context_call::ContextAnswer,
    },
    /// How the run ended (the last line).
    End {
        /// The planner's answer, if it returned one.
        answer: Option<String>,
        /// Why it failed, if it did.
        error: Option<String>,
    },
}

impl Exchange {
    /// The exchange's kind, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Exchange::Complete { .. } => "complete",
            Exchange::CallTools { .. } => "call-tools",
            Exchange::Delegate { .. } => "delegate",
            Exchange::Context { .. } => "context",
            Exchange::End { .. } => "end",
        }
    }
}

/// The fields before a line's payload (the payload is hashed as the
/// exact bytes written, so it is kept as text, last in the line).
#[derive(Deserialize)]
struct LineIn {
    step: u64,
    prev: String,
    hash: String,
}

/// One line: `{"step":N,"prev":"…","hash":"…","<key>":<payload>}`.
fn format_line(step: u64, prev: &str, hash: &str, key: &str, payload: &str) -> String {
    format!("{{\"step\":{step},\"prev\":\"{prev}\",\"hash\":\"{hash}\",\"{key}\":{payload}}}\n")
}

/// A line's fields and its payload text (the JSON after `"<key>":`).
fn split_line<'a>(line: &'a str, key: &str) -> Option<(LineIn, &'a str)> {
    // The whole line must be one JSON object…
    serde_json::from_str::<serde_json::Value>(line).ok()?;
    // …whose payload, after fields that hold no quotes or commas, is last.
    let marker = format!(",\"{key}\":");
    let at = line.find(&marker)?;
    let payload = line[at + marker.len()..].strip_suffix('}')?;
    let fields: LineIn = serde_json::from_str(&format!("{}}}", &line[..at])).ok()?;
    Some((fields, payload))
}

/// The hash of one line: its step, the previous hash and its payload.
fn line_hash(step: u64, prev: &str, payload: &str) -> String {
    let mut bytes = Vec::with_capacity(payload.len() + prev.len() + 24);
    bytes.extend_from_slice(step.to_string().as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(prev.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(payload.as_bytes());
    Digest::of(&bytes).to_string()
}

struct WriterState {
    file: std::fs::File,
    step: u64,
    head: String,
    error: Option<RecordingError>,
}

/// Writes a recording as the run goes, one line per step, each flushed
/// to the file before the planner gets its answer.
pub struct Recorder {
    path: PathBuf,
    redactor: Redactor,
    state: Mutex<WriterState>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Starts the recording `path` (replacing any file there) with
    /// `header`; every secret value `redactor` knows is removed from every
    /// line.
    pub fn create(
        path: &Path,
        header: &RecordingHeader,
        redactor: Redactor,
    ) -> Result<Recorder, RecordingError> {
        let io = |source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::create(path).map_err(io)?;
        let payload = redactor.redact(&serde_json::to_string(header)?);
        let hash = line_hash(0, GENESIS, &payload);
        let line = format_line(0, GENESIS, &hash, "header", &payload);
        file.write_all(line.as_bytes()).map_err(io)?;
        Ok(Recorder {
            path: path.to_path_buf(),
            redactor,
            state: Mutex::new(WriterState {
                file,
                step: 0,
                head: hash,
                error: None,
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn state(&self) -> std::sync::MutexGuard<'_, WriterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one step. A failure does not stop the run: it is kept and
    /// reported by [`Recorder::finish`], and nothing more is written (a
    /// recording with a gap would replay wrongly).
    pub fn record(&self, exchange: &Exchange) {
        let mut state = self.state();
        if state.error.is_some() {
            return;
        }
        if let Err(e) = self.append(&mut state, exchange) {
            tracing::warn!("the run's recording stopped: {e}");
            state.error = Some(e);
        }
    }

    fn append(&self, state: &mut WriterState, exchange: &Exchange) -> Result<(), RecordingError> {
        let payload = self.redactor.redact(&serde_json::to_string(exchange)?);
        let step = state.step + 1;
        let hash = line_hash(step, &state.head, &payload);
        let line = format_line(step, &state.head, &hash, "exchange", &payload);
        state
            .file
            .write_all(line.as_bytes())
            .map_err(|source| RecordingError::Io {
                path: self.path.clone(),
                source,
            })?;
        state.step = step;
        state.head = hash;
        Ok(())
    }

    /// Ends the recording with the run's outcome; returns the chain's head
    /// (for the session to keep) and the number of lines after the header,
    /// or why the recording is incomplete (the first failure; called once,
    /// at the end of the run).
    pub fn finish(
        &self,
        answer: Option<String>,
        error: Option<String>,
    ) -> Result<Head, RecordingError> {
        self.record(&Exchange::End { answer, error });
        let mut state = self.state();
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        if let Err(source) = state.file.sync_all() {
            return Err(RecordingError::Io {
                path: self.path.clone(),
                source,
            });
        }
        Ok(Head {
            hash: state.head.clone(),
            lines: state.step,
        })
    }
}

/// The end of a recording's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The last line's hash.
    pub hash: String,
    /// Lines after the header (steps plus the `end` line).
    pub lines: u64,
}

/// A recording read back, its chain checked.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The file it was read from.
    pub path: PathBuf,
    /// What the run was given.
    pub header: RecordingHeader,
    /// The steps, in order (step `i + 1` is `exchanges[i]`), the `end`
    /// line included.
    pub exchanges: Vec<Exchange>,
    /// The last line's hash.
    pub head: String,
}

impl Recording {
    /// Reads `path` and checks its chain, line by line; refuses a file
    /// from another WIT version, a damaged line and a broken chain, naming
    /// the step.
    pub fn load(path: &Path) -> Result<Recording, RecordingError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Recording::parse(path, &text)
    }

    /// [`Recording::load`] on text already read.
    pub fn parse(path: &Path, text: &str) -> Result<Recording, RecordingError> {
        let malformed = |step: u64, reason: String| RecordingError::Malformed {
            path: path.to_path_buf(),
            step,
            reason,
        };
        let broken = |step: u64, reason: String| RecordingError::BrokenChain {
            path: path.to_path_buf(),
            step,
            reason,
        };
        let mut head = GENESIS.to_string();
        let mut header = None;
        let mut exchanges = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let expected_step = index as u64;
            let key = if expected_step == 0 {
                "header"
            } else {
                "exchange"
            };
            let (parsed, payload) = split_line(line, key).ok_or_else(|| {
                broken(
                    expected_step,
                    format!("line {} is not a recording line", index + 1),
                )
            })?;
            if parsed.step != expected_step {
                return Err(broken(
                    expected_step,
                    format!("line {} says step {}", index + 1, parsed.step),
                ));
            }
            if parsed.prev != head {
                return Err(broken(
                    expected_step,
                    "it does not follow the step before it".to_string(),
                ));
            }
            let hash = line_hash(expected_step, &parsed.prev, payload);
            if hash != parsed.hash {
                return Err(broken(
                    expected_step,
                    "its content does not match its hash".to_string(),
                ));
            }
            head = hash;
            if expected_step == 0 {
                // The version first: a header of another format may not parse.
                let v: serde_json::Value =
                    serde_json::from_str(payload).map_err(|e| malformed(0, e.to_string()))?;
                let wit = v["wit"].as_str().unwrap_or("an unknown WIT version");
                let format = v["format"].as_u64().unwrap_or(0);
                if wit != WIT_PACKAGE || format != u64::from(RECORDING_FORMAT) {
                    return Err(RecordingError::Incompatible {
                        path: path.to_path_buf(),
                        found: wit.to_string(),
                        format: u32::try_from(format).unwrap_or(u32::MAX),
                    });
                }
                header = Some(
                    serde_json::from_str::<RecordingHeader>(payload)
                        .map_err(|e| malformed(0, e.to_string()))?,
                );
            } else {
                exchanges.push(
                    serde_json::from_str::<Exchange>(payload)
                        .map_err(|e| malformed(expected_step, e.to_string()))?,
                );
            }
        }
        let header = header.ok_or_else(|| malformed(0, "the file is empty".into()))?;
        Ok(Recording {
            path: path.to_path_buf(),
            header,
            exchanges,
            head,
        })
    }

    /// Checks that the chain ends where the session says it does (a
    /// recording cut short passes its own chain, but not this).
    pub fn check_head(&self, expected: &str) -> Result<(), RecordingError> {
        if self.head == expected {
            return Ok(());
        }
        Err(RecordingError::BrokenChain {
            path: self.path.clone(),
            step: self.exchanges.len() as u64 + 1,
            reason: format!(
                "the chain ends at {} but the session recorded {expected} (steps were removed \
                 or replaced)",
                self.head
            ),
        })
    }

    /// The steps proper (without the `end` line).
    pub fn steps(&self) -> &[Exchange] {
        match self.exchanges.last() {
            Some(Exchange::End { .. }) => &self.exchanges[..self.exchanges.len() - 1],
            _ => &self.exchanges,
        }
    }

    /// The recorded end of the run, if the recording has one.
    pub fn end(&self) -> Option<(Option<&str>, Option<&str>)> {
        match self.exchanges.last() {
            Some(Exchange::End { answer, error }) => Some((answer.as_deref(), error.as_deref())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RecordingHeader {
        RecordingHeader {
            format: RECORDING_FORMAT,
            wit: WIT_PACKAGE.into(),
            session: "s".into(),
            task: "t".into(),
            planner: "planner".into(),
            components: BTreeMap::from([("planner".into(), "sha256:00".into())]),
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
            setup: BTreeMap::new(),
            parent: None,
        }
    }

    fn write(dir: &Path, tools_answer: &str) -> (PathBuf, Head) {
        let path = dir.join("r.jsonl");
        let r = Recorder::create(&path, &header(), Redactor::default()).expect("create");
        r.record(&Exchange::CallTools {
            calls: vec![ToolCall {
                id: "c1".into(),
                name: "read_file".into(),
                arguments: "{}".into(),
            }],
            answer: vec![Ok(tools_answer.into())],
            used: Vec::new(),
        });
        let head = r.finish(Some("done".into()), None).expect("finish");
        (path, head)
    }

    #[test]
    fn a_recording_reads_back_with_its_chain_and_head() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, head) = write(dir.path(), "hello");
        let rec = Recording::load(&path).expect("load");
        assert_eq!(rec.steps().len(), 1);
        assert_eq!(rec.end(), Some((Some("done"), None)));
        assert_eq!(head.lines, 2);
        rec.check_head(&head.hash).expect("head");
    }

    #[test]
    fn every_edited_byte_of_a_step_is_refused_naming_that_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, _) = write(dir.path(), "hello");
        let text = std::fs::read_to_string(&path).expect("read");
        let start = text.find('\n').expect("header line") + 1;
        let end = start + text[start..].find('\n').expect("step line");
        for i in start..end {
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            let Ok(edited) = String::from_utf8(bytes) else {
                continue;
            };
            match Recording::parse(&path, &edited) {
                Err(RecordingError::BrokenChain { step, .. })
                | Err(RecordingError::Malformed { step, .. }) => {
                    assert_eq!(step, 1, "byte {i}")
                }
                other => panic!("byte {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_truncated_recording_passes_its_chain_but_not_the_session_head() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, head) = write(dir.path(), "hello");
        let text = std::fs::read_to_string(&path).expect("read");
        let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        let rec = Recording::parse(&path, &cut).expect("chain of a prefix holds");
        assert!(matches!(
            rec.check_head(&head.hash),
            Err(RecordingError::BrokenChain { step: 2, .. })
        ));
    }

    #[test]
    fn another_wit_version_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        let mut h = header();
        h.wit = "warden:plugin@9.0.0".into();
        let r = Recorder::create(&path, &h, Redactor::default()).expect("create");
        r.finish(None, None).expect("finish");
        let err = Recording::load(&path).expect_err("refused");
        assert!(err.to_string().contains("warden:plugin@9.0.0"), "{err}");
    }

    #[test]
    fn secret_values_never_reach_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        let secret = crate::secret::parse_secret("KEY@https://api.example.com", |_| {
            Some(crate::secret::SecretValue::new("sk-very-secret-value"))
        })
        .expect("secret");
        let r = Recorder::create(&path, &header(), Redactor::new(&[secret])).expect("create");
        r.record(&Exchange::CallTools {
            calls: Vec::new(),
            answer: vec![Ok("the key is sk-very-secret-value".into())],
            used: Vec::new(),
        });
        r.finish(None, None).expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("sk-very-secret-value"), "{text}");
        assert!(text.contains("[REDACTED]"));
        Recording::load(&path).expect("the redacted file still chains");
    }
}
