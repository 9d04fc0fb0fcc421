//! The conversation a run starts from: the system message (with the active
//! skills), the session's history and the task.

use chat_wire::{Message, Role};

use crate::types::SkillSpec;

/// How the planner frames every run.
pub const SYSTEM_PROMPT: &str = "\
You are an agent that completes the task the user gives you. Work step by step: call the \
tools offered to you when they help (call several at once when they do not depend on each \
other: independent calls run in parallel), read their results, and continue until you can \
answer. A tool result that starts with `error` says what went wrong; fix the call or try \
another way instead of repeating it unchanged. When you are done, reply with the final \
answer as plain text and no tool calls.";

/// The paragraph added when the `delegate` tool is offered.
const DELEGATE_HINT: &str = "\
Use `delegate` to hand self-contained sub-tasks to executor agents: they work in parallel, \
with only the tools you give them, and each returns its answer to you. Delegate when a task \
splits into independent parts; do small things yourself.";

/// The system message's text: the framing, the delegate hint when it is
/// offered, and the instructions of every active skill.
pub fn system_text(skills: &[SkillSpec], offers_delegate: bool) -> String {
    let mut text = String::from(SYSTEM_PROMPT);
    if offers_delegate {
        text.push_str("\n\n");
        text.push_str(DELEGATE_HINT);
    }
    if !skills.is_empty() {
        text.push_str(
            "\n\n# Skills\n\nThese skills are active. Apply a skill when its \"when to use\" \
             matches the task, and then follow its instructions.",
        );
        for skill in skills {
            text.push_str(&format!("\n\n## Skill: {}\n\n", skill.name.trim()));
            if !skill.description.trim().is_empty() {
                text.push_str(&format!("{}\n\n", skill.description.trim()));
            }
            if !skill.when_to_use.trim().is_empty() {
                text.push_str(&format!("When to use: {}\n\n", skill.when_to_use.trim()));
            }
            if !skill.required_tools.is_empty() {
                text.push_str(&format!(
                    "Tools it uses: {}\n\n",
                    skill.required_tools.join(", ")
                ));
            }
            text.push_str(skill.instructions.trim());
        }
    }
    text
}

/// The messages of the first request: one system message (the planner's,
/// merged with a system message that opens the history, since many chat
/// templates accept only one at the start), the repaired history, the task.
pub fn initial_messages(
    skills: &[SkillSpec],
    history: Vec<Message>,
    task: &str,
    offers_delegate: bool,
) -> Vec<Message> {
    let mut system = system_text(skills, offers_delegate);
    let mut history = repair_history(history).into_iter().peekable();
    if let Some(first) = history.next_if(|m| m.role == Role::System)
        && !first.content.trim().is_empty()
    {
        system.push_str("\n\n");
        system.push_str(first.content.trim());
    }
    let mut messages = vec![Message::text(Role::System, system)];
    messages.extend(history);
    messages.push(Message::text(Role::User, task));
    messages
}

/// The history with every tool call answered: a session cut off while its
/// tools ran would otherwise be refused by the backend ("tool_calls must be
/// followed by tool messages"). A missing answer is added right after the
/// tool messages that follow the call; tool messages answering no call are
/// dropped for the same reason.
pub fn repair_history(history: Vec<Message>) -> Vec<Message> {
    let mut repaired = Vec::with_capacity(history.len());
    // Ids of the last assistant message's calls that have no answer yet.
    let mut pending: Vec<String> = Vec::new();
    let close = |repaired: &mut Vec<Message>, pending: &mut Vec<String>| {
        for id in pending.drain(..) {
            repaired.push(Message::tool_result(
                id,
                "error: this call was interrupted and has no result",
            ));
        }
    };
    for message in history {
        if message.role == Role::Tool {
            let id = message.tool_call_id.as_deref().unwrap_or_default();
            if let Some(at) = pending.iter().position(|p| p == id) {
                pending.remove(at);
                repaired.push(message);
            }
            continue;
        }
        close(&mut repaired, &mut pending);
        if message.role == Role::Assistant {
            for call in &message.tool_calls {
                if !pending.contains(&call.id) {
                    pending.push(call.id.clone());
                }
            }
        }
        repaired.push(message);
    }
    close(&mut repaired, &mut pending);
    repaired
}

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use super::*;
    use chat_wire::ToolCall;

    fn call(id: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: "t".into(),
            arguments: "{}".into(),
        }
    }

    fn assistant(ids: &[&str]) -> Message {
        Message {
            role: Role::Assistant,
            content: String::new(),
            tool_calls: ids.iter().map(|id| call(id)).collect(),
            tool_call_id: None,
        }
    }

    #[test]
    fn skills_are_in_the_system_message() {
        let skills = vec![SkillSpec {
            name: "release-notes".into(),
            description: "Writes release notes.".into(),
            when_to_use: "When asked for release notes.".into(),
            required_tools: vec!["git_log".into()],
            instructions: "1. Read the log.\n2. Group by kind.".into(),
        }];
        let text = system_text(&skills, true);
        assert!(text.starts_with(SYSTEM_PROMPT));
        assert!(text.contains("`delegate`"));
        assert!(text.contains("## Skill: release-notes"));
        assert!(text.contains("When to use: When asked for release notes."));
        assert!(text.contains("Tools it uses: git_log"));
        assert!(text.ends_with("2. Group by kind."));
        assert!(!system_text(&[], false).contains("Skills"));
        assert!(!system_text(&[], false).contains("delegate"));
    }

    #[test]
    fn a_leading_system_message_is_merged() {
        let history = vec![
            Message::text(Role::System, "Answer in French."),
            Message::text(Role::User, "earlier"),
            Message::text(Role::Assistant, "plus tôt"),
        ];
        let messages = initial_messages(&[], history, "now", false);
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[0].role, Role::System);
        assert!(messages[0].content.ends_with("Answer in French."));
        assert_eq!(messages[1], Message::text(Role::User, "earlier"));
        assert_eq!(messages[3], Message::text(Role::User, "now"));
    }

    #[test]
    fn dangling_tool_calls_are_answered_and_stray_results_dropped() {
        let history = vec![
            Message::text(Role::User, "go"),
            assistant(&["a", "b"]),
            Message::tool_result("a", "A"),
            Message::tool_result("zzz", "stray"),
            Message::text(Role::User, "again"),
            assistant(&["c"]),
        ];
        let repaired = repair_history(history);
        let roles: Vec<_> = repaired
            .iter()
            .map(|m| (m.role, m.tool_call_id.clone()))
            .collect();
        assert_eq!(
            roles,
            vec![
                (Role::User, None),
                (Role::Assistant, None),
                (Role::Tool, Some("a".into())),
                (Role::Tool, Some("b".into())),
                (Role::User, None),
                (Role::Assistant, None),
                (Role::Tool, Some("c".into())),
            ]
        );
        assert!(repaired[3].content.contains("interrupted"));
    }
}
