//! How long a workspace's sessions are kept: `[sessions] keep` in
//! `agent.toml`, under the org policy's ceiling
//! ([`warden_policy::SessionCeiling`]); the shorter wins.
//!
//! [`Retention::prune`] removes what has outlived it. `warden run` prunes
//! at the start of every run, and `warden sessions prune` on demand; both
//! audit what they removed.

use std::time::Duration;

use warden_policy::SessionCeiling;
use warden_registry::units::format_age;

use crate::error::SessionError;
use crate::id::SessionId;
use crate::manifest::SessionsConfig;
use crate::session_store::SessionStore;

/// The retention that applies to one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// How long a session is kept after it last changed (`None`: until
    /// removed; `Some(0)`: not kept after its run).
    pub keep_ms: Option<u64>,
    /// Who set it, in words (`agent.toml`, `the org policy`).
    pub source: &'static str,
}

impl Retention {
    /// The retention of a workspace whose agent asks for `config`, under
    /// the org ceiling `ceiling`.
    pub fn of(config: &SessionsConfig, ceiling: Option<&SessionCeiling>) -> Retention {
        let keep_ms = SessionCeiling::apply(ceiling, config.keep_ms);
        let source = if keep_ms.is_some() && keep_ms != config.keep_ms {
            "the org policy"
        } else {
            "agent.toml"
        };
        Retention { keep_ms, source }
    }

    /// Whether a session may outlive its run.
    pub fn persists(&self) -> bool {
        self.keep_ms != Some(0)
    }

    /// The retention in words: `30d (agent.toml)`, `not kept (the org
    /// policy)`, `forever`.
    pub fn describe(&self) -> String {
        match self.keep_ms {
            None => "forever".into(),
            Some(0) => format!("not kept ({})", self.source),
            Some(ms) => format!("{} ({})", format_age(ms), self.source),
        }
    }

    /// Removes the sessions of `store` last changed longer ago than the
    /// retention (with their recordings); returns their ids, oldest first.
    /// Nothing is removed when sessions are kept forever.
    pub fn prune(&self, store: &SessionStore) -> Result<Vec<SessionId>, SessionError> {
        match self.keep_ms {
            None => Ok(Vec::new()),
            Some(ms) => store.expire(Duration::from_millis(ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentInfo, WorkspaceState, default_agent};

    #[test]
    fn prune_removes_only_what_outlived_the_retention() {
        let (home, ws) = (
            tempfile::tempdir().expect("home"),
            tempfile::tempdir().expect("ws"),
        );
        let state = WorkspaceState::open(home.path(), ws.path()).expect("state");
        let store = SessionStore::for_workspace(&state).expect("store");
        let mut old = store
            .create(AgentInfo::of(&default_agent()), "old task")
            .expect("create");
        old.updated = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(24 * 40))
            .expect("time");
        store.save(&old).expect("save");
        let fresh = store
            .create(AgentInfo::of(&default_agent()), "fresh task")
            .expect("create");
        store.save(&fresh).expect("save");

        let forever = Retention::of(&SessionsConfig::default(), None);
        assert_eq!(
            forever.prune(&store).expect("prune"),
            Vec::<SessionId>::new()
        );

        let month = Retention::of(
            &SessionsConfig {
                keep_ms: Some(30 * 86_400_000),
            },
            None,
        );
        assert_eq!(month.describe(), "30d (agent.toml)");
        assert_eq!(month.prune(&store).expect("prune"), vec![old.id.clone()]);
        assert!(store.load(old.id.as_str()).is_err());
        assert!(store.load(fresh.id.as_str()).is_ok());
    }
}
