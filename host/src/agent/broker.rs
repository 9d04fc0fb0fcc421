//! The broker: what the host does for a planner. Every request a planner
//! makes — a completion, tool calls, a delegation — comes through here and
//! is checked against the agent's tool list, its budget and each part's
//! own grant before anything runs. The planner's store holds only an
//! `Arc<Broker>`; the model and each tool run in stores of their own.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;

use super::context::ContextFailure;
use super::context_call::{ContextAnswer, ContextCall, classes_of};
use super::model::ModelComponent;
use super::observer::{RunEvent, RunObserver};
use super::planner::PlannerComponent;
use super::recording::{Exchange, RecordedDenial, RecordedUse, Recorder};
use super::replay::{Answer, ReplayMode, Replayer};
use super::residency::{ResidencyGuard, Route};
use crate::bindings::planner::warden::plugin::chat::{
    Completion, CompletionRequest, Message, ModelError, ToolCall, Usage,
};
use crate::bindings::planner::warden::plugin::planning::{
    Budget, Delegation, Outcome, RunError, Step, StepKind,
};
use crate::bindings::{Capability, Denial, SkillSpec, ToolError, ToolSpec};
use crate::component::ToolComponent;
use crate::engine::Runtime;
use crate::error::CallError;
use crate::grant::Grant;

/// The most tool calls one `call-tools` request may carry; the rest are
/// refused (a planner that floods the host gets errors, not work).
pub const MAX_CALLS_PER_REQUEST: usize = 64;

/// How many requests past an exhausted budget a planner may make before
/// the host stops it (it should have returned long before).
pub const MAX_OVER_BUDGET_REQUESTS: u32 = 16;

/// The limits of one agent run. The host enforces all of them, whatever
/// the planner does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentLimits {
    /// Model completions.
    pub max_turns: u32,
    /// Tool calls.
    pub max_tool_calls: u32,
    /// Prompt plus completion tokens.
    pub token_budget: u64,
    /// Wall-clock time for the whole run.
    pub wall_clock: Duration,
    /// Tool calls run at once.
    pub max_parallel_tools: usize,
}

impl Default for AgentLimits {
    /// The agent manifest's defaults (`warden_agent::Limits`): one set of
    /// defaults, whether an agent comes from `agent.toml` or from code.
    fn default() -> Self {
        AgentLimits::from(&warden_agent::manifest::Limits::default())
    }
}

impl From<&warden_agent::manifest::Limits> for AgentLimits {
    /// The run limits an agent manifest's `[limits]` table sets (its
    /// `token_budget` is [`AgentLimits::token_budget`]).
    fn from(l: &warden_agent::manifest::Limits) -> Self {
        AgentLimits {
            max_turns: l.max_turns,
            max_tool_calls: l.max_tool_calls,
            token_budget: l.token_budget,
            wall_clock: Duration::from_millis(l.wall_clock_ms),
            max_parallel_tools: 8,
        }
    }
}

/// One tool the agent may call: its spec, its source and its grant.
#[derive(Debug, Clone)]
pub struct AgentTool {
    /// The spec the model sees.
    pub spec: ToolSpec,
    /// What provides it: a component, an MCP server or a command.
    pub source: crate::ToolSource,
    /// Its name within its source (the spec's name may carry a prefix,
    /// `SERVER__TOOL`).
    pub tool: String,
    /// The source's grant.
    pub grant: Grant,
}

impl AgentTool {
    /// Tool `spec` of `component`, under the name it has there.
    pub fn of_component(spec: ToolSpec, component: ToolComponent, grant: Grant) -> AgentTool {
        AgentTool {
            tool: spec.name.clone(),
            spec,
            source: crate::ToolSource::Component(component),
            grant,
        }
    }
}

/// What delegation needs: the planner to start executors from, and how.
#[derive(Debug, Clone)]
pub struct DelegationConfig {
    /// The planner component executors run.
    pub planner: PlannerComponent,
    /// The planner's grant.
    pub planner_grant: Grant,
    /// Executors run at once.
    pub max_concurrent: usize,
    /// Turns an executor gets when the request asks for none.
    pub default_max_turns: u32,
    /// The workspace directory, for executors that ask for a git worktree:
    /// tool grants of this directory are pointed at the worktree instead.
    pub workspace: Option<PathBuf>,
}

/// Counters of what a run has used.
#[derive(Debug, Default)]
struct Used {
    turns: u32,
    tool_calls: u32,
    tokens: u64,
    over_budget: u32,
    steps: Vec<Step>,
    prompt_tokens: u32,
    completion_tokens: u32,
    /// What running executors have reserved and not yet given back: the
    /// manager cannot spend it, and no other executor can reserve it.
    reserved: Reservation,
}

/// Turns, tool calls and tokens set aside for one executor (or, in
/// [`Used`], for all running ones).
#[derive(Debug, Default, Clone, Copy)]
struct Reservation {
    turns: u32,
    tool_calls: u32,
    tokens: u64,
}

/// Everything the host does for one planner instance.
pub struct Broker {
    runtime: Runtime,
    /// `None` only in an offline replay, which never asks a model.
    model: Option<ModelComponent>,
    model_grant: Grant,
    tools: BTreeMap<String, AgentTool>,
    skills: Vec<SkillSpec>,
    history: Vec<Message>,
    limits: AgentLimits,
    started: Instant,
    used: Mutex<Used>,
    delegation: Option<DelegationConfig>,
    observer: Arc<dyn RunObserver>,
    /// Executors are marked with their depth; only depth 0 may delegate.
    depth: u32,
    /// The conversation so far: the last request's messages and the
    /// model's reply to it (kept for an executor's record).
    transcript: Mutex<Vec<Message>>,
    /// Where the run is recorded (the agent itself, not its executors:
    /// a delegation is recorded as one step with its outcomes).
    recorder: Option<Arc<Recorder>>,
    /// The recording that answers this run, when it is a replay.
    replay: Option<Arc<Replayer>>,
    /// The data-residency state of the run (shared with its executors).
    residency: Option<Arc<ResidencyGuard>>,
    /// The provider (and its grant) that takes the turns the residency
    /// policy keeps from `model`.
    fallback: Option<(ModelComponent, Grant)>,
    /// The planner's access to the workspace's shared context (`None`:
    /// every `context` call is denied).
    context: Option<super::context::ContextAccess>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("model", &self.model.as_ref().map(ModelComponent::name))
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .field("limits", &self.limits)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

/// What a finished run used, from the host's own counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunUsage {
    /// Model turns.
    pub turns: u32,
    /// Tool calls run.
    pub tool_calls: u32,
    /// Tokens.
    pub tokens: u64,
}

/// The parts of a broker, for [`Broker::new`].
#[derive(Debug)]
pub struct BrokerParts {
    /// The runtime every part runs on.
    pub runtime: Runtime,
    /// The model provider and its grant.
    pub model: (ModelComponent, Grant),
    /// The tools, by the name the model calls them.
    pub tools: Vec<AgentTool>,
    /// Skills in force.
    pub skills: Vec<SkillSpec>,
    /// Earlier messages of the session.
    pub history: Vec<Message>,
    /// The run's limits.
    pub limits: AgentLimits,
    /// Delegation, if the agent may delegate.
    pub delegation: Option<DelegationConfig>,
}

/// Why a broker cannot be made from its parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// Two tools with one name.
    #[error(
        "two tools are named `{name}` (one from `{component}`); an agent's tool names must be unique"
    )]
    DuplicateTool {
        /// The tool name.
        name: String,
        /// One of the components offering it.
        component: String,
    },
}

impl Broker {
    /// A broker for a new run; refuses two tools with the same name.
    pub fn new(parts: BrokerParts, observer: Arc<dyn RunObserver>) -> Result<Broker, BrokerError> {
        let mut tools = BTreeMap::new();
        for tool in parts.tools {
            let name = tool.spec.name.clone();
            if let Some(other) = tools.insert(name.clone(), tool) {
                return Err(BrokerError::DuplicateTool {
                    name,
                    component: other.source.name().to_string(),
                });
            }
        }
        Ok(Broker {
            runtime: parts.runtime,
            model: Some(parts.model.0),
            model_grant: parts.model.1,
            tools,
            skills: parts.skills,
            history: parts.history,
            limits: parts.limits,
            started: Instant::now(),
            used: Mutex::new(Used::default()),
            delegation: parts.delegation,
            observer,
            depth: 0,
            transcript: Mutex::new(Vec::new()),
            recorder: None,
            replay: None,
            residency: None,
            fallback: None,
            context: None,
        })
    }

    /// A broker for an offline replay: no model, no tools; every request
    /// is answered from `replayer`'s recording (which also gives the tool
    /// specs, history, skills and limits the planner is handed).
    pub fn offline(runtime: Runtime, replayer: Arc<Replayer>) -> Broker {
        let header = &replayer.recording().header;
        let limits = AgentLimits {
            max_turns: header.limits.max_turns,
            max_tool_calls: header.limits.max_tool_calls,
            token_budget: header.limits.token_budget,
            wall_clock: Duration::from_millis(header.limits.wall_clock_ms),
            max_parallel_tools: header.limits.max_parallel_tools,
        };
        Broker {
            runtime,
            model: None,
            model_grant: Grant::default(),
            tools: BTreeMap::new(),
            skills: header.skills.clone(),
            history: header.history.clone(),
            limits,
            started: Instant::now(),
            used: Mutex::new(Used::default()),
            delegation: None,
            observer: Arc::new(super::observer::NoObserver),
            depth: 0,
            transcript: Mutex::new(Vec::new()),
            recorder: None,
            replay: Some(replayer),
            residency: None,
            fallback: None,
            context: None,
        }
    }

    /// Records every step of the run (see [`super::recording`]).
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> Broker {
        self.recorder = Some(recorder);
        self
    }

    /// Enforces data residency on every model request of the run (see
    /// [`super::residency`]): content of a class the provider may not
    /// receive goes to `fallback` when it may, and is refused otherwise.
    pub fn with_residency(
        mut self,
        guard: Arc<ResidencyGuard>,
        fallback: Option<(ModelComponent, Grant)>,
    ) -> Broker {
        self.residency = Some(guard);
        self.fallback = fallback;
        self
    }

    /// Gives the planner (and its executors) `access` to the workspace's
    /// shared context, under the planner's context grant.
    pub fn with_context(mut self, access: super::context::ContextAccess) -> Broker {
        self.context = Some(access);
        self
    }

    /// The planner's access to the shared context, if the run gives it any.
    pub fn context(&self) -> Option<&super::context::ContextAccess> {
        self.context.as_ref()
    }

    /// Records a denial of the planner's in the audit log (like the
    /// denials `ContextAccess` records; not a run event: a planner asking
    /// for a context its run does not have is not a step of the run).
    pub(crate) fn record_denial(&self, denial: &Denial) {
        self.runtime.audit.record_denial("planner", None, denial);
    }

    /// A `context` request of the planner `component` (see
    /// [`super::context_call`]): answered from the recording in a replay,
    /// else by the run's context access (a `put` labelled with the classes
    /// the run carries); recorded; and the classes of every entry it
    /// returns carried by the run from then on.
    pub fn context_call(
        &self,
        component: &str,
        call: ContextCall,
    ) -> wasmtime::Result<ContextAnswer> {
        let recorded = match &self.replay {
            Some(r) => r.context(&call)?,
            None => Answer::Live,
        };
        // A run whose planner is granted no namespace at all has nothing
        // to record: every call is refused alike, live or replayed (and
        // its recording keeps the steps it had before context calls were
        // recorded).
        let mut recorded_step = self
            .context
            .as_ref()
            .is_some_and(super::context::ContextAccess::grants_anything);
        let answer = match recorded {
            Answer::Recorded(answer) => {
                recorded_step = true;
                answer
            }
            Answer::Live => {
                let classes: Vec<String> = self
                    .residency
                    .as_ref()
                    .map(|g| g.classes().into_iter().collect())
                    .unwrap_or_default();
                let answer = call.run(self.context.as_ref(), component, &classes);
                if let (None, Err(ContextFailure::Denied(d))) = (&self.context, &answer) {
                    self.record_denial(d);
                }
                answer
            }
        };
        if let Some(guard) = &self.residency {
            guard.carry(classes_of(&answer));
        }
        self.observer.event(RunEvent::Context {
            depth: self.depth,
            call: &call,
            result: &answer,
        });
        if recorded_step {
            self.record(|| Exchange::Context {
                call,
                answer: answer.clone(),
            });
        }
        Ok(answer)
    }

    /// Where the next model request goes under the residency policy: the
    /// provider and grant to use, or the denial the planner gets. Every
    /// decision of an active policy is audited.
    fn route<'a>(
        &'a self,
        primary: &'a ModelComponent,
    ) -> Result<(&'a ModelComponent, &'a Grant), Denial> {
        let Some(guard) = self.residency.as_ref().filter(|g| g.is_active()) else {
            return Ok((primary, &self.model_grant));
        };
        let decision = guard.route();
        let (target, result) = match &decision.route {
            Route::Primary => (primary.name(), Ok((primary, &self.model_grant))),
            Route::Fallback => match &self.fallback {
                Some((model, grant)) => (model.name(), Ok((model, grant))),
                None => (
                    primary.name(),
                    Err(Denial {
                        capability: Capability::Component,
                        target: primary.name().to_string(),
                        reason: "data residency: no fallback provider is loaded".into(),
                    }),
                ),
            },
            Route::Refused { reason } => (
                primary.name(),
                Err(Denial {
                    capability: Capability::Component,
                    target: primary.name().to_string(),
                    reason: reason.clone(),
                }),
            ),
        };
        self.runtime.audit.record_route(target, &decision);
        if let Err(denial) = &result {
            self.observer.event(RunEvent::Denied {
                depth: self.depth,
                denial,
            });
        }
        result
    }

    /// Answers the run from a recording (see [`super::replay`]): in
    /// `LiveTools` mode tools still run, in `ForkAt` mode steps from the
    /// fork point on run live.
    pub fn with_replay(mut self, replayer: Arc<Replayer>) -> Broker {
        self.replay = Some(replayer);
        self
    }

    /// Whether the model may be offered the tool `name`.
    fn offers(&self, name: &str) -> bool {
        if name == "delegate" || self.tools.contains_key(name) {
            return true;
        }
        match &self.replay {
            Some(r) if r.mode() == ReplayMode::Offline => {
                r.recording().header.tools.iter().any(|t| t.name == name)
            }
            _ => false,
        }
    }

    fn record(&self, exchange: impl FnOnce() -> Exchange) {
        if let Some(r) = &self.recorder {
            r.record(&exchange());
        }
    }

    fn used(&self) -> std::sync::MutexGuard<'_, Used> {
        self.used.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run's limits.
    pub fn limits(&self) -> &AgentLimits {
        &self.limits
    }

    /// What is left of the budget.
    pub fn remaining(&self) -> Budget {
        let used = self.used();
        Budget {
            turns_left: self
                .limits
                .max_turns
                .saturating_sub(used.turns)
                .saturating_sub(used.reserved.turns),
            tool_calls_left: self
                .limits
                .max_tool_calls
                .saturating_sub(used.tool_calls)
                .saturating_sub(used.reserved.tool_calls),
            tokens_left: self
                .limits
                .token_budget
                .saturating_sub(used.tokens)
                .saturating_sub(used.reserved.tokens),
            time_left_ms: u64::try_from(
                self.limits
                    .wall_clock
                    .saturating_sub(self.started.elapsed())
                    .as_millis(),
            )
            .unwrap_or(u64::MAX),
        }
    }

    /// What the run has used so far.
    pub fn usage(&self) -> RunUsage {
        let used = self.used();
        RunUsage {
            turns: used.turns,
            tool_calls: used.tool_calls,
            tokens: used.tokens,
        }
    }

    /// The steps the host recorded, in order.
    pub fn steps(&self) -> Vec<Step> {
        self.used().steps.clone()
    }

    /// The token usage the host recorded.
    pub fn token_usage(&self) -> Usage {
        let used = self.used();
        Usage {
            prompt_tokens: used.prompt_tokens,
            completion_tokens: used.completion_tokens,
        }
    }

    /// Counts a request past the budget; stops the planner (a trap) after
    /// [`MAX_OVER_BUDGET_REQUESTS`] of them.
    fn over_budget(&self, what: &str) -> wasmtime::Result<String> {
        let mut used = self.used();
        used.over_budget += 1;
        if used.over_budget > MAX_OVER_BUDGET_REQUESTS {
            return Err(wasmtime::Error::msg(format!(
                "the planner kept asking for {what} after its budget ran out \
                 ({MAX_OVER_BUDGET_REQUESTS} refused requests); the host stopped it"
            )));
        }
        Ok(format!("the agent's {what} budget is used up"))
    }

    fn step(&self, kind: StepKind, name: &str, ok: bool, started: Instant) {
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.used().steps.push(Step {
            kind,
            name: name.to_string(),
            ok,
            duration_ms,
        });
    }

    /// `broker.complete`: one model turn, if the budget allows.
    pub async fn complete(
        &self,
        request: CompletionRequest,
    ) -> wasmtime::Result<Result<Completion, ModelError>> {
        let budget = self.remaining();
        if budget.turns_left == 0 || budget.tokens_left == 0 || budget.time_left_ms == 0 {
            let reason = self.over_budget("model turns")?;
            return Ok(Err(ModelError::InvalidRequest(format!(
                "{reason}: turns left {}, tokens left {}, time left {} ms; return an answer now",
                budget.turns_left, budget.tokens_left, budget.time_left_ms
            ))));
        }
        self.used().turns += 1;
        // Only the tools the agent has may be offered.
        let mut request = request;
        request.tools.retain(|t| self.offers(&t.name));
        let started = Instant::now();
        let recorded = match &self.replay {
            Some(r) => r.complete(&request)?,
            None => Answer::Live,
        };
        let mut model_use = None;
        let (result, stats) = match (recorded, &self.model) {
            (Answer::Recorded(answer), _) => (answer, None),
            (Answer::Live, None) => (
                Err(ModelError::Unavailable(
                    "an offline replay has no model to ask".into(),
                )),
                None,
            ),
            (Answer::Live, Some(primary)) => match self.route(primary) {
                Err(denial) => (Err(ModelError::Denied(denial)), None),
                Ok((model, grant)) => {
                    let mut grant = grant.clone();
                    grant.limits.timeout = grant
                        .limits
                        .timeout
                        .min(Duration::from_millis(budget.time_left_ms.max(1)));
                    let observer = Arc::clone(&self.observer);
                    let depth = self.depth;
                    let on_delta: crate::stream_sink::OnDelta = Arc::new(move |text: &str| {
                        observer.event(RunEvent::ModelDelta { depth, text });
                    });
                    match self
                        .runtime
                        .complete_streaming(model, &request, &grant, Some(on_delta))
                        .await
                    {
                        Ok(reply) => {
                            model_use = Some(RecordedUse {
                                component: model.name().to_string(),
                                denied: match &reply.result {
                                    Err(ModelError::Denied(d)) => vec![RecordedDenial::of(d)],
                                    _ => Vec::new(),
                                },
                                usage: reply.used,
                            });
                            (reply.result, Some(reply.stats))
                        }
                        Err(e) => {
                            model_use = e.denial().map(|d| RecordedUse {
                                component: model.name().to_string(),
                                usage: Default::default(),
                                denied: vec![RecordedDenial::of(d)],
                            });
                            (Err(model_error_of(e)), None)
                        }
                    }
                }
            },
        };
        self.record(|| Exchange::Complete {
            request: request.clone(),
            answer: result.clone(),
            used: model_use.clone(),
        });
        if let Ok(c) = &result {
            let mut used = self.used();
            let tokens = u64::from(c.usage.prompt_tokens) + u64::from(c.usage.completion_tokens);
            used.tokens = used.tokens.saturating_add(tokens);
            used.prompt_tokens = used.prompt_tokens.saturating_add(c.usage.prompt_tokens);
            used.completion_tokens = used
                .completion_tokens
                .saturating_add(c.usage.completion_tokens);
        }
        let model_name = self.model.as_ref().map_or("model", ModelComponent::name);
        self.step(StepKind::Model, model_name, result.is_ok(), started);
        if self.depth > 0 {
            let mut conversation = request.messages.clone();
            if let Ok(c) = &result {
                conversation.push(c.message.clone());
            }
            *self.transcript.lock().unwrap_or_else(|p| p.into_inner()) = conversation;
        }
        self.observer.event(RunEvent::Model {
            depth: self.depth,
            request: &request,
            result: &result,
            stats: stats.as_ref(),
            duration: started.elapsed(),
        });
        Ok(result)
    }

    /// Asks the model for a completion on the host's own behalf (e.g. a
    /// history summary), on the same path as the planner's turns: routed by
    /// the run's data-residency state (with its labels, and audited), under
    /// the provider's grant. It is not a planner turn: it is neither
    /// counted against the budget nor recorded for replay.
    pub async fn ask_model(&self, request: &CompletionRequest) -> Result<Completion, ModelError> {
        let Some(primary) = &self.model else {
            return Err(ModelError::Unavailable(
                "an offline replay has no model to ask".into(),
            ));
        };
        let (model, grant) = self.route(primary).map_err(ModelError::Denied)?;
        match self.runtime.complete(model, request, grant).await {
            Ok(reply) => reply.result,
            Err(e) => Err(model_error_of(e)),
        }
    }

    /// `broker.tools`: the specs of the agent's tools (plus `delegate`'s
    /// availability is the planner's business).
    pub fn tool_specs(&self) -> Vec<ToolSpec> {
        match &self.replay {
            Some(r) if r.mode() == ReplayMode::Offline => r.recording().header.tools.clone(),
            _ => self.tools.values().map(|t| t.spec.clone()).collect(),
        }
    }

    /// `broker.history`.
    pub fn history(&self) -> Vec<Message> {
        self.history.clone()
    }

    /// `broker.skills`.
    pub fn skills(&self) -> Vec<SkillSpec> {
        self.skills.clone()
    }

    /// `broker.call-tools`: every call checked against the agent's tool
    /// list and budget; the allowed ones run concurrently (at most
    /// `max_parallel_tools` at once), each in its own store under its own
    /// grant. Results come back in the order of `calls`.
    pub async fn call_tools(
        &self,
        calls: Vec<ToolCall>,
    ) -> wasmtime::Result<Vec<Result<String, ToolError>>> {
        let recorded = match &self.replay {
            Some(r) => r.call_tools(&calls)?,
            None => Answer::Live,
        };
        let mut uses = Vec::new();
        let results = match (recorded, &self.replay) {
            (Answer::Recorded((step, recorded)), Some(r)) if r.mode() == ReplayMode::LiveTools => {
                let (live, used) = self.run_tools(&calls).await?;
                r.check_tool_results(step, &calls, &recorded, &live)?;
                uses = used;
                live
            }
            (Answer::Recorded((_, recorded)), _) => {
                let mut used = self.used();
                let ran = calls.len().min(MAX_CALLS_PER_REQUEST);
                used.tool_calls = used
                    .tool_calls
                    .saturating_add(u32::try_from(ran).unwrap_or(u32::MAX))
                    .min(self.limits.max_tool_calls);
                recorded
            }
            (Answer::Live, _) => {
                let (live, used) = self.run_tools(&calls).await?;
                uses = used;
                live
            }
        };
        self.record(|| Exchange::CallTools {
            calls: calls.clone(),
            answer: results.clone(),
            used: uses.clone(),
        });
        Ok(results)
    }

    /// Runs the allowed `calls`: each result in the order of `calls`, and
    /// what each call that ran used of its grant (or was refused).
    async fn run_tools(
        &self,
        calls: &[ToolCall],
    ) -> wasmtime::Result<(Vec<Result<String, ToolError>>, Vec<RecordedUse>)> {
        let mut results: Vec<Option<Result<String, ToolError>>> = vec![None; calls.len()];
        let mut runnable = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            if i >= MAX_CALLS_PER_REQUEST {
                results[i] = Some(Err(ToolError::Failed(format!(
                    "at most {MAX_CALLS_PER_REQUEST} tool calls are run per request; this one was not"
                ))));
                continue;
            }
            let Some(tool) = self.tools.get(&call.name) else {
                let denial = Denial {
                    capability: Capability::Component,
                    target: call.name.clone(),
                    reason: format!(
                        "`{}` is not one of this agent's tools ({})",
                        call.name,
                        self.tools.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                };
                self.runtime.audit.record_denial("planner", None, &denial);
                self.observer.event(RunEvent::Denied {
                    depth: self.depth,
                    denial: &denial,
                });
                results[i] = Some(Err(ToolError::Denied(denial)));
                continue;
            };
            {
                let mut used = self.used();
                if used.tool_calls >= self.limits.max_tool_calls {
                    drop(used);
                    let reason = self.over_budget("tool calls")?;
                    results[i] = Some(Err(ToolError::Failed(format!(
                        "{reason} ({} calls); answer with what you have",
                        self.limits.max_tool_calls
                    ))));
                    continue;
                }
                used.tool_calls += 1;
            }
            runnable.push((i, call, tool));
        }
        let semaphore = tokio::sync::Semaphore::new(self.limits.max_parallel_tools.max(1));
        let semaphore = &semaphore;
        let runs = runnable.into_iter().map(|(i, call, tool)| async move {
            let _permit = semaphore.acquire().await;
            let started = Instant::now();
            let result = self
                .runtime
                .call_source(&tool.source, &tool.tool, &call.arguments, &tool.grant)
                .await;
            if let Some(guard) = &self.residency {
                guard.saw_tool_result(&call.name);
            }
            self.step(StepKind::Tool, &call.name, result.is_ok(), started);
            self.observer.event(RunEvent::Tool {
                depth: self.depth,
                component: tool.source.name(),
                call,
                result: &result,
                duration: started.elapsed(),
            });
            let component = tool.source.name().to_string();
            let (result, used) = match result {
                Ok(report) => {
                    let used = RecordedUse {
                        component,
                        denied: report.denials.iter().map(RecordedDenial::of).collect(),
                        usage: report.used,
                    };
                    (Ok(report.output.to_string()), Some(used))
                }
                Err(e) => {
                    let used = e.denial().map(|d| RecordedUse {
                        component,
                        usage: Default::default(),
                        denied: vec![RecordedDenial::of(d)],
                    });
                    (Err(tool_error_of(e)), used)
                }
            };
            (i, result, used)
        });
        let mut uses = Vec::new();
        for (i, result, used) in join_all(runs).await {
            results[i] = Some(result);
            uses.extend(used);
        }
        let results = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ToolError::Failed("not run".into()))))
            .collect();
        Ok((results, uses))
    }

    /// `broker.delegate`: each request runs in an executor agent — a fresh
    /// planner instance with a subset of this agent's tools (never more),
    /// its own turn limit, and (optionally) its own git worktree.
    /// Independent executors run concurrently; one that fails, traps or
    /// times out is an error in its slot and the others carry on.
    pub async fn delegate(
        self: &Arc<Self>,
        requests: Vec<Delegation>,
    ) -> wasmtime::Result<Vec<Result<Outcome, RunError>>> {
        let recorded = match &self.replay {
            Some(r) => r.delegate(&requests)?,
            None => Answer::Live,
        };
        let outcomes = match recorded {
            Answer::Recorded(outcomes) => outcomes,
            Answer::Live => self.delegate_live(requests.clone()).await?,
        };
        self.record(|| Exchange::Delegate {
            requests,
            answer: outcomes.clone(),
        });
        Ok(outcomes)
    }

    async fn delegate_live(
        self: &Arc<Self>,
        requests: Vec<Delegation>,
    ) -> wasmtime::Result<Vec<Result<Outcome, RunError>>> {
        let Some(config) = self.delegation.clone().filter(|_| self.depth == 0) else {
            let reason = if self.depth > 0 {
                "an executor cannot delegate further"
            } else {
                "this agent may not delegate"
            };
            return Ok(requests
                .iter()
                .map(|r| {
                    Err(RunError::Denied(Denial {
                        capability: Capability::Component,
                        target: r.task.chars().take(80).collect(),
                        reason: reason.to_string(),
                    }))
                })
                .collect());
        };
        let semaphore = tokio::sync::Semaphore::new(config.max_concurrent.max(1));
        let semaphore = &semaphore;
        let config = &config;
        // Executors of this batch that have not reserved their share yet.
        let unreserved =
            &std::sync::atomic::AtomicU32::new(u32::try_from(requests.len()).unwrap_or(u32::MAX));
        let runs = requests.into_iter().map(|request| async move {
            let _permit = semaphore.acquire().await;
            let started = Instant::now();
            let (result, transcript) = self.run_executor(config, &request, unreserved).await;
            self.step(
                StepKind::Delegation,
                &request.task.chars().take(80).collect::<String>(),
                result.is_ok(),
                started,
            );
            self.observer.event(RunEvent::Delegation {
                depth: self.depth,
                task: &request.task,
                result: &result,
                transcript: &transcript,
                duration: started.elapsed(),
            });
            result
        });
        Ok(join_all(runs).await)
    }

    /// Runs one executor; returns its outcome and its conversation (empty
    /// when it was refused before it started).
    async fn run_executor(
        self: &Arc<Self>,
        config: &DelegationConfig,
        request: &Delegation,
        unreserved: &std::sync::atomic::AtomicU32,
    ) -> (Result<Outcome, RunError>, Vec<Message>) {
        let mut transcript = Vec::new();
        let asked = if request.max_turns == 0 {
            config.default_max_turns
        } else {
            request.max_turns
        };
        let reservation = self.reserve(asked, unreserved);
        let result = self
            .executor(config, request, reservation, &mut transcript)
            .await;
        // Whatever happened, the reservation goes back; what the executor
        // spent was added when it finished.
        {
            let mut used = self.used();
            used.reserved.turns = used.reserved.turns.saturating_sub(reservation.turns);
            used.reserved.tool_calls = used
                .reserved
                .tool_calls
                .saturating_sub(reservation.tool_calls);
            used.reserved.tokens = used.reserved.tokens.saturating_sub(reservation.tokens);
        }
        (result, transcript)
    }

    /// Sets aside an executor's budget before it starts, under the same
    /// lock that counts spending, so executors running at once can never
    /// together spend more than the manager has: up to `asked` turns, and
    /// an even share (among the executors of the batch still to start) of
    /// what is left of the turns, tool calls and tokens.
    fn reserve(&self, asked: u32, unreserved: &std::sync::atomic::AtomicU32) -> Reservation {
        use std::sync::atomic::Ordering;
        let mut used = self.used();
        let pending = unreserved.load(Ordering::SeqCst).max(1);
        unreserved.store(pending - 1, Ordering::SeqCst);
        let left = |limit: u64, spent: u64, reserved: u64| {
            limit.saturating_sub(spent).saturating_sub(reserved)
        };
        let turns_left = left(
            self.limits.max_turns.into(),
            used.turns.into(),
            used.reserved.turns.into(),
        );
        let tools_left = left(
            self.limits.max_tool_calls.into(),
            used.tool_calls.into(),
            used.reserved.tool_calls.into(),
        );
        let tokens_left = left(self.limits.token_budget, used.tokens, used.reserved.tokens);
        let share = |left: u64| left / u64::from(pending);
        let turns = share(turns_left).max(turns_left.min(1)).min(asked.into());
        let reservation = Reservation {
            turns: u32::try_from(turns).unwrap_or(u32::MAX),
            tool_calls: u32::try_from(share(tools_left)).unwrap_or(u32::MAX),
            tokens: share(tokens_left),
        };
        used.reserved.turns = used.reserved.turns.saturating_add(reservation.turns);
        used.reserved.tool_calls = used
            .reserved
            .tool_calls
            .saturating_add(reservation.tool_calls);
        used.reserved.tokens = used.reserved.tokens.saturating_add(reservation.tokens);
        reservation
    }

    async fn executor(
        self: &Arc<Self>,
        config: &DelegationConfig,
        request: &Delegation,
        reserved: Reservation,
        transcript: &mut Vec<Message>,
    ) -> Result<Outcome, RunError> {
        if let Some(extra) = request.tools.iter().find(|t| !self.tools.contains_key(*t)) {
            return Err(RunError::Denied(Denial {
                capability: Capability::Component,
                target: extra.clone(),
                reason: format!(
                    "an executor may only use the manager's tools, and `{extra}` is not one of them"
                ),
            }));
        }
        let budget = self.remaining();
        if reserved.turns == 0 || budget.time_left_ms == 0 {
            return Err(RunError::BudgetExhausted(
                "the manager has no turns or time left to delegate with".into(),
            ));
        }
        let worktree = match (request.worktree, &config.workspace) {
            (true, Some(ws)) => Some(
                super::worktree::Worktree::create(ws)
                    .map_err(|e| RunError::Failed(format!("cannot create a git worktree: {e}")))?,
            ),
            (true, None) => {
                return Err(RunError::Failed(
                    "a worktree was asked for, but the agent has no workspace directory".into(),
                ));
            }
            _ => None,
        };
        let tools: Vec<AgentTool> = request
            .tools
            .iter()
            .filter_map(|name| self.tools.get(name).cloned())
            .map(|mut tool| {
                if let (Some(wt), Some(ws)) = (&worktree, &config.workspace) {
                    wt.redirect(&mut tool.grant, ws);
                }
                tool
            })
            .collect();
        // The executor's limits are its reservation, taken before it
        // started: executors running at once share the manager's budget
        // rather than each getting all of it.
        let limits = AgentLimits {
            max_turns: reserved.turns,
            max_tool_calls: reserved.tool_calls,
            token_budget: reserved.tokens,
            wall_clock: Duration::from_millis(budget.time_left_ms),
            max_parallel_tools: self.limits.max_parallel_tools,
        };
        let skills = self
            .skills
            .iter()
            .filter(|s| s.required_tools.iter().all(|t| request.tools.contains(t)))
            .cloned()
            .collect();
        let child = Arc::new(Broker {
            runtime: self.runtime.clone(),
            model: self.model.clone(),
            model_grant: self.model_grant.clone(),
            tools: tools
                .into_iter()
                .map(|t| (t.spec.name.clone(), t))
                .collect(),
            skills,
            history: Vec::new(),
            limits,
            started: Instant::now(),
            used: Mutex::new(Used::default()),
            delegation: None,
            observer: Arc::clone(&self.observer),
            depth: self.depth + 1,
            transcript: Mutex::new(Vec::new()),
            recorder: None,
            replay: None,
            residency: self.residency.clone(),
            fallback: self.fallback.clone(),
            context: self.context.clone(),
        });
        let mut grant = config.planner_grant.clone();
        grant.limits.timeout = limits.wall_clock;
        let result = self
            .runtime
            .run_planner(&config.planner, &request.task, &grant, Arc::clone(&child))
            .await;
        *transcript =
            std::mem::take(&mut *child.transcript.lock().unwrap_or_else(|p| p.into_inner()));
        // What the executor used counts against the manager's budget.
        {
            let spent = child.usage();
            let tokens = child.token_usage();
            let mut used = self.used();
            used.turns = used.turns.saturating_add(spent.turns);
            used.tool_calls = used.tool_calls.saturating_add(spent.tool_calls);
            used.tokens = used.tokens.saturating_add(spent.tokens);
            used.prompt_tokens = used.prompt_tokens.saturating_add(tokens.prompt_tokens);
            used.completion_tokens = used
                .completion_tokens
                .saturating_add(tokens.completion_tokens);
        }
        let mut outcome = match result {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(RunError::Failed(format!("the executor failed: {e}"))),
        };
        if let Some(wt) = worktree {
            outcome.answer = format!(
                "{}\n\n(the executor worked in the git worktree {})",
                outcome.answer,
                wt.path().display()
            );
        }
        Ok(outcome)
    }
}

/// A model call the host could not complete, as the planner sees it.
fn model_error_of(e: CallError) -> ModelError {
    match e {
        CallError::Denied { denial, .. } => ModelError::Denied(denial),
        other => ModelError::Unavailable(other.to_string()),
    }
}

/// A tool call that failed, as the planner (and the model) sees it.
pub fn tool_error_of(e: CallError) -> ToolError {
    match e {
        CallError::Denied { denial, .. } => ToolError::Denied(denial),
        CallError::Tool { error, .. } => error,
        other => ToolError::Failed(other.to_string()),
    }
}
