//! The loop against a scripted fake broker.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::*;
use crate::*;

/// What a fake tool call returns.
type ToolFn = Box<dyn FnMut(&ToolCall) -> Result<String, ToolError>>;
/// What a fake delegation returns.
type DelegateFn = Box<dyn FnMut(&Delegation) -> Result<Outcome, RunError>>;

struct Fake {
    replies: VecDeque<Result<Completion, ModelError>>,
    requests: Vec<CompletionRequest>,
    tools: Vec<ToolSpec>,
    tool_fn: ToolFn,
    tool_batches: Vec<Vec<ToolCall>>,
    /// When set, `call_tools` returns this many results fewer than asked.
    drop_results: usize,
    history: Vec<Message>,
    skills: Vec<SkillSpec>,
    turns: u32,
    tokens: u64,
    time_left_ms: u64,
    tool_calls_left: u32,
    delegate_fn: DelegateFn,
    delegate_batches: Vec<Vec<Delegation>>,
    sleeps: Vec<Duration>,
    logs: Vec<String>,
}

impl Fake {
    fn new(replies: Vec<Result<Completion, ModelError>>) -> Fake {
        Fake {
            replies: replies.into(),
            requests: Vec::new(),
            tools: vec![tool("read_file"), tool("grep")],
            tool_fn: Box::new(|c| Ok(format!("{{\"result\": \"{} ok\"}}", c.name))),
            tool_batches: Vec::new(),
            drop_results: 0,
            history: Vec::new(),
            skills: Vec::new(),
            turns: 20,
            tokens: 1_000_000,
            time_left_ms: 60_000,
            tool_calls_left: 100,
            delegate_fn: Box::new(|d| {
                Ok(Outcome {
                    answer: format!("did: {}", d.task),
                    steps: Vec::new(),
                    usage: Usage {
                        prompt_tokens: 100,
                        completion_tokens: 10,
                    },
                })
            }),
            delegate_batches: Vec::new(),
            sleeps: Vec::new(),
            logs: Vec::new(),
        }
    }

    fn used_tokens(&self) -> u64 {
        self.requests.len() as u64 * 15
    }
}

impl Broker for Fake {
    fn complete(&mut self, request: &CompletionRequest) -> Result<Completion, ModelError> {
        self.requests.push(request.clone());
        self.replies
            .pop_front()
            .unwrap_or_else(|| panic!("the model was called more often than scripted"))
    }
    fn tools(&mut self) -> Vec<ToolSpec> {
        self.tools.clone()
    }
    fn call_tools(&mut self, calls: &[ToolCall]) -> Vec<Result<String, ToolError>> {
        self.tool_batches.push(calls.to_vec());
        let keep = calls.len().saturating_sub(self.drop_results);
        calls[..keep].iter().map(|c| (self.tool_fn)(c)).collect()
    }
    fn history(&mut self) -> Vec<Message> {
        self.history.clone()
    }
    fn skills(&mut self) -> Vec<SkillSpec> {
        self.skills.clone()
    }
    fn remaining_budget(&mut self) -> Budget {
        Budget {
            turns_left: self.turns.saturating_sub(self.requests.len() as u32),
            tool_calls_left: self.tool_calls_left,
            tokens_left: self.tokens.saturating_sub(self.used_tokens()),
            time_left_ms: self.time_left_ms,
        }
    }
    fn delegate(&mut self, requests: &[Delegation]) -> Vec<Result<Outcome, RunError>> {
        self.delegate_batches.push(requests.to_vec());
        requests.iter().map(|d| (self.delegate_fn)(d)).collect()
    }
    fn log(&mut self, _level: Level, message: &str) {
        self.logs.push(message.to_string());
    }
    fn sleep(&mut self, duration: Duration) {
        self.sleeps.push(duration);
    }
}

fn tool(name: &str) -> ToolSpec {
    ToolSpec {
        name: name.to_string(),
        description: format!("The {name} tool."),
        input_schema: r#"{"type":"object"}"#.to_string(),
    }
}

const USAGE: Usage = Usage {
    prompt_tokens: 10,
    completion_tokens: 5,
};

fn answer(text: &str) -> Result<Completion, ModelError> {
    Ok(Completion {
        message: Message::text(Role::Assistant, text),
        finish_reason: FinishReason::Stop,
        usage: USAGE,
        model: "test-model".into(),
    })
}

fn calls(list: &[(&str, &str, Value)]) -> Result<Completion, ModelError> {
    Ok(Completion {
        message: Message {
            role: Role::Assistant,
            content: String::new(),
            tool_calls: list
                .iter()
                .map(|(id, name, args)| ToolCall {
                    id: id.to_string(),
                    name: name.to_string(),
                    arguments: args.to_string(),
                })
                .collect(),
            tool_call_id: None,
        },
        finish_reason: FinishReason::ToolCalls,
        usage: USAGE,
        model: "test-model".into(),
    })
}

fn kinds(outcome: &Outcome) -> Vec<(StepKind, String, bool)> {
    outcome
        .steps
        .iter()
        .map(|s| (s.kind, s.name.clone(), s.ok))
        .collect()
}

fn ok(fake: &mut Fake, task: &str) -> Outcome {
    match run(fake, task) {
        Ok(outcome) => outcome,
        Err(e) => panic!("the run failed: {e}"),
    }
}

#[test]
fn a_final_answer_at_once() {
    let mut fake = Fake::new(vec![answer("42")]);
    let outcome = ok(&mut fake, "What is six times seven?");
    assert_eq!(outcome.answer, "42");
    assert_eq!(
        kinds(&outcome),
        vec![(StepKind::Model, "test-model".into(), true)]
    );
    assert_eq!(outcome.usage, USAGE);

    let request = &fake.requests[0];
    assert_eq!(request.messages.len(), 2);
    assert_eq!(request.messages[0].role, Role::System);
    assert!(request.messages[0].content.starts_with(SYSTEM_PROMPT));
    assert_eq!(
        request.messages[1],
        Message::text(Role::User, "What is six times seven?")
    );
    let names: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["read_file", "grep", DELEGATE_TOOL]);
    assert_eq!(request.tool_choice, ToolChoice::Auto);
    assert_eq!(request.model, None);
    assert!(fake.tool_batches.is_empty() && fake.delegate_batches.is_empty());
}

#[test]
fn two_tool_calls_in_one_turn_run_in_one_batch() {
    let mut fake = Fake::new(vec![
        calls(&[
            ("c1", "read_file", json!({"path": "/repo/a.txt"})),
            ("c2", "grep", json!({"pattern": "TODO"})),
        ]),
        answer("a.txt says hi; 3 TODOs"),
    ]);
    let outcome = ok(&mut fake, "Summarise");
    assert_eq!(outcome.answer, "a.txt says hi; 3 TODOs");
    assert_eq!(
        fake.tool_batches.len(),
        1,
        "both calls go to the host at once"
    );
    assert_eq!(fake.tool_batches[0].len(), 2);
    assert_eq!(
        kinds(&outcome),
        vec![
            (StepKind::Model, "test-model".into(), true),
            (StepKind::Tool, "read_file".into(), true),
            (StepKind::Tool, "grep".into(), true),
            (StepKind::Model, "test-model".into(), true),
        ]
    );
    assert_eq!(outcome.usage, USAGE + USAGE);

    // The second request carries the assistant's calls and one answer per call, in order.
    let messages = &fake.requests[1].messages;
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[2].role, Role::Assistant);
    assert_eq!(messages[2].tool_calls.len(), 2);
    assert_eq!(
        messages[3],
        Message::tool_result("c1", r#"{"result": "read_file ok"}"#)
    );
    assert_eq!(
        messages[4],
        Message::tool_result("c2", r#"{"result": "grep ok"}"#)
    );
}

#[test]
fn tool_errors_are_fed_back_so_the_model_can_recover() {
    let mut fake = Fake::new(vec![
        calls(&[("c1", "read_file", json!({"path": "/etc/passwd"}))]),
        calls(&[("c2", "read_file", json!({"path": "/repo/x"}))]),
        answer("recovered"),
    ]);
    fake.tool_fn = Box::new(|c| {
        if c.arguments.contains("/etc/passwd") {
            Err(ToolError::Denied(Denial {
                capability: Capability::Filesystem,
                target: "/etc/passwd".into(),
                reason: "outside the granted directories (/repo read-only)".into(),
            }))
        } else {
            Err(ToolError::NotFound("/repo/x does not exist".into()))
        }
    });
    let outcome = ok(&mut fake, "read something");
    assert_eq!(outcome.answer, "recovered");
    let fed_back = &fake.requests[1].messages[3];
    assert_eq!(fed_back.tool_call_id.as_deref(), Some("c1"));
    assert!(
        fed_back
            .content
            .starts_with("error from `read_file`: filesystem access to `/etc/passwd` denied: "),
        "{}",
        fed_back.content
    );
    assert!(fed_back.content.contains("outside the granted directories"));
    let not_found = &fake.requests[2].messages[5];
    assert!(
        not_found
            .content
            .contains("not-found: /repo/x does not exist")
    );
    let tool_steps: Vec<bool> = outcome
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Tool)
        .map(|s| s.ok)
        .collect();
    assert_eq!(tool_steps, [false, false]);
}

#[test]
fn missing_results_from_the_host_are_errors_not_panics() {
    let mut fake = Fake::new(vec![
        calls(&[("c1", "grep", json!({})), ("c2", "grep", json!({}))]),
        answer("done"),
    ]);
    fake.drop_results = 1;
    ok(&mut fake, "go");
    let messages = &fake.requests[1].messages;
    assert!(messages[3].content.contains("ok"));
    assert!(messages[4].content.contains("no result"));
}

#[test]
fn running_out_of_turns() {
    // One turn: the model is told to answer, ignores it and calls a tool.
    let mut fake = Fake::new(vec![calls(&[("c1", "grep", json!({}))])]);
    fake.turns = 1;
    match run(&mut fake, "loop forever") {
        Err(RunError::BudgetExhausted(m)) => {
            assert!(m.contains("no model turns are left"), "{m}");
            assert!(m.contains("after 1 model turns"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    let last = &fake.requests[0];
    assert_eq!(last.tool_choice, ToolChoice::None);
    let note = last.messages.last().unwrap();
    assert!(note.content.contains("last model turn"), "{}", note.content);

    let mut fake = Fake::new(vec![]);
    fake.turns = 0;
    assert!(matches!(
        run(&mut fake, "x"),
        Err(RunError::BudgetExhausted(m)) if m.contains("turns")
    ));
    assert!(fake.requests.is_empty());
}

#[test]
fn running_out_of_tokens_or_time() {
    let mut fake = Fake::new(vec![calls(&[("c1", "grep", json!({}))])]);
    fake.tokens = 15; // used up by the first turn
    match run(&mut fake, "x") {
        Err(RunError::BudgetExhausted(m)) => assert!(m.contains("token budget"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut fake = Fake::new(vec![]);
    fake.time_left_ms = 0;
    match run(&mut fake, "x") {
        Err(RunError::BudgetExhausted(m)) => assert!(m.contains("time limit"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_tool_calls_left_asks_for_an_answer() {
    let mut fake = Fake::new(vec![answer("best effort")]);
    fake.tool_calls_left = 0;
    assert_eq!(ok(&mut fake, "x").answer, "best effort");
    assert_eq!(fake.requests[0].tool_choice, ToolChoice::None);
}

#[test]
fn delegate_calls_become_one_broker_delegate() {
    let mut fake = Fake::new(vec![
        calls(&[
            (
                "d1",
                DELEGATE_TOOL,
                json!({"tasks": [
                    {"task": "Count TODOs in src/", "tools": ["grep"], "max_turns": 4},
                    {"task": "Summarise README.md"}
                ]}),
            ),
            ("c1", "read_file", json!({"path": "/repo/Cargo.toml"})),
        ]),
        answer("all done"),
    ]);
    fake.delegate_fn = Box::new(|d| {
        if d.task.starts_with("Count") {
            Ok(Outcome {
                answer: "7 TODOs".into(),
                steps: Vec::new(),
                usage: Usage {
                    prompt_tokens: 100,
                    completion_tokens: 10,
                },
            })
        } else {
            Err(RunError::BudgetExhausted("no model turns are left".into()))
        }
    });
    let outcome = ok(&mut fake, "Review the repo");
    assert_eq!(outcome.answer, "all done");

    assert_eq!(fake.tool_batches.len(), 1);
    assert_eq!(
        fake.tool_batches[0].len(),
        1,
        "delegate is not sent to call-tools"
    );
    assert_eq!(fake.tool_batches[0][0].name, "read_file");
    assert_eq!(
        fake.delegate_batches,
        vec![vec![
            Delegation {
                task: "Count TODOs in src/".into(),
                tools: vec!["grep".into()],
                max_turns: 4,
                worktree: false,
            },
            Delegation {
                task: "Summarise README.md".into(),
                tools: vec!["read_file".into(), "grep".into()],
                max_turns: DEFAULT_MAX_TURNS,
                worktree: false,
            },
        ]]
    );

    let messages = &fake.requests[1].messages;
    assert_eq!(messages[3].tool_call_id.as_deref(), Some("d1"));
    let results: Value = serde_json::from_str(&messages[3].content).unwrap();
    assert_eq!(
        results,
        json!({"results": [
            {"task": "Count TODOs in src/", "ok": true, "answer": "7 TODOs"},
            {"task": "Summarise README.md", "ok": false,
             "error": "budget exhausted: no model turns are left"}
        ]})
    );
    assert_eq!(messages[4].tool_call_id.as_deref(), Some("c1"));

    assert_eq!(
        kinds(&outcome),
        vec![
            (StepKind::Model, "test-model".into(), true),
            (StepKind::Tool, "read_file".into(), true),
            (StepKind::Delegation, "Count TODOs in src/".into(), true),
            (StepKind::Delegation, "Summarise README.md".into(), false),
            (StepKind::Model, "test-model".into(), true),
        ]
    );
    // The executor's tokens count towards the run.
    assert_eq!(outcome.usage.total(), 15 + 110 + 15);
}

#[test]
fn bad_delegate_arguments_are_fed_back_without_delegating() {
    let mut fake = Fake::new(vec![
        calls(&[(
            "d1",
            DELEGATE_TOOL,
            json!({"tasks": [{"task": "x", "tools": ["rm"]}]}),
        )]),
        answer("ok then"),
    ]);
    ok(&mut fake, "x");
    assert!(fake.delegate_batches.is_empty());
    let fed_back = &fake.requests[1].messages[3].content;
    assert!(
        fed_back.starts_with("error (invalid-input)") && fed_back.contains("rm"),
        "{fed_back}"
    );
}

#[test]
fn an_agent_tool_named_delegate_wins() {
    let mut fake = Fake::new(vec![
        calls(&[("c1", DELEGATE_TOOL, json!({"to": "bob"}))]),
        answer("ok"),
    ]);
    fake.tools = vec![tool(DELEGATE_TOOL)];
    ok(&mut fake, "x");
    assert_eq!(fake.requests[0].tools.len(), 1);
    assert_eq!(fake.tool_batches[0][0].name, DELEGATE_TOOL);
    assert!(fake.delegate_batches.is_empty());
    assert!(!fake.requests[0].messages[0].content.contains("`delegate`"));
}

#[test]
fn transient_model_errors_are_retried_with_backoff_within_the_time_left() {
    let mut fake = Fake::new(vec![
        Err(ModelError::Unavailable("connection refused".into())),
        answer("second time lucky"),
    ]);
    let outcome = ok(&mut fake, "x");
    assert_eq!(outcome.answer, "second time lucky");
    assert_eq!(
        kinds(&outcome),
        vec![
            (StepKind::Model, "model".into(), false),
            (StepKind::Model, "test-model".into(), true),
        ]
    );
    assert_eq!(fake.sleeps, [RETRY_WAIT]);

    // The server's Retry-After is honoured.
    let mut fake = Fake::new(vec![Err(ModelError::RateLimited(Some(3))), answer("ok")]);
    ok(&mut fake, "x");
    assert_eq!(fake.sleeps, [Duration::from_secs(3)]);

    // A 503 that lasts: 1, 2, 4, 8 seconds, then the run fails.
    let mut fake = Fake::new(
        (0..=MAX_MODEL_RETRIES)
            .map(|i| Err(ModelError::Unavailable(format!("down {i}"))))
            .collect(),
    );
    assert_eq!(
        run(&mut fake, "x"),
        Err(RunError::Model(ModelError::Unavailable(format!(
            "down {MAX_MODEL_RETRIES}"
        ))))
    );
    assert_eq!(
        fake.sleeps,
        [1, 2, 4, 8].map(Duration::from_secs),
        "exponential backoff"
    );

    // Backoff never waits past the run's wall clock: with 3 s left, the
    // 4 s wait is not taken.
    let mut fake = Fake::new((0..3).map(|_| Err(ModelError::RateLimited(None))).collect());
    fake.time_left_ms = 3_000;
    assert!(matches!(
        run(&mut fake, "x"),
        Err(RunError::Model(ModelError::RateLimited(None)))
    ));
    assert_eq!(fake.sleeps, [1, 2].map(Duration::from_secs));
}

#[test]
fn a_context_overflow_compacts_the_conversation_and_asks_again() {
    let mut fake = Fake::new(vec![
        calls(&[("c1", "read_file", json!({"path": "/big.txt"}))]),
        Err(ModelError::ContextOverflow("4096 tokens".into())),
        answer("fits now"),
    ]);
    fake.tool_fn = Box::new(|_| Ok("y".repeat(50_000)));
    let outcome = ok(&mut fake, "Summarise big.txt");
    assert_eq!(outcome.answer, "fits now");
    let before = &fake.requests[1].messages;
    let after = &fake.requests[2].messages;
    assert_eq!(before.len(), after.len());
    let tool_len = |m: &[Message]| {
        m.iter()
            .filter(|m| m.role == Role::Tool)
            .map(|m| m.content.len())
            .sum::<usize>()
    };
    assert!(tool_len(after) < 2_000 && tool_len(before) >= 50_000);
    assert!(
        fake.logs.iter().any(|l| l.contains("compacted")),
        "{:?}",
        fake.logs
    );
}

#[test]
fn tool_calls_written_as_json_in_the_text_are_run() {
    let mut fake = Fake::new(vec![
        answer(r#"<tool_call>{"name": "read_file", "arguments": {"path": "/a.txt"}}</tool_call>"#),
        answer("read it"),
    ]);
    let outcome = ok(&mut fake, "Read a.txt");
    assert_eq!(outcome.answer, "read it");
    assert_eq!(fake.tool_batches.len(), 1);
    assert_eq!(fake.tool_batches[0][0].name, "read_file");
    assert_eq!(fake.tool_batches[0][0].arguments, r#"{"path":"/a.txt"}"#);
    // The model sees its call answered like a native one.
    let last = &fake.requests[1].messages;
    assert_eq!(last[last.len() - 2].tool_calls.len(), 1);
    assert_eq!(last[last.len() - 1].role, Role::Tool);
    // A JSON answer naming no offered tool stays an answer.
    let mut fake = Fake::new(vec![answer(r#"{"name": "not_a_tool", "arguments": {}}"#)]);
    assert_eq!(
        ok(&mut fake, "x").answer,
        r#"{"name": "not_a_tool", "arguments": {}}"#
    );
}

#[test]
fn other_model_errors_end_the_run() {
    for error in [
        ModelError::InvalidRequest("unknown model".into()),
        ModelError::ContextOverflow("8192 tokens".into()),
        ModelError::Denied(Denial {
            capability: Capability::Network,
            target: "api.example.com:443".into(),
            reason: "not granted".into(),
        }),
        // The backend asks for a longer wait than the planner accepts.
        ModelError::RateLimited(Some(3600)),
    ] {
        let mut fake = Fake::new(vec![Err(error.clone())]);
        assert_eq!(run(&mut fake, "x"), Err(RunError::Model(error)));
        assert_eq!(fake.requests.len(), 1);
        assert!(fake.sleeps.is_empty());
    }
    // No retry when the retry would not fit the budget.
    let mut fake = Fake::new(vec![Err(ModelError::Unavailable("down".into()))]);
    fake.turns = 1;
    assert!(matches!(run(&mut fake, "x"), Err(RunError::Model(_))));
}

#[test]
fn history_and_skills_frame_the_task() {
    let mut fake = Fake::new(vec![answer("ok")]);
    fake.history = vec![
        Message::text(Role::User, "Earlier question"),
        Message::text(Role::Assistant, "Earlier answer"),
    ];
    fake.skills = vec![SkillSpec {
        name: "changelog".into(),
        description: "Keeps CHANGELOG.md".into(),
        when_to_use: "When a release is prepared".into(),
        required_tools: vec!["read_file".into()],
        instructions: "Group entries by Added/Changed/Fixed.".into(),
    }];
    ok(&mut fake, "Prepare 1.2");
    let messages = &fake.requests[0].messages;
    assert_eq!(messages.len(), 4);
    assert!(
        messages[0]
            .content
            .contains("Group entries by Added/Changed/Fixed.")
    );
    assert_eq!(messages[1].content, "Earlier question");
    assert_eq!(messages[2].content, "Earlier answer");
    assert_eq!(messages[3], Message::text(Role::User, "Prepare 1.2"));
}

#[test]
fn odd_replies_are_handled() {
    // Missing and duplicate call ids get distinct ones.
    let mut fake = Fake::new(vec![
        calls(&[("", "grep", json!({})), ("", "grep", json!({}))]),
        answer("fine"),
    ]);
    ok(&mut fake, "x");
    let ids: Vec<_> = fake.tool_batches[0].iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, ["call_1_0", "call_1_1"]);
    assert_eq!(
        fake.requests[1].messages[3].tool_call_id.as_deref(),
        Some("call_1_0")
    );

    // A filtered, empty answer is a failure, not an empty answer.
    let mut fake = Fake::new(vec![Ok(Completion {
        message: Message::text(Role::Assistant, ""),
        finish_reason: FinishReason::ContentFilter,
        usage: USAGE,
        model: "m".into(),
    })]);
    assert!(
        matches!(run(&mut fake, "x"), Err(RunError::Failed(m)) if m.contains("content filter"))
    );

    assert!(matches!(
        run(&mut Fake::new(vec![]), "  "),
        Err(RunError::Failed(_))
    ));
}
