//! warden's benchmark suite (issue: the benchmark suite): each figure as
//! p50/p99 and as a ratio to a baseline measured in the same run.
//!
//! - a tool call with a fresh instance per call (InstancePre + pooling) and
//!   on a reused instance vs a native Rust function doing the same work
//!   (parse the JSON input, build and serialise the output) vs the same echo
//!   as a native subprocess (`cat`, spawned per call), payloads 0 B, 1 KiB,
//!   64 KiB, 1 MiB;
//! - the same call over MCP stdio: `warden mcp` vs a Python MCP server
//!   written with the official SDK (`tests/benches/mcp_echo_server.py`);
//! - `warden tool call` as a whole process, cold and with the compiled
//!   cache warm, vs spawning `true`;
//! - instantiations per second on one and on both cores;
//! - 1, 16, 256 and 1024 concurrent calls: throughput, p99, errors;
//! - fuel's cost on a CPU-bound guest (fuel off vs on, vs native), and how
//!   far past a wall-clock deadline a runaway guest gets.
//!
//! Run with `cargo build --release -p warden-cli && cargo bench -p warden-tests
//! --bench suite`; results are in docs/benchmarks.md. The MCP rows need
//! Python 3 with venv and pip, and PyPI (a venv is made under
//! `target/tmp/mcp-venv`, shared with the MCP tests), or
//! `WARDEN_BENCH_PYTHON` naming a Python that has `mcp`; without them the
//! rows say why they were skipped.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "mcp_http.rs"]
mod mcp_http;
use warden::{DirMode, EngineConfig, Grant, Runtime, ToolComponent};
use warden_tests::components::HOSTILE;
use warden_tests::{hostile, runtime};

/// The payload sizes every call table is measured at.
const PAYLOADS: [(&str, usize); 4] = [
    ("0 B", 0),
    ("1 KiB", 1 << 10),
    ("64 KiB", 64 << 10),
    ("1 MiB", 1 << 20),
];

/// Samples per row: fewer for the 1 MiB payload.
fn samples(size: usize) -> usize {
    if size >= 1 << 20 { 30 } else { 300 }
}

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

/// What every section measures with: one runtime, the hostile test
/// component (its `echo` tool), a grant roomy enough for 1 MiB payloads.
struct Cx {
    rt: tokio::runtime::Runtime,
    runtime: Runtime,
    echo: ToolComponent,
    grant: Grant,
}

/// The sections, by name: `cargo bench -p warden-tests --bench suite --
/// NAME...` runs those whose names contain a NAME (all by default).
/// A section of the suite.
type Section = fn(&Cx);

const SECTIONS: [(&str, Section); 8] = [
    ("calls", tool_calls),
    ("fscall", fs_in_process),
    ("mcp", mcp_stdio),
    ("cli", cli_process),
    ("instantiations", instantiations),
    ("concurrency", concurrency),
    ("fuel", fuel_cost),
    ("runaway", runaway),
];

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut grant = Grant::default();
    grant.limits.max_output_bytes = 4 << 20;
    grant.limits.memory_bytes = 64 << 20;
    let cx = Cx {
        rt: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio"),
        runtime: runtime(),
        echo: hostile(),
        grant,
    };
    for (name, section) in SECTIONS {
        if wanted.is_empty() || wanted.iter().any(|w| name.contains(w.as_str())) {
            section(&cx);
        }
    }
}

/// A tool call, fresh and reused, vs a native function and a subprocess.
fn tool_calls(cx: &Cx) {
    let Cx {
        rt,
        runtime,
        echo,
        grant,
    } = cx;
    println!("## Tool call: fresh instance vs native function vs subprocess\n");
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (label, size) in PAYLOADS {
        let input = json!({ "text": "x".repeat(size) }).to_string();
        let n = samples(size);
        calls(rt, runtime, echo, &input, grant, 5);
        let native: Vec<Duration> = (0..n).map(|_| time(|| echo_native(&input))).collect();
        let sub: Vec<Duration> = (0..n.min(100))
            .map(|_| time(|| echo_subprocess(&input)))
            .collect();
        let wasm = calls(rt, runtime, echo, &input, grant, n);
        let reused = reused_calls(rt, runtime, echo, &input, grant, n);
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
        row(
            &format!("{label}: warden call, reused instance"),
            reused,
            Some(base),
        );
        println!(
            "| {label}: subprocess / warden call | | | | {:.1}x |",
            sub_p50.as_secs_f64() / wasm_p50.as_secs_f64()
        );
    }
}

/// `builtin:fs` read_file of a small file in process (fresh instance, no
/// audit, no MCP) against the echo: what the guest's file access and the
/// sandbox's directory grant cost, apart from any server around them.
fn fs_in_process(cx: &Cx) {
    let Cx {
        rt,
        runtime,
        echo,
        grant,
    } = cx;
    println!("\n## `builtin:fs` read_file in process, against echo\n");
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("small.txt"), "hello from a small file\n").expect("write");
    let fs = warden_tests::builtin("fs");
    let fs_grant = warden_tests::grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);
    let read = json!({ "path": "/data/small.txt" }).to_string();
    let list = json!({ "path": "/data" }).to_string();
    let echo_in = json!({ "text": "" }).to_string();
    let n = 2000;
    let mut echo_t = Vec::new();
    let mut read_t = Vec::new();
    let mut list_t = Vec::new();
    let mut echo_dir_t = Vec::new();
    // One timed call, fresh instance.
    let call = |runtime: &Runtime, c: &ToolComponent, tool: &str, input: &str, g: &Grant| {
        time(|| {
            rt.block_on(runtime.call_tool(c, tool, input, g))
                .expect(tool)
        })
    };
    // Interleaved, so a busy moment of the machine falls on every row alike.
    for _ in 0..n {
        echo_t.push(call(runtime, echo, "echo", &echo_in, grant));
        echo_dir_t.push(call(runtime, echo, "echo", &echo_in, &fs_grant));
        read_t.push(call(runtime, &fs, "read_file", &read, &fs_grant));
        list_t.push(call(runtime, &fs, "list_dir", &list, &fs_grant));
    }
    let base = row("echo, 0 B, no directory (baseline)", echo_t, None);
    row(
        "echo, 0 B, with a granted directory",
        echo_dir_t,
        Some(base),
    );
    row("`builtin:fs` read_file of 24 B", read_t, Some(base));
    row("`builtin:fs` list_dir of one entry", list_t, Some(base));

    // The same two calls with the audit log on (records synced in groups,
    // as `warden mcp` does by default).
    let home = tempfile::tempdir().expect("home");
    let log = warden_audit::AuditLog::open(home.path().join("audit.jsonl"), None)
        .and_then(|l| {
            l.with_durability(warden_audit::Durability::Batched {
                window: Duration::from_millis(5),
            })
        })
        .expect("audit log");
    let audited =
        Runtime::new(EngineConfig::default(), warden::AuditSink::log(log)).expect("engine");
    let echo_a = audited
        .load_tool_file(Path::new(HOSTILE))
        .expect("hostile loads");
    let fs_a = audited
        .load_tool("fs", warden::builtin::lookup("fs").expect("built-in fs"))
        .expect("fs loads");
    let mut echo_t = Vec::new();
    let mut read_t = Vec::new();
    for _ in 0..n {
        echo_t.push(call(&audited, &echo_a, "echo", &echo_in, &fs_grant));
        read_t.push(call(&audited, &fs_a, "read_file", &read, &fs_grant));
    }
    let base = row(
        "audited: echo, 0 B, with a granted directory (baseline)",
        echo_t,
        None,
    );
    row(
        "audited: `builtin:fs` read_file of 24 B",
        read_t,
        Some(base),
    );
}

/// Instantiations per second on one and on two tokio workers.
fn instantiations(cx: &Cx) {
    let Cx {
        runtime,
        echo,
        grant,
        ..
    } = cx;
    let input = json!({ "text": "" }).to_string();
    println!("\n## Instantiations per second (call of a 0 B echo, end to end)\n");
    println!("| workers | calls | calls/s |");
    println!("|---:|---:|---:|");
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
}

/// Many calls at once: throughput, p50/p99, errors.
fn concurrency(cx: &Cx) {
    let Cx {
        rt,
        runtime,
        echo,
        grant,
    } = cx;
    let input = json!({ "text": "" }).to_string();
    println!("\n## Concurrent calls\n");
    println!(
        "| concurrent | calls | throughput (calls/s) | p50 | p99 | p99 / single p50 | errors |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut single = calls(rt, runtime, echo, &input, grant, 200);
    single.sort();
    let single_p50 = pct(&single, 0.5);
    for n in [1usize, 16, 256, 1024] {
        // Rounds of `n` calls started at once, enough for 200+ samples.
        let rounds = (1024 / n).clamp(2, 200);
        let started = Instant::now();
        let results: Vec<(Duration, bool)> = rt.block_on(async {
            let mut out = Vec::new();
            for _ in 0..rounds {
                let mut set = tokio::task::JoinSet::new();
                for _ in 0..n {
                    let (r, c, i, g) =
                        (runtime.clone(), echo.clone(), input.clone(), grant.clone());
                    set.spawn(async move {
                        let t = Instant::now();
                        let ok = r.call_tool(&c, "echo", &i, &g).await.is_ok();
                        (t.elapsed(), ok)
                    });
                }
                while let Some(r) = set.join_next().await {
                    out.push(r.unwrap_or((Duration::ZERO, false)));
                }
            }
            out
        });
        let wall = started.elapsed();
        let results_len = results.len();
        let errors = results.iter().filter(|(_, ok)| !ok).count();
        let mut lat: Vec<Duration> = results.into_iter().map(|(d, _)| d).collect();
        lat.sort();
        let p99 = pct(&lat, 0.99);
        println!(
            "| {n} | {} | {:.0} | {} | {} | {:.1}x | {errors} |",
            results_len,
            results_len as f64 / wall.as_secs_f64(),
            us(pct(&lat, 0.5)),
            us(p99),
            p99.as_secs_f64() / single_p50.as_secs_f64()
        );
    }
}

/// How far past its deadline a spinning guest gets.
fn runaway(cx: &Cx) {
    let Cx {
        rt,
        runtime,
        echo,
        grant,
    } = cx;
    println!("\n## Runaway guests\n");
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    // How far past a 100 ms deadline a spinning guest runs.
    let mut wall_grant = grant.clone();
    wall_grant.limits.timeout = Duration::from_millis(100);
    let overshoot: Vec<Duration> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let err = rt
                .block_on(runtime.call_tool(echo, "spin", "{}", &wall_grant))
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

/// Calls on one instance, kept across the calls.
fn reused_calls(
    rt: &tokio::runtime::Runtime,
    runtime: &Runtime,
    c: &ToolComponent,
    input: &str,
    grant: &Grant,
    n: usize,
) -> Vec<Duration> {
    rt.block_on(async {
        let mut instance = runtime
            .instantiate_tool(c, grant)
            .await
            .expect("instantiates");
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            std::hint::black_box(instance.call("echo", input).await.expect("echo"));
            out.push(started.elapsed());
        }
        out
    })
}

/// The same CPU-bound loop as the hostile component's `work` tool.
fn work_native(rounds: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..rounds {
        x = std::hint::black_box(x.rotate_left(7) ^ i).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
    x
}

/// A CPU-bound guest with fuel metering off and on, against the loop in
/// native Rust.
fn fuel_cost(cx: &Cx) {
    let Cx {
        rt,
        runtime,
        echo,
        grant,
    } = cx;
    println!("\n## Fuel on a CPU-bound tool\n");
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    const ROUNDS: u64 = 20_000_000;
    let input = json!({ "rounds": ROUNDS }).to_string();
    let mut grant = grant.clone();
    grant.limits.fuel = u64::MAX / 2;
    grant.limits.timeout = Duration::from_secs(60);
    let unmetered = Runtime::new(
        EngineConfig {
            fuel: false,
            max_instances: 8,
            ..EngineConfig::default()
        },
        warden::AuditSink::disabled(),
    )
    .expect("engine without fuel");
    let work_unmetered = unmetered
        .load_tool_file(Path::new(HOSTILE))
        .expect("hostile loads");
    let run = |runtime: &Runtime, c: &ToolComponent| -> Vec<Duration> {
        (0..10)
            .map(|_| {
                time(|| {
                    rt.block_on(runtime.call_tool(c, "work", &input, &grant))
                        .expect("work")
                })
            })
            .collect()
    };
    let native: Vec<Duration> = (0..10).map(|_| time(|| work_native(ROUNDS))).collect();
    let off = run(&unmetered, &work_unmetered);
    let on = run(runtime, echo);
    let base = row("20M rounds: native Rust loop (baseline)", native, None);
    let off_p50 = row(
        "20M rounds: warden call, epochs only (fuel off)",
        off,
        Some(base),
    );
    let on_p50 = row(
        "20M rounds: warden call, fuel + epochs (the default)",
        on,
        Some(base),
    );
    println!(
        "| fuel's cost: fuel on / fuel off | | | | {:.2}x |",
        on_p50.as_secs_f64() / off_p50.as_secs_f64()
    );
}

/// The `warden` binary next to this bench's profile directory.
fn warden_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("warden");
    bin.is_file().then_some(bin)
}

/// `warden tool call` as a whole process, cold (nothing compiled yet) and
/// warm (the compiled artifact cached), against spawning `true`.
fn cli_process(_: &Cx) {
    println!("\n## `warden tool call` as a whole process\n");
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    let Some(warden) = warden_bin() else {
        println!(
            "| skipped: target/release/warden is not built (`cargo build --release -p warden-cli`) | | | | |"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hello.txt"), "hello").expect("write");
    let grant = format!("{}:/d:ro", dir.path().display());
    let call = |home: &Path| {
        let out = Command::new(&warden)
            .args([
                "tool",
                "call",
                "builtin:fs",
                "list_dir",
                r#"{"path": "/d"}"#,
            ])
            .args(["--dir", &grant])
            .env("WARDEN_HOME", home)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("warden runs");
        assert!(
            out.status.success(),
            "warden tool call failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let spawn_true: Vec<Duration> = (0..50)
        .map(|_| time(|| Command::new("true").status().expect("true")))
        .collect();
    let cold: Vec<Duration> = (0..5)
        .map(|_| {
            let home = tempfile::tempdir().expect("home");
            time(|| call(home.path()))
        })
        .collect();
    let home = tempfile::tempdir().expect("home");
    call(home.path());
    let warm: Vec<Duration> = (0..30).map(|_| time(|| call(home.path()))).collect();
    let base = row("spawn `true` (baseline)", spawn_true, None);
    row(
        "`warden tool call builtin:fs list_dir`, cold (compiles fs)",
        cold,
        Some(base),
    );
    row(
        "`warden tool call builtin:fs list_dir`, compiled cache warm",
        warm,
        Some(base),
    );
}

/// A client speaking MCP's stdio transport (newline-delimited JSON-RPC) to
/// a server process.
struct McpClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl McpClient {
    fn start(mut command: Command) -> Result<McpClient, String> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut client = McpClient {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        client.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "warden-bench", "version": "0" },
            }),
        )?;
        client.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))?;
        Ok(client)
    }

    fn send(&mut self, message: &Value) -> Result<(), String> {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("cannot write to the server: {e}"))
    }

    /// Sends a request and waits for its response, skipping notifications.
    fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))?;
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .stdout
                .read_line(&mut line)
                .map_err(|e| format!("cannot read from the server: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "the server closed stdout before answering `{method}`"
                ));
            }
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if message["id"] != json!(id) {
                continue;
            }
            if let Some(error) = message.get("error") {
                return Err(format!("`{method}` failed: {error}"));
            }
            return Ok(message["result"].clone());
        }
    }

    /// The name of the server's tool whose name ends in `echo`.
    fn echo_tool(&mut self) -> Result<String, String> {
        let tools = self.request("tools/list", json!({}))?;
        tools["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str())
            .find(|n| *n == "echo" || n.ends_with("__echo"))
            .map(str::to_string)
            .ok_or_else(|| format!("no echo tool in {tools}"))
    }

    fn echo(&mut self, tool: &str, text: &str) -> Result<(), String> {
        self.call(tool, json!({ "text": text }))
    }

    /// Calls `tool` with `arguments`; an `isError` result is an error.
    fn call(&mut self, tool: &str, arguments: Value) -> Result<(), String> {
        let result = self.request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )?;
        if result["isError"] == json!(true) {
            return Err(format!("the `{tool}` call failed: {result}"));
        }
        Ok(())
    }
}

impl Drop for McpClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Python with the `mcp` SDK: `WARDEN_BENCH_PYTHON`, or the venv the MCP
/// tests use (made here if missing), or why there is none.
fn python_with_mcp() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("WARDEN_BENCH_PYTHON").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv");
    let python = venv.join("bin/python");
    let has_mcp = |python: &Path| {
        Command::new(python)
            .args(["-c", "import mcp.server.mcpserver"])
            .current_dir(env!("CARGO_TARGET_TMPDIR"))
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.is_file() && has_mcp(&python) {
        return Ok(python);
    }
    eprintln!(
        "making a Python venv with the MCP SDK in {} ...",
        venv.display()
    );
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 is not available ({e})"))?;
    if !made.success() {
        return Err("`python3 -m venv` failed (Debian: apt-get install python3-venv)".into());
    }
    let pip = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "mcp>=2.3,<3"])
        .status()
        .map_err(|e| format!("cannot run pip ({e})"))?;
    if !pip.success() || !has_mcp(&python) {
        return Err("`pip install 'mcp>=2.3,<3'` failed (no PyPI?)".into());
    }
    Ok(python)
}

/// Round trips of the echo call over MCP stdio.
fn mcp_calls(
    client: &mut McpClient,
    tool: &str,
    text: &str,
    n: usize,
) -> Result<Vec<Duration>, String> {
    for _ in 0..3 {
        client.echo(tool, text)?;
    }
    (0..n)
        .map(|_| {
            let started = Instant::now();
            client.echo(tool, text).map(|()| started.elapsed())
        })
        .collect()
}

/// The echo call over MCP stdio: `warden mcp` serving the hostile
/// component against the Python SDK's server.
fn mcp_stdio(_: &Cx) {
    println!("\n## The same call over MCP stdio: `warden mcp` vs a Python MCP server\n");
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    let skip = |why: &str| println!("| skipped: {why} | | | | |");
    let Some(warden) = warden_bin() else {
        return skip("target/release/warden is not built (`cargo build --release -p warden-cli`)");
    };
    let python = match python_with_mcp() {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    let home = tempfile::tempdir().expect("home");
    let mut py_cmd = Command::new(&python);
    py_cmd
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/mcp_echo_server.py"))
        .current_dir(env!("CARGO_TARGET_TMPDIR"));
    let warden_cmd = |sync: &str| {
        let mut cmd = Command::new(&warden);
        cmd.args(["mcp", HOSTILE, "--max-output", "4MiB", "--memory", "64MiB"])
            .args(["--audit-sync", sync])
            .env("WARDEN_HOME", home.path());
        cmd
    };
    let clients = McpClient::start(py_cmd).and_then(|mut py| {
        let py_tool = py.echo_tool()?;
        let mut w = McpClient::start(warden_cmd("batched"))?;
        let w_tool = w.echo_tool()?;
        let mut ws = McpClient::start(warden_cmd("every-record"))?;
        let ws_tool = ws.echo_tool()?;
        Ok(((py, py_tool), (w, w_tool), (ws, ws_tool)))
    });
    let ((mut py, py_tool), (mut w, w_tool), (mut ws, ws_tool)) = match clients {
        Ok(c) => c,
        Err(why) => return skip(&why),
    };
    // The first echo of the run (0 B, batched syncs): the `builtin:fs`
    // target is measured against it.
    let mut first_echo = None;
    for (label, size) in PAYLOADS {
        let text = "x".repeat(size);
        let n = samples(size).min(200);
        let measured = mcp_calls(&mut py, &py_tool, &text, n).and_then(|p| {
            Ok((
                p,
                mcp_calls(&mut w, &w_tool, &text, n)?,
                mcp_calls(&mut ws, &ws_tool, &text, n)?,
            ))
        });
        let (py_samples, w_samples, ws_samples) = match measured {
            Ok(m) => m,
            Err(why) => return skip(&why),
        };
        let base = row(
            &format!("{label}: Python MCP server (SDK `MCPServer`, baseline)"),
            py_samples,
            None,
        );
        let echo = row(
            &format!("{label}: `warden mcp`, fresh instance per call (audit synced in groups)"),
            w_samples,
            Some(base),
        );
        first_echo.get_or_insert(echo);
        row(
            &format!("{label}: `warden mcp --audit-sync every-record`"),
            ws_samples,
            Some(base),
        );
    }
    drop((py, ws));
    if let Err(why) = mcp_floor_and_fs(&warden, &mut w, &w_tool, first_echo) {
        println!("\nskipped the floor and `builtin:fs` rows: {why}");
    }
}

/// The floor: a trivial native process (GNU `sed -u`, line-buffered; no
/// MCP library, no JSON parser) answering each JSON-RPC line of the same
/// client with a fixed-shape response.
const FLOOR_SED: &str = r#"/"id":/!d
/"method":"tools\/list"/{s/.*"id":\([0-9]*\).*/{"jsonrpc":"2.0","id":\1,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}}/;b
}
/"method":"tools\/call"/{s/.*"id":\([0-9]*\).*"text":"\([^"]*\)".*/{"jsonrpc":"2.0","id":\1,"result":{"content":[{"type":"text","text":"\2"}],"isError":false}}/;b
}
s/.*"id":\([0-9]*\).*/{"jsonrpc":"2.0","id":\1,"result":{}}/
"#;

/// The 0 B echo of `warden mcp` (the baseline, measured again here) beside
/// the floor of the transport and `builtin:fs` reading a small file.
/// A fresh `warden mcp` serving the hostile component's echo, with its own
/// home (dropped with it), and the echo tool's name.
fn echo_server(warden: &Path) -> Result<(McpClient, String, tempfile::TempDir), String> {
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(warden);
    cmd.args(["mcp", HOSTILE, "--max-output", "4MiB", "--memory", "64MiB"])
        .env("WARDEN_HOME", home.path());
    let mut server = McpClient::start(cmd)?;
    let tool = server.echo_tool()?;
    Ok((server, tool, home))
}

/// A fresh `warden mcp builtin:fs` with `data` granted as `/data`, with its
/// own home (dropped with it).
fn fs_server(warden: &Path, data: &Path) -> Result<(McpClient, tempfile::TempDir), String> {
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(warden);
    cmd.args(["mcp", "builtin:fs", "--dir"])
        .arg(format!("{}:/data", data.display()))
        .env("WARDEN_HOME", home.path());
    Ok((McpClient::start(cmd)?, home))
}

/// Calls per block of [`steady_on_one_cpu`].
const STEADY_CALLS: usize = 1000;

/// `builtin:fs` read_file against echo with the client and both servers on
/// CPU 0: each server answers [`STEADY_CALLS`] calls back to back, echo
/// and fs in turn, three blocks each. On one CPU no wake-up crosses CPUs,
/// so what is measured is warden's own work; the interleaved rows above
/// swing between runs with where the scheduler puts server and client
/// (docs/benchmarks.md, session 11). `data` holds `small.txt`. Returns
/// the lines to print.
fn steady_on_one_cpu(warden: &Path, data: &Path) -> Result<String, String> {
    let pinned = PinnedToCpu0::pin()?;
    // Started while this thread is pinned: they inherit CPU 0.
    let (mut echo, echo_tool, _echo_home) = echo_server(warden)?;
    let (mut fs, _fs_home) = fs_server(warden, data)?;
    let read = json!({ "path": "/data/small.txt" });
    let echo_args = json!({ "text": "" });
    let block = |client: &mut McpClient, tool: &str, args: &Value| {
        let mut samples = Vec::with_capacity(STEADY_CALLS);
        for _ in 0..STEADY_CALLS {
            let started = Instant::now();
            client.call(tool, args.clone())?;
            samples.push(started.elapsed());
        }
        samples.sort();
        Ok::<Duration, String>(pct(&samples, 0.5))
    };
    block(&mut echo, &echo_tool, &echo_args)?;
    block(&mut fs, "read_file", &read)?;
    let mut lines = String::from(
        "\nOn one CPU (client and both servers on CPU 0), p50 of 1000 calls back to back, echo then fs:\n",
    );
    let mut ratios = Vec::new();
    for i in 1..=3 {
        let e = block(&mut echo, &echo_tool, &echo_args)?;
        let f = block(&mut fs, "read_file", &read)?;
        let ratio = f.as_secs_f64() / e.as_secs_f64();
        ratios.push(ratio);
        lines += &format!(
            "- block {i}: echo {}, `builtin:fs` read_file {}: {ratio:.2}x\n",
            us(e),
            us(f)
        );
    }
    drop(pinned);
    ratios.sort_by(f64::total_cmp);
    lines += &format!(
        "\n`builtin:fs` read_file against echo on one CPU: {:.2}x (median of the three blocks; target ≤ 1.3)",
        ratios[1]
    );
    Ok(lines)
}

/// This thread pinned to CPU 0 (with `taskset`, part of util-linux) until
/// dropped, when it may run anywhere again. Processes it starts meanwhile
/// inherit the pinning.
struct PinnedToCpu0 {
    tid: String,
}

impl PinnedToCpu0 {
    fn pin() -> Result<PinnedToCpu0, String> {
        let link = std::fs::read_link("/proc/thread-self").map_err(|e| e.to_string())?;
        let tid = link
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("cannot tell this thread's id")?
            .to_string();
        Self::taskset(&tid, "0")?;
        Ok(PinnedToCpu0 { tid })
    }

    fn taskset(tid: &str, cpus: &str) -> Result<(), String> {
        let status = Command::new("taskset")
            .args(["-p", "-c", cpus, tid])
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run taskset: {e}"))?;
        if !status.success() {
            return Err(format!("`taskset -p -c {cpus} {tid}` failed"));
        }
        Ok(())
    }
}

impl Drop for PinnedToCpu0 {
    fn drop(&mut self) {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        let _ = Self::taskset(&self.tid, &format!("0-{}", n - 1));
    }
}

fn mcp_floor_and_fs(
    warden: &Path,
    w: &mut McpClient,
    w_tool: &str,
    first_echo: Option<Duration>,
) -> Result<(), String> {
    let n = 300;
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(data.path().join("small.txt"), "hello from a small file\n")
        .map_err(|e| e.to_string())?;
    let mut floor_cmd = Command::new("sed");
    floor_cmd.args(["-u", "-e", FLOOR_SED]);
    let mut floor = McpClient::start(floor_cmd)?;
    let floor_tool = floor.echo_tool()?;
    let (mut fs, _fs_home) = fs_server(warden, data.path())?;
    let read = json!({ "path": "/data/small.txt" });
    // The same echo on a fresh `warden mcp` (its own home): beside the
    // long-running one, it shows whether that one's history (1 MiB
    // payloads, ~1000 audit records) or the machine at this moment is what
    // makes an echo slower here than at the start of the run.
    let (mut fresh, fresh_tool, _fresh_home) = echo_server(warden)?;
    let echo_args = json!({ "text": "" });
    for _ in 0..3 {
        w.call(w_tool, echo_args.clone())?;
        fresh.call(&fresh_tool, echo_args.clone())?;
        floor.call(&floor_tool, echo_args.clone())?;
        fs.call("read_file", read.clone())?;
    }
    // Interleaved rounds, so a busy moment of the (shared) machine falls
    // on every row alike rather than on whichever was measured then.
    let rounds = 10;
    let mut samples: [Vec<Duration>; 4] = Default::default();
    for _ in 0..rounds {
        let clients: [(&mut McpClient, &str, &Value); 4] = [
            (&mut *w, w_tool, &echo_args),
            (&mut fresh, &fresh_tool, &echo_args),
            (&mut floor, &floor_tool, &echo_args),
            (&mut fs, "read_file", &read),
        ];
        for (i, (client, tool, args)) in clients.into_iter().enumerate() {
            for _ in 0..n / rounds {
                let started = Instant::now();
                client.call(tool, args.clone())?;
                samples[i].push(started.elapsed());
            }
        }
    }
    let [echo, fresh_samples, floor_samples, fs_samples] = samples;
    // The same echo over streamable HTTP: one keep-alive connection.
    let http_home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut http_cmd = Command::new(warden);
    http_cmd
        .args(["mcp", HOSTILE, "--http", "127.0.0.1:0"])
        .env("WARDEN_HOME", http_home.path());
    let mut http = mcp_http::HttpMcp::start(http_cmd)?;
    let http_tool = w_tool.to_string();
    for _ in 0..3 {
        http.call(&http_tool, echo_args.clone())?;
    }
    let http_samples = (0..n)
        .map(|_| {
            let started = Instant::now();
            http.call(&http_tool, echo_args.clone())
                .map(|()| started.elapsed())
        })
        .collect::<Result<Vec<Duration>, String>>()?;
    println!(
        "\n## MCP stdio: the transport's floor and a real tool, against `warden mcp` echo (0 B)\n"
    );
    println!("| measurement | samples | p50 | p99 | ratio |");
    println!("|---|---:|---:|---:|---:|");
    let base = row("`warden mcp` echo, 0 B (baseline)", echo, None);
    let fresh_p50 = row(
        "the same echo on a fresh `warden mcp` (no history), measured alongside",
        fresh_samples,
        Some(base),
    );
    row(
        "floor: `sed -u` answering each JSON-RPC line (no MCP, no sandbox, no audit)",
        floor_samples,
        Some(base),
    );
    let fs_p50 = row(
        "`warden mcp builtin:fs` read_file of a 24 B file, interleaved (the target is measured on one CPU, below)",
        fs_samples,
        Some(base),
    );
    row(
        "`warden mcp --http` echo, 0 B, streamable HTTP (one keep-alive connection)",
        http_samples,
        Some(base),
    );
    println!(
        "\n`builtin:fs` read_file against the fresh echo measured alongside ({}): {:.2}x",
        us(fresh_p50),
        fs_p50.as_secs_f64() / fresh_p50.as_secs_f64()
    );
    println!("{}", steady_on_one_cpu(warden, data.path())?);
    if let Some(first) = first_echo {
        println!(
            "\n`builtin:fs` read_file against the first echo of the run ({}): {:.2}x",
            us(first),
            fs_p50.as_secs_f64() / first.as_secs_f64()
        );
    }
    Ok(())
}
