//! Resolution performance on a synthetic index of 10,000 packages × 10
//! versions (100,000 entries).
//!
//! Run with `cargo bench -p warden-registry --bench resolve`; it prints a
//! markdown table (p50/p99 over repeated runs, and each p50 as a ratio to
//! a baseline measured in the same run: deep-cloning the 100k-entry index
//! once). The generator is deterministic, so every run measures the same
//! graph.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use semver::{Version, VersionReq};
use warden_registry::lockfile::Lockfile;
use warden_registry::resolve::{IndexCatalog, Request, Resolution, resolve};
use warden_registry::source::{DirSource, IndexEntry, Source, write_index};
use warden_registry::{Digest, PackageName};

const PACKAGES: usize = 10_000;
const VERSIONS: usize = 10;
/// Dependencies point at most this far ahead, so chains are long.
const REACH: usize = 64;

/// xorshift64*: small, deterministic, good enough to shape a graph.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn package_name(i: usize) -> PackageName {
    format!("ns{}:pkg-{i}", i % 16)
        .parse()
        .expect("generated names are valid")
}

/// Versions 1.0.0–1.4.0 and 2.0.0–2.4.0.
fn version(v: usize) -> Version {
    Version::new(1 + (v / 5) as u64, (v % 5) as u64, 0)
}

/// Package `i`'s dependents all ask for the same major (1 or 2), with a
/// random minor floor, so a solution always exists; roots ask for `*` and
/// so may first pick a 2.x that a dependent then narrows to 1.x.
fn major_of(i: usize) -> u64 {
    1 + (i % 2) as u64
}

fn synthetic_index() -> Vec<IndexEntry> {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let names: Vec<PackageName> = (0..PACKAGES).map(package_name).collect();
    let mut entries = Vec::with_capacity(PACKAGES * VERSIONS);
    for (i, name) in names.iter().enumerate() {
        for v in 0..VERSIONS {
            let mut dependencies = BTreeMap::new();
            let ahead = (PACKAGES - i - 1).min(REACH);
            if ahead > 0 {
                for _ in 0..rng.below(5) {
                    let j = i + 1 + rng.below(ahead);
                    let req: VersionReq = format!("^{}.{}", major_of(j), rng.below(3))
                        .parse()
                        .expect("generated requirements are valid");
                    dependencies.insert(names[j].clone(), req);
                }
            }
            let version = version(v);
            let file = format!("{}-{}-{version}.wpkg", name.namespace(), name.name());
            entries.push(IndexEntry {
                digest: Digest::of(file.as_bytes()),
                name: name.clone(),
                version,
                size: 4096,
                dependencies,
                file,
            });
        }
    }
    entries
}

/// Times `routine` on a fresh `setup()` value each run; setup and dropping
/// the result are not timed.
fn measure<S, R>(
    runs: usize,
    mut setup: impl FnMut() -> S,
    mut routine: impl FnMut(S) -> R,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(runs);
    // One warm-up run.
    drop(black_box(routine(setup())));
    for _ in 0..runs {
        let input = setup();
        let start = Instant::now();
        let out = black_box(routine(black_box(input)));
        times.push(start.elapsed());
        drop(out);
    }
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Row {
    what: String,
    runs: usize,
    p50: Duration,
    p99: Duration,
}

fn row(what: impl Into<String>, times: &[Duration]) -> Row {
    Row {
        what: what.into(),
        runs: times.len(),
        p50: percentile(times, 50.0),
        p99: percentile(times, 99.0),
    }
}

/// The number of packages on the longest dependency chain of a
/// resolution (dependencies only point to higher indices, so walking
/// indices downwards visits dependencies first).
fn longest_chain(resolution: &Resolution, catalog: &IndexCatalog) -> usize {
    let mut depth = vec![0usize; PACKAGES];
    for i in (0..PACKAGES).rev() {
        let name = package_name(i);
        let Some(resolved) = resolution.packages.get(&name) else {
            continue;
        };
        let deps = catalog
            .versions(&name)
            .iter()
            .find(|c| c.version == resolved.version)
            .map(|c| &c.dependencies);
        let deepest = deps
            .into_iter()
            .flatten()
            .filter_map(|(dep, _)| dep.name().strip_prefix("pkg-")?.parse::<usize>().ok())
            .map(|j| depth[j])
            .max()
            .unwrap_or(0);
        depth[i] = 1 + deepest;
    }
    depth.into_iter().max().unwrap_or(0)
}

fn main() {
    let started = Instant::now();
    let entries = synthetic_index();
    let catalog = IndexCatalog::new(entries.clone());
    let mut rows = Vec::new();

    // Baseline: deep-clone the 100k entries once.
    let baseline = row(
        "baseline: deep-clone the 100k-entry index",
        &measure(20, || (), |()| entries.clone()),
    );

    rows.push(row(
        "build `IndexCatalog` from 100k entries",
        &measure(20, || entries.clone(), IndexCatalog::new),
    ));

    let star = VersionReq::STAR;
    let one_root = [Request::new(package_name(0), star.clone(), "the bench")];
    let single = resolve(&one_root, &catalog, None).expect("the synthetic graph resolves");
    rows.push(row(
        format!(
            "resolve 1 root, deep graph ({} packages, longest chain {})",
            single.packages.len(),
            longest_chain(&single, &catalog)
        ),
        &measure(30, || (), |()| resolve(&one_root, &catalog, None)),
    ));

    let ten_roots: Vec<Request> = (0..10)
        .map(|k| Request::new(package_name(k * 997), star.clone(), "the bench"))
        .collect();
    let ten = resolve(&ten_roots, &catalog, None).expect("the synthetic graph resolves");
    rows.push(row(
        format!("resolve 10 roots ({} packages)", ten.packages.len()),
        &measure(30, || (), |()| resolve(&ten_roots, &catalog, None)),
    ));

    let lock = Lockfile::from_resolution(&single);
    let locked = resolve(&one_root, &catalog, Some(&lock)).expect("the lockfile resolves");
    assert_eq!(locked, single, "a lockfile of a resolution reproduces it");
    rows.push(row(
        format!("resolve 1 root with a lockfile ({} pins)", lock.len()),
        &measure(30, || (), |()| resolve(&one_root, &catalog, Some(&lock))),
    ));

    let json = serde_json::to_vec(&entries).expect("serialize");
    rows.push(row(
        format!(
            "index JSON round trip in memory ({:.1} MB)",
            json.len() as f64 / 1e6
        ),
        &measure(
            10,
            || (),
            |()| {
                let text = serde_json::to_vec(&entries).expect("serialize");
                serde_json::from_slice::<Vec<IndexEntry>>(&text).expect("parse")
            },
        ),
    ));

    let dir = tempfile::tempdir().expect("tempdir");
    rows.push(row(
        "`write_index` + `DirSource::entries` on disk (fsync, validation)",
        &measure(
            5,
            || entries.clone(),
            |e| {
                write_index(dir.path(), e).expect("write index");
                DirSource::new(dir.path()).entries().expect("read index")
            },
        ),
    ));
    let index_size = std::fs::metadata(dir.path().join("index.json")).map_or(0, |m| m.len());

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\nwarden-registry resolve bench: {PACKAGES} packages × {VERSIONS} versions = {} entries, \
         0–4 caret dependencies per version on packages up to {REACH} ahead; index.json is {:.1} MB; \
         {cores} cores\n",
        entries.len(),
        index_size as f64 / 1e6
    );
    println!(
        "Baseline: deep-cloning the 100k-entry index once (`Vec<IndexEntry>::clone`): p50 {}, \
         p99 {}. `ratio` is each p50 over the baseline's p50.\n",
        ms(baseline.p50),
        ms(baseline.p99)
    );
    println!("| operation | runs | p50 | p99 | ratio (p50 / baseline p50) |");
    println!("|---|---:|---:|---:|---:|");
    for r in std::iter::once(&baseline).chain(&rows) {
        println!(
            "| {} | {} | {} | {} | {:.2} |",
            r.what,
            r.runs,
            ms(r.p50),
            ms(r.p99),
            r.p50.as_secs_f64() / baseline.p50.as_secs_f64()
        );
    }
    println!(
        "\ntotal bench time: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
