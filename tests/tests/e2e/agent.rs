//! Agents composed from components, through the library: the first-party
//! planner drives the `openai-provider` component (talking HTTP to a
//! scripted chat-completions server on 127.0.0.1) and tool components, each
//! in its own store under its own grant, with the host brokering every
//! step; and a hostile planner that tries to get around the broker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use warden::agent::{
    AgentLimits, AgentTool, Broker, BrokerParts, DelegationConfig, ModelComponent,
    PlannerComponent, RunEvent, RunObserver,
};
use warden::bindings::planner::warden::plugin::planning::{Outcome, RunError, StepKind};
use warden::{DirMode, Grant, HostPattern, Runtime};
use warden_tests::chat::{ChatServer, Reply};
use warden_tests::components::HOSTILE_PLANNER;
use warden_tests::{block_on, grant_dirs, runtime};

fn planner() -> PlannerComponent {
    let bytes = warden::builtin::lookup("planner").expect("built-in planner");
    runtime()
        .load_planner("planner", bytes)
        .expect("planner loads")
}

fn hostile_planner() -> PlannerComponent {
    let bytes = std::fs::read(HOSTILE_PLANNER).expect("hostile planner built");
    runtime()
        .load_planner("hostile-planner", &bytes)
        .expect("hostile planner loads")
}

fn provider() -> ModelComponent {
    let bytes = warden::builtin::lookup("openai-provider").expect("built-in provider");
    runtime()
        .load_model("openai-provider", bytes)
        .expect("provider loads")
}

/// The provider's grant: the server's address, its URL and model name.
fn model_grant(server: &ChatServer) -> Grant {
    let mut grant = Grant {
        hosts: vec![HostPattern::parse(&format!("127.0.0.1:{}", server.port())).expect("host")],
        env: vec![
            ("WARDEN_MODEL_ENDPOINT".into(), server.base_url()),
            ("WARDEN_MODEL".into(), "scripted".into()),
        ],
        ..Grant::default()
    };
    grant.limits.timeout = Duration::from_secs(5);
    grant
}

/// Every tool of `component`, each with `grant`.
fn tools_of(runtime: &Runtime, component: &warden::ToolComponent, grant: &Grant) -> Vec<AgentTool> {
    block_on(runtime.list_tools(component, grant))
        .expect("tools list")
        .tools
        .into_iter()
        .map(|spec| AgentTool::of_component(spec, component.clone(), grant.clone()))
        .collect()
}

/// Records what the broker reports.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl RunObserver for Recorder {
    fn event(&self, event: RunEvent<'_>) {
        let line = match event {
            RunEvent::ModelDelta { .. } | RunEvent::Context { .. } => return,
            RunEvent::Model { depth, result, .. } => {
                format!(
                    "{depth} model {}",
                    if result.is_ok() { "ok" } else { "error" }
                )
            }
            RunEvent::Tool {
                depth,
                call,
                result,
                ..
            } => format!(
                "{depth} tool {} {}",
                call.name,
                if result.is_ok() { "ok" } else { "error" }
            ),
            RunEvent::Denied { depth, denial } => format!("{depth} denied {}", denial.target),
            RunEvent::Delegation {
                depth,
                result,
                transcript,
                ..
            } => {
                // The executor's conversation, one line, for assertions.
                let said: Vec<String> = transcript
                    .iter()
                    .map(|m| {
                        let calls: Vec<&str> =
                            m.tool_calls.iter().map(|c| c.name.as_str()).collect();
                        format!("{:?}:{}{}", m.role, m.content, calls.join(","))
                    })
                    .collect();
                self.0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(format!("transcript {}", said.join(" | ")));
                format!(
                    "{depth} delegation {}",
                    if result.is_ok() { "ok" } else { "error" }
                )
            }
        };
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }
}

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct Agent {
    broker: Arc<Broker>,
    recorder: Arc<Recorder>,
}

fn agent(
    server: &ChatServer,
    tools: Vec<AgentTool>,
    limits: AgentLimits,
    delegation: Option<DelegationConfig>,
) -> Agent {
    let recorder = Arc::new(Recorder::default());
    let broker = Broker::new(
        BrokerParts {
            runtime: runtime(),
            model: (provider(), model_grant(server)),
            tools,
            skills: Vec::new(),
            history: Vec::new(),
            limits,
            delegation,
        },
        recorder.clone(),
    )
    .expect("broker");
    Agent {
        broker: Arc::new(broker),
        recorder,
    }
}

/// The planner's grant: nothing but limits.
fn planner_grant(limits: &AgentLimits) -> Grant {
    let mut grant = Grant::default();
    grant.limits.timeout = limits.wall_clock;
    grant
}

fn run(
    planner: &PlannerComponent,
    agent: &Agent,
    task: &str,
) -> Result<Result<Outcome, RunError>, warden::CallError> {
    let grant = planner_grant(agent.broker.limits());
    block_on(runtime().run_planner(planner, task, &grant, agent.broker.clone()))
}

fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hello.txt"), "hello from the workspace").expect("write");
    dir
}

fn fs_tools(dir: &tempfile::TempDir) -> Vec<AgentTool> {
    let fs = warden_tests::builtin("fs");
    let grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);
    tools_of(&runtime(), &fs, &grant)
}

fn tool_messages(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["role"] == "tool")
                .map(|m| m["content"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_planner_drives_the_model_and_tools_through_the_host() {
    let dir = data_dir();
    let server = ChatServer::scripted(vec![
        Reply::tool_calls(&[
            ("c1", "read_file", json!({"path": "/data/hello.txt"})),
            ("c2", "list_dir", json!({"path": "/data"})),
        ]),
        Reply::answer("The file says hello."),
    ]);
    let agent = agent(&server, fs_tools(&dir), AgentLimits::default(), None);
    let outcome = run(&planner(), &agent, "What does hello.txt say?")
        .expect("the run completes")
        .expect("the planner answers");
    assert_eq!(outcome.answer, "The file says hello.");

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    // The task went to the model with the agent's tools.
    let first = requests[0].to_string();
    assert!(first.contains("What does hello.txt say?"), "{first}");
    assert!(
        first.contains("read_file") && first.contains("list_dir"),
        "{first}"
    );
    // Both tool results came back to the model, in order.
    let results = tool_messages(&requests[1]);
    assert_eq!(results.len(), 2, "{:?}", requests[1]);
    assert!(
        results[0].contains("hello from the workspace"),
        "{results:?}"
    );
    assert!(results[1].contains("hello.txt"), "{results:?}");
    // The host saw every step.
    // The host saw every step (the two tool calls ran concurrently, so in
    // either order).
    let lines = agent.recorder.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(
        (lines[0].as_str(), lines[3].as_str()),
        ("0 model ok", "0 model ok")
    );
    let mut middle = vec![lines[1].as_str(), lines[2].as_str()];
    middle.sort();
    assert_eq!(middle, ["0 tool list_dir ok", "0 tool read_file ok"]);
    let usage = agent.broker.usage();
    assert_eq!((usage.turns, usage.tool_calls, usage.tokens), (2, 2, 30));
    let steps = agent.broker.steps();
    assert_eq!(steps.iter().filter(|s| s.kind == StepKind::Tool).count(), 2);
}

#[test]
fn a_tool_the_agent_does_not_have_is_denied_and_the_model_hears_why() {
    let dir = data_dir();
    let server = ChatServer::scripted(vec![
        Reply::tool_calls(&[("c1", "delete_everything", json!({}))]),
        Reply::answer("I could not do that."),
    ]);
    let agent = agent(&server, fs_tools(&dir), AgentLimits::default(), None);
    let outcome = run(&planner(), &agent, "clean up")
        .expect("run")
        .expect("answer");
    assert_eq!(outcome.answer, "I could not do that.");
    let results = tool_messages(&server.requests()[1]);
    assert!(
        results[0].contains("not one of this agent's tools"),
        "{results:?}"
    );
    assert!(
        agent
            .recorder
            .lines()
            .contains(&"0 denied delete_everything".to_string())
    );

    // A planner calling it directly gets the same denial.
    let agent2 = self::agent(&server, fs_tools(&dir), AgentLimits::default(), None);
    let outcome = run(&hostile_planner(), &agent2, "unlisted")
        .expect("run")
        .expect("answer");
    assert!(
        outcome.answer.contains("not one of this agent's tools"),
        "{}",
        outcome.answer
    );
}

#[test]
fn a_planner_flooding_the_host_gets_errors_not_work() {
    let hostile = warden_tests::hostile();
    let hostile_tools: Vec<AgentTool> = tools_of(&runtime(), &hostile, &Grant::default())
        .into_iter()
        .filter(|t| t.spec.name == "echo")
        .collect();
    let server = ChatServer::scripted(vec![Reply::answer("unused")]);
    // Within the tool-call budget, one request runs at most 64 calls.
    let agent = agent(&server, hostile_tools.clone(), AgentLimits::default(), None);
    let outcome = run(&hostile_planner(), &agent, "flood:echo")
        .expect("run")
        .expect("answer");
    assert_eq!(outcome.answer, "ran 64, refused 936");
    // Past the budget, the planner is stopped once it keeps asking.
    let limits = AgentLimits {
        max_tool_calls: 10,
        ..AgentLimits::default()
    };
    let agent = self::agent(&server, hostile_tools, limits, None);
    let err = run(&hostile_planner(), &agent, "flood:echo").expect_err("the host stops it");
    assert!(
        err.to_string().contains("after its budget ran out"),
        "{err}"
    );
    assert_eq!(agent.broker.usage().tool_calls, 10);
}

#[test]
fn a_planner_looping_past_its_turn_limit_is_stopped() {
    let server = ChatServer::scripted(vec![Reply::answer("again")]);
    let limits = AgentLimits {
        max_turns: 3,
        ..AgentLimits::default()
    };
    let agent = agent(&server, Vec::new(), limits, None);
    let err = run(&hostile_planner(), &agent, "loop").expect_err("stopped");
    assert!(err.to_string().contains("model turns"), "{err}");
    // Exactly the allowed turns reached the model.
    assert_eq!(server.requests().len(), 3);

    // A planner that spins without calling the host hits the wall clock.
    let limits = AgentLimits {
        wall_clock: Duration::from_millis(500),
        ..AgentLimits::default()
    };
    let agent = self::agent(&server, Vec::new(), limits, None);
    let err = run(&hostile_planner(), &agent, "spin").expect_err("stopped");
    assert_eq!(err.kind(), "timeout", "{err}");
}

#[test]
fn model_failures_are_typed_errors_not_crashes() {
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::Raw("this is {not json".into()), "BadResponse"),
        (
            Reply::Status(500, "upstream exploded".into()),
            "Unavailable",
        ),
        (Reply::Truncated("{\"choices\": [".into()), ""),
        (
            Reply::Slow(Duration::from_secs(8), Box::new(Reply::answer("too late"))),
            "",
        ),
        (Reply::Json(json!({"no": "choices"})), "BadResponse"),
    ];
    for (reply, variant) in cases {
        let server = ChatServer::scripted(vec![reply.clone()]);
        let agent = agent(&server, Vec::new(), AgentLimits::default(), None);
        let result = run(&planner(), &agent, "hello").expect("the run itself completes");
        let err = result.expect_err("a model failure fails the run");
        let text = format!("{err:?}");
        assert!(text.contains("Model(ModelError::"), "{reply:?}: {text}");
        assert!(text.contains(variant), "{reply:?}: {text}");
        // The failure was recorded as a failed model step, and the host
        // serves the next run normally.
        assert!(
            agent
                .recorder
                .lines()
                .contains(&"0 model error".to_string())
        );
    }
}

#[test]
fn executors_get_a_subset_of_tools_and_fail_alone() {
    let dir = data_dir();
    let server = ChatServer::scripted(vec![Reply::answer("unused")]);
    let delegation = DelegationConfig {
        planner: hostile_planner(),
        planner_grant: Grant::default(),
        max_concurrent: 2,
        default_max_turns: 2,
        workspace: None,
    };
    let read_only: Vec<AgentTool> = fs_tools(&dir)
        .into_iter()
        .filter(|t| t.spec.name != "write_file")
        .collect();
    let agent = agent(&server, read_only, AgentLimits::default(), Some(delegation));
    // One executor answers, one panics: the manager gets both results.
    let outcome = run(&hostile_planner(), &agent, "delegate:echo:one|panic")
        .expect("run")
        .expect("answer");
    let lines: Vec<&str> = outcome.answer.lines().collect();
    assert_eq!(lines[0], "ok: one", "{}", outcome.answer);
    assert!(lines[1].starts_with("error:"), "{}", outcome.answer);
    assert!(
        outcome.answer.contains("panics on purpose"),
        "{}",
        outcome.answer
    );
    // An executor may not get a tool the manager lacks.
    let outcome = run(&hostile_planner(), &agent, "delegate-extra:write_file")
        .expect("run")
        .expect("answer");
    assert!(
        outcome.answer.contains("may only use the manager's tools"),
        "{}",
        outcome.answer
    );
    // An executor cannot delegate further.
    let outcome = run(&hostile_planner(), &agent, "delegate:delegate:echo:deep")
        .expect("run")
        .expect("answer");
    assert!(
        outcome.answer.contains("cannot delegate further"),
        "{}",
        outcome.answer
    );
}

#[test]
fn the_model_can_delegate_through_the_first_party_planner() {
    let dir = data_dir();
    // The executor's task is recognised by its text; the manager first
    // delegates, then answers with what came back.
    let server = ChatServer::start(|_, request| {
        let text = request.to_string();
        if text.contains("SUBTASK-A") && !text.contains("MANAGER") {
            if text.contains("\"role\":\"tool\"") {
                Reply::answer("sub-answer A")
            } else {
                Reply::tool_calls(&[("e1", "read_file", json!({"path": "/data/hello.txt"}))])
            }
        } else if text.contains("sub-answer A") {
            Reply::answer("The executor read the file.")
        } else {
            Reply::tool_calls(&[(
                "m1",
                "delegate",
                json!({"tasks": [{"task": "SUBTASK-A read hello.txt", "tools": ["read_file"], "max_turns": 3}]}),
            )])
        }
    });
    let delegation = DelegationConfig {
        planner: planner(),
        planner_grant: Grant::default(),
        max_concurrent: 2,
        default_max_turns: 2,
        workspace: None,
    };
    let agent = agent(
        &server,
        fs_tools(&dir),
        AgentLimits::default(),
        Some(delegation),
    );
    let outcome = run(&planner(), &agent, "MANAGER: get it done")
        .expect("run")
        .expect("answer");
    assert_eq!(outcome.answer, "The executor read the file.");
    let lines = agent.recorder.lines();
    assert!(
        lines.contains(&"1 tool read_file ok".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"0 delegation ok".to_string()), "{lines:?}");
    // The executor's whole conversation is reported with its outcome: its
    // task, its tool call, the tool's result and its answer.
    let transcript = lines
        .iter()
        .find(|l| l.starts_with("transcript "))
        .expect("a transcript");
    for needle in [
        "SUBTASK-A read hello.txt",
        "read_file",
        "hello from the workspace",
        "sub-answer A",
    ] {
        assert!(
            transcript.contains(needle),
            "`{needle}` not in {transcript}"
        );
    }
    // The executor's turns count against the manager's budget.
    assert!(
        agent.broker.usage().turns >= 4,
        "{:?}",
        agent.broker.usage()
    );
}

#[test]
fn the_api_key_is_injected_by_the_host_and_never_reaches_the_planner() {
    let server = ChatServer::scripted(vec![Reply::answer("ok")]);
    let key = "sk-test-secret-value-42";
    let mut grant = model_grant(&server);
    grant.secrets = vec![
        warden::secret::parse_secret(
            &format!("OPENAI_API_KEY@http://127.0.0.1:{}", server.port()),
            |_| Some(warden::secret::SecretValue::new(key.to_string())),
        )
        .expect("secret"),
    ];
    let recorder = Arc::new(Recorder::default());
    let broker = Arc::new(
        Broker::new(
            BrokerParts {
                runtime: runtime(),
                model: (provider(), grant),
                tools: Vec::new(),
                skills: Vec::new(),
                history: Vec::new(),
                limits: AgentLimits::default(),
                delegation: None,
            },
            recorder,
        )
        .expect("broker"),
    );
    let outcome = block_on(runtime().run_planner(
        &planner(),
        "hi",
        &planner_grant(&AgentLimits::default()),
        broker,
    ))
    .expect("run")
    .expect("answer");
    assert_eq!(outcome.answer, "ok");
    assert_eq!(server.authorizations(), vec![format!("Bearer {key}")]);
}

#[test]
fn an_executor_can_work_in_its_own_git_worktree() {
    let repo = tempfile::tempdir().expect("tempdir");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(repo.path())
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    std::fs::write(repo.path().join("hello.txt"), "committed").expect("write");
    git(&["add", "hello.txt"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "init",
    ]);
    let server = ChatServer::scripted(vec![Reply::answer("unused")]);
    let delegation = DelegationConfig {
        planner: hostile_planner(),
        planner_grant: Grant::default(),
        max_concurrent: 1,
        default_max_turns: 2,
        workspace: Some(repo.path().to_path_buf()),
    };
    let agent = agent(
        &server,
        Vec::new(),
        AgentLimits::default(),
        Some(delegation),
    );
    let outcome = run(&hostile_planner(), &agent, "delegate-worktree:echo:done")
        .expect("run")
        .expect("answer");
    assert!(outcome.answer.starts_with("done"), "{}", outcome.answer);
    let path = outcome
        .answer
        .split("git worktree ")
        .nth(1)
        .and_then(|p| p.strip_suffix(')'))
        .expect("the answer names the worktree");
    let checked_out = std::path::Path::new(path).join("hello.txt");
    assert_eq!(
        std::fs::read_to_string(&checked_out).expect("the worktree has the repository's files"),
        "committed"
    );
}

#[test]
fn racing_executors_share_the_managers_budget_and_never_overshoot_it() {
    let dir = data_dir();
    // The manager delegates three tasks at once, each asking for far more
    // turns than the manager has; the executors never stop calling tools.
    let server = ChatServer::start(|_, request| {
        let text = request.to_string();
        if text.contains("MANAGER") {
            if text.contains("\"role\":\"tool\"") {
                Reply::answer("the executors are done")
            } else {
                let tasks: Vec<Value> = (0..3)
                    .map(|i| json!({"task": format!("RACE-{i} read hello.txt"), "tools": ["read_file"], "max_turns": 50}))
                    .collect();
                Reply::tool_calls(&[("m1", "delegate", json!({ "tasks": tasks }))])
            }
        } else {
            Reply::tool_calls(&[("e1", "read_file", json!({"path": "/data/hello.txt"}))])
        }
    });
    let delegation = DelegationConfig {
        planner: planner(),
        planner_grant: Grant::default(),
        max_concurrent: 3,
        default_max_turns: 50,
        workspace: None,
    };
    let limits = AgentLimits {
        max_turns: 8,
        max_tool_calls: 4,
        ..AgentLimits::default()
    };
    let agent = agent(&server, fs_tools(&dir), limits, Some(delegation));
    let outcome = run(&planner(), &agent, "MANAGER: race them").expect("run");
    let usage = agent.broker.usage();
    assert!(usage.turns <= 8, "{usage:?} ({outcome:?})");
    assert!(usage.tool_calls <= 4, "{usage:?} ({outcome:?})");
    assert!(
        server.requests().len() <= 8,
        "{} model requests",
        server.requests().len()
    );
    // Every executor got a share and used it: the budget was split, not
    // given whole to the first.
    let executor_requests = server
        .requests()
        .iter()
        .filter(|r| !r.to_string().contains("MANAGER"))
        .map(|r| {
            let t = r.to_string();
            (0..3)
                .find(|i| t.contains(&format!("RACE-{i}")))
                .unwrap_or(9)
        })
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(executor_requests.len(), 3, "{executor_requests:?}");
}

#[test]
fn the_first_party_planner_can_ask_for_a_worktree_and_the_executor_writes_only_there() {
    let repo = tempfile::tempdir().expect("tempdir");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(repo.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    std::fs::write(repo.path().join("hello.txt"), "committed").expect("write");
    git(&["add", "hello.txt"]);
    git(&["commit", "-qm", "init"]);
    // The model (as manager) delegates with `worktree: true`; the executor
    // overwrites hello.txt through the fs tool.
    let server = ChatServer::start(|_, request| {
        let text = request.to_string();
        let answered = text.contains("\"role\":\"tool\"");
        match (text.contains("MANAGER"), answered) {
            (true, false) => Reply::tool_calls(&[(
                "m1",
                "delegate",
                json!({"tasks": [{"task": "WT-TASK change hello.txt", "tools": ["write_file"], "max_turns": 3, "worktree": true}]}),
            )]),
            (true, true) => Reply::answer("the executor changed it in its worktree"),
            (false, false) => Reply::tool_calls(&[(
                "e1",
                "write_file",
                json!({"path": "/data/hello.txt", "content": "changed by the executor"}),
            )]),
            (false, true) => Reply::answer("wrote it"),
        }
    });
    let fs = warden_tests::builtin("fs");
    let grant = grant_dirs(&[(repo.path(), "/data", DirMode::ReadWrite)]);
    let tools = tools_of(&runtime(), &fs, &grant);
    let delegation = DelegationConfig {
        planner: planner(),
        planner_grant: Grant::default(),
        max_concurrent: 1,
        default_max_turns: 3,
        workspace: Some(repo.path().to_path_buf()),
    };
    let agent = agent(&server, tools, AgentLimits::default(), Some(delegation));
    let outcome = run(&planner(), &agent, "MANAGER: change hello.txt")
        .expect("run")
        .expect("answer");
    assert_eq!(outcome.answer, "the executor changed it in its worktree");
    // The manager's workspace is unchanged…
    assert_eq!(
        std::fs::read_to_string(repo.path().join("hello.txt")).expect("read"),
        "committed"
    );
    // …and the change is in the one worktree, for review and merge.
    let worktrees: Vec<_> = std::fs::read_dir(repo.path().join(".warden/worktrees"))
        .expect("worktrees")
        .flatten()
        .collect();
    assert_eq!(worktrees.len(), 1);
    assert_eq!(
        std::fs::read_to_string(worktrees[0].path().join("hello.txt")).expect("read"),
        "changed by the executor"
    );
    // The model heard where the work is.
    let last = server
        .requests()
        .last()
        .map(Value::to_string)
        .unwrap_or_default();
    assert!(last.contains("git worktree"), "{last}");
}
