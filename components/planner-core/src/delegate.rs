//! The synthetic `delegate` tool the planner offers the model, and its
//! translation into `broker.delegate` requests and back.

use chat_wire::ToolSpec;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::types::{Delegation, Outcome, RunError};

/// The name of the synthetic tool.
pub const DELEGATE_TOOL: &str = "delegate";

/// Turn limit of a delegated task that sets none.
pub const DEFAULT_MAX_TURNS: u32 = 10;

/// What the model is told `delegate` does.
pub const DELEGATE_DESCRIPTION: &str = "\
Hands independent sub-tasks to executor agents, which work on them concurrently and each \
return a final answer. Use it when the task splits into parts that can be done separately \
(for example examining several files, modules or questions at once). Each task must be \
self-contained: an executor sees only its `task` text, not this conversation, and can use \
only the `tools` listed for it (a subset of yours; all of yours when left out) for at most \
`max_turns` model turns (default 10; the host splits your remaining budget among the \
executors running at once). A task that changes files can set `worktree`: it then works in \
its own git worktree of the workspace, writing only there, and its answer names the \
worktree so the changes can be reviewed and merged. The result lists, for each task in \
order, whether it succeeded and its answer or error.";

/// The `delegate` tool's spec. `tools` is what the planner itself may call;
/// its names are offered as the only valid values for a task's `tools`.
pub fn delegate_spec(tools: &[ToolSpec]) -> ToolSpec {
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    let mut tool_name = json!({"type": "string"});
    if !names.is_empty() {
        tool_name["enum"] = json!(names);
    }
    let schema = json!({
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "description": "The sub-tasks, run concurrently; results come back in this order.",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "task": {
                            "type": "string",
                            "description": "The sub-task in words, complete enough to do without this conversation: what to find or change, where, and what to report back."
                        },
                        "tools": {
                            "type": "array",
                            "description": "Names of the tools the executor may use, from your own tools. Default: all of them.",
                            "items": tool_name
                        },
                        "max_turns": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "The most model turns the executor may take (default 10)."
                        },
                        "worktree": {
                            "type": "boolean",
                            "description": "Run the executor in its own git worktree of the workspace (for tasks that change files), so it writes there and not in the workspace. Default false."
                        }
                    },
                    "required": ["task"]
                }
            }
        },
        "required": ["tasks"]
    });
    ToolSpec {
        name: DELEGATE_TOOL.to_string(),
        description: DELEGATE_DESCRIPTION.to_string(),
        input_schema: schema.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Args {
    Many { tasks: Vec<TaskArgs> },
    // Small models sometimes send a single task without the list.
    One(TaskArgs),
}

#[derive(Deserialize)]
struct TaskArgs {
    task: String,
    #[serde(default)]
    tools: Option<Vec<String>>,
    #[serde(default)]
    max_turns: Option<Value>,
    #[serde(default)]
    worktree: Option<bool>,
}

/// The delegations requested by the `delegate` arguments `arguments`, or a
/// message for the model saying what is wrong with them. `own_tools` are the
/// tools the planner may call (the only ones it may pass on).
pub fn parse_delegations(
    arguments: &str,
    own_tools: &[ToolSpec],
) -> Result<Vec<Delegation>, String> {
    let args: Args = serde_json::from_str(arguments).map_err(|e| {
        format!(
            "the arguments of `delegate` do not match its schema ({e}); send {{\"tasks\": [{{\"task\": \"…\", \"tools\": [\"…\"], \"max_turns\": 5}}]}}"
        )
    })?;
    let tasks = match args {
        Args::Many { tasks } => tasks,
        Args::One(task) => vec![task],
    };
    if tasks.is_empty() {
        return Err("`tasks` is empty; give at least one task to delegate".to_string());
    }
    let all: Vec<String> = own_tools.iter().map(|t| t.name.clone()).collect();
    tasks
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let task = t.task.trim().to_string();
            if task.is_empty() {
                return Err(format!("task {i} is empty; describe the sub-task in words"));
            }
            let tools = t.tools.unwrap_or_else(|| all.clone());
            let unknown: Vec<&str> = tools
                .iter()
                .filter(|name| !all.contains(name))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(format!(
                    "task {i} lists tools you do not have: {}; choose from: {}",
                    unknown.join(", "),
                    if all.is_empty() {
                        "(none)".to_string()
                    } else {
                        all.join(", ")
                    }
                ));
            }
            let max_turns = match t.max_turns {
                None | Some(Value::Null) => DEFAULT_MAX_TURNS,
                Some(v) => match v.as_u64() {
                    Some(0) | None => {
                        return Err(format!(
                            "task {i} has max_turns {v}; it must be a whole number of at least 1"
                        ));
                    }
                    Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
                },
            };
            Ok(Delegation {
                task,
                tools,
                max_turns,
                worktree: t.worktree.unwrap_or(false),
            })
        })
        .collect()
}

/// The `delegate` tool's result for the model: per task, in order, whether
/// it succeeded and its answer or error.
pub fn format_results(results: &[(&Delegation, &Result<Outcome, RunError>)]) -> String {
    let results: Vec<Value> = results
        .iter()
        .map(|(delegation, result)| match result {
            Ok(outcome) => json!({
                "task": delegation.task,
                "ok": true,
                "answer": outcome.answer,
            }),
            Err(e) => json!({
                "task": delegation.task,
                "ok": false,
                "error": e.to_string(),
            }),
        })
        .collect();
    json!({ "results": results }).to_string()
}

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tools() -> Vec<ToolSpec> {
        ["read_file", "grep"]
            .iter()
            .map(|n| ToolSpec {
                name: n.to_string(),
                description: String::new(),
                input_schema: "{}".into(),
            })
            .collect()
    }

    #[test]
    fn the_schema_offers_the_own_tools() {
        let spec = delegate_spec(&tools());
        assert_eq!(spec.name, "delegate");
        let schema: Value = serde_json::from_str(&spec.input_schema).unwrap();
        let item = &schema["properties"]["tasks"]["items"];
        assert_eq!(
            item["properties"]["tools"]["items"]["enum"],
            json!(["read_file", "grep"])
        );
        assert_eq!(item["properties"]["max_turns"]["type"], "integer");
        assert_eq!(item["properties"]["worktree"]["type"], "boolean");
        assert_eq!(item["required"], json!(["task"]));
        assert_eq!(schema["required"], json!(["tasks"]));
        let bare: Value = serde_json::from_str(&delegate_spec(&[]).input_schema).unwrap();
        assert!(
            bare["properties"]["tasks"]["items"]["properties"]["tools"]["items"]
                .get("enum")
                .is_none()
        );
    }

    #[test]
    fn arguments_become_delegations() {
        let d = parse_delegations(
            r#"{"tasks": [{"task": " Count TODOs ", "tools": ["grep"], "max_turns": 3},
                          {"task": "Summarise README.md", "worktree": true}]}"#,
            &tools(),
        )
        .unwrap();
        assert_eq!(
            d,
            vec![
                Delegation {
                    task: "Count TODOs".into(),
                    tools: vec!["grep".into()],
                    max_turns: 3,
                    worktree: false
                },
                Delegation {
                    task: "Summarise README.md".into(),
                    tools: vec!["read_file".into(), "grep".into()],
                    max_turns: DEFAULT_MAX_TURNS,
                    worktree: true
                },
            ]
        );
        let one =
            parse_delegations(r#"{"task": "x", "max_turns": 99999999999}"#, &tools()).unwrap();
        assert_eq!(one[0].max_turns, u32::MAX);
    }

    #[test]
    fn bad_arguments_explain_themselves() {
        let err = |args: &str| parse_delegations(args, &tools()).unwrap_err();
        assert!(err("not json").contains("schema"));
        assert!(err(r#"{"tasks": []}"#).contains("empty"));
        assert!(err(r#"{"tasks": [{"task": "  "}]}"#).contains("task 0 is empty"));
        let m = err(r#"{"tasks": [{"task": "x", "tools": ["rm_rf"]}]}"#);
        assert!(m.contains("rm_rf") && m.contains("read_file, grep"), "{m}");
        assert!(err(r#"{"tasks": [{"task": "x", "max_turns": 0}]}"#).contains("at least 1"));
        assert!(err(r#"{"tasks": [{"task": "x", "max_turns": -2}]}"#).contains("at least 1"));
    }
}
