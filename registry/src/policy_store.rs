//! Where the registry keeps policy: the user's `grants.toml`, the admin
//! keys trusted to sign an org policy (`admin-keys.toml`) and the installed
//! org policy (`org-policy.toml`), all under the warden root and all changed
//! under the registry lock, atomically, with an audit record.
//!
//! An org policy is verified every time it is loaded: a policy file that
//! was edited, or whose signer is no longer trusted, stops every call
//! (fail closed) until it is replaced or removed by an admin.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::StoreError;
use crate::fsutil::write_atomic;
use crate::keys::PublicKey;
use crate::store::Registry;
use warden_audit::AuditEvent;
use warden_policy::{GrantsFile, OrgPolicy};

/// The admin keys trusted to sign org policies, `admin-keys.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminKeys {
    /// The keys, with who they belong to.
    #[serde(default, rename = "key")]
    pub keys: Vec<AdminKey>,
}

/// One trusted admin key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminKey {
    /// The public key (`ed25519:HEX`).
    pub key: PublicKey,
    /// Who holds it, for people (e.g. "Acme IT").
    #[serde(default)]
    pub label: String,
}

impl AdminKeys {
    /// The bare keys.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        self.keys.iter().map(|k| k.key).collect()
    }
}

impl Registry {
    /// The user's grants file.
    pub fn grants_file_path(&self) -> PathBuf {
        GrantsFile::path(self.root())
    }

    /// Loads the user's grants (none if the file does not exist).
    pub fn grants_file(&self) -> Result<GrantsFile, StoreError> {
        Ok(GrantsFile::load(&self.grants_file_path())?)
    }

    /// Changes the user's grants under the lock and saves them atomically.
    /// `change` returns the audit event describing the change (or `None`
    /// when nothing changed, in which case nothing is written).
    pub fn update_grants_file<R>(
        &self,
        change: impl FnOnce(&mut GrantsFile) -> Result<(R, Option<AuditEvent>), StoreError>,
    ) -> Result<R, StoreError> {
        let _lock = self.lock()?;
        let mut grants = self.grants_file()?;
        let (result, event) = change(&mut grants)?;
        if let Some(event) = event {
            grants.save(&self.grants_file_path())?;
            self.audit()?.append(event, &[])?;
        }
        Ok(result)
    }

    /// The admin keys file.
    pub fn admin_keys_path(&self) -> PathBuf {
        self.root().join("admin-keys.toml")
    }

    /// The trusted admin keys (none if the file does not exist).
    pub fn admin_keys(&self) -> Result<AdminKeys, StoreError> {
        let path = self.admin_keys_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| StoreError::Corrupt {
                path,
                reason: e.message().to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AdminKeys::default()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// Trusts `key` to sign org policies. Returns whether it was new.
    pub fn add_admin_key(&self, key: PublicKey, label: &str) -> Result<bool, StoreError> {
        let _lock = self.lock()?;
        let mut keys = self.admin_keys()?;
        if keys.keys.iter().any(|k| k.key == key) {
            return Ok(false);
        }
        keys.keys.push(AdminKey {
            key,
            label: label.to_string(),
        });
        self.save_admin_keys(&keys)?;
        self.audit()?.append(
            AuditEvent::TrustAdd {
                namespace: "(org policy admin)".into(),
                key: key.to_string(),
            },
            &[],
        )?;
        Ok(true)
    }

    /// Stops trusting `key` for org policies. Returns whether it was trusted.
    pub fn remove_admin_key(&self, key: &PublicKey) -> Result<bool, StoreError> {
        let _lock = self.lock()?;
        let mut keys = self.admin_keys()?;
        let before = keys.keys.len();
        keys.keys.retain(|k| k.key != *key);
        if keys.keys.len() == before {
            return Ok(false);
        }
        self.save_admin_keys(&keys)?;
        self.audit()?.append(
            AuditEvent::TrustRemove {
                namespace: "(org policy admin)".into(),
                key: Some(key.to_string()),
            },
            &[],
        )?;
        Ok(true)
    }

    fn save_admin_keys(&self, keys: &AdminKeys) -> Result<(), StoreError> {
        let path = self.admin_keys_path();
        let text = toml::to_string_pretty(keys).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let text = format!("# Keys trusted to sign the org policy (warden policy trust).\n{text}");
        write_atomic(&path, text.as_bytes()).map_err(|e| StoreError::io(&path, e))
    }

    /// The installed org policy file.
    pub fn org_policy_path(&self) -> PathBuf {
        self.root().join("org-policy.toml")
    }

    /// The installed org policy, verified against the trusted admin keys;
    /// `None` if none is installed. A policy that fails verification is an
    /// error: callers must refuse to run anything rather than run without it.
    pub fn org_policy(&self) -> Result<Option<OrgPolicy>, StoreError> {
        let path = self.org_policy_path();
        if !path.exists() {
            return Ok(None);
        }
        let keys = self.admin_keys()?.public_keys();
        Ok(Some(warden_policy::load_signed(&path, &keys)?))
    }

    /// Verifies `signed` (a signed org policy) against the trusted admin
    /// keys and installs it, replacing any other. Nothing is written if it
    /// does not verify.
    pub fn install_org_policy(&self, signed: &str, origin: &str) -> Result<OrgPolicy, StoreError> {
        let _lock = self.lock()?;
        let keys = self.admin_keys()?.public_keys();
        let policy = OrgPolicy::verify(signed, &keys, origin)?;
        let path = self.org_policy_path();
        write_atomic(&path, signed.as_bytes()).map_err(|e| StoreError::io(&path, e))?;
        self.audit()?.append(
            AuditEvent::PolicyChange {
                policy_digest: Digest::of(signed.as_bytes()).to_string(),
                signer: policy
                    .signed_by()
                    .map_or_else(String::new, |k| k.to_string()),
            },
            &[],
        )?;
        Ok(policy)
    }

    /// Removes the installed org policy. Returns whether there was one.
    pub fn remove_org_policy(&self) -> Result<bool, StoreError> {
        let _lock = self.lock()?;
        let path = self.org_policy_path();
        match std::fs::remove_file(&path) {
            Ok(()) => {
                crate::fsutil::sync_dir(self.root()).map_err(|e| StoreError::io(self.root(), e))?;
                self.audit()?.append(
                    AuditEvent::PolicyChange {
                        policy_digest: "(removed)".into(),
                        signer: String::new(),
                    },
                    &[],
                )?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }
}
