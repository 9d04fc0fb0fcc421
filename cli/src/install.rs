//! `warden install` and `warden upgrade`: resolve, verify, show what is
//! asked for, record the grant, install, precompile, lock.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use semver::VersionReq;
use serde_json::{Value, json};
use warden::{ArtifactCache, AuditSink, EngineConfig, Runtime};
use warden_audit::AuditEvent;
use warden_policy::{Capability, LimitKind, NetRule, Target};
use warden_registry::PackageName;
use warden_registry::lockfile::Lockfile;
use warden_registry::manifest::{Access, Capabilities};
use warden_registry::package::{self, ArchiveLimits};
use warden_registry::resolve::{IndexCatalog, Request, resolve};
use warden_registry::store::{InstallOptions, InstallOutcome, Registry};

use super::exit;
use super::oci::select_source;
use super::output::print_json;
use super::registry_args::RegistryArgs;

/// Largest package file fetched from a source.
const MAX_PACKAGE_BYTES: u64 = 64 << 20;

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// What to install: NAME or NAME@RANGE (e.g. `acme:grep@^1.2`). May be
    /// omitted when --from is a single package file.
    package: Option<String>,
    /// Where to install from: a `.wpkg` file, a directory with an
    /// index.json, or an OCI artifact `oci://HOST[:PORT]/REPOSITORY:TAG`
    /// (default: the OCI registry registries.toml maps the namespace to,
    /// else $WARDEN_SOURCE).
    #[arg(long, value_name = "SOURCE")]
    from: Option<PathBuf>,
    /// A signed attestation (`warden attest`) for a plain component at
    /// --from oci://… that another tool pushed.
    #[arg(long, value_name = "FILE")]
    signature: Option<PathBuf>,
    /// Grant every capability the packages ask for, without asking.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Allow installing a version lower than the installed one.
    #[arg(long)]
    allow_downgrade: bool,
    /// Install exactly what the lockfile pins (fail if it is missing or does not cover the request).
    #[arg(long)]
    locked: bool,
    /// The lockfile to read and update.
    #[arg(long, default_value = "warden.lock")]
    lockfile: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Packages to upgrade (default: every installed package the source has).
    packages: Vec<String>,
    /// Where to look for newer versions: a `.wpkg` file, a directory
    /// source or `oci://…` (default: the OCI registry registries.toml maps
    /// the namespace to, else $WARDEN_SOURCE).
    #[arg(long, value_name = "SOURCE")]
    from: Option<PathBuf>,
    /// Grant new capabilities a newer version asks for, without asking.
    #[arg(long, short = 'y')]
    yes: bool,
    /// The lockfile to update.
    #[arg(long, default_value = "warden.lock")]
    lockfile: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Parses `NAME` or `NAME@RANGE`.
pub fn parse_spec(spec: &str) -> anyhow::Result<(PackageName, VersionReq)> {
    let (name, req) = match spec.split_once('@') {
        Some((n, r)) => (n, r),
        None => (spec, "*"),
    };
    let name: PackageName = name.parse()?;
    let req: VersionReq = req
        .parse()
        .with_context(|| format!("invalid version range `{req}` (e.g. ^1.2, =1.2.3, >=1, *)"))?;
    Ok((name, req))
}

impl InstallArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let registry = self.registry.open()?;
        let lock = Lockfile::load(&self.lockfile)?;
        let requested: Vec<PackageName> = match &self.package {
            Some(spec) => vec![parse_spec(spec)?.0],
            None => Vec::new(),
        };
        let selected = select_source(
            &registry,
            self.from.as_deref(),
            &requested,
            self.signature.as_deref(),
            lock.as_ref().filter(|_| self.locked),
        )?;
        let source = selected.source();
        let entries = source
            .entries()
            .with_context(|| format!("cannot read {}", source.describe()))?;
        let (name, req) = match &self.package {
            Some(spec) => parse_spec(spec)?,
            None if entries.len() == 1 => (entries[0].name.clone(), VersionReq::STAR),
            None => bail!(
                "name the package to install from {} (e.g. acme:grep@^1)",
                source.describe()
            ),
        };
        let roots = vec![Request {
            name,
            req,
            requested_by: "the command line".into(),
        }];
        if self.locked && lock.is_none() {
            bail!("--locked: {} does not exist", self.lockfile.display());
        }
        let plan = Plan {
            registry: &registry,
            source,
            entries,
            yes: self.yes,
            allow_downgrade: self.allow_downgrade,
            json: self.json,
        };
        let results = plan.run(&roots, lock.as_ref(), self.locked, &self.lockfile)?;
        selected.record_pins(&self.lockfile)?;
        report(&results, self.json);
        Ok(ExitCode::from(exit::OK))
    }
}

impl UpgradeArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let registry = self.registry.open()?;
        let installed = registry.installed()?;
        let names: Vec<PackageName> = if self.packages.is_empty() {
            installed.iter().map(|i| i.name.clone()).collect()
        } else {
            self.packages
                .iter()
                .map(|p| p.parse())
                .collect::<Result<_, _>>()?
        };
        let selected = select_source(&registry, self.from.as_deref(), &names, None, None)?;
        let source = selected.source();
        let entries = source
            .entries()
            .with_context(|| format!("cannot read {}", source.describe()))?;
        let wanted: Vec<PackageName> = if self.packages.is_empty() {
            installed
                .iter()
                .filter(|i| entries.iter().any(|e| e.name == i.name))
                .map(|i| i.name.clone())
                .collect()
        } else {
            self.packages
                .iter()
                .map(|p| p.parse())
                .collect::<Result<_, _>>()?
        };
        let mut roots = Vec::new();
        for name in wanted {
            let current = installed
                .iter()
                .find(|i| i.name == name)
                .with_context(|| format!("`{name}` is not installed; use `warden install`"))?;
            roots.push(Request {
                req: format!(">={}", current.version).parse()?,
                name,
                requested_by: "warden upgrade".into(),
            });
        }
        let plan = Plan {
            registry: &registry,
            source,
            entries,
            yes: self.yes,
            allow_downgrade: false,
            json: self.json,
        };
        let results = plan.run(&roots, None, false, &self.lockfile)?;
        selected.record_pins(&self.lockfile)?;
        report(&results, self.json);
        Ok(ExitCode::from(exit::OK))
    }
}

struct Plan<'a> {
    registry: &'a Registry,
    source: &'a dyn warden_registry::source::Source,
    entries: Vec<warden_registry::source::IndexEntry>,
    yes: bool,
    allow_downgrade: bool,
    json: bool,
}

struct Step {
    outcome: InstallOutcome,
    compile: Option<(Duration, bool)>,
    /// What the capability check wants the user to know (a socket import
    /// without declared hosts).
    note: Option<String>,
}

impl Plan<'_> {
    fn run(
        &self,
        roots: &[Request],
        lock: Option<&Lockfile>,
        locked: bool,
        lock_path: &std::path::Path,
    ) -> anyhow::Result<Vec<Step>> {
        let catalog = IndexCatalog::new(self.entries.clone());
        let resolution = resolve(roots, &catalog, lock)?;
        if locked {
            let lock = lock.context("--locked needs a lockfile")?;
            for (name, resolved) in &resolution.packages {
                match lock.get(name) {
                    Some(pin) if pin.version == resolved.version => {}
                    _ => bail!(
                        "--locked: `{name}` is not pinned in the lockfile; run without --locked to update it"
                    ),
                }
            }
        }
        let mut steps = Vec::new();
        for (name, resolved) in &resolution.packages {
            let entry = self
                .entries
                .iter()
                .find(|e| &e.name == name && e.version == resolved.version)
                .with_context(|| {
                    format!(
                        "{} lists no file for {name}@{}",
                        self.source.describe(),
                        resolved.version
                    )
                })?;
            let bytes = self
                .source
                .fetch(entry, MAX_PACKAGE_BYTES)
                .with_context(|| format!("cannot fetch {name}@{}", resolved.version))?;
            let package = package::read(&bytes, &ArchiveLimits::default())
                .with_context(|| format!("refusing {name}@{}", resolved.version))?;
            let note = package
                .imports
                .network_note(&format!("{name}@{}", resolved.version));
            if let Some(note) = note.as_deref().filter(|_| !self.json) {
                eprintln!("note: {note}");
            }
            let requested = &package.manifest.capabilities;
            let previous = self.registry.approval(name)?;
            let grant = self.decide_grant(
                &format!("{name}@{}", resolved.version),
                requested,
                previous.as_ref(),
            )?;
            let outcome = self
                .registry
                .install(
                    &bytes,
                    &InstallOptions {
                        allow_downgrade: self.allow_downgrade,
                        grant: grant.clone(),
                        limits: ArchiveLimits::default(),
                    },
                )
                .with_context(|| format!("failed to install {name}@{}", resolved.version))?;
            if let Some(granted) = &grant {
                record_consent(self.registry, name, granted, self.json)?;
            }
            let compile = if package.manifest.kind.to_string() == "tool" {
                Some(self.precompile(&outcome)?)
            } else {
                None
            };
            steps.push(Step {
                outcome,
                compile,
                note,
            });
        }
        // Pin what is installed now; keep pins of other packages.
        let mut merged = lock.cloned().unwrap_or_else(Lockfile::new);
        for (name, pin) in Lockfile::from_resolution(&resolution).iter() {
            merged.insert(name.clone(), pin.clone());
        }
        merged
            .save(lock_path)
            .with_context(|| format!("cannot write {}", lock_path.display()))?;
        Ok(steps)
    }

    /// What to grant: everything asked with --yes or a "yes" at the prompt;
    /// nothing new otherwise (the previous grant still applies to an upgrade
    /// that asks for no more).
    fn decide_grant(
        &self,
        package: &str,
        requested: &Capabilities,
        previous: Option<&Capabilities>,
    ) -> anyhow::Result<Option<Capabilities>> {
        let lines = requested.describe();
        let new_needed = match previous {
            Some(previous) => !requested.exceeding(previous).is_empty(),
            None => true,
        };
        if !new_needed {
            return Ok(None);
        }
        if lines.is_empty() {
            return Ok(Some(requested.clone()));
        }
        if !self.json {
            eprintln!("{package} asks for:");
            for line in &lines {
                eprintln!("  - {line}");
            }
        }
        if self.yes {
            return Ok(Some(requested.clone()));
        }
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            eprint!("Grant these capabilities? [y/N] ");
            let mut answer = String::new();
            std::io::stdin()
                .read_line(&mut answer)
                .context("cannot read the answer")?;
            if matches!(answer.trim(), "y" | "Y" | "yes") {
                return Ok(Some(requested.clone()));
            }
            bail!("not installed: the capabilities were not granted");
        }
        Ok(None)
    }

    /// Compiles a newly installed tool into the artifact cache, so its first
    /// call does not wait for the compiler.
    fn precompile(&self, outcome: &InstallOutcome) -> anyhow::Result<(Duration, bool)> {
        let installed = outcome.installed();
        // Only compiles: nothing is called, so there is nothing to record.
        let runtime = Runtime::new(EngineConfig::default(), AuditSink::disabled())?;
        let cache = ArtifactCache::new(&self.registry.root().join("cache"), &runtime);
        let spinner = (!self.json && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(format!(
                "compiling {}@{}",
                installed.name, installed.version
            ));
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        let started = Instant::now();
        let verified = self.registry.load(installed)?;
        let (_, outcome) = runtime.load_tool_cached(
            &installed.name.to_string(),
            verified.component(),
            &verified.component_digest(),
            &cache,
        )?;
        if let Some(bar) = spinner {
            bar.finish_and_clear();
        }
        Ok((started.elapsed(), outcome == warden::CacheOutcome::Hit))
    }
}

fn report(steps: &[Step], json: bool) {
    if json {
        let items: Vec<Value> = steps
            .iter()
            .map(|s| {
                let i = s.outcome.installed();
                let (action, previous) = match &s.outcome {
                    InstallOutcome::Installed(_) => ("installed", None),
                    InstallOutcome::Replaced { old, .. } => ("replaced", Some(old.to_string())),
                    InstallOutcome::Unchanged(_) => ("unchanged", None),
                };
                json!({
                    "name": i.name.to_string(),
                    "version": i.version.to_string(),
                    "action": action,
                    "previous_version": previous,
                    "component_digest": i.component_digest.to_string(),
                    "publisher": i.publisher.to_string(),
                    "compile_ms": s.compile.map(|(d, _)| d.as_secs_f64() * 1000.0),
                    "note": s.note,
                })
            })
            .collect();
        print_json(&json!({"ok": true, "packages": items}));
        return;
    }
    let mut by_name = BTreeMap::new();
    for s in steps {
        by_name.insert(s.outcome.installed().name.to_string(), s);
    }
    for s in by_name.values() {
        let i = s.outcome.installed();
        let what = match &s.outcome {
            InstallOutcome::Installed(_) => format!("installed {}@{}", i.name, i.version),
            InstallOutcome::Replaced { old, .. } => {
                format!("upgraded {} {old} -> {}", i.name, i.version)
            }
            InstallOutcome::Unchanged(_) => {
                format!("{}@{} is already installed", i.name, i.version)
            }
        };
        match s.compile {
            Some((d, false)) => {
                eprintln!("{what} (compiled in {:.0} ms)", d.as_secs_f64() * 1000.0)
            }
            _ => eprintln!("{what}"),
        }
    }
}

/// Records what the user agreed to at install in `grants.toml`, as the
/// allow rule for exactly this package (so `warden revoke` can take any of
/// it back). Directories are requested by guest path only: the user maps
/// host directories with `warden grant` or `--dir`.
fn record_consent(
    registry: &Registry,
    name: &PackageName,
    granted: &Capabilities,
    json: bool,
) -> anyhow::Result<()> {
    let mut caps = Vec::new();
    for host in &granted.hosts {
        let rule = NetRule::from_manifest_host(host)
            .with_context(|| format!("cannot record the grant of host `{host}`"))?;
        caps.push(Capability::Network(rule));
    }
    caps.extend(granted.env.iter().cloned().map(Capability::Env));
    caps.extend(granted.secrets.iter().cloned().map(Capability::Secret));
    let limits = &granted.limits;
    for (kind, value) in [
        (LimitKind::Memory, limits.memory_bytes),
        (LimitKind::Fuel, limits.fuel),
        (LimitKind::WallClock, limits.timeout_ms),
    ] {
        if let Some(v) = value {
            caps.push(Capability::Limit(kind, v));
        }
    }
    let target = Target::from(name.clone());
    registry.update_grants_file(|g| {
        let mut changed = Vec::new();
        for cap in caps {
            if g.grant(&target, cap.clone())? {
                changed.push(cap.to_string());
            }
        }
        let event = (!changed.is_empty()).then(|| AuditEvent::Grant {
            package: name.to_string(),
            capabilities: changed,
        });
        Ok(((), event))
    })?;
    if !granted.dirs.is_empty() && !json {
        for dir in &granted.dirs {
            eprintln!(
                "{name} works on a directory at {} ({}): grant one with `warden grant {name} dir HOST:{}{}` or pass --dir to each call",
                dir.path,
                dir.mode,
                dir.path,
                if dir.mode == Access::ReadWrite {
                    ":rw"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}
