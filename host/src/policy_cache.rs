//! The policy layers of a long-running host (`warden mcp`), loaded once and
//! reloaded when one of their files changes.
//!
//! Each call stats the three files the layers come from (`grants.toml`,
//! `org-policy.toml`, `admin-keys.toml`); only when one of them changed (or
//! appeared, or went away) are they read, parsed and — for the org policy —
//! verified again. So `warden grant`, `warden revoke` and a new org policy
//! apply to the next call without a restart, and a call that changes
//! nothing costs three `stat`s instead of three reads and a signature check.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use warden_registry::store::Registry;

use crate::authorize::{AuthorizeError, PolicyLayers};

/// What identifies a version of a file: absent, or its length, change time
/// and inode (a rename-over replaces the inode; an edit in place changes
/// the length or the time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    Absent,
    Present {
        len: u64,
        modified: Option<SystemTime>,
        changed: i64,
        changed_ns: i64,
        inode: u64,
    },
}

fn stamp(path: &std::path::Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => Stamp::Present {
            len: m.len(),
            modified: m.modified().ok(),
            changed: m.ctime(),
            changed_ns: m.ctime_nsec(),
            inode: m.ino(),
        },
        // Unreadable metadata counts as a change every time: the load that
        // follows reports the real error.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stamp::Absent,
        Err(_) => Stamp::Present {
            len: u64::MAX,
            modified: None,
            changed: i64::MIN,
            changed_ns: 0,
            inode: 0,
        },
    }
}

/// The policy layers of one warden home, cached by file stamps.
#[derive(Debug)]
pub struct PolicyCache {
    registry: Registry,
    files: [PathBuf; 3],
    cached: Mutex<Option<([Stamp; 3], Arc<PolicyLayers>)>>,
}

impl PolicyCache {
    /// A cache of `registry`'s policy layers (nothing is read yet).
    pub fn new(registry: Registry) -> PolicyCache {
        let files = [
            registry.grants_file_path(),
            registry.org_policy_path(),
            registry.admin_keys_path(),
        ];
        PolicyCache {
            registry,
            files,
            cached: Mutex::new(None),
        }
    }

    /// The layers as the files are now: the cached ones if no file changed
    /// since they were read, else freshly loaded (and cached). A load that
    /// fails is not cached: the next call tries again.
    pub fn layers(&self) -> Result<Arc<PolicyLayers>, AuthorizeError> {
        let now = self.files.each_ref().map(|p| stamp(p));
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((stamps, layers)) = cached.as_ref()
            && *stamps == now
        {
            return Ok(layers.clone());
        }
        let layers = Arc::new(PolicyLayers::load(&self.registry)?);
        // Stamps taken before the read: a change during the read shows up
        // as a difference at the next call, which reloads.
        *cached = Some((now, layers.clone()));
        Ok(layers)
    }
}
