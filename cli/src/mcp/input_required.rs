//! Approvals on MCP 2026-07-28: that revision has no server-to-client
//! requests, so a grants.toml `ask` rule's question goes back as the call's
//! result — `input_required` (SEP-2322, multi round-trip requests) with one
//! `elicitation/create` form (no fields: accept, decline or cancel) — and
//! the client answers it by retrying the call with `inputResponses` and the
//! `requestState` it was given. Sessions on 2025-11-25 and earlier keep
//! `elicitation/create` during the call ([`super::approve`]).
//!
//! `requestState` is the digest of the question (component, digest, tool,
//! capabilities, rules), not a secret: it ties an answer to the question
//! it answers, so when the grants change between the rounds, the new
//! question is asked again instead of the old answer being taken for it.
//! Whoever answers is the client, as with elicitation.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequiredResult, InputResponses,
};
use warden::approval::{Answer, AnswerFuture, Approver, Question};
use warden_registry::Digest;

/// The key of warden's question in `inputRequests` / `inputResponses`.
pub const KEY: &str = "warden-approval";

/// Asks through `input_required`: answers from the retry's responses when
/// they answer this very question, otherwise defers it to the client.
pub struct InputRequired {
    /// The `requestState` the client echoed, if this is a retry.
    state: Option<String>,
    /// The client's answers, if this is a retry.
    responses: Option<InputResponses>,
    /// Whether the client declared elicitation (per request, on 2026-07-28).
    elicitation: bool,
    /// The question deferred to the client, with its state.
    deferred: Mutex<Option<(String, String)>>,
}

impl InputRequired {
    /// For one `tools/call` with these retry fields.
    pub fn new(
        state: Option<String>,
        responses: Option<InputResponses>,
        elicitation: bool,
    ) -> InputRequired {
        InputRequired {
            state,
            responses,
            elicitation,
            deferred: Mutex::new(None),
        }
    }

    /// The `input_required` result to send, if a question was deferred.
    pub fn result(&self) -> Option<InputRequiredResult> {
        let (text, state) = self
            .deferred
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        let form = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: text,
            requested_schema: ElicitationSchema::new(BTreeMap::new()),
        };
        let requests = BTreeMap::from([(
            KEY.to_string(),
            InputRequest::Elicitation(ElicitRequest::new(form)),
        )]);
        Some(InputRequiredResult::new(Some(requests), Some(state)))
    }
}

/// The `requestState` of `question`.
fn state_of(question: &Question) -> String {
    let mut key = format!(
        "{}\n{}\n{}\n",
        question.component,
        question.digest,
        question.tool.as_deref().unwrap_or("")
    );
    for (capability, rule) in question.capabilities.iter().zip(&question.rules) {
        key.push_str(&format!("{capability}\n{rule}\n"));
    }
    format!("warden-approval:{}", Digest::of(key.as_bytes()))
}

impl Approver for InputRequired {
    fn channel(&self) -> &str {
        "mcp-input-required"
    }

    fn ask<'a>(&'a self, question: &'a Question) -> AnswerFuture<'a> {
        Box::pin(async move {
            if !self.elicitation {
                return Answer::Unavailable {
                    reason: "the MCP client did not declare the elicitation capability".into(),
                };
            }
            let state = state_of(question);
            let answer = self
                .responses
                .as_ref()
                .and_then(|r| r.get(KEY))
                .filter(|_| self.state.as_deref() == Some(state.as_str()))
                .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok());
            match answer.map(|a| a.action) {
                Some(ElicitationAction::Accept) => Answer::Accept,
                Some(ElicitationAction::Decline) => Answer::Decline,
                Some(_) => Answer::Cancel,
                None => {
                    *self.deferred.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((question.text(), state));
                    Answer::Deferred
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(capability: &str) -> Question {
        Question {
            component: "builtin:fs".into(),
            digest: Digest::of(b"fs"),
            tool: Some("write_file".into()),
            capabilities: vec![capability.into()],
            rules: vec!["grants.toml rule 1".into()],
        }
    }

    fn answered(state: String, action: &str) -> InputRequired {
        let responses =
            BTreeMap::from([(KEY.to_string(), serde_json::json!({ "action": action }))]);
        InputRequired::new(Some(state), Some(responses), true)
    }

    #[tokio::test]
    async fn a_first_call_is_deferred_with_the_question() {
        let asker = InputRequired::new(None, None, true);
        let q = question("directory /data read-write");
        assert_eq!(asker.ask(&q).await, Answer::Deferred);
        let result = serde_json::to_value(asker.result().expect("input required")).expect("json");
        assert_eq!(result["resultType"], "input_required");
        assert_eq!(result["requestState"], state_of(&q).as_str());
        assert_eq!(
            result["inputRequests"][KEY]["method"], "elicitation/create",
            "{result}"
        );
        assert_eq!(result["inputRequests"][KEY]["params"]["message"], q.text());
    }

    #[tokio::test]
    async fn the_retry_is_answered_from_its_responses() {
        let q = question("directory /data read-write");
        assert_eq!(
            answered(state_of(&q), "accept").ask(&q).await,
            Answer::Accept
        );
        assert_eq!(
            answered(state_of(&q), "decline").ask(&q).await,
            Answer::Decline
        );
        assert_eq!(
            answered(state_of(&q), "cancel").ask(&q).await,
            Answer::Cancel
        );
    }

    #[tokio::test]
    async fn an_answer_to_another_question_is_not_taken() {
        let old = question("directory /data read-only");
        let new = question("directory /data read-write");
        let asker = answered(state_of(&old), "accept");
        assert_eq!(asker.ask(&new).await, Answer::Deferred);
        assert!(asker.result().is_some(), "the new question is asked");
    }

    #[tokio::test]
    async fn a_client_without_elicitation_cannot_be_asked() {
        let asker = InputRequired::new(None, None, false);
        assert!(matches!(
            asker.ask(&question("x")).await,
            Answer::Unavailable { .. }
        ));
        assert!(asker.result().is_none());
    }
}
