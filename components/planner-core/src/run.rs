//! The agent loop.

use std::time::{Duration, Instant};

use chat_wire::{
    Completion, CompletionRequest, FinishReason, Message, ModelError, Role, Sampling, ToolCall,
    ToolChoice, ToolSpec, Usage,
};

use crate::broker::{Broker, Level};
use crate::compact::compact_for_overflow;
use crate::content_calls::tool_calls_in_content;
use crate::delegate::{DELEGATE_TOOL, delegate_spec, format_results, parse_delegations};
use crate::memory::{notes_text, recall, remember};
use crate::prompt::initial_messages;
use crate::types::{Budget, Delegation, Outcome, RunError, Step, StepKind, ToolError};

/// The longest wait the planner accepts before retrying a rate-limited
/// model call; a backend asking for more fails the run instead.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The first wait before retrying an unavailable or overloaded backend or
/// a bad response; each further retry waits twice as long.
pub const RETRY_WAIT: Duration = Duration::from_secs(1);
/// How many times a failing model call is retried (each only if its wait
/// fits in the time left).
pub const MAX_MODEL_RETRIES: u32 = 4;
/// How many times a run compacts its conversation after a
/// `context-overflow` and asks again.
const MAX_COMPACTIONS: u32 = 3;
/// The longest delegated task text kept as a step's name.
const STEP_NAME_CHARS: usize = 120;

/// Runs the agent on `task` until the model answers without calling tools or
/// a limit is reached.
///
/// Each turn: check the remaining budget (out of turns, tokens or time ends
/// the run with `budget-exhausted`); ask the model, offering the agent's
/// tools plus `delegate`; if the reply calls tools, run them all in one
/// `call-tools` (and the delegations in one `delegate`), append the reply
/// and one `tool` message per call — a typed tool error becomes text the
/// model can act on — and go again. On the last turn, or when no tool calls
/// are left, the model is asked to answer without tools. A reply whose text
/// is nothing but tool calls written as JSON (models without native tool
/// calling) is taken as those calls. A model error that may pass
/// (`unavailable`, `rate-limited`, `bad-response`) is retried with
/// exponential backoff (or the server's `Retry-After`), up to
/// [`MAX_MODEL_RETRIES`] times and only while the wait fits the time left;
/// a `context-overflow` compacts the conversation (long tool results cut,
/// then the oldest exchanges dropped) and asks again. Otherwise the run
/// fails with `run-error::model`. The outcome's usage includes the tokens of delegated
/// executors.
pub fn run<B: Broker>(broker: &mut B, task: &str) -> Result<Outcome, RunError> {
    if task.trim().is_empty() {
        return Err(RunError::Failed(
            "the task is empty; give the agent something to do".to_string(),
        ));
    }
    let mut run = Run {
        broker: &mut *broker,
        started: Instant::now(),
        steps: Vec::new(),
        usage: Usage::default(),
        turns: 0,
        model: None,
    };
    let own_tools = run.broker.tools();
    let offers_delegate = !own_tools.iter().any(|t| t.name == DELEGATE_TOOL);
    if !offers_delegate {
        run.broker.log(
            Level::Warn,
            "the agent has a tool named `delegate`; the planner's own delegate tool is not offered",
        );
    }
    let mut offered = own_tools.clone();
    if offers_delegate {
        offered.push(delegate_spec(&own_tools));
    }
    let skills = run.broker.skills();
    let history = run.broker.history();
    let mut messages = initial_messages(&skills, history, task, offers_delegate);
    let recalled = recall(run.broker);
    let notes = notes_text(&recalled);
    if let Some(system) = messages.first_mut().filter(|_| !notes.is_empty()) {
        system.content.push_str("\n\n");
        system.content.push_str(&notes);
    }
    let mut compactions = 0;

    loop {
        let budget = run.broker.remaining_budget();
        run.check_budget(&budget)?;
        let request = request(&messages, &offered, &budget);
        let completion = match run.complete(&request) {
            Err(RunError::Model(ModelError::ContextOverflow(why)))
                if compactions < MAX_COMPACTIONS && compact_for_overflow(&mut messages) =>
            {
                compactions += 1;
                run.broker.log(
                    Level::Warn,
                    &format!(
                        "the conversation does not fit the model's context window ({why}); compacted it ({} messages now), asking again",
                        messages.len()
                    ),
                );
                continue;
            }
            other => other?,
        };
        run.usage += completion.usage;

        let mut reply = completion.message;
        reply.role = Role::Assistant;
        reply.tool_call_id = None;
        if reply.tool_calls.is_empty() && request.tool_choice != ToolChoice::None {
            let calls = tool_calls_in_content(&reply.content, &request.tools, run.turns);
            if !calls.is_empty() {
                run.broker.log(
                    Level::Info,
                    &format!(
                        "the model wrote {} tool call(s) as JSON in its text; running them",
                        calls.len()
                    ),
                );
                reply.tool_calls = calls;
                reply.content = String::new();
            }
        }
        if reply.tool_calls.is_empty() {
            let outcome = run.finish(reply.content, completion.finish_reason)?;
            remember(broker, &recalled, task, &outcome.answer);
            return Ok(outcome);
        }
        unique_call_ids(&mut reply.tool_calls, run.turns);
        let answers = run.call(&reply.tool_calls, &own_tools, offers_delegate);
        let calls = reply.tool_calls.clone();
        messages.push(reply);
        for (call, answer) in calls.iter().zip(answers) {
            messages.push(Message::tool_result(call.id.clone(), answer));
        }
    }
}

/// The state of one run.
struct Run<'b, B: Broker> {
    broker: &'b mut B,
    started: Instant,
    steps: Vec<Step>,
    usage: Usage,
    /// Model calls made, including failed ones.
    turns: u32,
    /// The name of the model that answered last.
    model: Option<String>,
}

impl<B: Broker> Run<'_, B> {
    /// Fails the run when a limit is used up.
    fn check_budget(&self, budget: &Budget) -> Result<(), RunError> {
        let progress = format!(
            "after {} model turns, {} steps, {} tokens and {} ms, without a final answer",
            self.turns,
            self.steps.len(),
            self.usage.total(),
            self.started.elapsed().as_millis()
        );
        let limit = if budget.turns_left == 0 {
            "no model turns are left"
        } else if budget.tokens_left == 0 {
            "the token budget is used up"
        } else if budget.time_left_ms == 0 {
            "the time limit is reached"
        } else {
            return Ok(());
        };
        Err(RunError::BudgetExhausted(format!(
            "{limit} {progress}; raise the agent's limits or narrow the task"
        )))
    }

    /// One model call, retried with backoff while the error may pass and
    /// the wait fits the time left.
    fn complete(&mut self, request: &CompletionRequest) -> Result<Completion, RunError> {
        let mut attempt = 0u32;
        loop {
            let started = Instant::now();
            let result = self.broker.complete(request);
            let duration = started.elapsed();
            self.turns += 1;
            match result {
                Ok(completion) => {
                    self.step(StepKind::Model, &completion.model, true, duration);
                    self.model = Some(completion.model.clone());
                    return Ok(completion);
                }
                Err(error) => {
                    let name = self.model.clone().unwrap_or_else(|| "model".to_string());
                    self.step(StepKind::Model, &name, false, duration);
                    let wait = retry_wait(&error, attempt);
                    let retry = match wait {
                        Some(wait) if attempt < MAX_MODEL_RETRIES => {
                            let budget = self.broker.remaining_budget();
                            budget.turns_left > 0
                                && budget.tokens_left > 0
                                && u128::from(budget.time_left_ms) > wait.as_millis()
                        }
                        _ => false,
                    };
                    let Some(wait) = wait.filter(|_| retry) else {
                        self.broker
                            .log(Level::Warn, &format!("the model call failed: {error}"));
                        return Err(RunError::Model(error));
                    };
                    attempt += 1;
                    self.broker.log(
                        Level::Warn,
                        &format!(
                            "the model call failed ({error}); retry {attempt} of {MAX_MODEL_RETRIES} in {} ms",
                            wait.as_millis()
                        ),
                    );
                    self.broker.sleep(wait);
                }
            }
        }
    }

    /// Runs the tool calls of one reply: every ordinary call in one
    /// `call-tools`, every delegation in one `delegate`. Returns the text of
    /// the `tool` message answering each call, in order.
    fn call(
        &mut self,
        calls: &[ToolCall],
        own_tools: &[ToolSpec],
        offers_delegate: bool,
    ) -> Vec<String> {
        let mut answers = vec![String::new(); calls.len()];
        let is_delegate = |c: &ToolCall| offers_delegate && c.name == DELEGATE_TOOL;

        let (tool_idx, tool_calls): (Vec<usize>, Vec<ToolCall>) = calls
            .iter()
            .enumerate()
            .filter(|(_, c)| !is_delegate(c))
            .map(|(i, c)| (i, c.clone()))
            .unzip();
        if !tool_calls.is_empty() {
            let started = Instant::now();
            let mut results = self.broker.call_tools(&tool_calls).into_iter();
            // The calls ran concurrently: each gets the duration of the batch.
            let duration = started.elapsed();
            for (i, call) in tool_idx.into_iter().zip(&tool_calls) {
                let result = results.next().unwrap_or_else(|| {
                    Err(ToolError::Failed(
                        "the host returned no result for this call".to_string(),
                    ))
                });
                self.step(StepKind::Tool, &call.name, result.is_ok(), duration);
                answers[i] = match result {
                    Ok(output) => output,
                    Err(error) => describe_tool_error(&call.name, &error),
                };
            }
        }

        // Delegations: the valid ones of every delegate call, in one request.
        let mut requests: Vec<Delegation> = Vec::new();
        let mut owners: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
        for (i, call) in calls.iter().enumerate().filter(|(_, c)| is_delegate(c)) {
            match parse_delegations(&call.arguments, own_tools) {
                Ok(delegations) => {
                    let start = requests.len();
                    requests.extend(delegations);
                    owners.push((i, start..requests.len()));
                }
                Err(message) => {
                    self.step(StepKind::Tool, DELEGATE_TOOL, false, Duration::ZERO);
                    answers[i] = format!("error (invalid-input): {message}");
                }
            }
        }
        if !requests.is_empty() {
            let started = Instant::now();
            let mut results = self.broker.delegate(&requests);
            let duration = started.elapsed();
            results.resize_with(requests.len(), || {
                Err(RunError::Failed(
                    "the host returned no result for this delegation".to_string(),
                ))
            });
            for (delegation, result) in requests.iter().zip(&results) {
                let name = step_name(&delegation.task);
                self.step(StepKind::Delegation, &name, result.is_ok(), duration);
                if let Ok(outcome) = result {
                    self.usage += outcome.usage;
                }
            }
            for (i, range) in owners {
                let pairs: Vec<_> = requests[range.clone()]
                    .iter()
                    .zip(&results[range])
                    .collect();
                answers[i] = format_results(&pairs);
            }
        }
        answers
    }

    /// The outcome for a reply without tool calls.
    fn finish(self, answer: String, finish_reason: FinishReason) -> Result<Outcome, RunError> {
        if answer.trim().is_empty() && finish_reason == FinishReason::ContentFilter {
            return Err(RunError::Failed(
                "the backend's content filter withheld the model's answer".to_string(),
            ));
        }
        if finish_reason == FinishReason::Length {
            self.broker.log(
                Level::Warn,
                "the final answer was cut at the model's token limit",
            );
        }
        Ok(Outcome {
            answer,
            steps: self.steps,
            usage: self.usage,
        })
    }

    fn step(&mut self, kind: StepKind, name: &str, ok: bool, duration: Duration) {
        self.steps.push(Step {
            kind,
            name: name.to_string(),
            ok,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        });
    }
}

/// The request of one turn. On the last turn, or when no tool calls are
/// left, the model is told to answer now and may not call tools.
fn request(messages: &[Message], tools: &[ToolSpec], budget: &Budget) -> CompletionRequest {
    let mut messages = messages.to_vec();
    let mut tool_choice = ToolChoice::Auto;
    let last_call = if budget.turns_left == 1 {
        Some("this is your last model turn")
    } else if budget.tool_calls_left == 0 {
        Some("no tool calls are left in your budget")
    } else {
        None
    };
    if let Some(why) = last_call
        && !tools.is_empty()
    {
        tool_choice = ToolChoice::None;
        messages.push(Message::text(
            Role::User,
            format!(
                "Note: {why}. Reply now with your final answer from what you know so far, without calling tools."
            ),
        ));
    }
    CompletionRequest {
        model: None,
        messages,
        tools: tools.to_vec(),
        tool_choice,
        sampling: Sampling::default(),
    }
}

/// How long to wait before retry number `attempt + 1` after `error`:
/// the server's `Retry-After`, else [`RETRY_WAIT`] doubled per attempt;
/// `None` when it should not be retried (or the server asks for more than
/// [`MAX_RETRY_WAIT`]).
fn retry_wait(error: &ModelError, attempt: u32) -> Option<Duration> {
    let backoff = RETRY_WAIT
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(MAX_RETRY_WAIT);
    match error {
        ModelError::RateLimited(Some(seconds)) => {
            let wait = Duration::from_secs(u64::from(*seconds));
            (wait <= MAX_RETRY_WAIT).then_some(wait)
        }
        ModelError::RateLimited(None)
        | ModelError::Unavailable(_)
        // A sampled reply that did not parse is often fine the second time.
        | ModelError::BadResponse(_) => Some(backoff),
        ModelError::InvalidRequest(_)
        | ModelError::Denied(_)
        | ModelError::ContextOverflow(_) => None,
    }
}

/// The text the model reads for a failed tool call.
pub fn describe_tool_error(tool: &str, error: &ToolError) -> String {
    let advice = match error {
        ToolError::InvalidInput(_) => {
            "\nFix the arguments to match the tool's schema and call it again."
        }
        ToolError::UnknownTool(_) => "\nCall only the tools you were offered.",
        ToolError::NotFound(_) => "\nCheck the name or path, or look for it first.",
        ToolError::Denied(_) => {
            "\nThis is outside what the agent may access; work within its grant, or say in your answer what access is needed."
        }
        ToolError::Failed(_) => "",
    };
    format!("error from `{tool}`: {error}{advice}")
}

/// Makes the ids of `calls` non-empty and distinct, so each `tool` message
/// answers exactly one call.
fn unique_call_ids(calls: &mut [ToolCall], turn: u32) {
    let mut seen: Vec<String> = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter_mut().enumerate() {
        if call.id.is_empty() || seen.contains(&call.id) {
            call.id = format!("call_{turn}_{i}");
        }
        seen.push(call.id.clone());
    }
}

/// A delegated task as a step name: one line, cut to [`STEP_NAME_CHARS`].
fn step_name(task: &str) -> String {
    let line = task.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= STEP_NAME_CHARS {
        line
    } else {
        let cut: String = line.chars().take(STEP_NAME_CHARS).collect();
        format!("{cut}…")
    }
}
