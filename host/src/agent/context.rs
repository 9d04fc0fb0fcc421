//! The shared context store as the host governs it: every read and write a
//! component makes goes through [`ContextAccess`], which checks the
//! component's context grant (per namespace, read or write) under the org
//! policy's `[context]` ceiling, and records every write in the audit log
//! (namespace, digest and size of the value; never the value).
//!
//! The storage itself is [`warden_agent::ContextStore`]: files under the
//! workspace's state directory in warden's home, out of every tool's reach.

use std::time::Duration;

use warden_agent::{
    ContextEntry, ContextError, ContextLimits, ContextStore, EntryKind, PutReceipt,
};
use warden_policy::ContextCeiling;

use crate::bindings::{Capability, Denial};
use crate::record::AuditSink;

/// What a component may do with the shared context: the namespaces it may
/// read and those it may write (`*`: any). Default: nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextGrant {
    /// Namespaces it may read.
    pub read: Vec<String>,
    /// Namespaces it may write (writing implies reading).
    pub write: Vec<String>,
}

fn listed(list: &[String], namespace: &str) -> bool {
    list.iter().any(|n| n == "*" || n == namespace)
}

/// A context operation that did not happen, as the guest sees it (the
/// `context-error` of `wit/context.wit`). Nothing was written. Kept in a
/// run's recording as the planner was answered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContextFailure {
    /// The grant (or the org policy) does not allow it.
    Denied(Denial),
    /// The namespace would pass its size or entry limit.
    Full(String),
    /// The value is larger than one entry may be.
    TooLarge(String),
    /// There is no such entry (never written, removed, or expired).
    NotFound(String),
    /// The namespace or key is not valid.
    Invalid(String),
    /// It was allowed but failed: an I/O error.
    Failed(String),
}

impl std::fmt::Display for ContextFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextFailure::Denied(d) => write!(f, "denied {}: {}", d.target, d.reason),
            ContextFailure::Full(m)
            | ContextFailure::TooLarge(m)
            | ContextFailure::NotFound(m)
            | ContextFailure::Invalid(m)
            | ContextFailure::Failed(m) => f.write_str(m),
        }
    }
}

impl From<ContextError> for ContextFailure {
    fn from(e: ContextError) -> ContextFailure {
        let message = e.to_string();
        match e {
            ContextError::Full { .. } => ContextFailure::Full(message),
            ContextError::TooLarge { .. } => ContextFailure::TooLarge(message),
            ContextError::InvalidNamespace { .. } | ContextError::InvalidKey { .. } => {
                ContextFailure::Invalid(message)
            }
            ContextError::Io { .. } => ContextFailure::Failed(message),
        }
    }
}

fn not_found(namespace: &str, key: &str) -> ContextFailure {
    ContextFailure::NotFound(format!(
        "no entry `{key}` in the context namespace `{namespace}` (never written, removed, or expired)"
    ))
}

/// One component's access to a workspace's shared context.
#[derive(Debug, Clone)]
pub struct ContextAccess {
    store: ContextStore,
    grant: ContextGrant,
    ceiling: Option<ContextCeiling>,
    component: String,
    audit: AuditSink,
}

impl ContextAccess {
    /// `component`'s access to `store` under `grant`, capped by the org's
    /// `ceiling` (its namespace list, its forbid, and its size cap, which
    /// lowers the store's limit); writes are recorded in `audit`.
    pub fn new(
        store: &warden_agent::WorkspaceState,
        grant: ContextGrant,
        ceiling: Option<&ContextCeiling>,
        component: &str,
        audit: AuditSink,
    ) -> ContextAccess {
        let mut limits = ContextLimits::default();
        if let Some(cap) = ceiling.and_then(|c| c.max_namespace_bytes) {
            limits.max_namespace_bytes = limits.max_namespace_bytes.min(cap);
            limits.max_entry_bytes = limits.max_entry_bytes.min(cap);
        }
        ContextAccess {
            store: ContextStore::for_workspace(store, limits),
            grant,
            ceiling: ceiling.cloned(),
            component: component.to_string(),
            audit,
        }
    }

    /// Whether the grant names any namespace (if not, every call is
    /// refused).
    pub fn grants_anything(&self) -> bool {
        !self.grant.read.is_empty() || !self.grant.write.is_empty()
    }

    /// Refuses `namespace` for `write` (or read) access, saying why.
    fn check(&self, namespace: &str, write: bool) -> Result<(), ContextFailure> {
        let deny = |reason: String| {
            let denial = Denial {
                capability: Capability::Component,
                target: format!("context:{namespace}"),
                reason,
            };
            self.audit.record_denial(&self.component, None, &denial);
            Err(ContextFailure::Denied(denial))
        };
        if let Some(reason) = self.ceiling.as_ref().and_then(|c| c.refuses(namespace)) {
            return deny(reason);
        }
        let granted = if write {
            listed(&self.grant.write, namespace)
        } else {
            listed(&self.grant.read, namespace) || listed(&self.grant.write, namespace)
        };
        if granted {
            Ok(())
        } else {
            deny(format!(
                "`{}` is not granted {} access to the context namespace `{namespace}`",
                self.component,
                if write { "write" } else { "read" }
            ))
        }
    }

    /// The entry under `key` in `namespace` (none if absent or expired).
    pub fn get(&self, namespace: &str, key: &str) -> Result<Option<ContextEntry>, ContextFailure> {
        self.check(namespace, false)?;
        Ok(self.store.get(namespace, key)?)
    }

    /// Removes the entry under `key` in `namespace` (a write: audited with
    /// the digest and size of what was removed); `NotFound` if there was
    /// none.
    pub fn remove(&self, namespace: &str, key: &str) -> Result<(), ContextFailure> {
        self.check(namespace, true)?;
        let Some(entry) = self.store.get(namespace, key)? else {
            return Err(not_found(namespace, key));
        };
        if !self.store.remove(namespace, key)? {
            return Err(not_found(namespace, key));
        }
        self.audit
            .record_context_removal(&self.component, namespace, &entry);
        Ok(())
    }

    /// The entry under `key` in `namespace`; `NotFound` if there is none
    /// or it has expired.
    pub fn require(&self, namespace: &str, key: &str) -> Result<ContextEntry, ContextFailure> {
        self.get(namespace, key)?
            .ok_or_else(|| not_found(namespace, key))
    }

    /// Every live entry of `namespace`.
    pub fn list(&self, namespace: &str) -> Result<Vec<ContextEntry>, ContextFailure> {
        self.check(namespace, false)?;
        Ok(self.store.list(namespace)?)
    }

    /// Stores `value` under `key` in `namespace`, expiring after `ttl` if
    /// given; audited. The entry carries no data classes.
    pub fn put(
        &self,
        namespace: &str,
        key: &str,
        kind: EntryKind,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<PutReceipt, ContextFailure> {
        self.put_labelled(namespace, key, kind, value, ttl, &[])
    }

    /// [`ContextAccess::put`] of an entry labelled with `classes`: the
    /// data classes the writing run carries (a later run that reads the
    /// entry carries them too; see [`super::residency`]).
    pub fn put_labelled(
        &self,
        namespace: &str,
        key: &str,
        kind: EntryKind,
        value: &str,
        ttl: Option<Duration>,
        classes: &[String],
    ) -> Result<PutReceipt, ContextFailure> {
        self.check(namespace, true)?;
        let expires = ttl.map(warden_agent::context_store::expiry_after);
        let receipt = self
            .store
            .put_labelled(namespace, key, kind, value, expires, classes)?;
        self.audit.record_context_write(&self.component, &receipt);
        Ok(receipt)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    struct Fixture {
        _home: tempfile::TempDir,
        _ws: tempfile::TempDir,
        state: warden_agent::WorkspaceState,
        log: std::path::PathBuf,
    }

    fn fixture() -> Fixture {
        let (home, ws) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let state = warden_agent::WorkspaceState::open(home.path(), ws.path()).unwrap();
        let log = home.path().join("audit.jsonl");
        Fixture {
            _home: home,
            _ws: ws,
            state,
            log,
        }
    }

    fn access(f: &Fixture, grant: ContextGrant, ceiling: Option<&ContextCeiling>) -> ContextAccess {
        let log = warden_audit::AuditLog::open(&f.log, None).unwrap();
        ContextAccess::new(
            &f.state,
            grant,
            ceiling,
            "warden:planner",
            AuditSink::log(log),
        )
    }

    fn writer() -> ContextGrant {
        ContextGrant {
            read: vec![],
            write: vec!["notes".into()],
        }
    }

    #[test]
    fn two_sessions_share_an_entry_and_every_write_is_audited_without_its_value() {
        let f = fixture();
        let first = access(&f, writer(), None);
        first
            .put("notes", "build", EntryKind::Fact, "run `make ci`", None)
            .unwrap();
        let second = access(
            &f,
            ContextGrant {
                read: vec!["notes".into()],
                write: vec![],
            },
            None,
        );
        let got = second.get("notes", "build").unwrap().unwrap();
        assert_eq!(got.value, "run `make ci`");
        let records = warden_audit::tail(&f.log, 10).unwrap();
        let line = records.last().unwrap().to_line();
        assert!(line.contains("\"type\":\"context-write\""), "{line}");
        assert!(line.contains("\"namespace\":\"notes\""), "{line}");
        assert!(
            line.contains(&warden_core::Digest::of(b"run `make ci`").to_string()),
            "{line}"
        );
        assert!(
            !line.contains("make ci"),
            "the value is never recorded: {line}"
        );
    }

    #[test]
    fn a_component_without_the_grant_gets_a_typed_denial() {
        let f = fixture();
        let reader = access(
            &f,
            ContextGrant {
                read: vec!["notes".into()],
                write: vec![],
            },
            None,
        );
        let Err(ContextFailure::Denied(d)) = reader.put("notes", "k", EntryKind::Note, "v", None)
        else {
            panic!("a reader may not write");
        };
        assert_eq!(d.target, "context:notes");
        assert!(
            d.reason.contains("not granted write access"),
            "{}",
            d.reason
        );
        let nobody = access(&f, ContextGrant::default(), None);
        assert!(matches!(
            nobody.get("notes", "k"),
            Err(ContextFailure::Denied(_))
        ));
        // The org policy's forbid beats any grant.
        let org = warden_policy::OrgPolicy::parse("[context]\nforbid = true\n").unwrap();
        let forbidden = access(&f, writer(), org.context());
        let Err(ContextFailure::Denied(d)) =
            forbidden.put("notes", "k", EntryKind::Note, "v", None)
        else {
            panic!("forbidden by the org");
        };
        assert!(
            d.reason.contains("forbids the shared context"),
            "{}",
            d.reason
        );
        let denials = warden_audit::tail(&f.log, 10).unwrap();
        assert_eq!(
            denials
                .iter()
                .filter(|r| r.event.kind() == "denial")
                .count(),
            3
        );
    }

    #[test]
    fn the_org_cap_makes_a_namespace_full_and_an_expired_entry_is_gone() {
        let f = fixture();
        let org = warden_policy::OrgPolicy::parse("[context]\nmax_namespace = \"16\"\n").unwrap();
        let a = access(&f, writer(), org.context());
        a.put("notes", "a", EntryKind::Note, "0123456789", None)
            .unwrap();
        let Err(ContextFailure::Full(m)) = a.put("notes", "b", EntryKind::Note, "0123456789", None)
        else {
            panic!("over the org's cap");
        };
        assert!(m.contains("`notes` is full"), "{m}");
        assert_eq!(a.get("notes", "a").unwrap().unwrap().value, "0123456789");
        a.put("notes", "t", EntryKind::Note, "soon", Some(Duration::ZERO))
            .unwrap();
        assert_eq!(a.get("notes", "t").unwrap(), None);
    }

    #[test]
    fn a_removal_is_audited_and_a_missing_or_expired_entry_is_not_found() {
        let f = fixture();
        let a = access(&f, writer(), None);
        a.put("notes", "k", EntryKind::Kv, "gone soon", None)
            .unwrap();
        a.remove("notes", "k").unwrap();
        assert!(matches!(
            a.require("notes", "k"),
            Err(ContextFailure::NotFound(_))
        ));
        let Err(ContextFailure::NotFound(m)) = a.remove("notes", "k") else {
            panic!("nothing left to remove");
        };
        assert!(m.contains("no entry `k`"), "{m}");
        a.put("notes", "t", EntryKind::Note, "v", Some(Duration::ZERO))
            .unwrap();
        assert!(matches!(
            a.require("notes", "t"),
            Err(ContextFailure::NotFound(_))
        ));
        let records = warden_audit::tail(&f.log, 10).unwrap();
        let removal = records
            .iter()
            .map(|r| r.to_line())
            .find(|l| l.contains("\"removed\":true"))
            .expect("the removal is audited");
        assert!(
            removal.contains(&warden_core::Digest::of(b"gone soon").to_string()),
            "{removal}"
        );
        assert!(!removal.contains("gone soon"), "{removal}");
        // A reader may not remove.
        let reader = access(
            &f,
            ContextGrant {
                read: vec!["notes".into()],
                write: vec![],
            },
            None,
        );
        assert!(matches!(
            reader.remove("notes", "t"),
            Err(ContextFailure::Denied(_))
        ));
        // A bad namespace is `invalid`, not a denial or an I/O failure.
        let any = access(
            &f,
            ContextGrant {
                read: vec![],
                write: vec!["*".into()],
            },
            None,
        );
        assert!(matches!(
            any.put("Bad/NS", "k", EntryKind::Kv, "v", None),
            Err(ContextFailure::Invalid(_))
        ));
    }
}
