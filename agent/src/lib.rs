//! # warden-agent
//!
//! The data layer of warden's agent runtime, with no engine in it: what an
//! agent is made of ([`AgentManifest`], `agent.toml`), the record of each
//! run ([`Session`], stored by [`SessionStore`] under
//! `<workspace>/.warden/sessions/`), how a long history is compacted
//! ([`compaction`]), and markdown skills ([`Skill`], `SKILL.md`).
//!
//! ```
//! use warden_agent::{AgentInfo, Message, SessionStore, default_agent};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let workspace = tempfile::tempdir()?;
//! let agent = default_agent();
//! let store = SessionStore::open(workspace.path())?;
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
pub mod error;
pub mod id;
pub mod manifest;
pub mod session;
pub mod session_store;
pub mod skill;

pub use compaction::{Budget, CompactionPlan};
pub use component_ref::ComponentRef;
pub use error::{
    CompactionError, ComponentRefError, IdError, ManifestError, MissingTools, SessionError,
    SkillError,
};
pub use id::SessionId;
pub use manifest::{AgentManifest, Delegation, Limits, ModelConfig, SkillSource, default_agent};
pub use session::{
    AgentInfo, Compaction, ExecutorRun, Message, Role, Session, Status, Step, StepKind, TokenUsage,
    ToolCall,
};
pub use session_store::{ListEntry, SessionStore, SessionSummary};
pub use skill::{Skill, discover_all, discover_skills};
