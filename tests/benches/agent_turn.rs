//! Per-turn host overhead of an agent (issue: agents composed from
//! components): everything a turn costs except the model's own time.
//!
//! One agent turn here is: the planner component asks the broker for a
//! completion → the host runs the `openai-provider` component in a fresh
//! store → it POSTs to a chat-completions server on 127.0.0.1 that answers
//! instantly → the host returns the completion → the planner asks the
//! broker to run the tool call → the host runs the `fs` component's
//! `read_file` in a fresh store → the result goes back to the planner.
//!
//! Baselines, measured in the same run:
//! - the same `read_file` call made directly through the library
//!   (`Runtime::call_tool`, a fresh instance per call);
//! - the same HTTP exchange with the same server made natively (a plain
//!   TCP client writing the request the provider sends): the "model time"
//!   the turn cannot avoid.
//!
//! Overhead per turn = turn − (direct tool call + native HTTP exchange).
//!
//! Recording (for `warden replay`): the same runs with a
//! [`warden::agent::Recorder`] attached, interleaved with unrecorded ones;
//! the recording's cost per turn is the difference of the two p50s, shown
//! against the host's per-turn time (the issue's budget: ≤ 5%).
//! Run with `cargo bench -p warden-tests --bench agent_turn`; results are in
//! docs/benchmarks-agent.md.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use warden::agent::recording::{RECORDING_FORMAT, RecordedLimits, WIT_PACKAGE};
use warden::agent::{
    AgentLimits, AgentTool, Broker, BrokerParts, NoObserver, Recorder, RecordingHeader,
};
use warden::{DirMode, Grant, HostPattern};
use warden_tests::chat::{ChatServer, Reply};
use warden_tests::{block_on, builtin, grant_dirs, runtime};

/// Turns per agent run (each calls one tool); the last turn answers.
const TURNS: usize = 10;
/// Agent runs measured.
const RUNS: usize = 30;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn show(name: &str, mut samples: Vec<Duration>, baseline: Option<Duration>) -> Duration {
    samples.sort();
    let p50 = percentile(&samples, 0.5);
    let p99 = percentile(&samples, 0.99);
    let ratio = baseline.map_or("1.00".to_string(), |b| {
        format!("{:.2}", p50.as_secs_f64() / b.as_secs_f64())
    });
    println!(
        "| {name} | {} | {:.1} µs | {:.1} µs | {ratio} |",
        samples.len(),
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    p50
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hello.txt"), "hello from the workspace").expect("write");
    let runtime = runtime();
    let fs = builtin("fs");
    let fs_grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);
    let specs = block_on(runtime.list_tools(&fs, &fs_grant))
        .expect("list")
        .tools;
    let tools: Vec<AgentTool> = specs
        .into_iter()
        .map(|spec| AgentTool::of_component(spec, fs.clone(), fs_grant.clone()))
        .collect();
    // Every odd request (a conversation that ends in a tool result) gets
    // the next tool call, until TURNS; then the answer.
    let server = ChatServer::start(|_, request| {
        let tool_results = request["messages"]
            .as_array()
            .map(|m| m.iter().filter(|m| m["role"] == "tool").count())
            .unwrap_or(0);
        if tool_results + 1 >= TURNS {
            Reply::answer("done")
        } else {
            Reply::tool_calls(&[(
                &format!("c{tool_results}"),
                "read_file",
                json!({"path": "/data/hello.txt"}),
            )])
        }
    });
    let mut model_grant = Grant {
        hosts: vec![HostPattern::parse(&format!("127.0.0.1:{}", server.port())).expect("host")],
        env: vec![
            ("WARDEN_MODEL_ENDPOINT".into(), server.base_url()),
            ("WARDEN_MODEL".into(), "bench".into()),
        ],
        ..Grant::default()
    };
    model_grant.limits.timeout = Duration::from_secs(30);
    let planner = runtime
        .load_planner(
            "planner",
            warden::builtin::lookup("planner").expect("planner"),
        )
        .expect("planner loads");
    let provider = runtime
        .load_model(
            "openai-provider",
            warden::builtin::lookup("openai-provider").expect("provider"),
        )
        .expect("provider loads");
    let mut planner_grant = Grant::default();
    planner_grant.limits.timeout = Duration::from_secs(60);

    let recording_path = dir.path().join("run.recording.jsonl");
    let run_agent = |record: bool| {
        let broker = Broker::new(
            BrokerParts {
                runtime: runtime.clone(),
                model: (provider.clone(), model_grant.clone()),
                tools: tools.clone(),
                skills: Vec::new(),
                history: Vec::new(),
                limits: AgentLimits {
                    max_turns: TURNS as u32 + 1,
                    ..AgentLimits::default()
                },
                delegation: None,
            },
            Arc::new(NoObserver),
        )
        .expect("broker");
        let started = Instant::now();
        let (broker, recorder) = if record {
            let header = RecordingHeader {
                format: RECORDING_FORMAT,
                wit: WIT_PACKAGE.into(),
                session: "bench".into(),
                task: "bench".into(),
                planner: "warden:planner".into(),
                components: Default::default(),
                tools: broker.tool_specs(),
                history: Vec::new(),
                skills: Vec::new(),
                limits: RecordedLimits {
                    max_turns: TURNS as u32 + 1,
                    max_tool_calls: 100,
                    token_budget: 200_000,
                    wall_clock_ms: 600_000,
                    max_parallel_tools: 8,
                },
                setup: Default::default(),
                parent: None,
            };
            let recorder = Arc::new(
                Recorder::create(&recording_path, &header, Default::default()).expect("recorder"),
            );
            (broker.with_recorder(recorder.clone()), Some(recorder))
        } else {
            (broker, None)
        };
        let outcome =
            block_on(runtime.run_planner(&planner, "bench", &planner_grant, Arc::new(broker)))
                .expect("run")
                .expect("answer");
        assert_eq!(outcome.answer, "done");
        if let Some(r) = recorder {
            r.finish(Some(outcome.answer), None).expect("recorded");
        }
        started.elapsed()
    };
    // Warm up (compile caches, connection setup).
    for _ in 0..3 {
        run_agent(false);
        run_agent(true);
    }
    let mut per_turn = Vec::new();
    let mut per_turn_recorded = Vec::new();
    for _ in 0..RUNS {
        per_turn.push(run_agent(false) / TURNS as u32);
        per_turn_recorded.push(run_agent(true) / TURNS as u32);
    }

    // Baseline: the same tool call, directly.
    let input = r#"{"path":"/data/hello.txt"}"#;
    for _ in 0..10 {
        block_on(runtime.call_tool(&fs, "read_file", input, &fs_grant)).expect("call");
    }
    let direct: Vec<Duration> = (0..RUNS * 10)
        .map(|_| {
            let started = Instant::now();
            block_on(runtime.call_tool(&fs, "read_file", input, &fs_grant)).expect("call");
            started.elapsed()
        })
        .collect();

    // Baseline: the HTTP exchange, natively, with a request of the size the
    // provider sends mid-run.
    let body = server
        .requests()
        .get(TURNS / 2)
        .map(ToString::to_string)
        .unwrap_or_default();
    let http: Vec<Duration> = (0..RUNS * 10)
        .map(|_| {
            let started = Instant::now();
            let mut s = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
            let head = format!(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).expect("write");
            s.write_all(body.as_bytes()).expect("write");
            let mut reply = Vec::new();
            s.read_to_end(&mut reply).expect("read");
            started.elapsed()
        })
        .collect();

    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    let tool_p50 = show(
        "baseline: `read_file` called directly (fresh instance)",
        direct,
        None,
    );
    let http_p50 = show("baseline: the HTTP exchange, native client", http, None);
    let floor = tool_p50 + http_p50;
    println!(
        "| baseline sum: one tool call + one HTTP exchange | | {:.1} µs | | 1.00 |",
        floor.as_secs_f64() * 1e6
    );
    let turn_p50 = show(
        "agent turn: planner → host → provider → HTTP → host → fs → planner",
        per_turn,
        Some(floor),
    );
    let recorded_p50 = show(
        "agent turn, recorded for replay",
        per_turn_recorded,
        Some(floor),
    );
    let host = turn_p50.saturating_sub(floor);
    println!(
        "\nhost overhead per turn (turn p50 − baseline sum): {:.1} µs",
        host.as_secs_f64() * 1e6
    );
    let recording = recorded_p50.as_secs_f64() - turn_p50.as_secs_f64();
    println!(
        "recording per turn (recorded p50 − turn p50): {:.1} µs = {:.1}% of the host's per-turn \
         time ({:.1} µs), {:.1}% of the whole turn",
        recording * 1e6,
        100.0 * recording / host.as_secs_f64().max(1e-9),
        host.as_secs_f64() * 1e6,
        100.0 * recording / turn_p50.as_secs_f64()
    );
}
