//! The grant of one call: the user's `grants.toml` plus this call's flags
//! (the user layer), the manifest's requests (for an installed package) and
//! the org policy, combined by the policy engine into the effective grant,
//! then turned into the sandbox's [`Grant`] and engine settings.
//!
//! This is the one place the CLI reads policy; the sandbox only ever sees
//! the resulting `Grant`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use semver::Version;
use warden::secret::{SecretGrant, SecretValue, secret_destination};
use warden::{DirGrant, DirMode, EngineConfig, Grant, HostPattern, Limits};
use warden_policy::rules::secret_name;
use warden_policy::{
    Capability, ComponentId, EffectiveGrant, GrantsFile, LimitKind, Outcome, Target, effective,
};
use warden_registry::Digest;
use warden_registry::manifest::{Access, Capabilities};
use warden_registry::name::PackageName;
use warden_registry::store::Registry;

use super::grant_args::{FlagGrants, GrantArgs};

/// Flags that asked for something the policy does not allow.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{component}` may not have {}:\n{}\nSee `warden policy explain {component}`.",
    capabilities.join(", "),
    reasons.join("\n")
)]
pub struct PolicyRefusal {
    /// The component.
    pub component: String,
    /// What was refused, in words.
    pub capabilities: Vec<String>,
    /// Why, one line per reason.
    pub reasons: Vec<String>,
}

/// Who is asking: the component's identity and, for an installed package,
/// what its manifest requests.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Name, version and digest.
    pub id: ComponentId,
    /// The manifest's capabilities (`None` for built-ins and files).
    pub requested: Option<Capabilities>,
}

impl Subject {
    /// A built-in component (`builtin:NAME`, versioned like warden itself).
    pub fn builtin(name: &str, bytes: &[u8]) -> anyhow::Result<Subject> {
        Ok(Subject {
            id: ComponentId {
                name: format!("builtin:{name}")
                    .parse()
                    .with_context(|| format!("`{name}` is not a valid built-in name"))?,
                version: Version::parse(env!("CARGO_PKG_VERSION"))?,
                digest: Digest::of(bytes),
            },
            requested: None,
        })
    }

    /// A component file, named `file:STEM` (lowercased, other characters as
    /// `-`); policies can target it by that name or by digest.
    pub fn file(path: &Path, bytes: &[u8]) -> anyhow::Result<Subject> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let cleaned: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() || c.is_ascii_digit() {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let cleaned: Vec<&str> = cleaned.split('-').filter(|s| !s.is_empty()).collect();
        let name = format!("file:{}", cleaned.join("-"))
            .parse::<PackageName>()
            .or_else(|_| "file:component".parse())?;
        Ok(Subject {
            id: ComponentId {
                name,
                version: Version::new(0, 0, 0),
                digest: Digest::of(bytes),
            },
            requested: None,
        })
    }
}

/// The grant of one call, and how it came about.
#[derive(Debug)]
pub struct Resolved {
    /// What the sandbox gets.
    pub grant: Grant,
    /// The engine settings (stack limit).
    pub engine: EngineConfig,
    /// The policy decision, for `--verbose` and `policy explain`.
    pub effective: EffectiveGrant,
}

/// The policy layers of a registry: the user's grants (symbolic links in
/// granted directories resolved) and the verified org policy.
pub fn layers(
    registry: &Registry,
) -> anyhow::Result<(GrantsFile, Option<warden_policy::OrgPolicy>)> {
    let user = registry
        .grants_file()
        .context("cannot read your grants (grants.toml)")?
        .with_resolved_dirs(|p| {
            std::fs::canonicalize(p)
                .ok()
                .and_then(|c| c.to_str().map(str::to_string))
        });
    let org = registry.org_policy().context(
        "the org policy does not verify, so nothing may run until an admin replaces it \
         (`warden policy install`) or removes it",
    )?;
    Ok((user, org))
}

/// What to do with a flag the policy denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeniedFlags {
    /// Refuse the call ([`PolicyRefusal`]): the user asked for it by hand.
    Refuse,
    /// Go on without it, with a warning: the grant was made on the user's
    /// behalf (e.g. the workspace for every tool of an agent).
    Warn,
}

/// The effective grant of `subject` for one call with `flags`.
pub fn resolve(
    registry: &Registry,
    subject: &Subject,
    flags: &GrantArgs,
    denied: DeniedFlags,
) -> anyhow::Result<Resolved> {
    let FlagGrants {
        capabilities,
        env_values,
        secrets: flag_secrets,
    } = flags.flag_grants()?;
    let (user, org) = layers(registry)?;
    // The flags are user grants for exactly this component, this call only.
    let target = Target {
        digest: Some(subject.id.digest),
        ..Target::from(subject.id.name.clone())
    };
    let user = user.with_call_grants(&target, &capabilities)?;
    let effective = effective(&subject.id, subject.requested.as_ref(), &user, org.as_ref());
    if let Err(refusal) =
        refuse_denied_flags(&subject.id.name.to_string(), &effective, &capabilities)
    {
        match denied {
            DeniedFlags::Refuse => return Err(refusal.into()),
            DeniedFlags::Warn => eprintln!(
                "warning: {} does not get {} (see `warden policy explain {}`)",
                refusal.component,
                refusal.capabilities.join(", "),
                refusal.component
            ),
        }
    }

    let mut grant = Grant::default();
    for dir in effective.dirs() {
        match DirGrant::new(
            Path::new(&dir.host),
            Some(&dir.guest),
            match dir.mode {
                Access::ReadOnly => DirMode::ReadOnly,
                Access::ReadWrite => DirMode::ReadWrite,
            },
        ) {
            Ok(d) => grant.dirs.push(d),
            Err(e) => eprintln!("warning: granted directory not mounted: {e}"),
        }
    }
    // Never warden's own home: its trust store, grants, audit key and
    // sessions are out of every component's reach, whatever was granted.
    grant.refuse_reserved(&subject.id.name.to_string(), registry.root())?;
    let network = effective.network();
    grant.hosts = network
        .allow
        .iter()
        .cloned()
        .map(HostPattern::from_rule)
        .collect();
    grant.deny_hosts = network
        .deny
        .iter()
        .cloned()
        .map(HostPattern::from_rule)
        .collect();
    for name in effective.env() {
        let value = env_values
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok());
        match value {
            Some(v) => grant.env.push((name.clone(), v)),
            None => tracing::info!("granted variable {name} is not set; not passed"),
        }
    }
    if !effective.secrets().is_empty() {
        let stored = flags.stored_secrets()?;
        for entry in effective.secrets() {
            let name = secret_name(entry);
            // A flag's secret carries its own host; a recorded grant names
            // its host after `@` (`warden grant X secret NAME@HOST`).
            if !entry.contains('@') {
                let from_flags: Vec<&SecretGrant> =
                    flag_secrets.iter().filter(|s| s.name == name).collect();
                if from_flags.is_empty() {
                    eprintln!(
                        "warning: secret {name} is granted without a host, so it is sent                          nowhere; grant it for the host it belongs to (`warden grant {} secret                          {name}@https://api.example.com`)",
                        subject.id.name
                    );
                }
                grant.secrets.extend(from_flags.into_iter().cloned());
                continue;
            }
            let host = match entry.split_once('@') {
                Some((_, host)) => secret_destination(name, host)?,
                None => continue,
            };
            let value = std::env::var(name)
                .ok()
                .map(SecretValue::new)
                .or_else(|| stored.get(name).cloned());
            match value {
                Some(value) => grant.secrets.push(SecretGrant {
                    name: name.to_string(),
                    value,
                    hosts: vec![host],
                    header: "authorization".into(),
                    format: "Bearer {}".into(),
                }),
                None => eprintln!(
                    "warning: secret {name} is granted but has no value (set the variable \
                     {name} or add it to the secrets file); not injected"
                ),
            }
        }
    }
    let limits = effective.limits();
    let defaults = Limits::default();
    grant.limits = Limits {
        memory_bytes: limits.memory_bytes.unwrap_or(defaults.memory_bytes),
        fuel: limits.fuel.unwrap_or(defaults.fuel),
        timeout: limits
            .wall_clock_ms
            .map_or(defaults.timeout, Duration::from_millis),
        max_output_bytes: limits.output_bytes.unwrap_or(defaults.max_output_bytes),
        max_log_bytes: defaults.max_log_bytes,
        max_instances: limits.instances.map(clamp_u32),
        calls_per_minute: limits.calls_per_minute.map(clamp_u32),
    };
    let mut engine = EngineConfig::default();
    if let Some(stack) = limits.stack_bytes {
        engine.max_wasm_stack = usize::try_from(stack).unwrap_or(usize::MAX);
    }
    Ok(Resolved {
        grant,
        engine,
        effective,
    })
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Refuses the call when a flag asked for something the policy denies
/// outright; a flag the policy only narrows is applied narrowed, with a
/// note on stderr.
fn refuse_denied_flags(
    component: &str,
    effective: &EffectiveGrant,
    flagged: &[Capability],
) -> Result<(), PolicyRefusal> {
    let mut refused = Vec::new();
    let mut reasons = Vec::new();
    for cap in flagged {
        let Some(decision) = effective.decision(cap) else {
            continue;
        };
        match &decision.outcome {
            Outcome::Denied => {
                refused.push(cap.to_string());
                reasons.extend(decision.explain());
            }
            Outcome::Capped { to } if !matches!(cap, Capability::Limit(LimitKind::Stack, _)) => {
                eprintln!("note: {cap} was narrowed to {to} by policy");
            }
            _ => {}
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(PolicyRefusal {
            component: component.to_string(),
            capabilities: refused,
            reasons,
        })
    }
}
