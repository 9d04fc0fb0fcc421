//! Compaction: when a session's history grows past a budget, its older
//! turns are shown to the model as one summary message, while the session
//! file keeps every original message.
//!
//! The steps:
//!
//! 1. [`Session::compaction_plan`] decides what to summarise, or returns
//!    `None` when the active history fits the budget (or nothing can be
//!    summarised without breaking the rules below).
//! 2. The caller has the model summarise [`CompactionPlan::to_summarise`].
//! 3. [`Session::apply_compaction`] records the summary; from then on
//!    [`Session::active_history`] is: the pinned system messages, the
//!    summary (as a `user` message starting with [`SUMMARY_HEADER`]), then
//!    the messages after the cut. Resuming a session is
//!    `SessionStore::load` + `active_history()`.
//!
//! The rules:
//!
//! - The leading system messages are *pinned*: never summarised.
//! - A *turn* is a `user` or `assistant` message with the `tool` results
//!   that follow it. The last `keep_last_turns` turns are always kept.
//! - A cut never separates an assistant's tool call from its result: no
//!   `tool` message is kept whose call was summarised, and the kept part
//!   never starts with a `tool` message.
//! - Within those rules, the plan keeps as many recent turns as fit in half
//!   the budget (the other half is for the summary and the turns to come);
//!   if even the required turns do not fit, it summarises everything else.
//!
//! The summary is a `user` message, not a `system` one, because many chat
//! templates accept a system message only at the start.
//!
//! Sizes are estimated, not tokenised: [`estimate_chars`] counts the
//! characters of the content, tool calls and ids; [`estimate_tokens`]
//! takes a quarter of that, rounded up, plus 4 per message (about right
//! for English text and JSON with common tokenizers).

use crate::error::CompactionError;
use crate::session::{Compaction, Message, Role, Session, now};

/// How the summary message starts.
pub const SUMMARY_HEADER: &str =
    "Summary of the earlier conversation (the full messages are kept in the session file):";

/// How large the active history may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// At most this many characters ([`estimate_chars`]).
    Chars(usize),
    /// At most this many tokens ([`estimate_tokens`]).
    Tokens(usize),
}

impl Budget {
    /// The size of `message` in this budget's unit.
    pub fn measure(&self, message: &Message) -> usize {
        match self {
            Budget::Chars(_) => estimate_chars(message),
            Budget::Tokens(_) => estimate_tokens(message),
        }
    }

    /// The limit, in this budget's unit.
    pub fn limit(&self) -> usize {
        match self {
            Budget::Chars(n) | Budget::Tokens(n) => *n,
        }
    }

    fn total(&self, messages: &[Message]) -> usize {
        messages.iter().map(|m| self.measure(m)).sum()
    }
}

/// Characters of a message: content, tool call ids, names and arguments,
/// and the id of the call it answers.
pub fn estimate_chars(message: &Message) -> usize {
    let calls: usize = message
        .tool_calls
        .iter()
        .map(|c| c.id.chars().count() + c.name.chars().count() + c.arguments.chars().count())
        .sum();
    message.content.chars().count()
        + calls
        + message
            .tool_call_id
            .as_deref()
            .map_or(0, |id| id.chars().count())
}

/// Estimated tokens of a message: a quarter of [`estimate_chars`], rounded
/// up, plus 4 for the role and framing.
pub fn estimate_tokens(message: &Message) -> usize {
    estimate_chars(message).div_ceil(4) + 4
}

/// What to summarise, as decided by [`Session::compaction_plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionPlan {
    /// The index in `messages` of the first message the summary replaces
    /// (the end of the previous compaction, or of the pinned messages).
    pub from_index: usize,
    /// The index in `messages` of the first message kept verbatim.
    pub up_to_index: usize,
    /// What the summariser should read, in order: the previous summary (if
    /// any) as a message, then `messages[from_index..up_to_index]`.
    pub to_summarise: Vec<Message>,
    /// The size of the active history now, in the budget's unit.
    pub size_before: usize,
    /// The size of what stays verbatim (pinned messages and
    /// `messages[up_to_index..]`), in the budget's unit, before the summary
    /// is added.
    pub size_kept: usize,
}

/// How many leading system messages `messages` has (they are pinned).
pub(crate) fn pinned_len(messages: &[Message]) -> usize {
    messages
        .iter()
        .take_while(|m| m.role == Role::System)
        .count()
}

/// For each index `0..=len`, whether the active history may resume there:
/// not at a `tool` message, and not between a tool call and its result.
pub(crate) fn valid_cuts(messages: &[Message]) -> Vec<bool> {
    let mut valid: Vec<bool> = messages.iter().map(|m| m.role != Role::Tool).collect();
    valid.push(true);
    let mut caller: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (j, m) in messages.iter().enumerate() {
        if m.role == Role::Assistant {
            for call in &m.tool_calls {
                caller.insert(call.id.as_str(), j);
            }
        }
        if let Some(&a) = m.tool_call_id.as_deref().and_then(|id| caller.get(id)) {
            // Cutting anywhere in a+1..=j would keep the result, not the call.
            for v in valid.iter_mut().take(j + 1).skip(a + 1) {
                *v = false;
            }
        }
    }
    valid
}

fn summary_message(summary: &str) -> Message {
    Message::user(format!("{SUMMARY_HEADER}\n\n{summary}"))
}

impl Session {
    /// Where the uncompacted part of the history starts: after the last
    /// compaction, or after the pinned system messages.
    pub fn compaction_start(&self) -> usize {
        let pinned = pinned_len(&self.messages);
        self.compactions
            .last()
            .map_or(pinned, |c| c.up_to_index.max(pinned))
    }

    /// What the model is shown: the pinned system messages, the latest
    /// summary (if any), then every message after the latest cut.
    pub fn active_history(&self) -> Vec<Message> {
        let pinned = pinned_len(&self.messages);
        let mut out: Vec<Message> = self.messages[..pinned].to_vec();
        if let Some(c) = self.compactions.last() {
            out.push(summary_message(&c.summary));
        }
        let start = self.compaction_start().min(self.messages.len());
        out.extend_from_slice(&self.messages[start..]);
        out
    }

    /// Decides which old turns to summarise when the active history is over
    /// `budget`, always keeping the pinned system messages and the last
    /// `keep_last_turns` turns (see the [module docs](crate::compaction)).
    /// `None` when the history fits, or when nothing can be summarised.
    pub fn compaction_plan(
        &self,
        budget: Budget,
        keep_last_turns: usize,
    ) -> Option<CompactionPlan> {
        let size_before = budget.total(&self.active_history());
        if size_before <= budget.limit() {
            return None;
        }
        let pinned = pinned_len(&self.messages);
        let start = self.compaction_start();
        let turn_starts: Vec<usize> = (start..self.messages.len())
            .filter(|&i| matches!(self.messages[i].role, Role::User | Role::Assistant))
            .collect();
        // The latest cut that keeps the required turns.
        let latest = match keep_last_turns {
            0 => self.messages.len(),
            n => *turn_starts.get(turn_starts.len().checked_sub(n)?)?,
        };
        let cuts = valid_cuts(&self.messages);
        let pinned_size = budget.total(&self.messages[..pinned]);
        let kept_size = |cut: usize| pinned_size + budget.total(&self.messages[cut..]);
        let candidates: Vec<usize> = ((start + 1)..=latest).filter(|&i| cuts[i]).collect();
        // Keep as much as fits in half the budget; else summarise all we may.
        let cut = candidates
            .iter()
            .copied()
            .find(|&c| kept_size(c) <= budget.limit() / 2)
            .or_else(|| candidates.last().copied())?;
        let mut to_summarise = Vec::new();
        if let Some(c) = self.compactions.last() {
            to_summarise.push(summary_message(&c.summary));
        }
        to_summarise.extend_from_slice(&self.messages[start..cut]);
        Some(CompactionPlan {
            from_index: start,
            up_to_index: cut,
            to_summarise,
            size_before,
            size_kept: kept_size(cut),
        })
    }

    /// Replaces the planned messages in the active history with `summary`.
    /// `messages` is unchanged; the compaction is recorded in
    /// `compactions`. Refuses a plan made for an earlier state of the
    /// session, a cut that would split a tool call from its result, and an
    /// empty summary.
    pub fn apply_compaction(
        &mut self,
        plan: &CompactionPlan,
        summary: impl Into<String>,
    ) -> Result<(), CompactionError> {
        let summary = summary.into();
        if summary.trim().is_empty() {
            return Err(CompactionError::EmptySummary);
        }
        let start = self.compaction_start();
        if plan.from_index != start {
            return Err(CompactionError::StalePlan {
                planned: plan.from_index,
                actual: start,
            });
        }
        let index = plan.up_to_index;
        let invalid = |reason: &str| CompactionError::InvalidCut {
            index,
            reason: reason.to_string(),
        };
        if index <= start {
            return Err(invalid("there is nothing before it to summarise"));
        }
        if index > self.messages.len() {
            return Err(invalid(&format!(
                "the session has only {} messages",
                self.messages.len()
            )));
        }
        if !valid_cuts(&self.messages)[index] {
            return Err(invalid(
                "it would separate a tool call from its result; cut before the assistant message \
                 that made the call, or after its last result",
            ));
        }
        self.compactions.push(Compaction {
            up_to_index: index,
            summary,
            at: now(),
        });
        self.touch();
        Ok(())
    }
}
