//! Registry benchmarks on the host side: verify + install throughput, time
//! from install to first call with a cold and a warm compiled-artifact
//! cache, and start-up with 100 installed components (lazy: only what a call
//! needs is loaded). Every figure is printed with a baseline measured in the
//! same run.
//!
//! Run: `cargo bench -p warden --bench install`

use std::path::Path;
use std::time::{Duration, Instant};

use warden::{ArtifactCache, DirGrant, DirMode, EngineConfig, Grant, Runtime};
use warden_registry::package;
use warden_registry::store::{InstallOptions, Registry};
use warden_registry::{Capabilities, Digest, Manifest, SecretKey};

fn manifest(name: &str) -> String {
    format!(
        "name = \"{name}\"\nversion = \"1.0.0\"\nkind = \"tool\"\ndescription = \"fs\"\n\
         world = \"warden:plugin/tool@0.1.0\"\n\n[capabilities]\n\
         dirs = [{{ path = \"/data\", mode = \"ro\", purpose = \"bench\" }}]\n"
    )
}

struct Stats {
    p50: Duration,
    p99: Duration,
    runs: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        p50: at(0.5),
        p99: at(0.99),
        runs: samples.len(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn row(name: &str, s: &Stats, baseline: &Stats) {
    println!(
        "| {name} | {} | {} | {} | {:.2} |",
        s.runs,
        ms(s.p50),
        ms(s.p99),
        s.p50.as_secs_f64() / baseline.p50.as_secs_f64()
    );
}

fn grant_for(installed_grant: &Capabilities, data: &Path) -> Grant {
    let _ = installed_grant;
    Grant {
        dirs: vec![DirGrant::new(data, Some("/data"), DirMode::ReadOnly).expect("dir")],
        ..Grant::default()
    }
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::from_seed(&[3; 32]);
    let component = warden::builtin::FS;
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("a.txt"), "a").expect("write");

    // Packages to install: 100 names, one component (so digests repeat only
    // for the blob, as in a registry of many tools built from one SDK).
    let packages: Vec<Vec<u8>> = (0..100)
        .map(|i| package::build(&manifest(&format!("acme:t{i}")), component, &key).expect("build"))
        .collect();
    let capabilities = Manifest::parse(&manifest("acme:t0"))
        .expect("manifest")
        .capabilities;
    let options = InstallOptions {
        grant: Some(capabilities.clone()),
        ..InstallOptions::default()
    };

    println!("| operation | runs | p50 | p99 | ratio to its baseline |");
    println!("|---|---:|---:|---:|---:|");

    // 1. Verify + install throughput, against writing the same bytes durably.
    let mut write_floor = Vec::new();
    for (i, bytes) in packages.iter().enumerate() {
        let path = tmp.path().join(format!("floor-{i}"));
        let t = Instant::now();
        warden_registry::fsutil::write_atomic(&path, bytes).expect("write");
        write_floor.push(t.elapsed());
    }
    let write_floor = stats(write_floor);
    let registry = Registry::open(&tmp.path().join("home")).expect("registry");
    let public = key.public();
    registry
        .update_trust(|t| Ok(t.add("acme", public, "bench")?))
        .expect("trust");
    let mut installs = Vec::new();
    for bytes in &packages {
        let t = Instant::now();
        registry.install(bytes, &options).expect("install");
        installs.push(t.elapsed());
    }
    let installs = stats(installs);
    row(
        "baseline: durable write of one package file (temp + fsync + rename)",
        &write_floor,
        &write_floor,
    );
    row(
        "verify + install one package (100 installs)",
        &installs,
        &write_floor,
    );
    println!(
        "| install throughput: {:.0} packages/s ({} KiB each) | | | | |",
        1.0 / installs.p50.as_secs_f64(),
        packages[0].len() / 1024
    );

    // `warden verify` over 100 installed packages, against hashing the blobs.
    let mut hash_floor = Vec::new();
    let mut verifies = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for bytes in &packages {
            std::hint::black_box(Digest::of(bytes));
            std::hint::black_box(Digest::of(component));
        }
        hash_floor.push(t.elapsed());
        let t = Instant::now();
        assert!(registry.verify(false).expect("verify").ok());
        verifies.push(t.elapsed());
    }
    let hash_floor = stats(hash_floor);
    row(
        "baseline: sha256 of 100 packages and their components",
        &hash_floor,
        &hash_floor,
    );
    row(
        "`verify` of 100 installed packages (digests, signatures, trust)",
        &stats(verifies),
        &hash_floor,
    );

    // 2. Install -> first call, cold and warm cache.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let runtime =
        Runtime::new(EngineConfig::default(), warden::AuditSink::disabled()).expect("engine");
    let cache_root = tmp.path().join("cache");
    let installed = registry.installed().expect("installed");
    let first = &installed[0];
    let grant = grant_for(&capabilities, &data);
    let input = r#"{"path":"/data"}"#;
    let call_installed = |cache: &ArtifactCache| {
        let bytes = registry.load(first).expect("load").into_component();
        let (tool, _) = runtime
            .load_tool_cached("t0", &bytes, &first.component_digest, cache)
            .expect("load");
        rt.block_on(runtime.call_tool(&tool, "list_dir", input, &grant))
            .expect("call");
    };
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let loaded = runtime.load_tool("t0", component).expect("load");
    let mut call_only = Vec::new();
    for _ in 0..10 {
        let _ = std::fs::remove_dir_all(&cache_root);
        let cache = ArtifactCache::new(&cache_root, &runtime);
        let t = Instant::now();
        call_installed(&cache);
        cold.push(t.elapsed());
        let t = Instant::now();
        call_installed(&cache);
        warm.push(t.elapsed());
        let t = Instant::now();
        rt.block_on(runtime.call_tool(&loaded, "list_dir", input, &grant))
            .expect("call");
        call_only.push(t.elapsed());
    }
    let call_only = stats(call_only);
    row(
        "baseline: call on an already-loaded component",
        &call_only,
        &call_only,
    );
    row(
        "first call after install, cold cache (verify digest + compile + call)",
        &stats(cold),
        &call_only,
    );
    row(
        "first call after install, warm cache (verify digest + deserialize + call)",
        &stats(warm),
        &call_only,
    );

    // 3. Start-up with 100 installed: lazy (what `warden tool call` does)
    // versus loading everything.
    let cache = ArtifactCache::new(&cache_root, &runtime);
    call_installed(&cache);
    let mut lazy = Vec::new();
    let mut eager = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let registry = Registry::open(registry.root()).expect("open");
        let found = registry
            .find(
                &"acme:t57".parse().expect("name"),
                &semver::VersionReq::STAR,
            )
            .expect("find")
            .expect("installed");
        let bytes = registry.load(&found).expect("load").into_component();
        let (tool, _) = runtime
            .load_tool_cached("t57", &bytes, &found.component_digest, &cache)
            .expect("load");
        rt.block_on(runtime.call_tool(&tool, "list_dir", input, &grant))
            .expect("call");
        lazy.push(t.elapsed());

        let t = Instant::now();
        let registry = Registry::open(registry.root()).expect("open");
        let mut tools = Vec::new();
        for entry in registry.installed().expect("installed") {
            let bytes = registry.load(&entry).expect("load").into_component();
            tools.push(
                runtime
                    .load_tool_cached(
                        &entry.name.to_string(),
                        &bytes,
                        &entry.component_digest,
                        &cache,
                    )
                    .expect("load")
                    .0,
            );
        }
        rt.block_on(runtime.call_tool(&tools[57], "list_dir", input, &grant))
            .expect("call");
        eager.push(t.elapsed());
    }
    let lazy = stats(lazy);
    row(
        "start-up with 100 installed, lazy: open + find + load one + call",
        &lazy,
        &call_only,
    );
    row(
        "start-up with 100 installed, eager: load all 100 + call",
        &stats(eager),
        &call_only,
    );
}
