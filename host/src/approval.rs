//! Approvals: asking the user about what an `ask` rule of their grants
//! names (see [`warden_policy::ask`]).
//!
//! The asking itself is an [`Approver`], given to
//! [`authorize_asking`](crate::authorize::authorize_asking) by whoever can
//! reach the user: `warden mcp` asks its client through MCP elicitation,
//! `warden tool call` asks on the terminal, an embedder plugs its own. When
//! nobody can be asked, [`Nobody`] answers [`Answer::Unavailable`] and the
//! capabilities are refused. Every question and its answer is recorded in
//! the audit log ([`AuditSink`](crate::AuditSink)) before the call runs.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use warden_core::Digest;

/// What is put to the user before one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The component's name.
    pub component: String,
    /// Its digest.
    pub digest: Digest,
    /// The tool about to be called, when known.
    pub tool: Option<String>,
    /// The capabilities the call would get, in words.
    pub capabilities: Vec<String>,
    /// The rules that say to ask (`grants.toml rule 3`), one per capability.
    pub rules: Vec<String>,
}

impl Question {
    /// The question in one paragraph, as put to the user.
    pub fn text(&self) -> String {
        let call = match &self.tool {
            Some(tool) => format!("`{}` tool `{tool}`", self.component),
            None => format!("`{}`", self.component),
        };
        let mut rules = self.rules.clone();
        rules.dedup();
        format!(
            "Allow {call} to use {} for this call? ({} says to ask you.)",
            self.capabilities.join(", "),
            rules.join(", ")
        )
    }
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// The user's answer, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Approved: the call gets the capabilities.
    Accept,
    /// Refused by the user.
    Decline,
    /// Dismissed without a choice.
    Cancel,
    /// No answer in time.
    Timeout {
        /// How long the approver waited, in seconds.
        after_secs: u64,
    },
    /// The question was handed to the client, which answers it by retrying
    /// the call (MCP 2026-07-28 `input_required`): the call does not run
    /// now; the retry is asked (and recorded) again, with the answer.
    Deferred,
    /// Nobody could be asked.
    Unavailable {
        /// Why (no terminal, a client without elicitation, ...).
        reason: String,
    },
}

impl Answer {
    /// `accept`, `decline`, `cancel`, `timeout`, `deferred` or
    /// `unavailable`, as recorded.
    pub fn as_str(&self) -> &'static str {
        match self {
            Answer::Accept => "accept",
            Answer::Decline => "decline",
            Answer::Cancel => "cancel",
            Answer::Timeout { .. } => "timeout",
            Answer::Deferred => "deferred",
            Answer::Unavailable { .. } => "unavailable",
        }
    }

    /// Why the capabilities were not given, in words (`None` for
    /// [`Answer::Accept`]).
    pub fn refusal(&self) -> Option<String> {
        match self {
            Answer::Accept => None,
            Answer::Decline => Some("the user declined".into()),
            Answer::Cancel => Some("the user dismissed the question".into()),
            Answer::Timeout { after_secs } => {
                Some(format!("the user did not answer within {after_secs} s"))
            }
            Answer::Deferred => Some(
                "the question was sent to the client, which answers it by retrying the call".into(),
            ),
            Answer::Unavailable { reason } => Some(format!("nobody could be asked: {reason}")),
        }
    }
}

/// A boxed future of an answer.
pub type AnswerFuture<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// Who puts questions to the user.
pub trait Approver: Send + Sync {
    /// How answers are obtained, for the audit record (`mcp-elicitation`,
    /// `terminal`).
    fn channel(&self) -> &str;

    /// Puts `question` to the user and waits for the answer (an approver
    /// bounds its own wait and answers [`Answer::Timeout`]).
    fn ask<'a>(&'a self, question: &'a Question) -> AnswerFuture<'a>;
}

/// The approver when nobody can be asked: every question is refused with
/// the reason given.
#[derive(Debug, Clone)]
pub struct Nobody {
    /// Why nobody can be asked.
    pub reason: String,
}

impl Approver for Nobody {
    fn channel(&self) -> &str {
        "none"
    }

    fn ask<'a>(&'a self, _question: &'a Question) -> AnswerFuture<'a> {
        let reason = self.reason.clone();
        Box::pin(async move { Answer::Unavailable { reason } })
    }
}
