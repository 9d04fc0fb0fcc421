//! A hostile streaming model provider (`tests/guests/hostile-provider`)
//! against the host's `stream-sink`: a flood of deltas, oversized deltas, a
//! cut inside a character and a secret spelled out one character at a
//! time. Whatever it sends, what reaches the watcher is bounded and free of
//! the grant's secrets, the completion it returns is the one recorded, and
//! the same runtime serves the next completion.

use std::sync::{Arc, Mutex};

use warden::agent::ModelComponent;
use warden::bindings::planner::warden::plugin::chat::{
    CompletionRequest, Message, Role, Sampling, ToolChoice,
};
use warden::secret::{SecretValue, parse_secret};
use warden::stream_sink::{MAX_DELTA_BYTES, MAX_DELTAS, MAX_STREAMED_BYTES};
use warden::{Grant, OnDelta};
use warden_tests::components::HOSTILE_PROVIDER;
use warden_tests::{block_on, runtime};

const SECRET: &str = "sk-hostile-provider-0123456789";

fn provider() -> ModelComponent {
    let bytes = std::fs::read(HOSTILE_PROVIDER).expect("hostile provider built");
    runtime()
        .load_model("hostile-provider", &bytes)
        .expect("a streaming provider loads as a model provider")
}

fn request(task: &str) -> CompletionRequest {
    CompletionRequest {
        model: None,
        messages: vec![Message {
            role: Role::User,
            content: task.to_string(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }],
        tools: Vec::new(),
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

/// A grant with the secret `API_TOKEN` (for a host it never reaches).
fn grant_with_secret() -> Grant {
    Grant {
        secrets: vec![
            parse_secret("API_TOKEN@api.example.com", |_| {
                Some(SecretValue::new(SECRET))
            })
            .expect("secret"),
        ],
        ..Grant::default()
    }
}

/// Runs `task` under a grant without secrets (so nothing is held back for
/// redaction and each forwarded delta is one the guest sent); returns what
/// the provider answered and every delta the watcher received.
fn stream(model: &ModelComponent, task: &str) -> (String, Vec<String>) {
    stream_under(model, task, &Grant::default())
}

/// [`stream`] under `grant`.
fn stream_under(model: &ModelComponent, task: &str, grant: &Grant) -> (String, Vec<String>) {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let on_delta: OnDelta = {
        let seen = Arc::clone(&seen);
        Arc::new(move |text: &str| {
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(text.to_string())
        })
    };
    let reply =
        block_on(runtime().complete_streaming(model, &request(task), grant, Some(on_delta)))
            .expect("the host survives the provider");
    let answer = reply
        .result
        .expect("the provider's completion is returned")
        .message
        .content;
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (answer, seen)
}

#[test]
fn a_flood_of_tiny_deltas_is_cut_at_the_per_completion_count_and_the_next_completion_streams_again()
{
    let model = provider();
    let (answer, seen) = stream(&model, "count");
    assert_eq!(answer, "done");
    // The guest sent 250,000; the watcher got exactly the bound.
    assert_eq!(seen.len(), MAX_DELTAS as usize);
    assert!(seen.iter().all(|d| d == "x"));
    // The count is per completion: the next one is not starved.
    let (answer, seen) = stream(&model, "cut-char");
    assert_eq!(answer, "done");
    assert_eq!(seen.len(), 1, "the next completion streams again");
}

#[test]
fn oversized_deltas_are_cut_each_and_in_total() {
    let (answer, seen) = stream(&provider(), "bytes");
    assert_eq!(answer, "done");
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|d| d.len() <= MAX_DELTA_BYTES));
    let total: usize = seen.iter().map(String::len).sum();
    // 400 x 64 KiB were sent: only the per-completion total arrives.
    assert_eq!(total, MAX_STREAMED_BYTES);
    assert_eq!(seen.len(), MAX_STREAMED_BYTES / MAX_DELTA_BYTES);
}

#[test]
fn a_cut_inside_a_character_still_forwards_valid_text_and_never_the_half_character() {
    let (answer, seen) = stream(&provider(), "cut-char");
    assert_eq!(answer, "done");
    let all = seen.concat();
    assert!(all.len() <= MAX_DELTA_BYTES);
    assert_eq!(
        all,
        "z".repeat(MAX_DELTA_BYTES - 1),
        "the two-byte é did not fit"
    );
}

#[test]
fn a_secret_spelled_out_one_character_per_delta_never_reaches_the_watcher() {
    let (answer, seen) = stream_under(
        &provider(),
        &format!("secret:{SECRET}"),
        &grant_with_secret(),
    );
    assert_eq!(answer, "done");
    let all = seen.concat();
    assert!(!all.contains(SECRET), "the secret leaked: {all}");
    // The same value sent whole is not shown either.
    assert!(!all.contains("0123456789"), "{all}");
    // Something was shown in its place: the stream was not simply dropped.
    assert!(!all.is_empty());
}
