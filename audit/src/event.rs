//! What a record says happened: [`AuditEvent`].

use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::redact::*;

/// What happened. Serialized as an object whose `type` names the event
/// (`install`, `trust-add`, `policy-change`, ...) followed by its fields in
/// the order declared here. Strings are free text chosen by the caller
/// (package names, `sha256:` digests, `ed25519:` keys, capabilities in
/// words); `append` redacts secrets from all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum AuditEvent {
    /// A package was installed.
    Install {
        /// The package name (`acme:grep`).
        package: String,
        /// Its version.
        version: String,
        /// Its component's digest.
        digest: String,
        /// The key that signed it.
        publisher: String,
        /// The capabilities granted to it, in words.
        granted: Vec<String>,
    },
    /// An installed package was replaced by another version.
    Upgrade {
        /// The package name.
        package: String,
        /// The version that was installed.
        from: String,
        /// The version now installed.
        to: String,
        /// The new version's component digest.
        digest: String,
    },
    /// A package was removed.
    Remove {
        /// The package name.
        package: String,
        /// The version removed.
        version: String,
    },
    /// A publisher key was trusted for a namespace.
    TrustAdd {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
    /// Trust was withdrawn: one key, or (`key: null`) every key of the
    /// namespace.
    TrustRemove {
        /// The namespace.
        namespace: String,
        /// The key, or `None` for all of them.
        key: Option<String>,
    },
    /// Capabilities were granted to a package.
    Grant {
        /// The package name.
        package: String,
        /// The capabilities, in words.
        capabilities: Vec<String>,
    },
    /// Capabilities were revoked from a package.
    Revoke {
        /// The package name.
        package: String,
        /// The capabilities, in words.
        capabilities: Vec<String>,
    },
    /// An org policy was installed or changed.
    PolicyChange {
        /// The digest of the policy text.
        policy_digest: String,
        /// The key that signed it.
        signer: String,
    },
    /// A component's function was called.
    Call {
        /// The component (package name or path).
        component: String,
        /// Its digest.
        digest: String,
        /// The function called.
        function: String,
        /// The digest of the arguments ([`argument_digest`]); never the
        /// arguments themselves.
        argument_digest: String,
        /// `ok`, or the kind of error.
        outcome: String,
        /// Wall-clock time of the call, in milliseconds (finite).
        duration_ms: f64,
        /// Fuel consumed, when metered.
        fuel_used: Option<u64>,
        /// Peak linear memory, when measured.
        peak_memory_bytes: Option<u64>,
        /// What the call used of its grant, when it used anything (absent
        /// otherwise). Logs written before this field have a separate
        /// [`AuditEvent::Used`] record after the call instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        used: Option<crate::Usage>,
    },
    /// What a call used of its grant: written after its `call` record by
    /// earlier versions; a call's usage is now [`AuditEvent::Call`]'s
    /// `used`. Still read (`warden policy suggest`, `audit tail`).
    Used {
        /// The component.
        component: String,
        /// Its digest.
        digest: String,
        /// The function called.
        function: String,
        /// What it used.
        usage: crate::Usage,
    },
    /// A component asked for something its grant does not allow.
    Denial {
        /// The component.
        component: String,
        /// Its digest, when known.
        digest: Option<String>,
        /// The capability refused (`network`, `read`, ...).
        capability: String,
        /// What it asked for (a host, a path, ...).
        target: String,
        /// Why it was refused.
        reason: String,
    },
    /// A question put to the user because an `ask` rule of their grants
    /// names capabilities a call would get, and the answer.
    Approval {
        /// The component.
        component: String,
        /// Its digest.
        digest: String,
        /// The tool about to be called, when known.
        function: Option<String>,
        /// The capabilities asked for, in words.
        capabilities: Vec<String>,
        /// The question as put to the user.
        question: String,
        /// `accept`, `decline`, `cancel`, `timeout` or `unavailable`
        /// (nobody could be asked).
        answer: String,
        /// Who asked (`mcp-elicitation`, `terminal`, ...) or why nobody
        /// could be asked.
        detail: String,
    },
    /// Sessions were removed because their retention ran out (`warden
    /// sessions prune`, or the start of a run).
    SessionPrune {
        /// The workspace whose sessions they were.
        workspace: String,
        /// The retention that applied (`30d`; `0s` when sessions may not
        /// persist), and who set it.
        keep: String,
        /// The ids of the sessions removed.
        removed: Vec<String>,
    },
    /// Where a model request went under the data-residency policy.
    ModelRoute {
        /// The provider the request was sent to, or that it was kept from.
        provider: String,
        /// The data classes the request's content carries.
        classes: Vec<String>,
        /// `sent`, `fallback` (sent to the fallback provider) or `refused`.
        decision: String,
        /// Why (the policy rule that decided).
        reason: String,
    },
    /// A component wrote an entry of the shared context store.
    ContextWrite {
        /// The component.
        component: String,
        /// The namespace written.
        namespace: String,
        /// The digest of the value (never the value).
        digest: String,
        /// The value's size in bytes.
        size: u64,
        /// The entry was removed (`digest` and `size` are then those of
        /// the removed value). Absent (false) for a write.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        removed: bool,
        /// The data classes the entry carries (those of the run that wrote
        /// it); absent when none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        classes: Vec<String>,
    },
}

impl AuditEvent {
    /// The event's `type`: `install`, `upgrade`, `remove`, `trust-add`,
    /// `trust-remove`, `grant`, `revoke`, `policy-change`, `call`, `used`,
    /// `denial`, `approval`, `session-prune`, `model-route` or
    /// `context-write`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::Install { .. } => "install",
            AuditEvent::Upgrade { .. } => "upgrade",
            AuditEvent::Remove { .. } => "remove",
            AuditEvent::TrustAdd { .. } => "trust-add",
            AuditEvent::TrustRemove { .. } => "trust-remove",
            AuditEvent::Grant { .. } => "grant",
            AuditEvent::Revoke { .. } => "revoke",
            AuditEvent::PolicyChange { .. } => "policy-change",
            AuditEvent::Call { .. } => "call",
            AuditEvent::Denial { .. } => "denial",
            AuditEvent::Approval { .. } => "approval",
            AuditEvent::SessionPrune { .. } => "session-prune",
            AuditEvent::ModelRoute { .. } => "model-route",
            AuditEvent::ContextWrite { .. } => "context-write",
            AuditEvent::Used { .. } => "used",
        }
    }

    /// The event with [`redact`] applied to every string in it.
    pub fn redacted(mut self, secrets: &[&str]) -> AuditEvent {
        if secrets.iter().any(|s| !s.is_empty()) {
            for field in self.strings_mut() {
                if secrets.iter().any(|s| !s.is_empty() && field.contains(s)) {
                    *field = redact(field, secrets);
                }
            }
        }
        self
    }

    /// The event with every string over [`MAX_FIELD_BYTES`] cut and marked
    /// ([`bound_field`]).
    pub fn bounded(mut self) -> AuditEvent {
        for field in self.strings_mut() {
            if let Some(cut) = bound_field(field) {
                *field = cut;
            }
        }
        self
    }

    /// Every string field, for redaction. A new field must be listed here
    /// (the exhaustive patterns make forgetting one a compile error).
    fn strings_mut(&mut self) -> Vec<&mut String> {
        match self {
            AuditEvent::Install {
                package,
                version,
                digest,
                publisher,
                granted,
            } => {
                let mut v = vec![package, version, digest, publisher];
                v.extend(granted.iter_mut());
                v
            }
            AuditEvent::Upgrade {
                package,
                from,
                to,
                digest,
            } => vec![package, from, to, digest],
            AuditEvent::Remove { package, version } => vec![package, version],
            AuditEvent::TrustAdd { namespace, key } => vec![namespace, key],
            AuditEvent::TrustRemove { namespace, key } => {
                let mut v = vec![namespace];
                v.extend(key.as_mut());
                v
            }
            AuditEvent::Grant {
                package,
                capabilities,
            }
            | AuditEvent::Revoke {
                package,
                capabilities,
            } => {
                let mut v = vec![package];
                v.extend(capabilities.iter_mut());
                v
            }
            AuditEvent::PolicyChange {
                policy_digest,
                signer,
            } => vec![policy_digest, signer],
            AuditEvent::Call {
                component,
                digest,
                function,
                argument_digest,
                outcome,
                duration_ms: _,
                fuel_used: _,
                peak_memory_bytes: _,
                used,
            } => {
                let mut v = vec![component, digest, function, argument_digest, outcome];
                if let Some(usage) = used {
                    v.extend(usage.strings_mut());
                }
                v
            }
            AuditEvent::Used {
                component,
                digest,
                function,
                usage,
            } => {
                let mut v = vec![component, digest, function];
                v.extend(usage.strings_mut());
                v
            }
            AuditEvent::Denial {
                component,
                digest,
                capability,
                target,
                reason,
            } => {
                let mut v = vec![component, capability, target, reason];
                v.extend(digest.as_mut());
                v
            }
            AuditEvent::Approval {
                component,
                digest,
                function,
                capabilities,
                question,
                answer,
                detail,
            } => {
                let mut v = vec![component, digest, question, answer, detail];
                v.extend(function.as_mut());
                v.extend(capabilities.iter_mut());
                v
            }
            AuditEvent::SessionPrune {
                workspace,
                keep,
                removed,
            } => {
                let mut v = vec![workspace, keep];
                v.extend(removed.iter_mut());
                v
            }
            AuditEvent::ModelRoute {
                provider,
                classes,
                decision,
                reason,
            } => {
                let mut v = vec![provider, decision, reason];
                v.extend(classes.iter_mut());
                v
            }
            AuditEvent::ContextWrite {
                component,
                namespace,
                digest,
                size: _,
                removed: _,
                classes,
            } => {
                let mut v = vec![component, namespace, digest];
                v.extend(classes.iter_mut());
                v
            }
        }
    }

    /// Refuses what JSON cannot hold faithfully.
    pub(crate) fn check(&self) -> Result<(), AuditError> {
        if let AuditEvent::Call { duration_ms, .. } = self
            && !duration_ms.is_finite()
        {
            return Err(AuditError::InvalidEvent {
                event: self.kind().to_string(),
                reason: format!("`duration_ms` must be a finite number, not {duration_ms}"),
            });
        }
        Ok(())
    }
}
