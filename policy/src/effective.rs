//! The effective grant of one component: what it may do, as plain data the
//! host turns into its sandbox `Grant`, and why, one [`Decision`] per
//! capability for `warden policy explain`.
//!
//! How the layers combine is in [`super::decide`].

use std::fmt;

use super::limits::Limits;
use super::network::NetRule;
use super::rules::Capability;
use super::target::ComponentId;
use crate::request::Access;

/// A host directory the component sees at a guest path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EffectiveDir {
    /// The host directory, normalised lexically (not canonicalised: the
    /// host resolves symbolic links and must check the result again).
    pub host: String,
    /// The absolute guest path.
    pub guest: String,
    /// Read-only or read-write.
    pub mode: Access,
}

/// The network a component may reach: any `allow` rule, unless a `deny`
/// rule matches. Check both the name a request uses and every address
/// it resolves to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkGrant {
    /// What may be reached.
    pub allow: Vec<NetRule>,
    /// What may never be reached, whatever `allow` says (including the
    /// address ranges a granted name must not resolve to).
    pub deny: Vec<NetRule>,
}

impl NetworkGrant {
    /// Whether a connection with `scheme` (`https`, `http`, `tcp`, `udp`) to
    /// `host` (a name or an IP address) on `port` is allowed.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.allow.iter().any(|r| r.allows(scheme, host, port))
            && self.denied(scheme, host, port).is_none()
    }

    /// The deny rule that refuses this connection, if any (use it on each
    /// resolved address too).
    pub fn denied(&self, scheme: &str, host: &str, port: u16) -> Option<&NetRule> {
        self.deny.iter().find(|r| r.allows(scheme, host, port))
    }

    /// Whether nothing may be reached.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty()
    }
}

/// What became of one capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Effective as granted.
    Allowed,
    /// Effective, but narrowed to `to` (a lower mode, a narrower network
    /// rule, a smaller limit).
    Capped {
        /// What is effective instead.
        to: Capability,
    },
    /// Not effective.
    Denied,
}

/// One capability, what became of it, and every reason, in the order the
/// layers were applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The capability as granted (or requested, when nothing grants it).
    pub capability: Capability,
    /// What became of it.
    pub outcome: Outcome,
    /// Why: which grant, manifest request, org ceiling or deny rule
    /// decided it, e.g. `org policy rule 3 denies network *://*.internal:*`.
    pub because: Vec<String>,
}

impl Decision {
    /// The explanation lines of this decision.
    pub fn explain(&self) -> Vec<String> {
        let head = match &self.outcome {
            Outcome::Allowed => format!("allowed  {}", self.capability),
            Outcome::Capped { to } => format!("capped   {} to {to}", self.capability),
            Outcome::Denied => format!("denied   {}", self.capability),
        };
        let mut lines = vec![head];
        lines.extend(self.because.iter().map(|b| format!("         - {b}")));
        lines
    }
}

/// Everything one component may do, with the reasons. Immutable: built by
/// [`super::effective()`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveGrant {
    pub(super) component: ComponentId,
    pub(super) layers: Vec<String>,
    pub(super) dirs: Vec<EffectiveDir>,
    pub(super) network: NetworkGrant,
    pub(super) env: Vec<String>,
    pub(super) secrets: Vec<String>,
    pub(super) limits: Limits,
    pub(super) decisions: Vec<Decision>,
}

impl EffectiveGrant {
    /// The component this grant is for.
    pub fn component(&self) -> &ComponentId {
        &self.component
    }

    /// The directories to mount.
    pub fn dirs(&self) -> &[EffectiveDir] {
        &self.dirs
    }

    /// The network the component may reach.
    pub fn network(&self) -> &NetworkGrant {
        &self.network
    }

    /// The environment variables (names) the component sees.
    pub fn env(&self) -> &[String] {
        &self.env
    }

    /// The secrets (names) the host may use on the component's behalf.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The limits; `None` where the policy sets nothing (the host applies
    /// its own default).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Every decision, in the order of `explain`.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// The decision about `capability`, if one was made.
    pub fn decision(&self, capability: &Capability) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.capability == *capability)
    }

    /// The lines of `warden policy explain COMPONENT`: the layers consulted,
    /// then each capability with its outcome and reasons.
    pub fn explain(&self) -> Vec<String> {
        let mut lines = vec![format!("effective grant of {}", self.component)];
        lines.extend(self.layers.iter().map(|l| format!("  from {l}")));
        if self.decisions.is_empty() {
            lines.push(
                "nothing is granted or requested: the component may do nothing (deny by default)"
                    .into(),
            );
        }
        for d in &self.decisions {
            lines.extend(d.explain());
        }
        lines
    }
}

impl fmt::Display for EffectiveGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.explain() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
