//! The record step of the call path, seen from a program that uses the
//! library directly (no CLI): every call a runtime makes lands in the audit
//! log it was given — successes, denials, limits, calls on a reused
//! instance, and calls whose caller gave up waiting.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use warden::{AuditSink, DirMode, EngineConfig, Grant, Runtime};
use warden_audit::{self as audit, AuditEvent, AuditLog, Record};
use warden_registry::Digest;
use warden_tests::{block_on, components, grant_dirs};

/// A runtime recording into a fresh log in `dir`.
fn recording_runtime(dir: &Path) -> (Runtime, std::path::PathBuf) {
    let path = dir.join("audit.jsonl");
    let log = AuditLog::open(&path, None).expect("open the log");
    let runtime =
        Runtime::new(EngineConfig::default(), AuditSink::log(log)).expect("engine starts");
    (runtime, path)
}

/// Every record in the log, after checking the chain is intact.
fn records(path: &Path) -> Vec<Record> {
    let report = audit::verify(path, None).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problems);
    audit::tail(path, 1000).expect("tail")
}

/// The `call` records: (component, digest, function, argument digest, outcome).
fn calls(records: &[Record]) -> Vec<(String, String, String, String, String)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            AuditEvent::Call {
                component,
                digest,
                function,
                argument_digest,
                outcome,
                ..
            } => Some((
                component.clone(),
                digest.clone(),
                function.clone(),
                argument_digest.clone(),
                outcome.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// The (function, outcome) of each `call` record, in order.
fn outcomes(log: &Path) -> Vec<(String, String)> {
    calls(&records(log))
        .into_iter()
        .map(|(_, _, function, _, outcome)| (function, outcome))
        .collect()
}

#[test]
fn a_library_call_is_recorded_with_digest_arguments_and_outcome() {
    let home = tempfile::tempdir().expect("tempdir");
    let (runtime, log) = recording_runtime(home.path());
    let fs = runtime
        .load_tool("fs", warden::builtin::FS)
        .expect("fs loads");
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("a.txt"), "hello").expect("write");
    let grant = grant_dirs(&[(data.path(), "/data", DirMode::ReadOnly)]);

    let ok_input = json!({"path": "/data/a.txt"}).to_string();
    let report = block_on(runtime.call_tool(&fs, "read_file", &ok_input, &grant)).expect("read");
    assert_eq!(report.output["content"], "hello");
    let denied_input = json!({"path": "/etc/passwd"}).to_string();
    let denied = block_on(runtime.call_tool(&fs, "read_file", &denied_input, &grant))
        .expect_err("outside the grant");

    let records = records(&log);
    let digest = Digest::of(warden::builtin::FS).to_string();
    assert_eq!(
        calls(&records),
        vec![
            (
                "fs".into(),
                digest.clone(),
                "read_file".into(),
                audit::argument_digest(&ok_input),
                "ok".into()
            ),
            (
                "fs".into(),
                digest.clone(),
                "read_file".into(),
                audit::argument_digest(&denied_input),
                denied.kind().into()
            ),
        ]
    );
    // The arguments themselves never reach the log, only their digest.
    let text = std::fs::read_to_string(&log).expect("read log");
    assert!(
        !text.contains(&ok_input) && !text.contains(&denied_input),
        "{text}"
    );
    // The denial is recorded beside the call, naming what was refused.
    assert!(denied.denial().is_some(), "{denied}");
    assert!(
        records.iter().any(|r| matches!(
            &r.event,
            AuditEvent::Denial { component, target, .. }
                if component == "fs" && target == "/etc/passwd"
        )),
        "no denial record: {records:?}"
    );
}

#[test]
fn limits_and_calls_on_a_reused_instance_are_recorded_too() {
    let home = tempfile::tempdir().expect("tempdir");
    let (runtime, log) = recording_runtime(home.path());
    let hostile = runtime
        .load_tool_file(Path::new(components::HOSTILE))
        .expect("hostile loads");
    let mut grant = Grant::default();
    grant.limits.timeout = Duration::from_millis(200);
    let err = block_on(runtime.call_tool(&hostile, "spin", "{}", &grant)).expect_err("spins");
    assert_eq!(err.kind(), "timeout");

    block_on(async {
        let mut instance = runtime
            .instantiate_tool(&hostile, &Grant::default())
            .await
            .expect("instantiates");
        instance
            .call("echo", r#"{"text":"one"}"#)
            .await
            .expect("echo");
    });

    let outcomes = outcomes(&log);
    assert_eq!(
        outcomes,
        vec![
            ("spin".into(), "timeout".into()),
            ("echo".into(), "ok".into())
        ]
    );
}

#[test]
fn a_call_whose_caller_stops_waiting_is_recorded_as_cancelled_and_the_runtime_goes_on() {
    let home = tempfile::tempdir().expect("tempdir");
    let (runtime, log) = recording_runtime(home.path());
    let hostile = runtime
        .load_tool_file(Path::new(components::HOSTILE))
        .expect("hostile loads");
    let grant = Grant::default();
    block_on(async {
        // The caller gives up after 100 ms on a call that would spin for
        // the whole default wall clock.
        let spun = tokio::time::timeout(
            Duration::from_millis(100),
            runtime.call_tool(&hostile, "spin", "{}", &grant),
        )
        .await;
        assert!(spun.is_err(), "the spin cannot have finished");
        let echo = runtime
            .call_tool(&hostile, "echo", r#"{"text":"next"}"#, &grant)
            .await
            .expect("the runtime serves the next call");
        assert_eq!(echo.output["text"], "next");
    });
    let outcomes = outcomes(&log);
    assert_eq!(
        outcomes,
        vec![
            ("spin".into(), "cancelled".into()),
            ("echo".into(), "ok".into())
        ]
    );
}

#[test]
fn a_runtime_built_without_a_log_records_nothing_and_says_so() {
    let runtime =
        Runtime::new(EngineConfig::default(), AuditSink::disabled()).expect("engine starts");
    assert!(!runtime.audit().is_enabled());
    let home = tempfile::tempdir().expect("tempdir");
    let (recording, _) = recording_runtime(home.path());
    assert!(recording.audit().is_enabled());
    assert_eq!(
        recording
            .audit()
            .audit_log()
            .map(|l| l.path().to_path_buf()),
        Some(home.path().join("audit.jsonl"))
    );
}

#[test]
fn a_call_dropped_before_it_starts_is_recorded_as_cancelled() {
    let home = tempfile::tempdir().expect("tempdir");
    let (runtime, log) = recording_runtime(home.path());
    let hostile = runtime
        .load_tool_file(Path::new(components::HOSTILE))
        .expect("hostile loads");
    let grant = Grant::default();
    // Never polled: the caller gave up before the call began.
    drop(runtime.call_tool(&hostile, "spin", "{}", &grant));
    let outcomes = outcomes(&log);
    assert_eq!(outcomes, vec![("spin".into(), "cancelled".into())]);
}
