//! Hostile guests: every limit stops them with a typed error, and the host
//! serves the next call normally.

use std::time::{Duration, Instant};

use warden::{CallError, DirMode, Grant};
use warden_tests::{
    assert_next_call_works, block_on, call, grant_dirs, hostile, runtime, with_timeout,
};

#[test]
fn a_guest_that_loops_forever_is_stopped_near_its_deadline() {
    let h = hostile();
    let grant = with_timeout(Grant::default(), Duration::from_millis(300));
    let started = Instant::now();
    let err = call(&h, "spin", serde_json::json!({}), &grant).expect_err("spin never returns");
    let elapsed = started.elapsed();
    assert!(
        matches!(err, CallError::Timeout { limit, .. } if limit == Duration::from_millis(300)),
        "{err:?}"
    );
    // Liveness, not performance: it is stopped, and not before its deadline.
    assert!(
        elapsed >= Duration::from_millis(300),
        "stopped early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "not stopped near its deadline: {elapsed:?}"
    );
    assert_next_call_works(&h);
}

#[test]
fn a_guest_that_loops_forever_runs_out_of_fuel() {
    let h = hostile();
    let mut grant = Grant::default();
    grant.limits.fuel = 20_000_000;
    let err = call(&h, "spin", serde_json::json!({}), &grant).expect_err("spin never returns");
    assert!(
        matches!(
            err,
            CallError::OutOfFuel {
                limit: 20_000_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert_next_call_works(&h);
}

#[test]
fn a_guest_blocked_in_a_host_call_is_cut_off_by_the_wall_clock() {
    let h = hostile();
    let grant = with_timeout(Grant::default(), Duration::from_millis(300));
    let started = Instant::now();
    let err = call(&h, "sleep", serde_json::json!({"ms": 60_000}), &grant)
        .expect_err("sleep outlasts the timeout");
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not cut off: {:?}",
        started.elapsed()
    );
    assert_next_call_works(&h);
}

#[test]
fn a_guest_that_allocates_without_bound_hits_the_memory_cap() {
    let h = hostile();
    let mut grant = Grant::default();
    grant.limits.memory_bytes = 32 << 20;
    let err = call(&h, "hog", serde_json::json!({"step_kib": 1024}), &grant)
        .expect_err("hog never stops");
    assert!(
        matches!(err, CallError::OutOfMemory { limit, .. } if limit == 32 << 20),
        "{err:?}"
    );
    assert_next_call_works(&h);
}

#[test]
fn a_guest_that_recurses_without_bound_traps_on_the_stack_limit() {
    let h = hostile();
    let err = call(&h, "recurse", serde_json::json!({}), &Grant::default())
        .expect_err("recursion never ends");
    assert!(matches!(err, CallError::StackOverflow { .. }), "{err:?}");
    assert_next_call_works(&h);
}

#[test]
fn a_panicking_guest_is_a_trap_with_its_message_and_backtrace() {
    let h = hostile();
    let err = call(&h, "panic", serde_json::json!({}), &Grant::default()).expect_err("panics");
    match &err {
        CallError::Trap {
            message, backtrace, ..
        } => {
            assert!(message.contains("panics on purpose"), "{message}");
            assert!(!backtrace.is_empty(), "no backtrace");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(err.to_string().contains("guest backtrace"), "{err}");
    assert_next_call_works(&h);
}

#[test]
fn output_past_the_limit_and_output_that_is_not_json_are_invalid_output() {
    let h = hostile();
    let err = call(
        &h,
        "flood",
        serde_json::json!({"bytes": 2 << 20}),
        &Grant::default(),
    )
    .expect_err("too large");
    match &err {
        CallError::OutputTooLarge { bytes, limit, .. } => {
            assert!(bytes > limit, "{err}");
            assert!(err.to_string().contains("over the limit"), "{err}");
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
    assert_next_call_works(&h);
    let err = call(&h, "bad_json", serde_json::json!({}), &Grant::default()).expect_err("not json");
    match &err {
        CallError::InvalidOutput { reason, .. } => assert!(reason.contains("not JSON"), "{reason}"),
        other => panic!("expected invalid output, got {other:?}"),
    }
    assert_next_call_works(&h);
}

#[test]
fn a_guest_flooding_the_log_is_bounded_and_still_succeeds() {
    let h = hostile();
    let grant = Grant::default();
    let report = call(&h, "log", serde_json::json!({"count": 50_000}), &grant)
        .expect("logging is not a failure");
    let kept: u64 = report
        .log
        .lines
        .iter()
        .map(|l| l.message.len() as u64 + 1)
        .sum();
    assert!(kept <= grant.limits.max_log_bytes, "kept {kept} bytes");
    assert!(report.log.dropped_bytes > 0);
    assert!(
        report.log.lines[0]
            .message
            .contains("hostile log line 1 of 50000")
    );
}

#[test]
fn only_granted_environment_variables_are_visible() {
    let h = hostile();
    let grant = Grant {
        env: vec![("WARDEN_TEST_GRANTED".into(), "yes".into())],
        ..Grant::default()
    };
    let out = call(
        &h,
        "env",
        serde_json::json!({"name": "WARDEN_TEST_GRANTED"}),
        &grant,
    )
    .expect("env");
    assert_eq!(out.output["value"], "yes");
    // PATH is set for this test process, but not granted.
    assert!(std::env::var("PATH").is_ok());
    let out = call(&h, "env", serde_json::json!({"name": "PATH"}), &grant).expect("env");
    assert_eq!(out.output["value"], serde_json::Value::Null);
}

/// The hostile guest uses `std::fs` directly, with no checks of its own:
/// what stops it is WASI under the grant.
#[test]
fn direct_filesystem_access_outside_the_grant_fails_in_wasi_itself() {
    let h = hostile();
    let ws = tempfile::tempdir().expect("tempdir");
    let data = ws.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::write(data.join("inside.txt"), "inside").expect("write");
    std::fs::write(ws.path().join("secret.txt"), "TOP SECRET").expect("write");
    std::os::unix::fs::symlink(ws.path().join("secret.txt"), data.join("link")).expect("symlink");
    let grant = grant_dirs(&[(&data, "/data", DirMode::ReadOnly)]);

    let out = call(
        &h,
        "read",
        serde_json::json!({"path": "/data/inside.txt"}),
        &grant,
    )
    .expect("inside works");
    assert_eq!(out.output["content"], "inside");

    let secret_host_path = ws.path().join("secret.txt");
    for path in [
        "/data/../secret.txt",
        "/data/link",
        "/etc/passwd",
        secret_host_path.to_str().unwrap_or("/"),
    ] {
        match call(&h, "read", serde_json::json!({"path": path}), &grant) {
            Ok(out) => panic!("{path} was read: {}", out.output),
            Err(e) => assert!(!e.to_string().contains("TOP SECRET"), "{e}"),
        }
    }
    match call(
        &h,
        "write",
        serde_json::json!({"path": "/data/inside.txt", "content": "changed"}),
        &grant,
    ) {
        Err(CallError::Denied { .. }) => {}
        other => panic!("expected a denial writing a read-only grant, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(data.join("inside.txt")).expect("read"),
        "inside"
    );
}

#[test]
fn a_spinning_guest_does_not_starve_other_calls() {
    let h = hostile();
    block_on(async {
        let rt = runtime();
        let mut spin_grant = with_timeout(Grant::default(), Duration::from_secs(2));
        spin_grant.limits.fuel = u64::MAX;
        let spinner = {
            let (rt, h) = (rt.clone(), h.clone());
            tokio::spawn(async move { rt.call_tool(&h, "spin", "{}", &spin_grant).await })
        };
        let mut echoes = Vec::new();
        for i in 0..20 {
            let (rt, h) = (rt.clone(), h.clone());
            echoes.push(tokio::spawn(async move {
                let input = serde_json::json!({ "text": format!("call {i}") }).to_string();
                rt.call_tool(&h, "echo", &input, &Grant::default()).await
            }));
        }
        for (i, e) in echoes.into_iter().enumerate() {
            let out = e
                .await
                .expect("task")
                .expect("echo succeeds beside a spinner");
            assert_eq!(out.output["text"], format!("call {i}"));
        }
        let spun = spinner.await.expect("task");
        assert!(matches!(spun, Err(CallError::Timeout { .. })), "{spun:?}");
    });
}

/// Every misbehaviour the hostile component offers is exercised by some test.
#[test]
fn every_hostile_tool_is_exercised() {
    let sources = [
        include_str!("hostile.rs"),
        include_str!("http_fetch.rs"),
        include_str!("cli.rs"),
    ];
    let list = block_on(runtime().list_tools(&hostile(), &Grant::default())).expect("list");
    assert!(list.tools.len() >= 10);
    for tool in &list.tools {
        let quoted = format!("\"{}\"", tool.name);
        assert!(
            sources.iter().any(|s| s.contains(&quoted)),
            "hostile tool `{}` has no test",
            tool.name
        );
    }
}

/// No state survives from one call to the next: each call gets a fresh
/// instance, so a counter inside the guest is 1 every time.
#[test]
fn every_call_starts_from_a_fresh_instance() {
    let h = hostile();
    for _ in 0..3 {
        let out = call(&h, "calls", serde_json::json!({}), &Grant::default()).expect("calls");
        assert_eq!(out.output["calls"], 1, "state leaked between calls");
    }
}

/// A reused instance keeps its state, but every call gets the full fuel
/// budget and wall clock again, and a call that hits a limit stops it.
#[test]
fn a_reused_instance_keeps_state_and_refills_its_limits_per_call() {
    let h = hostile();
    let mut grant = with_timeout(Grant::default(), Duration::from_millis(400));
    grant.limits.fuel = 50_000_000;
    block_on(async {
        let mut instance = runtime()
            .instantiate_tool(&h, &grant)
            .await
            .expect("instantiates");
        for n in 1..=3 {
            let out = instance.call("calls", "{}").await.expect("calls");
            assert_eq!(out.output["calls"], n, "the instance keeps its state");
        }
        // Each of these uses well over half of the fuel budget: only a
        // refill per call lets the second and third run.
        let mut used = Vec::new();
        for _ in 0..3 {
            let out = instance
                .call("work", r#"{"rounds": 1500000}"#)
                .await
                .expect("fuel is refilled per call");
            used.push(out.stats.fuel_used);
        }
        assert!(
            used.iter().all(|u| *u > grant.limits.fuel / 2),
            "each call used more than half the budget: {used:?}"
        );
        // Five 100 ms sleeps outlast the 400 ms limit together, not alone:
        // the wall clock is re-armed per call.
        for _ in 0..5 {
            instance
                .call("sleep", r#"{"ms": 100}"#)
                .await
                .expect("the wall clock is re-armed per call");
        }
        // A typed tool error leaves the instance usable ...
        let err = instance.call("nope", "{}").await.expect_err("unknown tool");
        assert_eq!(err.kind(), "unknown-tool");
        assert!(!instance.is_stopped());
        // ... a limit stops it for good, with the reason.
        let err = instance.call("spin", "{}").await.expect_err("spins");
        assert_eq!(err.kind(), "out-of-fuel");
        assert!(instance.is_stopped());
        match instance.call("calls", "{}").await {
            Err(CallError::Stopped { cause, .. }) => assert_eq!(cause, "out-of-fuel"),
            other => panic!("expected a stopped instance, got {other:?}"),
        }
    });
    assert_next_call_works(&h);
}

/// What one call leaves in its linear memory is gone for the next: pooled
/// memory slots are reset between instances (part by `memset`, part by
/// `madvise`), so a later call reading the same addresses sees zeros.
#[test]
fn memory_left_by_one_call_is_not_visible_to_the_next() {
    let h = hostile();
    let secret = "warden-secret-".repeat(64);
    let stashed = call(
        &h,
        "stash",
        serde_json::json!({ "text": secret }),
        &Grant::default(),
    )
    .expect("stash");
    let (addr, len) = (&stashed.output["addr"], &stashed.output["len"]);
    assert_eq!(len, secret.len(), "{}", stashed.output);
    // Every fresh instance (and whichever pool slot it lands in) reads the
    // address back; none finds the text.
    for _ in 0..8 {
        let seen = call(
            &h,
            "peek",
            serde_json::json!({ "addr": addr, "len": len }),
            &Grant::default(),
        )
        .expect("peek");
        let bytes = seen.output["bytes"].as_str().expect("bytes");
        assert!(
            !bytes.contains("warden-secret"),
            "memory leaked between calls"
        );
    }
    // On a reused instance the same read does find it: the probe works.
    block_on(async {
        let mut instance = runtime()
            .instantiate_tool(&h, &Grant::default())
            .await
            .expect("instantiates");
        let input = serde_json::json!({ "text": secret }).to_string();
        let stashed = instance.call("stash", &input).await.expect("stash");
        let peek = serde_json::json!({
            "addr": stashed.output["addr"],
            "len": stashed.output["len"],
        });
        let seen = instance
            .call("peek", &peek.to_string())
            .await
            .expect("peek");
        assert_eq!(seen.output["bytes"], secret.as_str());
    });
}
