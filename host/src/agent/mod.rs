//! Agents composed entirely from components: a planner component drives a
//! model-provider component and tool components through the host, which
//! brokers every call. Each part runs in its own store under its own
//! grant; nothing is shared but the host's [`Broker`].
//!
//! - [`model`]: load a model provider, ask it for a completion.
//! - [`planner`]: load a planner, run it with a broker attached.
//! - [`broker`]: what the host does for a planner, and every check.
//! - [`skill`]: load a skill component, list its skills.
//! - [`observer`]: the events a run reports (for sessions and the audit log).
//! - [`recording`]: every input the planner consumed, hash-chained.
//! - [`replay`]: answer a planner from a recording, and find where it diverges.
//! - [`context`]: the shared context store, under each component's context grant.
//! - [`context_call`]: a planner's context request: labelled, recorded, replayed.
//! - [`residency`]: which model may see a request (data residency).
//! - [`compaction`]: a resumed session's old turns summarised on the model path.
//! - [`local_server`]: find a local model server; grant a loopback endpoint.

pub mod broker;
pub mod compaction;
pub mod context;
pub mod context_call;
mod context_host;
pub mod loaded;
pub mod local_server;
pub mod model;
pub mod observer;
pub mod planner;
pub mod recording;
pub mod replay;
pub mod residency;
pub mod run_error;
pub mod skill;
mod worktree;

pub use broker::{AgentLimits, AgentTool, Broker, BrokerParts, DelegationConfig, RunUsage};
pub use context::{ContextAccess, ContextFailure, ContextGrant};
pub use context_call::{ContextAnswer, ContextCall};
pub use model::{ModelComponent, ModelReply};
pub use observer::{NoObserver, RunEvent, RunObserver};
pub use planner::PlannerComponent;
pub use recording::{Exchange, Recorder, Recording, RecordingError, RecordingHeader};
pub use replay::{Divergence, ReplayMode, Replayer};
pub use residency::{ResidencyGuard, Route, RouteDecision};
pub use skill::SkillComponent;
