//! What `warden run` records for `warden replay`: the recording's header
//! (the run's inputs, limits and component digests), made from the
//! assembled agent, and the fork a run may start from.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use warden::Grant;
use warden::agent::recording::{RECORDING_FORMAT, RecordedLimits, RecordedParent, WIT_PACKAGE};
use warden::agent::{AgentLimits, AgentTool, Recorder, RecordingHeader, Replayer};
use warden::bindings::SkillSpec;
use warden::bindings::planner::warden::plugin::chat::Message;
use warden::secret::{Redactor, SecretGrant};

/// A run that starts as a replay of another session's recording and goes
/// live at a step (`warden replay --from-step N --endpoint …`).
pub struct Fork {
    /// Answers the steps before the fork point.
    pub replayer: Arc<Replayer>,
    /// The parent session.
    pub parent: String,
    /// The first step run live.
    pub from_step: u64,
}

/// What the recording header is made from.
pub struct HeaderParts<'a> {
    /// The session.
    pub session: &'a str,
    /// The task.
    pub task: &'a str,
    /// The planner's manifest name.
    pub planner: &'a str,
    /// (name in the manifest, digest) of every part.
    pub components: Vec<(String, String)>,
    /// The agent's tools.
    pub tools: &'a [AgentTool],
    /// The history the planner is given.
    pub history: &'a [Message],
    /// The skills it is given.
    pub skills: &'a [SkillSpec],
    /// The run's limits.
    pub limits: AgentLimits,
    /// How the run was set up (workspace, write, endpoint, model, agent).
    pub setup: BTreeMap<String, String>,
    /// The session it was forked from.
    pub fork: Option<&'a Fork>,
}

/// Starts the recording `path` of a run; every secret of `grants` is
/// redacted from it.
pub fn start(
    path: &Path,
    parts: HeaderParts<'_>,
    grants: &[&Grant],
) -> Result<Arc<Recorder>, warden::agent::RecordingError> {
    let header = RecordingHeader {
        format: RECORDING_FORMAT,
        wit: WIT_PACKAGE.to_string(),
        session: parts.session.to_string(),
        task: parts.task.to_string(),
        planner: parts.planner.to_string(),
        components: parts.components.into_iter().collect(),
        // In the broker's order (by name), which is what it hands out.
        tools: {
            let mut specs: Vec<_> = parts.tools.iter().map(|t| t.spec.clone()).collect();
            specs.sort_by(|a, b| a.name.cmp(&b.name));
            specs
        },
        history: parts.history.to_vec(),
        skills: parts.skills.to_vec(),
        limits: RecordedLimits {
            max_turns: parts.limits.max_turns,
            max_tool_calls: parts.limits.max_tool_calls,
            token_budget: parts.limits.token_budget,
            wall_clock_ms: u64::try_from(parts.limits.wall_clock.as_millis()).unwrap_or(u64::MAX),
            max_parallel_tools: parts.limits.max_parallel_tools,
        },
        setup: parts.setup,
        parent: parts.fork.map(|f| RecordedParent {
            session: f.parent.clone(),
            from_step: f.from_step,
        }),
    };
    let secrets: Vec<SecretGrant> = grants
        .iter()
        .flat_map(|g| g.secrets.iter().cloned())
        .chain(
            parts
                .tools
                .iter()
                .flat_map(|t| t.grant.secrets.iter().cloned()),
        )
        .collect();
    Ok(Arc::new(Recorder::create(
        path,
        &header,
        Redactor::new(&secrets),
    )?))
}
