//! Audit log performance: the cost of one durable append, against a plain
//! durable write of the same line, and how fast `verify`, `tail` and
//! `export` read a 10,000-record log.
//!
//! Run with `cargo bench -p warden-registry --bench audit`; it prints a
//! markdown table. Each row's ratio is its p50 over the p50 of the baseline
//! measured just before it in the same run. The log lives in a temp dir
//! (on the same file system as `$TMPDIR`), so the fsync cost is that
//! disk's.

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest as _, Sha256};
use warden_audit::{self as audit, AuditEvent, AuditLog};
use warden_core::SecretKey;

/// Appends timed one by one.
const APPENDS: usize = 2_000;
/// Records in the log that is read.
const RECORDS: usize = 10_000;
/// Runs of each read.
const READ_RUNS: usize = 10;

/// A typical record: a tool call.
fn call(i: usize) -> AuditEvent {
    AuditEvent::Call {
        component: "acme:grep".into(),
        digest: format!("sha256:{}", "ab".repeat(32)),
        function: "search".into(),
        argument_digest: audit::argument_digest(&format!("{{\"pattern\":\"todo {i}\"}}")),
        outcome: "ok".into(),
        duration_ms: 1.5 + (i % 100) as f64 / 8.0,
        fuel_used: Some(1_000_000 + i as u64),
        peak_memory_bytes: Some(2 << 20),
        used: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

struct Row {
    what: String,
    runs: usize,
    p50: Duration,
    p99: Duration,
    ratio: Option<f64>,
}

struct Table {
    rows: Vec<Row>,
    baseline: Duration,
}

impl Table {
    fn add(&mut self, what: impl Into<String>, mut times: Vec<Duration>, is_baseline: bool) {
        times.sort();
        let p50 = percentile(&times, 50.0);
        if is_baseline {
            self.baseline = p50;
        }
        self.rows.push(Row {
            what: what.into(),
            runs: times.len(),
            p50,
            p99: percentile(&times, 99.0),
            ratio: Some(p50.as_secs_f64() / self.baseline.as_secs_f64()),
        });
    }

    fn note(&mut self, what: String) {
        self.rows.push(Row {
            what,
            runs: 0,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            ratio: None,
        });
    }
}

/// Times `runs` appends to a fresh log.
fn appends(dir: &Path, name: &str, signer: Option<SecretKey>, runs: usize) -> Vec<Duration> {
    let log = AuditLog::open(dir.join(name), signer).expect("open");
    log.append(call(0), &[]).expect("warm-up");
    (0..runs)
        .map(|i| {
            let event = call(i);
            let start = Instant::now();
            black_box(log.append(event, &[]).expect("append"));
            start.elapsed()
        })
        .collect()
}

fn timed<R>(runs: usize, mut f: impl FnMut() -> R) -> Vec<Duration> {
    drop(black_box(f()));
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            drop(black_box(f()));
            start.elapsed()
        })
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::from_seed(&[7; 32]);
    let mut table = Table {
        rows: Vec::new(),
        baseline: Duration::from_nanos(1),
    };

    // Baseline: the same line, written with one write_all + sync_data to a
    // file kept open for appending: the least a durable append can cost.
    let line = {
        let log = AuditLog::open(dir.path().join("sample.jsonl"), Some(key.clone())).expect("open");
        let mut line = log.append(call(0), &[]).expect("append").to_line();
        line.push('\n');
        line
    };
    let mut plain = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("plain.jsonl"))
        .expect("open");
    let baseline = timed(APPENDS, || {
        plain.write_all(line.as_bytes()).expect("write");
        plain.sync_data().expect("sync");
    });
    table.add(
        format!(
            "baseline: `write_all` + `sync_data` of one {}-byte line",
            line.len()
        ),
        baseline,
        true,
    );
    let unsigned = appends(dir.path(), "unsigned.jsonl", None, APPENDS);
    let signed = appends(dir.path(), "signed.jsonl", Some(key.clone()), APPENDS);
    let unsigned_p50 = percentile(&sorted(&unsigned), 50.0);
    table.add(
        "`append`, unsigned (lock, read tail, hash, write, fsync)",
        unsigned,
        false,
    );
    table.add("`append`, signed (+ Ed25519 signature)", signed, false);
    table.note(format!(
        "append throughput, unsigned, one writer: {:.0} records/s",
        1.0 / unsigned_p50.as_secs_f64()
    ));

    // A 10,000-record signed log to read.
    let path = dir.path().join("audit.jsonl");
    {
        let log = AuditLog::open(&path, Some(key.clone())).expect("open");
        for i in 0..RECORDS {
            log.append(call(i), &[]).expect("append");
        }
    }
    let size = std::fs::metadata(&path).expect("stat").len();

    let read_hash = timed(READ_RUNS, || {
        let reader = BufReader::new(std::fs::File::open(&path).expect("open"));
        reader
            .lines()
            .map(|l| Sha256::digest(l.expect("line").as_bytes())[0])
            .fold(0u8, |a, b| a ^ b)
    });
    table.add(
        format!(
            "baseline: read {RECORDS} lines ({:.1} MiB) and sha256 each",
            size as f64 / (1 << 20) as f64
        ),
        read_hash,
        true,
    );
    let verify = timed(READ_RUNS, || {
        let report = audit::verify(&path, None).expect("verify");
        assert!(report.is_intact() && report.records == RECORDS as u64);
        report
    });
    let verify_p50 = percentile(&sorted(&verify), 50.0);
    table.add(
        format!("`verify` of {RECORDS} records, no key (parse, re-encode, hash, chain)"),
        verify,
        false,
    );
    let public = key.public();
    let verify_key = timed(READ_RUNS, || {
        let report = audit::verify(&path, Some(&public)).expect("verify");
        assert!(report.is_intact());
        report
    });
    let verify_key_p50 = percentile(&sorted(&verify_key), 50.0);
    table.add(
        format!("`verify` of {RECORDS} records with the key (+ Ed25519 verify)"),
        verify_key,
        false,
    );
    table.note(format!(
        "verify throughput: {:.0} records/s without a key, {:.0} records/s with one",
        RECORDS as f64 / verify_p50.as_secs_f64(),
        RECORDS as f64 / verify_key_p50.as_secs_f64()
    ));
    let export = timed(READ_RUNS, || {
        audit::export(&path, SystemTime::UNIX_EPOCH)
            .expect("export")
            .count()
    });
    table.add(
        format!("`export` of all {RECORDS} records (parse only)"),
        export,
        false,
    );
    let tail = timed(100, || audit::tail(&path, 20).expect("tail"));
    table.add(
        format!("`tail` of 20 records from the {RECORDS}-record log"),
        tail,
        false,
    );

    println!(
        "# Audit log benchmarks ({} cores, release profile)\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| operation | runs | p50 | p99 | ratio to its baseline |");
    println!("|---|---:|---:|---:|---:|");
    for r in &table.rows {
        match r.ratio {
            Some(ratio) => println!(
                "| {} | {} | {} | {} | {ratio:.2} |",
                r.what,
                r.runs,
                fmt(r.p50),
                fmt(r.p99)
            ),
            None => println!("| {} | | | | |", r.what),
        }
    }
}

fn sorted(times: &[Duration]) -> Vec<Duration> {
    let mut t = times.to_vec();
    t.sort();
    t
}
