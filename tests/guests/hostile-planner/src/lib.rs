//! A planner that misbehaves on purpose. The task selects the misbehaviour:
//!
//! - `unlisted`: calls a tool the agent does not have; answers with the error.
//! - `flood:TOOL`: asks for 1,000 calls of TOOL in one request; answers with
//!   how many ran and how many were refused.
//! - `loop`: asks the model for completions forever, ignoring every error.
//! - `spin`: computes forever without calling the host.
//! - `delegate-extra:TOOL`: delegates a sub-task with TOOL (which the agent
//!   should not have); answers with the error.
//! - `delegate:TASK1|TASK2`: delegates two sub-tasks with every tool; answers
//!   with each executor's answer or error.
//! - `delegate-worktree:TASK`: delegates TASK with every tool, in a git
//!   worktree; answers with the executor's answer or error.
//! - `budget`: answers with the budget the host reports.
//! - `echo:TEXT`: answers TEXT without calling anything.
//! - `panic`: panics.

use warden_sdk::planner::bindings::exports::warden::plugin::agent::Guest;
use warden_sdk::planner::bindings::warden::plugin::broker;
use warden_sdk::planner::bindings::warden::plugin::chat::{
    CompletionRequest, Message, Role, Sampling, ToolCall, ToolChoice, Usage,
};
use warden_sdk::planner::bindings::warden::plugin::planning::{Delegation, Outcome, RunError};

struct HostilePlanner;

fn answer(text: impl Into<String>) -> Result<Outcome, RunError> {
    Ok(Outcome {
        answer: text.into(),
        steps: Vec::new(),
        usage: Usage {
            prompt_tokens: 0,
            completion_tokens: 0,
        },
    })
}

fn request(text: &str) -> CompletionRequest {
    CompletionRequest {
        model: None,
        messages: vec![Message {
            role: Role::User,
            content: text.to_string(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }],
        tools: broker::tools(),
        tool_choice: ToolChoice::Auto,
        sampling: Sampling {
            temperature: None,
            top_p: None,
            max_tokens: None,
            stop: Vec::new(),
            seed: None,
        },
    }
}

fn call(id: usize, name: &str) -> ToolCall {
    ToolCall {
        id: format!("call-{id}"),
        name: name.to_string(),
        arguments: r#"{"text":"hi"}"#.to_string(),
    }
}

impl Guest for HostilePlanner {
    fn run(task: String) -> Result<Outcome, RunError> {
        let (verb, arg) = task.split_once(':').unwrap_or((task.as_str(), ""));
        match verb {
            "unlisted" => {
                let results = broker::call_tools(&[call(0, "not_a_tool")]);
                answer(format!("{results:?}"))
            }
            "flood" => {
                let calls: Vec<ToolCall> = (0..1000).map(|i| call(i, arg)).collect();
                let results = broker::call_tools(&calls);
                let ok = results.iter().filter(|r| r.is_ok()).count();
                answer(format!("ran {ok}, refused {}", results.len() - ok))
            }
            "loop" => loop {
                let _ = broker::complete(&request("again"));
            },
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "delegate-extra" => {
                let results = broker::delegate(&[Delegation {
                    task: "echo:sub".into(),
                    tools: vec![arg.to_string()],
                    max_turns: 1,
                    worktree: false,
                }]);
                answer(format!("{results:?}"))
            }
            "delegate" => {
                let tools: Vec<String> = broker::tools().into_iter().map(|t| t.name).collect();
                let requests: Vec<Delegation> = arg
                    .split('|')
                    .map(|t| Delegation {
                        task: t.to_string(),
                        tools: tools.clone(),
                        max_turns: 2,
                        worktree: false,
                    })
                    .collect();
                let results = broker::delegate(&requests);
                let lines: Vec<String> = results
                    .into_iter()
                    .map(|r| match r {
                        Ok(o) => format!("ok: {}", o.answer),
                        Err(e) => format!("error: {e:?}"),
                    })
                    .collect();
                answer(lines.join("\n"))
            }
            "delegate-worktree" => {
                let tools: Vec<String> = broker::tools().into_iter().map(|t| t.name).collect();
                let results = broker::delegate(&[Delegation {
                    task: arg.to_string(),
                    tools,
                    max_turns: 2,
                    worktree: true,
                }]);
                match results.into_iter().next() {
                    Some(Ok(o)) => answer(o.answer),
                    other => answer(format!("error: {other:?}")),
                }
            }
            "budget" => {
                let b = broker::remaining_budget();
                answer(format!(
                    "turns {} tools {} tokens {}",
                    b.turns_left, b.tool_calls_left, b.tokens_left
                ))
            }
            "echo" => answer(arg),
            "panic" => panic!("the hostile planner panics on purpose"),
            other => Err(RunError::Failed(format!("unknown task `{other}`"))),
        }
    }
}

warden_sdk::planner::bindings::export!(HostilePlanner);
