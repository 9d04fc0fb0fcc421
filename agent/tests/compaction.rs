//! Compaction: the plan keeps the system message and the last turns, never
//! splits a tool call from its result, and the originals stay in the file.

use warden_agent::compaction::{SUMMARY_HEADER, estimate_chars, estimate_tokens};
use warden_agent::{
    AgentInfo, Budget, CompactionError, Message, Role, Session, SessionStore, ToolCall,
    default_agent,
};

fn session() -> Session {
    Session::new(AgentInfo::of(&default_agent()), "task")
}

/// A system prompt, the task, then `turns` tool-using turns (an assistant
/// message calling two tools, their two results) and a final answer.
fn long_session(turns: usize) -> Session {
    let mut s = session();
    s.push_message(Message::system("You are a careful agent."));
    s.push_message(Message::user("Audit the repository."));
    for t in 0..turns {
        s.push_message(Message::assistant(
            format!("Turn {t}: looking further."),
            vec![
                ToolCall::new(format!("a{t}"), "read_file", r#"{"path":"/repo/x"}"#),
                ToolCall::new(format!("b{t}"), "grep", r#"{"pattern":"unsafe"}"#),
            ],
        ));
        s.push_message(Message::tool_result(format!("a{t}"), "x".repeat(200)));
        s.push_message(Message::tool_result(format!("b{t}"), "y".repeat(200)));
    }
    s.push_message(Message::assistant("Done.", vec![]));
    s
}

/// Whether every kept `tool` message's call is also kept.
fn no_orphan_results(history: &[Message]) -> bool {
    history
        .iter()
        .enumerate()
        .all(|(i, m)| match &m.tool_call_id {
            None => true,
            Some(id) => history[..i]
                .iter()
                .any(|a| a.tool_calls.iter().any(|c| &c.id == id)),
        })
}

fn size(history: &[Message]) -> usize {
    history.iter().map(estimate_chars).sum()
}

#[test]
fn a_history_within_budget_needs_no_compaction() {
    let s = long_session(3);
    let total = size(&s.active_history());
    assert!(s.compaction_plan(Budget::Chars(total), 2).is_none());
    assert!(s.compaction_plan(Budget::Chars(total - 1), 2).is_some());
}

#[test]
fn the_plan_keeps_the_system_message_and_the_last_turns_and_never_splits_calls() {
    let s = long_session(10);
    let total = size(&s.active_history());
    for keep in 1..=4 {
        for budget in [100, 500, 1000, 2000, total / 2, total - 1] {
            let plan = s
                .compaction_plan(Budget::Chars(budget), keep)
                .unwrap_or_else(|| panic!("over budget {budget}, keep {keep}: expected a plan"));
            assert_eq!(plan.from_index, 1, "after the pinned system message");
            assert!(plan.up_to_index > plan.from_index);
            let kept = &s.messages[plan.up_to_index..];
            // Never starts the kept part with a tool result, never orphans one.
            assert_ne!(kept[0].role, Role::Tool, "budget {budget}, keep {keep}");
            assert!(no_orphan_results(kept), "budget {budget}, keep {keep}");
            // The last `keep` turns are all kept.
            let kept_turns = kept
                .iter()
                .filter(|m| matches!(m.role, Role::User | Role::Assistant))
                .count();
            assert!(
                kept_turns >= keep,
                "budget {budget}, keep {keep}: {kept_turns}"
            );
            assert_eq!(plan.to_summarise, s.messages[1..plan.up_to_index]);
            assert_eq!(plan.size_before, total);
        }
    }
}

#[test]
fn the_plan_keeps_as_many_turns_as_fit_in_half_the_budget() {
    let s = long_session(10);
    let budget = 2000;
    let plan = s.compaction_plan(Budget::Chars(budget), 1).expect("plan");
    assert!(plan.size_kept <= budget / 2, "{}", plan.size_kept);
    // One more turn would not have fitted.
    let previous_turn = s.messages[..plan.up_to_index]
        .iter()
        .rposition(|m| m.role == Role::Assistant)
        .expect("an earlier turn");
    let with_one_more = estimate_chars(&s.messages[0]) + size(&s.messages[previous_turn..]);
    assert!(with_one_more > budget / 2, "{with_one_more}");

    // When even the required turns do not fit, everything else is summarised.
    let plan = s.compaction_plan(Budget::Chars(10), 2).expect("plan");
    let last_turns: Vec<usize> = s
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| matches!(m.role, Role::User | Role::Assistant))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(plan.up_to_index, last_turns[last_turns.len() - 2]);
}

#[test]
fn applying_keeps_the_originals_and_shows_one_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SessionStore::open_dir(dir.path()).expect("open");
    let mut s = long_session(10);
    let originals = s.messages.clone();
    let plan = s.compaction_plan(Budget::Chars(2000), 2).expect("plan");
    s.apply_compaction(&plan, "Read x and grepped for unsafe, ten times.")
        .expect("apply");

    assert_eq!(s.messages, originals, "messages stay complete");
    assert_eq!(s.compactions.len(), 1);
    assert_eq!(s.compactions[0].up_to_index, plan.up_to_index);
    let active = s.active_history();
    assert_eq!(active[0], originals[0], "the system message is pinned");
    assert_eq!(active[1].role, Role::User);
    assert!(active[1].content.starts_with(SUMMARY_HEADER));
    assert!(active[1].content.ends_with("ten times."));
    assert_eq!(&active[2..], &originals[plan.up_to_index..]);
    assert!(no_orphan_results(&active));
    assert!(size(&active) < size(&originals));

    // Saved and loaded: resume sees the same active history.
    store.save(&s).expect("save");
    let back = store.load(s.id.as_str()).expect("load");
    assert_eq!(back.messages, originals);
    assert_eq!(back.active_history(), active);
}

#[test]
fn a_second_compaction_folds_in_the_first_summary() {
    let mut s = long_session(10);
    let first = s.compaction_plan(Budget::Chars(2000), 2).expect("plan");
    s.apply_compaction(&first, "first summary").expect("apply");
    for t in 10..20 {
        s.push_message(Message::assistant(
            format!("Turn {t}"),
            vec![ToolCall::new(format!("c{t}"), "grep", "{}")],
        ));
        s.push_message(Message::tool_result(format!("c{t}"), "z".repeat(300)));
    }
    let second = s.compaction_plan(Budget::Chars(2000), 2).expect("plan");
    assert_eq!(second.from_index, first.up_to_index);
    assert!(second.to_summarise[0].content.contains("first summary"));
    assert_eq!(
        &second.to_summarise[1..],
        &s.messages[first.up_to_index..second.up_to_index]
    );
    s.apply_compaction(&second, "second summary")
        .expect("apply");
    let active = s.active_history();
    assert_eq!(
        active
            .iter()
            .filter(|m| m.content.starts_with(SUMMARY_HEADER))
            .count(),
        1
    );
    assert!(active[1].content.ends_with("second summary"));
    assert!(no_orphan_results(&active));

    // The first plan is stale now.
    let err = s.apply_compaction(&first, "again").expect_err("stale");
    assert!(matches!(err, CompactionError::StalePlan { .. }), "{err}");
}

#[test]
fn apply_refuses_a_cut_between_a_call_and_its_result_and_an_empty_summary() {
    let mut s = long_session(4);
    let mut plan = s.compaction_plan(Budget::Chars(500), 1).expect("plan");
    // Move the cut onto the first tool result of the history.
    let tool_at = s.messages[plan.from_index..]
        .iter()
        .position(|m| m.role == Role::Tool)
        .expect("a tool result")
        + plan.from_index;
    plan.up_to_index = tool_at;
    let err = s.apply_compaction(&plan, "summary").expect_err("split");
    assert!(matches!(err, CompactionError::InvalidCut { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("separate a tool call from its result"),
        "{err}"
    );
    // Between the two results of one call batch is refused too.
    plan.up_to_index = tool_at + 1;
    assert_eq!(s.messages[tool_at + 1].role, Role::Tool);
    assert!(s.apply_compaction(&plan, "summary").is_err());
    plan.up_to_index = s.messages.len() + 1;
    assert!(s.apply_compaction(&plan, "summary").is_err());

    let plan = s.compaction_plan(Budget::Chars(500), 1).expect("plan");
    assert_eq!(
        s.apply_compaction(&plan, "  \n"),
        Err(CompactionError::EmptySummary)
    );
    assert!(s.compactions.is_empty(), "nothing was recorded");
}

#[test]
fn results_that_arrive_after_other_messages_still_stay_with_their_call() {
    // An assistant calls a tool; a user message arrives before the result.
    let mut s = session();
    s.push_message(Message::system("sys"));
    s.push_message(Message::user("u0 ".repeat(100)));
    s.push_message(Message::assistant(
        "a1",
        vec![ToolCall::new("k", "grep", "{}")],
    ));
    s.push_message(Message::user("interjection ".repeat(50)));
    s.push_message(Message::tool_result("k", "r".repeat(100)));
    s.push_message(Message::assistant("a2", vec![]));
    // The user message at 3 starts a turn, but cutting there would orphan
    // the result at 4: the plan must cut at 2 or 5.
    for (keep, expected_cut) in [(1, 5), (2, 2), (3, 2)] {
        let plan = s
            .compaction_plan(Budget::Chars(50), keep)
            .unwrap_or_else(|| panic!("keep {keep}: expected a plan"));
        assert_eq!(plan.up_to_index, expected_cut, "keep {keep}");
        assert!(no_orphan_results(&s.messages[plan.up_to_index..]));
    }
}

#[test]
fn nothing_to_summarise_gives_no_plan() {
    // Only the pinned system message and the required turns.
    let mut s = session();
    s.push_message(Message::system("s".repeat(1000)));
    s.push_message(Message::user("u".repeat(1000)));
    s.push_message(Message::assistant("a".repeat(1000), vec![]));
    assert!(s.compaction_plan(Budget::Chars(10), 2).is_none());
    assert!(s.compaction_plan(Budget::Chars(10), 5).is_none());
    let plan = s
        .compaction_plan(Budget::Chars(10), 1)
        .expect("the user turn can go");
    assert_eq!((plan.from_index, plan.up_to_index), (1, 2));
}

#[test]
fn a_session_file_with_a_bad_compaction_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SessionStore::open_dir(dir.path()).expect("open");
    let mut s = long_session(3);
    let plan = s.compaction_plan(Budget::Chars(300), 1).expect("plan");
    s.apply_compaction(&plan, "sum").expect("apply");
    // Hand-edit the cut onto a tool result.
    s.compactions[0].up_to_index = 3;
    assert_eq!(s.messages[3].role, Role::Tool);
    store.save(&s).expect("save");
    let message = store.load(s.id.as_str()).expect_err("bad cut").to_string();
    assert!(message.contains("compaction 0"), "{message}");
}

#[test]
fn token_estimates_are_a_quarter_of_the_characters_plus_framing() {
    let m = Message::user("x".repeat(10));
    assert_eq!(estimate_chars(&m), 10);
    assert_eq!(estimate_tokens(&m), 3 + 4);
    let call = Message::assistant("", vec![ToolCall::new("id", "grep", "{}")]);
    assert_eq!(estimate_chars(&call), 2 + 4 + 2);
    let s = long_session(10);
    let tokens: usize = s.active_history().iter().map(estimate_tokens).sum();
    assert!(s.compaction_plan(Budget::Tokens(tokens), 1).is_none());
    assert!(s.compaction_plan(Budget::Tokens(tokens - 1), 1).is_some());
}
