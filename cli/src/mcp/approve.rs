//! The MCP approver of `warden mcp`: a grants.toml `ask` rule's question is
//! put to the client with `elicitation/create` (a form with no fields:
//! accept, decline or cancel), when the client declared the elicitation
//! capability. Tools themselves never elicit; only warden's own approvals
//! use it.

use std::collections::BTreeMap;
use std::time::Duration;

use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::{ElicitationMode, Peer, RoleServer, ServiceError};
use warden::approval::{Answer, AnswerFuture, Approver, Question};

/// How long a client has to answer, unless `--approval-timeout` says.
pub const WAIT: Duration = Duration::from_secs(120);

/// Asks the MCP client of one request.
pub struct Elicit<'p> {
    /// The client.
    pub peer: &'p Peer<RoleServer>,
    /// How long it has to answer.
    pub wait: Duration,
}

impl Approver for Elicit<'_> {
    fn channel(&self) -> &str {
        "mcp-elicitation"
    }

    fn ask<'a>(&'a self, question: &'a Question) -> AnswerFuture<'a> {
        Box::pin(async move {
            if !self
                .peer
                .supported_elicitation_modes()
                .contains(&ElicitationMode::Form)
            {
                return Answer::Unavailable {
                    reason: "the MCP client did not declare the elicitation capability (form \
                             mode)"
                        .into(),
                };
            }
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: question.text(),
                requested_schema: ElicitationSchema::new(BTreeMap::new()),
            };
            match self
                .peer
                .create_elicitation_with_timeout(params, Some(self.wait))
                .await
            {
                Ok(result) => match result.action {
                    ElicitationAction::Accept => Answer::Accept,
                    ElicitationAction::Decline => Answer::Decline,
                    _ => Answer::Cancel,
                },
                Err(ServiceError::Timeout { .. }) => Answer::Timeout {
                    after_secs: self.wait.as_secs(),
                },
                Err(e) => Answer::Unavailable {
                    reason: format!("the client's elicitation failed: {e}"),
                },
            }
        })
    }
}
