//! `warden run` against a real OpenAI-compatible server: llama.cpp's, through
//! `llama-cpp-python[server]` (PyPI, built from source), loading a tiny
//! llama-architecture model the test writes itself with the `gguf` package
//! (`tests/llama/make_model.py`). The model's weights are set so that after
//! the chat prompt it says ` hello` and stops, so its answers are known; the
//! point is the server's real wire format, not what the model knows.
//!
//! Needs a Python with `tests/llama/requirements.txt` installed, named by
//! `WARDEN_TEST_LLAMA_PYTHON` (else `WARDEN_TEST_PYTHON`; `.ci/run` installs
//! both files into one venv). Without it the tests skip, which fails them
//! under `WARDEN_TEST_REQUIRE_ALL=1`.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cli::warden;

/// A running `llama_cpp.server`; killed when dropped.
struct LlamaServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LlamaServer {
    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}

fn python() -> Option<PathBuf> {
    ["WARDEN_TEST_LLAMA_PYTHON", "WARDEN_TEST_PYTHON"]
        .iter()
        .find_map(|v| std::env::var_os(v).filter(|p| !p.is_empty()))
        .map(PathBuf::from)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

#[track_caller]
fn skip(test: &str, reason: &str) {
    warden_test_skip::skip(warden_test_skip::Prerequisite::Python, test, reason);
}

/// Starts the server on a free port with a fresh model, or says why it
/// cannot.
fn start(context: u32) -> Result<LlamaServer, String> {
    start_saying(context, "hello")
}

/// [`start`] with a model that answers the words of `say`, one token each.
fn start_saying(context: u32, say: &str) -> Result<LlamaServer, String> {
    let python = python().ok_or(
        "no Python with llama-cpp-python: set WARDEN_TEST_LLAMA_PYTHON (or WARDEN_TEST_PYTHON) \
         to a python with tests/llama/requirements.txt installed (.ci/run does)",
    )?;
    let check = Command::new(&python)
        .args(["-c", "import llama_cpp.server, gguf, numpy"])
        .output()
        .map_err(|e| format!("{} cannot run: {e}", python.display()))?;
    if !check.status.success() {
        return Err(format!(
            "{} lacks llama-cpp-python[server] or gguf (pip install -r tests/llama/requirements.txt): {}",
            python.display(),
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let model = dir.path().join("tiny.gguf");
    let made = Command::new(&python)
        .arg(repo_root().join("tests/llama/make_model.py"))
        .arg(&model)
        .args(["--context", &context.to_string(), "--say", say])
        .output()
        .map_err(|e| e.to_string())?;
    if !made.status.success() {
        return Err(format!(
            "make_model.py failed: {}",
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let log = std::fs::File::create(dir.path().join("server.log")).map_err(|e| e.to_string())?;
    let child = Command::new(&python)
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(&model)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--n_ctx",
            &context.to_string(),
            // llama-cpp-python's grammar-constrained tool calling: with
            // tools offered, the model first chooses (by grammar) between
            // `functions.NAME:` and `message:`, then writes the arguments
            // under a grammar made from the tool's JSON schema.
            "--chat_format",
            "chatml-function-calling",
            "--seed",
            "1",
            "--n_threads",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| e.to_string())?;
    let server = LlamaServer {
        child,
        port,
        _dir: dir,
    };
    // Ready when it lists the model (no timing assertion: a generous bound
    // only so a broken server fails the test instead of hanging it).
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(
                format!(
                    "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            );
            let mut reply = String::new();
            let _ = s.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 200") {
                return Ok(server);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = std::fs::read_to_string(server._dir.path().join("server.log")).unwrap_or_default();
    Err(format!("llama_cpp.server did not come up: {log}"))
}

fn run_warden(home: &Path, workspace: &Path, args: &[&str]) -> Output {
    let mut cmd = warden();
    cmd.arg("run")
        .args(args)
        .env("WARDEN_HOME", home)
        .env_remove("WARDEN_MODEL_ENDPOINT")
        .current_dir(workspace);
    cmd.output().expect("warden runs")
}

fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::create_dir_all(&ws).expect("mkdir");
    (dir, home, ws)
}

#[test]
fn a_real_llama_cpp_server_answers_through_warden_run_and_its_errors_are_typed() {
    let server = match start(16384) {
        Ok(s) => s,
        Err(reason) => return skip("llama_server", &reason),
    };
    let (_dir, home, ws) = dirs();
    let url = server.base_url();

    // A plain completion, found with no endpoint named: the probe finds the
    // server (as `llama.cpp` on its port) and picks its only model. One
    // turn: the planner asks for an answer without tools.
    let out = warden()
        .args(["run", "Say hello", "--json", "--max-turns", "1"])
        .env("WARDEN_HOME", &home)
        .env_remove("WARDEN_MODEL_ENDPOINT")
        .env(
            "WARDEN_TEST_LOCAL_SERVERS",
            format!("llama.cpp={}", server.port),
        )
        .current_dir(&ws)
        .output()
        .expect("warden runs");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{said}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(
        json["answer"].as_str().map(str::trim),
        Some("hello"),
        "{json}"
    );
    assert!(
        json["usage"]["tokens"].as_u64().is_some_and(|t| t > 0),
        "{json}"
    );

    // Tool calls end to end, named on localhost: with tools offered the
    // grammar makes the model call one (the first by token order: every
    // choice but " hello" ties in this model, and the choice is greedy),
    // with arguments that match the tool's schema. warden runs the call
    // and feeds the result back; on the last turn the planner asks for an
    // answer without tools and gets " hello".
    let local = url.replace("127.0.0.1", "localhost");
    let out = run_warden(
        &home,
        &ws,
        &[
            "Say hello",
            "--endpoint",
            &local,
            "--json",
            "--max-turns",
            "2",
        ],
    );
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        json["answer"].as_str().map(str::trim),
        Some("hello"),
        "{json} {said}"
    );
    assert!(
        json["usage"]["tool_calls"].as_u64().is_some_and(|n| n >= 1),
        "{json}"
    );
    let session = json["session"].as_str().expect("session").to_string();
    let shown = warden()
        .args(["sessions", "show", &session, "--json"])
        .env("WARDEN_HOME", &home)
        .current_dir(&ws)
        .output()
        .expect("warden runs");
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("session json");
    let calls: Vec<&Value> = shown["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["tool_calls"].as_array())
        .flatten()
        .collect();
    assert!(!calls.is_empty(), "{shown}");
    // The arguments the grammar produced are a JSON object, as the tool's
    // schema requires.
    for call in &calls {
        let arguments = call["arguments"].as_str().unwrap_or_default();
        let parsed: Value = serde_json::from_str(arguments).unwrap_or(Value::Null);
        assert!(parsed.is_object(), "{call}");
    }

    // A prompt longer than the context window: llama.cpp's real error reply
    // is read as a context overflow, not a generic failure.
    let long = "word ".repeat(20_000);
    let out = run_warden(&home, &ws, &[&long, "--endpoint", &url, "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["ok"], false, "{json}");
    let error = json["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("does not fit the model's context window"),
        "{json}"
    );
}

#[test]
fn a_real_llama_cpp_server_streams_tokens_through_warden_run() {
    let server = match start_saying(16384, "hello world ok") {
        Ok(s) => s,
        Err(reason) => return skip("llama_server", &reason),
    };
    let (_dir, home, ws) = dirs();
    let url = server.base_url();
    // One turn, no tools: the server streams " hello", " world", " ok"
    // as three chunks, then `stop` and `[DONE]` (no usage: it ignores
    // `stream_options`).
    let out = run_warden(
        &home,
        &ws,
        &["Say hello", "--endpoint", &url, "--max-turns", "1"],
    );
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{said}");
    let answer = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(answer.trim(), "hello world ok", "{said}");
    // The pieces were printed as they came, on one line, before the turn
    // ended ("model answered" is printed when the completion is back).
    let line = said
        .lines()
        .position(|l| l.starts_with("  model: "))
        .unwrap_or_else(|| panic!("nothing streamed: {said}"));
    let answered = said
        .lines()
        .position(|l| l == "  model answered")
        .unwrap_or_else(|| panic!("no summary: {said}"));
    assert!(line < answered, "{said}");
    let streamed = said
        .lines()
        .nth(line)
        .and_then(|l| l.strip_prefix("  model: "));
    assert_eq!(streamed, Some(" hello world ok"), "{said}");
    // What the session recorded is the assembled completion: exactly the
    // streamed pieces joined.
    let session = said
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("session "))
        .and_then(|l| l.split(':').next())
        .expect("session line")
        .to_string();
    let shown = warden()
        .args(["sessions", "show", &session, "--json"])
        .env("WARDEN_HOME", &home)
        .current_dir(&ws)
        .output()
        .expect("warden runs");
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("session json");
    let last = shown["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(last["role"], "assistant", "{shown}");
    assert_eq!(last["content"].as_str(), streamed, "{shown}");
    // The server sent no usage; the provider counted the streamed chunks
    // (and estimated the prompt), so the run's token budget still counts.
    let tokens: u64 = said
        .lines()
        .find_map(|l| l.split(" tool calls, ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no token count in {said}"));
    assert!(tokens >= 3, "{said}");
}

/// The `warden run` line of `examples/fix-a-test/README.md` (its
/// continuation lines joined): the flags before the task, and the task.
fn example_command() -> (Vec<String>, String) {
    let readme = std::fs::read_to_string(repo_root().join("examples/fix-a-test/README.md"))
        .expect("examples/fix-a-test/README.md");
    let joined = readme.replace("\\\n", "");
    let line = joined
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("warden run "))
        .expect("a `warden run` line in the example's README");
    let rest = line.trim_start_matches("warden run ");
    let (flags, quoted) = rest.split_once('"').expect("a quoted task");
    let task = quoted.rsplit_once('"').expect("a closing quote").0;
    (
        flags.split_whitespace().map(str::to_string).collect(),
        task.to_string(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

#[test]
fn the_fix_a_test_example_runs_as_its_readme_says() {
    // The tiny model's vocabulary spells most words byte by byte: the
    // default agent's prompt with its nine tools takes about 11 000 tokens.
    let server = match start(32768) {
        Ok(s) => s,
        Err(reason) => return skip("llama_server", &reason),
    };
    let python = python().expect("start found a python");
    let (_dir, home, _) = dirs();
    let example = _dir.path().join("fix-a-test");
    copy_dir(&repo_root().join("examples/fix-a-test"), &example);
    let unittest = |dir: &Path| {
        Command::new(&python)
            .args(["-m", "unittest"])
            .current_dir(dir)
            .output()
            .expect("python runs")
    };
    // As the README says: the test fails first.
    let before = unittest(&example);
    assert!(!before.status.success(), "test_add passes already");
    assert!(
        String::from_utf8_lossy(&before.stderr).contains("FAILED (failures=1)"),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );

    // The README's command, as it is written: no endpoint, no model (the
    // probe finds the local server, here the test's llama.cpp server).
    let (flags, task) = example_command();
    assert_eq!(flags, ["--write"], "the README's flags changed");
    let out = warden()
        .arg("run")
        .args(&flags)
        .arg(&task)
        .env("WARDEN_HOME", &home)
        .env_remove("WARDEN_MODEL_ENDPOINT")
        .env(
            "WARDEN_TEST_LOCAL_SERVERS",
            format!("llama.cpp={}", server.port),
        )
        .current_dir(&example)
        .output()
        .expect("warden runs");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    // This model cannot fix anything (its weights are set so that it says
    // "hello", and with tools offered the grammar makes it call the first
    // tool with arguments that fit the schema but mean nothing): with the
    // default agent's limits it calls tools until its token budget is
    // spent. The run's mechanics are what is checked: the server found
    // with no flags, the tools offered and called through the sandbox, the
    // end of the run said plainly, a session to show.
    assert!(
        said.contains("using llama.cpp at http://127.0.0.1:"),
        "{said}"
    );
    assert!(said.contains("  model asks for "), "{said}");
    match out.status.code() {
        Some(0) => {}
        Some(1) => assert!(
            said.contains("error: the agent ran out of budget"),
            "{said}"
        ),
        other => panic!("exit {other:?}: {said}"),
    }
    let session = said
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("session "))
        .and_then(|l| l.split(':').next())
        .expect("session line")
        .to_string();
    // `warden sessions show <ID>` prints the transcript.
    let shown = warden()
        .args(["sessions", "show", &session])
        .env("WARDEN_HOME", &home)
        .current_dir(&example)
        .output()
        .expect("warden runs");
    let transcript = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.status.success(), "{transcript}");
    assert!(transcript.contains(&task), "{transcript}");
    // Each tool call the model made, with its arguments and result.
    assert!(transcript.contains("  Assistant:  -> "), "{transcript}");
    assert!(transcript.contains("  Tool: "), "{transcript}");
}
