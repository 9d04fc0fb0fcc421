//! OCI benchmark: pull + verify + install of a 2 MB and a 20 MB component
//! from a real `docker-registry` on 127.0.0.1, against a baseline measured
//! in the same run: installing the same package from a local file (read +
//! verify + install). Both go through the same library steps the CLI's
//! `warden install` takes (source → `package::read` → `Registry::install`);
//! compiling the component afterwards is the same for both and is left out.
//!
//! Run: `cargo bench -p warden-tests --bench oci` (prints a markdown table;
//! the numbers in docs/benchmarks-oci.md come from it). Skips, saying so,
//! if docker-registry cannot be started.

use std::time::{Duration, Instant};

use warden_registry::oci::{Location, OciSource, RegistriesConfig};
use warden_registry::package::{self, ArchiveLimits};
use warden_registry::source::{SingleFileSource, Source};
use warden_registry::store::{InstallOptions, Registry};
use warden_registry::{Digest, SecretKey};
use warden_tests::oci_registry::DockerRegistry;

/// The largest package fetched (as the CLI).
const MAX_PACKAGE_BYTES: u64 = 64 << 20;

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
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The greet test component, padded with a custom section to `size` bytes.
fn component_of_size(size: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(warden_tests::components::GREET).expect("greet built");
    let name = b"bench-padding";
    // A custom section: id 0, LEB128 size, then the name and the payload.
    let overhead = bytes.len() + 1 + 5 + 1 + name.len();
    let payload = size.saturating_sub(overhead);
    let content = 1 + name.len() + payload;
    bytes.push(0);
    let mut n = content as u32;
    for i in 0..5 {
        let mut byte = (n & 0x7f) as u8;
        n >>= 7;
        if i < 4 {
            byte |= 0x80;
        }
        bytes.push(byte);
    }
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend(std::iter::repeat_n(0xa5u8, payload));
    bytes
}

fn fresh_registry(key: &SecretKey) -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Registry::open(dir.path()).expect("registry");
    registry
        .update_trust(|t| {
            t.add("bench", key.public(), "bench")?;
            Ok(())
        })
        .expect("trust");
    (dir, registry)
}

/// Verifies and installs package bytes the way the CLI does.
fn install(registry: &Registry, bytes: &[u8]) {
    let package = package::read(bytes, &ArchiveLimits::default()).expect("verifies");
    registry
        .install(
            bytes,
            &InstallOptions {
                grant: Some(package.manifest.capabilities.clone()),
                ..InstallOptions::default()
            },
        )
        .expect("installs");
}

fn main() {
    let server = match DockerRegistry::start() {
        Ok(server) => server,
        Err(why) => {
            println!("skipped: OCI benchmark: cannot start docker-registry: {why}");
            return;
        }
    };
    let runs: usize = std::env::var("WARDEN_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let key = SecretKey::from_seed(&[42; 32]);
    let location = Location::parse(&format!("{}/bench", server.addr()), true).expect("location");
    let config = RegistriesConfig::from_locations(
        "registries.toml",
        [("bench".to_string(), location.clone())],
    );
    let work = tempfile::tempdir().expect("tempdir");

    println!(
        "| component | runs | local file p50 | local file p99 | OCI pull p50 | OCI pull p99 | OCI / local (p50) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, size, name) in [
        ("2 MB", 2_000_000, "bench:two"),
        ("20 MB", 20_000_000, "bench:twenty"),
    ] {
        let component = component_of_size(size);
        let manifest = format!(
            "name = \"{name}\"\nversion = \"1.0.0\"\nkind = \"tool\"\ndescription = \"bench\"\n\
             world = \"warden:plugin/tool@0.1.0\"\n"
        );
        let bytes = package::build(&manifest, &component, &key).expect("package");
        warden_registry::oci::publish(&bytes, &location, &ArchiveLimits::default())
            .expect("publish");
        let path = work.path().join(format!("{}.wpkg", name.replace(':', "-")));
        std::fs::write(&path, &bytes).expect("write");

        let mut local = Vec::new();
        let mut remote = Vec::new();
        // One warm-up of each, then alternate so both see the same machine.
        for i in 0..=runs {
            let (_dir, registry) = fresh_registry(&key);
            let started = Instant::now();
            let entry = warden_registry::source::IndexEntry {
                name: name.parse().expect("name"),
                version: "1.0.0".parse().expect("version"),
                digest: Digest::of(&bytes),
                size: bytes.len() as u64,
                dependencies: Default::default(),
                file: "p.wpkg".into(),
            };
            let source = SingleFileSource::new(&path, entry.clone());
            let fetched = source
                .fetch(&entry, MAX_PACKAGE_BYTES)
                .expect("local fetch");
            install(&registry, &fetched);
            if i > 0 {
                local.push(started.elapsed());
            }

            let (_dir, registry) = fresh_registry(&key);
            let started = Instant::now();
            let source = OciSource::for_packages(config.clone(), vec![name.parse().expect("name")]);
            let entries = source.entries().expect("entries");
            let fetched = source
                .fetch(&entries[0], MAX_PACKAGE_BYTES)
                .expect("OCI fetch");
            assert_eq!(fetched, bytes, "round trip");
            install(&registry, &fetched);
            if i > 0 {
                remote.push(started.elapsed());
            }
        }
        let (l, r) = (stats(local), stats(remote));
        println!(
            "| {label} ({} bytes) | {} | {} | {} | {} | {} | {:.2} |",
            component.len(),
            l.runs,
            ms(l.p50),
            ms(l.p99),
            ms(r.p50),
            ms(r.p99),
            r.p50.as_secs_f64() / l.p50.as_secs_f64()
        );
    }
}
