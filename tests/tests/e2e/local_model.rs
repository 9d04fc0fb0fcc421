//! `warden run` with local model servers, as a new user meets them: an
//! endpoint named on `localhost` works with no other flag and is granted as
//! exactly its address and port; with no endpoint, the usual local servers
//! are probed (here: the test's own listeners on 127.0.0.1, named through
//! the test-only `WARDEN_TEST_LOCAL_SERVERS`), the first that answers is
//! used and named, and its only model picked; when none answers, the error
//! names everything tried and no cloud endpoint is ever contacted.

use super::world::World;
use std::net::TcpListener;
use std::process::Output;

use serde_json::Value;
use warden_tests::chat::{ChatServer, Reply};

use super::cli::{expect_failed, expect_ok};

const PROBE_VAR: &str = "WARDEN_TEST_LOCAL_SERVERS";

impl World {
    fn run_task(&self, task: &str, args: &[&str], probe: &str) -> Output {
        let mut cmd = self.command(&["run", task]);
        cmd.args(args).env(PROBE_VAR, probe);
        cmd.output().expect("warden runs")
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_endpoint_on_localhost_works_with_no_other_flag() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::answer("hello from localhost")]);
    let url = format!("http://localhost:{}/v1", server.port());
    // Nothing answers where probing would look: the named endpoint is used.
    let probe = format!("Ollama={}", closed_port());
    let out = w.run_task("Say hello", &["--endpoint", &url, "--json"], &probe);
    let json: Value =
        serde_json::from_str(&expect_ok(&out, &["run", "--endpoint", &url])).expect("json");
    assert_eq!(json["answer"], "hello from localhost", "{json}");
    // The server listed one model and none was named: it was asked for.
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["model"], "scripted", "{}", requests[0]);
}

#[test]
fn a_loopback_address_without_a_path_and_a_named_model_work() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::answer("hello from 127.0.0.1")]);
    server.set_models(&["a-model", "another"]);
    let url = format!("http://127.0.0.1:{}", server.port());
    let out = w.run_task(
        "Say hello",
        &["--endpoint", &url, "--model", "another", "--json"],
        "",
    );
    let json: Value = serde_json::from_str(&expect_ok(&out, &["run"])).expect("json");
    assert_eq!(json["answer"], "hello from 127.0.0.1");
    assert_eq!(server.requests()[0]["model"], "another");
}

#[test]
fn with_no_endpoint_the_first_local_server_that_answers_is_used_and_named() {
    let w = World::new();
    // Something that is not a model server on the third port: it answers
    // 404 to /v1/models.
    let not_a_model_server = ChatServer::scripted(vec![Reply::answer("never")]);
    not_a_model_server.set_models(&[]);
    let server = ChatServer::scripted(vec![Reply::answer("found you")]);
    server.set_models(&["qwen2.5-coder:1.5b"]);
    let refused = closed_port();
    let probe = format!(
        "Ollama={refused},llama.cpp={},LM Studio={}",
        server.port(),
        not_a_model_server.port()
    );
    let out = w.run_task("Say hello", &[], &probe);
    let said = stderr(&out);
    let answer = expect_ok(&out, &["run", "Say hello"]);
    assert_eq!(answer.trim(), "found you", "{said}");
    assert!(
        said.contains(&format!(
            "using llama.cpp at http://127.0.0.1:{}/v1",
            server.port()
        )),
        "{said}"
    );
    assert!(said.contains("using model qwen2.5-coder:1.5b"), "{said}");
    assert_eq!(server.requests()[0]["model"], "qwen2.5-coder:1.5b");
    // The first that answers wins: the third was never asked for a completion.
    assert!(not_a_model_server.requests().is_empty());
}

#[test]
fn several_models_and_none_named_is_an_error_naming_them() {
    let w = World::new();
    let server = ChatServer::scripted(vec![Reply::answer("never")]);
    server.set_models(&["llama3.2", "qwen2.5"]);
    let probe = format!("Ollama={}", server.port());
    let out = w.run_task("Say hello", &[], &probe);
    let said = expect_failed(&out, &["run"], "lists 2 models and none was named");
    assert!(said.contains("llama3.2, qwen2.5"), "{said}");
    assert!(said.contains("--model"), "{said}");
    assert!(server.requests().is_empty());
}

#[test]
fn when_no_local_server_answers_the_error_names_what_was_tried() {
    let w = World::new();
    // One port refuses; one answers 404 to /v1/models (a web server, not a
    // model server).
    let web = ChatServer::scripted(vec![Reply::answer("never")]);
    let web_port = web.port();
    let refused = closed_port();
    let probe = format!("Ollama={refused},vLLM={web_port}");
    web.set_models(&[]);
    let out = w.run_task("Say hello", &[], &probe);
    let said = expect_failed(&out, &["run"], "no local model server answered");
    assert!(
        said.contains(&format!(
            "Ollama at http://127.0.0.1:{refused}/v1 (connection refused)"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("vLLM at http://127.0.0.1:{web_port}/v1")),
        "{said}"
    );
    assert!(said.contains("hint: start a local server"), "{said}");
    assert!(!said.to_lowercase().contains("openai.com"), "{said}");
    assert!(web.requests().is_empty());
}
