//! A planner's request to the workspace's shared context (`wit/context.wit`)
//! as the broker handles it ([`super::Broker::context_call`]):
//!
//! - answered by the run's [`ContextAccess`] (the planner's context grant
//!   under the org policy), or refused with a typed denial when the run
//!   has none;
//! - written with the data classes the run carries, and the classes of
//!   every entry it returns carried by the run from then on (see
//!   [`super::residency`]): a note stored by a labelled run and recalled by
//!   an unlabelled one is still labelled;
//! - recorded like a model turn or a tool call (request and answer), so a
//!   replay answers it from the recording and neither reads nor writes the
//!   live store.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use warden_agent::{ContextEntry, EntryKind};

use super::context::{ContextAccess, ContextFailure};
use crate::bindings::{Capability, Denial};

/// One `context` request, as the planner made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum ContextCall {
    /// `get`: the entry under `key`.
    Get {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
    /// `list-entries`: every live entry of the namespace.
    List {
        /// The namespace.
        namespace: String,
    },
    /// `put`: stores `value` under `key`.
    Put {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
        /// What kind of entry it is.
        kind: EntryKind,
        /// The value.
        value: String,
        /// Its time to live, in milliseconds, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
    },
    /// `delete`: removes the entry under `key`.
    Delete {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
}

/// What a context request was answered: the entries it returned (one for
/// `get`, any number for `list-entries`, none for `put` and `delete`) or
/// why it did not happen.
pub type ContextAnswer = Result<Vec<ContextEntry>, ContextFailure>;

impl ContextCall {
    /// The namespace it is about.
    pub fn namespace(&self) -> &str {
        match self {
            ContextCall::Get { namespace, .. }
            | ContextCall::List { namespace }
            | ContextCall::Put { namespace, .. }
            | ContextCall::Delete { namespace, .. } => namespace,
        }
    }

    /// Whether it writes (`put`, `delete`).
    pub fn writes(&self) -> bool {
        matches!(self, ContextCall::Put { .. } | ContextCall::Delete { .. })
    }

    /// Runs it with `access` (`None`: the run gives `component` no shared
    /// context, and the answer is a denial); a `put` labels its entry with
    /// `classes`.
    pub(crate) fn run(
        &self,
        access: Option<&ContextAccess>,
        component: &str,
        classes: &[String],
    ) -> ContextAnswer {
        let Some(access) = access else {
            return Err(ContextFailure::Denied(Denial {
                capability: Capability::Component,
                target: format!("context:{}", self.namespace()),
                reason: format!("`{component}` is not granted the shared context in this run"),
            }));
        };
        match self {
            ContextCall::Get { namespace, key } => access.require(namespace, key).map(|e| vec![e]),
            ContextCall::List { namespace } => access.list(namespace),
            ContextCall::Put {
                namespace,
                key,
                kind,
                value,
                ttl_ms,
            } => access
                .put_labelled(
                    namespace,
                    key,
                    *kind,
                    value,
                    ttl_ms.map(Duration::from_millis),
                    classes,
                )
                .map(|_| Vec::new()),
            ContextCall::Delete { namespace, key } => {
                access.remove(namespace, key).map(|()| Vec::new())
            }
        }
    }
}

/// The data classes of the entries of `answer` (what a run that read them
/// carries from then on).
pub fn classes_of(answer: &ContextAnswer) -> impl Iterator<Item = String> + '_ {
    answer
        .iter()
        .flatten()
        .flat_map(|e| e.classes.iter().cloned())
}
