//! Making a conversation fit the model's context window after the backend
//! said it does not (`context-overflow`): first long tool results are cut,
//! then the oldest exchanges after the task are dropped, with a note saying
//! so. The system message and the task are always kept, and a tool result
//! is never separated from the call it answers.

use chat_wire::{Message, Role};

/// Tool results longer than this are cut to [`KEPT_TOOL_CHARS`].
const LONG_TOOL_CHARS: usize = 2_000;
/// How much of a long tool result is kept.
const KEPT_TOOL_CHARS: usize = 1_000;
/// Exchanges (an assistant message and the tool results answering it)
/// always kept at the end.
const KEEP_LAST_EXCHANGES: usize = 1;

/// Shrinks `messages`; returns whether anything changed (when nothing can
/// be cut, retrying is pointless).
pub fn compact_for_overflow(messages: &mut Vec<Message>) -> bool {
    let mut cut = false;
    for m in messages.iter_mut().filter(|m| m.role == Role::Tool) {
        if m.content.chars().count() > LONG_TOOL_CHARS {
            let kept: String = m.content.chars().take(KEPT_TOOL_CHARS).collect();
            let dropped = m.content.len() - kept.len();
            m.content = format!(
                "{kept}\n[… {dropped} more bytes were cut to fit the model's context window; ask for a smaller part if you need it]"
            );
            cut = true;
        }
    }
    if cut {
        return true;
    }
    // The task is the first user message; exchanges start at each
    // assistant message after it.
    let Some(task) = messages.iter().position(|m| m.role == Role::User) else {
        return false;
    };
    let starts: Vec<usize> = messages
        .iter()
        .enumerate()
        .skip(task + 1)
        .filter(|(_, m)| m.role == Role::Assistant)
        .map(|(i, _)| i)
        .collect();
    if starts.len() <= KEEP_LAST_EXCHANGES {
        return false;
    }
    let from = starts[0];
    let to = starts[starts.len() - KEEP_LAST_EXCHANGES];
    let dropped = to - from;
    messages.splice(
        from..to,
        [Message::text(
            Role::User,
            format!(
                "[{dropped} earlier messages of this task were dropped to fit the model's context window; redo any step whose result you still need]"
            ),
        )],
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_wire::ToolCall;

    fn call(id: &str) -> Message {
        Message {
            role: Role::Assistant,
            content: String::new(),
            tool_calls: vec![ToolCall {
                id: id.into(),
                name: "read_file".into(),
                arguments: "{}".into(),
            }],
            tool_call_id: None,
        }
    }

    #[test]
    fn long_tool_results_are_cut_first_then_old_exchanges_dropped() {
        let mut m = vec![
            Message::text(Role::System, "sys"),
            Message::text(Role::User, "the task"),
            call("a"),
            Message::tool_result("a", "x".repeat(10_000)),
            call("b"),
            Message::tool_result("b", "short"),
        ];
        assert!(compact_for_overflow(&mut m));
        assert!(m[3].content.len() < 1_200, "{}", m[3].content.len());
        assert!(m[3].content.contains("were cut"));
        // Nothing long is left: the first exchange goes, the last stays.
        assert!(compact_for_overflow(&mut m));
        assert_eq!(m.len(), 5);
        assert_eq!(m[1].content, "the task");
        assert!(m[2].content.contains("2 earlier messages"));
        assert_eq!(m[3].tool_calls[0].id, "b");
        assert_eq!(m[4].tool_call_id.as_deref(), Some("b"));
        // Only the task and one exchange: nothing more to cut.
        assert!(!compact_for_overflow(&mut m));
    }
}
