//! warden's benchmark suite (issue: the benchmark suite): each figure as
//! p50/p99 and as a ratio to a baseline measured in the same run.
//!
//! - a tool call with a fresh instance per call (InstancePre + pooling) vs
//!   a native Rust function doing the same work (parse the JSON input,
//!   build and serialise the output) vs the same echo as a native
//!   subprocess (`cat`, spawned per call), payloads 0 B, 1 KiB, 64 KiB, 1 MiB;
//! - instantiations per second on one and on both cores;
//! - 1, 16, 256 and 1024 concurrent calls: throughput, p99, errors;
//! - fuel and epoch overhead on a CPU-bound guest (a spin stopped by fuel),
//!   and how far past a wall-clock deadline a runaway guest gets.
//!
//! Run with `cargo bench -p warden-tests --bench suite`; results are in
//! docs/benchmarks.md.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warden::{Grant, Runtime, ToolComponent};
use warden_tests::{hostile, runtime};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Prints a row; returns the p50.
fn row(name: &str, mut samples: Vec<Duration>, baseline: Option<Duration>) -> Duration {
    samples.sort();
    let p50 = pct(&samples, 0.5);
    let ratio = baseline.map_or("1.00".into(), |b| {
        format!("{:.2}", p50.as_secs_f64() / b.as_secs_f64())
    });
    println!(
        "| {name} | {} | {} | {} | {ratio} |",
        samples.len(),
        us(p50),
        us(pct(&samples, 0.99))
    );
    p50
}

fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    std::hint::black_box(f());
    started.elapsed()
}

fn echo_native(input: &str) -> String {
    let v: Value = serde_json::from_str(input).expect("json");
    json!({ "text": v["text"] }).to_string()
}

fn echo_subprocess(input: &str) -> Vec<u8> {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn cat");
    let mut stdin = child.stdin.take().expect("stdin");
    let bytes = input.as_bytes().to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().expect("cat output");
    let _ = writer.join();
    out.stdout
}

fn calls(
    rt: &tokio::runtime::Runtime,
    runtime: &Runtime,
    c: &ToolComponent,
    input: &str,
    grant: &Grant,
    n: usize,
) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            time(|| {
                rt.block_on(runtime.call_tool(c, "echo", input, grant))
                    .expect("echo")
            })
        })
        .collect()
}

fn main() {
    let runtime = runtime();
    let echo = hostile();
    let mut grant = Grant::default();
    grant.limits.max_output_bytes = 4 << 20;
    grant.limits.memory_bytes = 64 << 20;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");

    println!("## Tool call: fresh instance vs native function vs subprocess\n");
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (label, size) in [
        ("0 B", 0usize),
        ("1 KiB", 1 << 10),
        ("64 KiB", 64 << 10),
        ("1 MiB", 1 << 20),
    ] {
        let input = json!({ "text": "x".repeat(size) }).to_string();
        let n = if size >= 1 << 20 { 30 } else { 300 };
        calls(&rt, &runtime, &echo, &input, &grant, 5);
        let native: Vec<Duration> = (0..n).map(|_| time(|| echo_native(&input))).collect();
        let sub: Vec<Duration> = (0..n.min(100))
            .map(|_| time(|| echo_subprocess(&input)))
            .collect();
        let wasm = calls(&rt, &runtime, &echo, &input, &grant, n);
        let base = row(
            &format!("{label}: native Rust function (baseline)"),
            native,
            None,
        );
        let sub_p50 = row(
            &format!("{label}: native subprocess (`cat`) per call"),
            sub,
            Some(base),
        );
        let wasm_p50 = row(
            &format!("{label}: warden call, fresh instance"),
            wasm,
            Some(base),
        );
        println!(
            "| {label}: subprocess / warden call | | | | {:.1}x |",
            sub_p50.as_secs_f64() / wasm_p50.as_secs_f64()
        );
    }

    println!("\n## Instantiations per second (call of a 0 B echo, end to end)\n");
    println!("| workers | calls | calls/s |");
    println!("|---:|---:|---:|");
    let input = json!({ "text": "" }).to_string();
    for workers in [1usize, 2] {
        let pool = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("tokio");
        let total = 2000;
        let started = Instant::now();
        pool.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..total {
                let (r, c, i, g) = (runtime.clone(), echo.clone(), input.clone(), grant.clone());
                set.spawn(async move { r.call_tool(&c, "echo", &i, &g).await.is_ok() });
                if set.len() >= workers * 4 {
                    set.join_next().await;
                }
            }
            while set.join_next().await.is_some() {}
        });
        let secs = started.elapsed().as_secs_f64();
        println!("| {workers} | {total} | {:.0} |", total as f64 / secs);
    }

    println!("\n## Concurrent calls\n");
    println!("| concurrent | throughput (calls/s) | p50 | p99 | p99 / single p50 | errors |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut single = calls(&rt, &runtime, &echo, &input, &grant, 200);
    single.sort();
    let single_p50 = pct(&single, 0.5);
    for n in [1usize, 16, 256, 1024] {
        let started = Instant::now();
        let results: Vec<(Duration, bool)> = rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..n {
                let (r, c, i, g) = (runtime.clone(), echo.clone(), input.clone(), grant.clone());
                set.spawn(async move {
                    let t = Instant::now();
                    let ok = r.call_tool(&c, "echo", &i, &g).await.is_ok();
                    (t.elapsed(), ok)
                });
            }
            let mut out = Vec::new();
            while let Some(r) = set.join_next().await {
                out.push(r.unwrap_or((Duration::ZERO, false)));
            }
            out
        });
        let wall = started.elapsed();
        let errors = results.iter().filter(|(_, ok)| !ok).count();
        let mut lat: Vec<Duration> = results.into_iter().map(|(d, _)| d).collect();
        lat.sort();
        let p99 = pct(&lat, 0.99);
        println!(
            "| {n} | {:.0} | {} | {} | {:.1}x | {errors} |",
            n as f64 / wall.as_secs_f64(),
            us(pct(&lat, 0.5)),
            us(p99),
            p99.as_secs_f64() / single_p50.as_secs_f64()
        );
    }

    println!("\n## Runaway guests\n");
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    // A spin stopped by fuel: time per 100M units of fuel.
    let mut fuel_grant = grant.clone();
    fuel_grant.limits.fuel = 100_000_000;
    fuel_grant.limits.timeout = Duration::from_secs(30);
    let spins: Vec<Duration> = (0..10)
        .map(|_| {
            time(|| {
                let err = rt
                    .block_on(runtime.call_tool(&echo, "spin", "{}", &fuel_grant))
                    .expect_err("runs out of fuel");
                assert_eq!(err.kind(), "out-of-fuel");
            })
        })
        .collect();
    row(
        "spin until 100M fuel is used (fuel + epoch checks armed)",
        spins,
        None,
    );
    // How far past a 100 ms deadline a spinning guest runs.
    let mut wall_grant = grant.clone();
    wall_grant.limits.timeout = Duration::from_millis(100);
    let overshoot: Vec<Duration> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let err = rt
                .block_on(runtime.call_tool(&echo, "spin", "{}", &wall_grant))
                .expect_err("times out");
            assert_eq!(err.kind(), "timeout");
            started.elapsed().saturating_sub(Duration::from_millis(100))
        })
        .collect();
    row(
        "time past a 100 ms deadline before a spinning guest is stopped",
        overshoot,
        None,
    );
}
