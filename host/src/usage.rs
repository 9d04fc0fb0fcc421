//! What one call used of its grant, collected where it happens: the
//! filesystem guard (`guard::fs`) notes each granted directory something
//! was opened, created, renamed or removed in, the network policy
//! (`net.rs`) each connection it allowed and each secret it injected, the
//! environment guard (`guard::env`) a read of the environment. The result
//! ([`Usage`], bounded) goes with the call's report into its audit record
//! and the agent run's recording, and `warden policy suggest` turns it
//! into the smallest grant that would have let the call run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub use warden_audit::{DirUse, HostUse, SecretUse, Usage};

use crate::grant::Grant;

/// The usage of one call (or one instance, between calls), shared by the
/// guards of its store.
#[derive(Debug, Clone, Default)]
pub struct UsageLog(Arc<Mutex<Inner>>);

#[derive(Debug, Default)]
struct Inner {
    usage: Usage,
    /// The granted directories: host path, guest path.
    dirs: Vec<(String, String)>,
    /// The granted environment variable names.
    env: Vec<String>,
    /// Which granted directory each directory descriptor (by its handle)
    /// lies in. Entries are written by `get-directories` and `open-at`,
    /// the only two ways a guest gets a descriptor, so a reused handle is
    /// always overwritten before it is looked up.
    dir_of: HashMap<u32, usize>,
}

impl UsageLog {
    /// A log for a call under `grant`.
    pub fn new(grant: &Grant) -> UsageLog {
        UsageLog(Arc::new(Mutex::new(Inner {
            usage: Usage::default(),
            dirs: grant
                .dirs
                .iter()
                .map(|d| (d.host.to_string_lossy().into_owned(), d.guest.clone()))
                .collect(),
            env: grant.env.iter().map(|(k, _)| k.clone()).collect(),
            dir_of: HashMap::new(),
        })))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The preopened descriptor `rep` is the granted directory seen at
    /// `guest`.
    pub(crate) fn preopened(&self, rep: u32, guest: &str) {
        let mut inner = self.inner();
        if let Some(i) = inner.dirs.iter().position(|(_, g)| g == guest) {
            inner.dir_of.insert(rep, i);
        }
    }

    /// Something was opened (`opened`: its new descriptor) or changed
    /// through descriptor `base`; `write` when it was opened for writing,
    /// created, truncated, renamed or removed.
    pub(crate) fn touched(&self, base: u32, opened: Option<u32>, write: bool) {
        let mut guard = self.inner();
        let inner = &mut *guard;
        let Some(&i) = inner.dir_of.get(&base) else {
            return;
        };
        if let Some(new) = opened {
            inner.dir_of.insert(new, i);
        }
        let (host, guest) = &inner.dirs[i];
        inner.usage.add_dir(host, guest, write);
    }

    /// The guest was handed the environment.
    pub(crate) fn env_read(&self) {
        let mut inner = self.inner();
        let names = inner.env.clone();
        inner.usage.add_env(names.iter().map(String::as_str));
    }

    /// A connection was allowed.
    pub(crate) fn connected(&self, scheme: &str, host: &str, port: u16) {
        self.inner().usage.add_host(scheme, host, port);
    }

    /// Secret `name` was injected into a request to `scheme://host:port`.
    pub(crate) fn secret_sent(&self, name: &str, scheme: &str, host: &str, port: u16) {
        let to = HostUse {
            scheme: scheme.to_string(),
            host: host.to_ascii_lowercase(),
            port,
        };
        self.inner().usage.add_secret(name, to);
    }

    /// What was used so far.
    pub fn snapshot(&self) -> Usage {
        self.inner().usage.clone()
    }

    /// What was used so far, leaving the usage empty (for an instance that
    /// answers more than one call); descriptors stay known.
    pub fn take(&self) -> Usage {
        std::mem::take(&mut self.inner().usage)
    }
}
