//! # warden-agent
//!
//! The data layer of warden's agent runtime, with no engine in it: what an
//! agent is made of ([`AgentManifest`], `agent.toml`), the record of each
//! run ([`Session`], stored by [`SessionStore`] under warden's home, in the
//! workspace's [`WorkspaceState`] directory — never inside the workspace),
//! how a long history is compacted
//! ([`compaction`]), and markdown skills ([`Skill`], `SKILL.md`).
//!
//! ```
//! use warden_agent::{AgentInfo, Message, SessionStore, WorkspaceState, default_agent};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (home, workspace) = (tempfile::tempdir()?, tempfile::tempdir()?);
//! let agent = default_agent();
//! let state = WorkspaceState::open(home.path(), workspace.path())?;
//! let store = SessionStore::for_workspace(&state)?;
//! let mut session = store.create(AgentInfo::of(&agent), "Find the TODOs in src/")?;
//! session.push_message(Message::user("Find the TODOs in src/"));
//! store.save(&session)?;
//!
//! // Later: resume it.
//! let resumed = store.load(session.id.as_str())?;
//! assert_eq!(resumed.active_history(), session.active_history());
//! # Ok(())
//! # }
//! ```

pub mod compaction;
pub mod component_ref;
pub mod context_store;
pub mod error;
pub mod id;
pub mod manifest;
pub mod retention;
pub mod session;
pub mod session_bundle;
pub mod session_migration;
pub mod session_store;
pub mod skill;
pub mod workspace_state;

pub use compaction::{Budget, CompactionPlan};
pub use component_ref::ComponentRef;
pub use context_store::{
    ContextEntry, ContextError, ContextLimits, ContextStore, EntryKind, PutReceipt,
};
pub use error::{
    CompactionError, ComponentRefError, IdError, ManifestError, MissingTools, SessionError,
    SkillError,
};
pub use id::SessionId;
pub use manifest::{
    AgentManifest, ContextGrants, Delegation, Fallback, Limits, ModelConfig, SessionsConfig,
    SkillSource, default_agent,
};
pub use retention::Retention;
pub use session::{
    AgentInfo, Compaction, ExecutorRun, Lineage, Message, RecordingRef, Role, Session, Status,
    Step, StepKind, TokenUsage, ToolCall,
};
pub use session_migration::Migration;
pub use session_store::{ListEntry, SessionStore, SessionSummary};
pub use skill::{Skill, discover_all, discover_skills};
pub use workspace_state::WorkspaceState;
