//! The *authorize* step of the call path: the grant of one call.
//!
//! The user's `grants.toml` plus the caller's grants for this call (the user
//! layer), the manifest's requests (for an installed package) and the org
//! policy are combined by the policy engine ([`warden_policy::effective`])
//! into the effective grant, which is then turned into the sandbox's
//! [`Grant`] and engine settings. This is the only code that turns policy
//! into a `Grant`; every entry point (the CLI's `tool call`, `warden mcp`,
//! `warden run`, a program using the library) authorizes through it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use semver::Version;
use warden_core::Digest;
use warden_core::name::PackageName;
use warden_policy::rules::secret_name;
use warden_policy::{
    Access, Capabilities, Capability, ComponentId, EffectiveGrant, GrantsFile, LimitKind,
    OrgPolicy, Outcome, Target, effective,
};
use warden_registry::error::StoreError;
use warden_registry::store::Registry;

use crate::approval::{Approver, Question};
use crate::engine::EngineConfig;
use crate::error::GrantError;
use crate::grant::{DirGrant, DirMode, Grant, HostPattern, Limits};
use crate::record::AuditSink;
use crate::secret::{SecretGrant, SecretValue, secret_destination};
use warden_policy::ask::plan as ask_plan;

/// Who is asking: the component's identity and, for an installed package,
/// what its manifest requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Name, version and digest.
    pub id: ComponentId,
    /// The manifest's capabilities (`None` for built-ins and files).
    pub requested: Option<Capabilities>,
}

impl Subject {
    /// A built-in component (`builtin:NAME`, versioned like warden itself).
    pub fn builtin(name: &str, bytes: &[u8]) -> Result<Subject, AuthorizeError> {
        let invalid = || AuthorizeError::BuiltinName {
            name: name.to_string(),
        };
        Ok(Subject {
            id: ComponentId {
                name: format!("builtin:{name}").parse().map_err(|_| invalid())?,
                version: Version::parse(env!("CARGO_PKG_VERSION")).map_err(|_| invalid())?,
                digest: Digest::of(bytes),
            },
            requested: None,
        })
    }

    /// A component file, named `file:STEM` (lowercased, other characters as
    /// `-`); policies can target it by that name or by digest.
    pub fn file(path: &Path, bytes: &[u8]) -> Subject {
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
            .or_else(|_| "file:component".parse())
            .unwrap_or_else(|_| unreachable!("`file:component` is a valid package name"));
        Subject {
            id: ComponentId {
                name,
                version: Version::new(0, 0, 0),
                digest: Digest::of(bytes),
            },
            requested: None,
        }
    }
}

/// The policy layers of a warden home: the user's grants (symbolic links
/// in granted directories resolved) and the verified org policy.
#[derive(Debug, Clone)]
pub struct PolicyLayers {
    /// The user's grants.
    pub user: GrantsFile,
    /// The org policy, if one is installed.
    pub org: Option<OrgPolicy>,
}

impl PolicyLayers {
    /// Reads both layers from `registry`'s home.
    pub fn load(registry: &Registry) -> Result<PolicyLayers, AuthorizeError> {
        let user = registry
            .grants_file()
            .map_err(|source| AuthorizeError::Grants { source })?
            .with_resolved_dirs(|p| {
                std::fs::canonicalize(p)
                    .ok()
                    .and_then(|c| c.to_str().map(str::to_string))
            });
        let org = registry
            .org_policy()
            .map_err(|source| AuthorizeError::OrgPolicy { source })?;
        Ok(PolicyLayers { user, org })
    }
}

/// What the caller grants for exactly this call (the CLI's `--dir`,
/// `--allow-host`, `--env`, `--secret` flags; an agent's workspace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallGrants {
    /// The capabilities, in the order given.
    pub capabilities: Vec<Capability>,
    /// Values for granted env vars (others are taken from this process).
    pub env_values: BTreeMap<String, String>,
    /// Secrets given for this call, with their values and hosts.
    pub secrets: Vec<SecretGrant>,
}

/// What to do with a call grant the policy denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeniedGrants {
    /// Refuse the call ([`AuthorizeError::Refused`]): the user asked for it
    /// by hand.
    Refuse,
    /// Go on without it, with a note ([`AuthorizeNote::NotGiven`]): the
    /// grant was made on the user's behalf (e.g. the workspace for every
    /// tool of an agent).
    Note,
}

/// Something the caller should tell the user about an authorized call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeNote {
    /// A call grant the policy narrowed (applied narrowed).
    Narrowed {
        /// The capability as asked.
        capability: String,
        /// What it became.
        to: String,
    },
    /// A call grant the policy denies, left out ([`DeniedGrants::Note`]).
    NotGiven {
        /// The component.
        component: String,
        /// What was left out.
        capabilities: Vec<String>,
    },
    /// A granted directory that cannot be mounted.
    DirNotMounted {
        /// Why.
        reason: String,
    },
    /// A secret granted without a host: it is sent nowhere.
    SecretWithoutHost {
        /// The component.
        component: String,
        /// The secret's name.
        name: String,
    },
    /// A secret granted with no value in the environment or secrets file.
    SecretWithoutValue {
        /// The secret's name.
        name: String,
    },
}

impl AuthorizeNote {
    /// Whether the user should be warned (rather than just told).
    pub fn is_warning(&self) -> bool {
        !matches!(self, AuthorizeNote::Narrowed { .. })
    }
}

impl fmt::Display for AuthorizeNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorizeNote::Narrowed { capability, to } => {
                write!(f, "{capability} was narrowed to {to} by policy")
            }
            AuthorizeNote::NotGiven {
                component,
                capabilities,
            } => write!(
                f,
                "{component} does not get {} (the policy denies it)",
                capabilities.join(", ")
            ),
            AuthorizeNote::DirNotMounted { reason } => {
                write!(f, "granted directory not mounted: {reason}")
            }
            AuthorizeNote::SecretWithoutHost { component, name } => write!(
                f,
                "secret {name} of {component} is granted without a host, so it is sent nowhere; \
                 grant it for the host it belongs to"
            ),
            AuthorizeNote::SecretWithoutValue { name } => write!(
                f,
                "secret {name} is granted but has no value (neither the variable {name} nor the \
                 secrets file has one); not injected"
            ),
        }
    }
}

/// The grant of one call, and how it came about.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// What the sandbox gets.
    pub grant: Grant,
    /// The engine settings (stack limit).
    pub engine: EngineConfig,
    /// The policy decision, for explanations.
    pub effective: EffectiveGrant,
    /// What the user should be told.
    pub notes: Vec<AuthorizeNote>,
    /// Whether an `ask` rule applied and the user said yes: the grant
    /// holds for this call only.
    pub asked: bool,
}

/// Why a call was not authorized.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The caller asked for something the policy denies outright.
    #[error(
        "`{component}` may not have {}:\n{}",
        capabilities.join(", "),
        reasons.join("\n")
    )]
    Refused {
        /// The component.
        component: String,
        /// What was refused, in words.
        capabilities: Vec<String>,
        /// Why, one line per reason.
        reasons: Vec<String>,
    },
    /// The user's grants cannot be read.
    #[error("cannot read your grants (grants.toml): {source}")]
    Grants {
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The org policy does not verify: nothing may run.
    #[error(
        "the org policy does not verify, so nothing may run until an admin replaces or removes \
         it: {source}"
    )]
    OrgPolicy {
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The grant reaches something no component may have (warden's home).
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// The stored secrets could not be read.
    #[error("cannot read the secrets file: {source}")]
    SecretsFile {
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Capabilities an `ask` rule names were not approved: the user
    /// declined, or nobody could be asked. The call does not run.
    #[error(
        "`{component}` was not given {}: {reason} (asked because {})",
        capabilities.join(", "),
        rules.join(", ")
    )]
    NotApproved {
        /// The component.
        component: String,
        /// What was asked for, in words.
        capabilities: Vec<String>,
        /// The rules that say to ask.
        rules: Vec<String>,
        /// The answer (`decline`, `cancel`, `timeout`, `unavailable`).
        answer: String,
        /// Why, in words.
        reason: String,
    },
    /// A built-in name that is not a valid package name.
    #[error("`{name}` is not a valid built-in name")]
    BuiltinName {
        /// The name.
        name: String,
    },
}

impl AuthorizeError {
    /// The sandbox grant error inside, if that is what this is.
    pub fn grant_error(&self) -> Option<&GrantError> {
        match self {
            AuthorizeError::Grant(e) => Some(e),
            _ => None,
        }
    }
}

/// The effective grant of `subject` for one call with `call` grants, under
/// `layers`. `home` is warden's home, which no grant may reach;
/// `stored_secrets` is read only if a secret is granted.
pub fn authorize<E>(
    layers: &PolicyLayers,
    subject: &Subject,
    call: &CallGrants,
    denied: DeniedGrants,
    home: &Path,
    stored_secrets: impl FnOnce() -> Result<BTreeMap<String, SecretValue>, E>,
) -> Result<Authorized, AuthorizeError>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let user = user_grants_with_call(layers, subject, call)?;
    authorize_user(
        &user,
        Inputs {
            layers,
            subject,
            call,
            denied,
            home,
            stored_secrets,
        },
    )
}

/// What [`authorize`] and [`authorize_asking`] hand to the step they share,
/// [`authorize_user`].
struct Inputs<'a, S> {
    layers: &'a PolicyLayers,
    subject: &'a Subject,
    call: &'a CallGrants,
    denied: DeniedGrants,
    home: &'a Path,
    stored_secrets: S,
}

/// The user's grants with the call's grants added: user grants for exactly
/// this component (name and digest).
fn user_grants_with_call(
    layers: &PolicyLayers,
    subject: &Subject,
    call: &CallGrants,
) -> Result<GrantsFile, AuthorizeError> {
    let target = Target {
        digest: Some(subject.id.digest),
        ..Target::from(subject.id.name.clone())
    };
    layers
        .user
        .clone()
        .with_call_grants(&target, &call.capabilities)
        .map_err(|e| AuthorizeError::Grants { source: e.into() })
}

/// How [`authorize_asking`] reaches the user.
pub struct Asking<'a> {
    /// Who puts the question.
    pub approver: &'a dyn Approver,
    /// Where the question and answer are recorded.
    pub audit: &'a AuditSink,
    /// The tool about to be called, when known (for the question).
    pub tool: Option<&'a str>,
}

/// [`authorize`], and first, when an `ask` rule of the user's grants names
/// capabilities this call would get ([`warden_policy::ask::plan`]), put
/// them to the user through `asking.approver`, record the question and the
/// answer in `asking.audit`, and grant them only on [`Accept`](crate::approval::Answer::Accept);
/// any other answer refuses the call ([`AuthorizeError::NotApproved`]).
/// Without such a rule nothing is asked or recorded.
#[allow(clippy::too_many_arguments)]
pub async fn authorize_asking<E>(
    layers: &PolicyLayers,
    subject: &Subject,
    call: &CallGrants,
    denied: DeniedGrants,
    home: &Path,
    stored_secrets: impl FnOnce() -> Result<BTreeMap<String, SecretValue>, E>,
    asking: Asking<'_>,
) -> Result<Authorized, AuthorizeError>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let user = user_grants_with_call(layers, subject, call)?;
    let inputs = Inputs {
        layers,
        subject,
        call,
        denied,
        home,
        stored_secrets,
    };
    let plan = ask_plan(
        &subject.id,
        subject.requested.as_ref(),
        &user,
        layers.org.as_ref(),
    );
    if plan.is_empty() {
        return authorize_user(&user, inputs);
    }
    let question = Question {
        component: subject.id.name.to_string(),
        digest: subject.id.digest,
        tool: asking.tool.map(str::to_string),
        capabilities: plan.ask.iter().map(|a| a.capability.to_string()).collect(),
        rules: plan.ask.iter().map(|a| a.rule.clone()).collect(),
    };
    let answer = asking.approver.ask(&question).await;
    asking
        .audit
        .record_approval(&question, &answer, asking.approver.channel());
    if let Some(reason) = answer.refusal() {
        let mut rules = question.rules.clone();
        rules.dedup();
        return Err(AuthorizeError::NotApproved {
            component: question.component,
            capabilities: question.capabilities,
            rules,
            answer: answer.as_str().to_string(),
            reason,
        });
    }
    let approved = user.with_approved(&plan.ask);
    let authorized = authorize_user(&approved, inputs)?;
    Ok(Authorized {
        asked: true,
        ..authorized
    })
}

/// [`authorize`] with the user layer already made.
fn authorize_user<E, S>(
    user: &GrantsFile,
    inputs: Inputs<'_, S>,
) -> Result<Authorized, AuthorizeError>
where
    S: FnOnce() -> Result<BTreeMap<String, SecretValue>, E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Inputs {
        layers,
        subject,
        call,
        denied,
        home,
        stored_secrets,
    } = inputs;
    let mut notes = Vec::new();
    let component = subject.id.name.to_string();
    let effective = effective(
        &subject.id,
        subject.requested.as_ref(),
        user,
        layers.org.as_ref(),
    );
    let (refused, reasons) = denied_call_grants(&effective, &call.capabilities, &mut notes);
    if !refused.is_empty() {
        match denied {
            DeniedGrants::Refuse => {
                return Err(AuthorizeError::Refused {
                    component,
                    capabilities: refused,
                    reasons,
                });
            }
            DeniedGrants::Note => notes.push(AuthorizeNote::NotGiven {
                component: component.clone(),
                capabilities: refused,
            }),
        }
    }

    let mut grant = Grant::default();
    for dir in effective.dirs() {
        let mode = match dir.mode {
            Access::ReadOnly => DirMode::ReadOnly,
            Access::ReadWrite => DirMode::ReadWrite,
        };
        match DirGrant::granted(Path::new(&dir.host), &dir.guest, mode) {
            Ok(d) => grant.dirs.push(d),
            Err(e) => notes.push(AuthorizeNote::DirNotMounted {
                reason: e.to_string(),
            }),
        }
    }
    // Never warden's own home: its trust store, grants, audit key and
    // sessions are out of every component's reach, whatever was granted.
    grant.refuse_reserved(&component, home)?;
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
        let value = call
            .env_values
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok());
        match value {
            Some(v) => grant.env.push((name.clone(), v)),
            None => tracing::info!("granted variable {name} is not set; not passed"),
        }
    }
    if !effective.secrets().is_empty() {
        let stored =
            stored_secrets().map_err(|e| AuthorizeError::SecretsFile { source: e.into() })?;
        grant_secrets(
            &effective, call, &stored, &component, &mut grant, &mut notes,
        )?;
    }
    if layers
        .org
        .as_ref()
        .is_some_and(OrgPolicy::requires_confinement)
    {
        grant.confinement = crate::confine::Requirement::Required;
    }
    grant.remote_servers = layers
        .org
        .as_ref()
        .and_then(|o| o.remote_servers().cloned());
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
    Ok(Authorized {
        grant,
        engine,
        effective,
        notes,
        asked: false,
    })
}

/// The granted secrets with their values: a call's own secrets carry their
/// hosts; a recorded grant names its host after `@` (`NAME@HOST`).
fn grant_secrets(
    effective: &EffectiveGrant,
    call: &CallGrants,
    stored: &BTreeMap<String, SecretValue>,
    component: &str,
    grant: &mut Grant,
    notes: &mut Vec<AuthorizeNote>,
) -> Result<(), AuthorizeError> {
    for entry in effective.secrets() {
        let name = secret_name(entry);
        let Some((_, host)) = entry.split_once('@') else {
            let given: Vec<&SecretGrant> = call.secrets.iter().filter(|s| s.name == name).collect();
            if given.is_empty() {
                notes.push(AuthorizeNote::SecretWithoutHost {
                    component: component.to_string(),
                    name: name.to_string(),
                });
            }
            grant.secrets.extend(given.into_iter().cloned());
            continue;
        };
        let host = secret_destination(name, host)?;
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
            None => notes.push(AuthorizeNote::SecretWithoutValue {
                name: name.to_string(),
            }),
        }
    }
    Ok(())
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The call grants the policy denies outright (with the reasons); those it
/// only narrows are applied narrowed, with a note.
fn denied_call_grants(
    effective: &EffectiveGrant,
    asked: &[Capability],
    notes: &mut Vec<AuthorizeNote>,
) -> (Vec<String>, Vec<String>) {
    let mut refused = Vec::new();
    let mut reasons = Vec::new();
    for cap in asked {
        let Some(decision) = effective.decision(cap) else {
            continue;
        };
        match &decision.outcome {
            Outcome::Denied => {
                refused.push(cap.to_string());
                reasons.extend(decision.explain());
            }
            Outcome::Capped { to } if !matches!(cap, Capability::Limit(LimitKind::Stack, _)) => {
                notes.push(AuthorizeNote::Narrowed {
                    capability: cap.to_string(),
                    to: to.to_string(),
                });
            }
            _ => {}
        }
    }
    (refused, reasons)
}
