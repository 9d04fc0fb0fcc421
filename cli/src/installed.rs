//! `warden list`, `warden inspect`, `warden remove` and `warden verify`:
//! what is installed, and whether the registry is intact.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use warden_registry::capabilities::inspect_component;

use super::exit;
use super::install::parse_spec;
use super::output::print_json;
use super::registry_args::RegistryArgs;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl ListArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let registry = self.registry.open()?;
        let installed = registry.installed()?;
        if self.json {
            print_json(&json!({"ok": true, "packages": installed}));
        } else if installed.is_empty() {
            eprintln!("nothing is installed (see `warden install --help`)");
        } else {
            for i in &installed {
                println!(
                    "{}@{}\t{}\t{}",
                    i.name, i.version, i.kind, i.component_digest
                );
            }
        }
        Ok(ExitCode::from(exit::OK))
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// NAME or NAME@RANGE of an installed package.
    package: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl InspectArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let registry = self.registry.open()?;
        let (name, req) = parse_spec(&self.package)?;
        let installed = registry.find(&name, &req)?.with_context(|| {
            format!("no installed version of `{name}` matches `{req}` (see `warden list`)")
        })?;
        let package = registry.package(&installed)?;
        let summary = inspect_component(&package.component)
            .with_context(|| format!("cannot decode the component of {name}"))?;
        let grant = registry.approval(&name)?;
        let trusted = registry.trust()?.check(&name, package.publisher()).is_ok();
        let m = &package.manifest;
        if self.json {
            print_json(&json!({
                "ok": true,
                "name": m.name.to_string(),
                "version": m.version.to_string(),
                "kind": m.kind.to_string(),
                "description": m.description,
                "world": m.world.to_string(),
                "component_digest": installed.component_digest.to_string(),
                "package_digest": installed.package_digest.to_string(),
                "publisher": installed.publisher.to_string(),
                "trusted": trusted,
                "requested": m.capabilities,
                "granted": grant,
                "dependencies": m.dependencies.iter().map(|(n, r)| (n.to_string(), r.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
                "imports": summary.imports,
                "exports": summary.exports,
            }));
            return Ok(ExitCode::from(exit::OK));
        }
        println!("{}@{} ({})", m.name, m.version, m.kind);
        println!("  {}", m.description);
        println!("world:      {}", m.world);
        println!("component:  {}", installed.component_digest);
        println!("package:    {}", installed.package_digest);
        println!(
            "signed by:  {}{}",
            installed.publisher,
            if trusted {
                " (trusted)"
            } else {
                " (NOT trusted any more)"
            }
        );
        println!("requests:");
        let lines = m.capabilities.describe();
        if lines.is_empty() {
            println!("  nothing");
        }
        for line in lines {
            println!("  - {line}");
        }
        if let Some(grant) = grant {
            println!("granted:");
            for line in grant.describe() {
                println!("  - {line}");
            }
        }
        if !m.dependencies.is_empty() {
            println!("depends on:");
            for (n, r) in &m.dependencies {
                println!("  - {n} {r}");
            }
        }
        println!("imports:");
        for i in &summary.imports {
            println!("  - {i}");
        }
        println!("exports:");
        for e in &summary.exports {
            println!("  - {e}");
        }
        Ok(ExitCode::from(exit::OK))
    }
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The package to remove.
    package: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl RemoveArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let registry = self.registry.open()?;
        let name = self.package.parse()?;
        let removed = registry.remove(&name)?;
        // The package's own grants go with it; deny rules stay.
        let target = warden_policy::Target::from(name.clone());
        registry.update_grants_file(|g| {
            let n = g.forget(&target);
            let event = (n > 0).then(|| warden_audit::AuditEvent::Revoke {
                package: name.to_string(),
                capabilities: vec!["everything granted to it (package removed)".into()],
            });
            Ok(((), event))
        })?;
        if self.json {
            print_json(&json!({"ok": true, "removed": removed}));
        } else {
            eprintln!("removed {}@{}", removed.name, removed.version);
        }
        Ok(ExitCode::from(exit::OK))
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Remove leftovers (temporary files, unreferenced blobs) and rebuild a
    /// damaged index from the package files.
    #[arg(long)]
    repair: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl VerifyArgs {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let registry = self.registry.open()?;
        let report = registry.verify(self.repair)?;
        if self.json {
            print_json(&json!({"ok": report.ok(), "report": report}));
        } else {
            for p in &report.problems {
                let status = match (p.repaired, p.severity) {
                    (true, _) => "repaired",
                    (false, warden_registry::store::Severity::Leftover) => "leftover",
                    (false, warden_registry::store::Severity::Corrupt) => "CORRUPT",
                };
                println!("{status}: {}: {}", p.subject, p.problem);
            }
            eprintln!(
                "checked {} packages: {}",
                report.packages_checked,
                if report.ok() {
                    "the registry is intact"
                } else {
                    "problems found (try --repair)"
                }
            );
        }
        Ok(ExitCode::from(if report.ok() {
            exit::OK
        } else {
            exit::FAILURE
        }))
    }
}
