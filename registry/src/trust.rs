//! The trust store: which publisher keys may sign packages in which
//! namespace. A key trusted for `acme` signs nothing in `other`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrustError;
use crate::fsutil::write_atomic;
use crate::keys::PublicKey;
use crate::name::PackageName;

/// One trusted key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// The key.
    pub key: PublicKey,
    /// Who it belongs to, for people (e.g. "Acme release team").
    #[serde(default)]
    pub label: String,
}

/// Namespace → trusted keys, stored as `trust.toml` under the warden root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustStore {
    /// The trusted keys of each namespace.
    #[serde(default)]
    pub namespaces: BTreeMap<String, Vec<TrustedKey>>,
}

impl TrustStore {
    /// Loads the store from `path`; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<TrustStore, TrustError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TrustStore::default()),
            Err(e) => {
                return Err(TrustError::Io {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        toml::from_str(&text).map_err(|e| TrustError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Saves the store to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrustError> {
        let text = toml::to_string_pretty(self).map_err(|e| TrustError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        write_atomic(path, text.as_bytes()).map_err(|e| TrustError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Trusts `key` for `namespace`. Returns false if it already was.
    pub fn add(
        &mut self,
        namespace: &str,
        key: PublicKey,
        label: &str,
    ) -> Result<bool, TrustError> {
        validate_namespace(namespace)?;
        let keys = self.namespaces.entry(namespace.to_string()).or_default();
        if keys.iter().any(|k| k.key == key) {
            return Ok(false);
        }
        keys.push(TrustedKey {
            key,
            label: label.to_string(),
        });
        Ok(true)
    }

    /// Stops trusting `key` (or every key, if `None`) for `namespace`.
    /// Returns how many keys were removed.
    pub fn remove(&mut self, namespace: &str, key: Option<&PublicKey>) -> usize {
        let Some(keys) = self.namespaces.get_mut(namespace) else {
            return 0;
        };
        let before = keys.len();
        keys.retain(|k| key.is_some_and(|key| &k.key != key));
        let removed = before - keys.len();
        if keys.is_empty() {
            self.namespaces.remove(namespace);
        }
        removed
    }

    /// Checks that `key` may sign packages named `name`.
    pub fn check(&self, name: &PackageName, key: &PublicKey) -> Result<(), TrustError> {
        let trusted_here = self
            .namespaces
            .get(name.namespace())
            .is_some_and(|keys| keys.iter().any(|k| &k.key == key));
        if trusted_here {
            return Ok(());
        }
        let elsewhere: Vec<String> = self
            .namespaces
            .iter()
            .filter(|(_, keys)| keys.iter().any(|k| &k.key == key))
            .map(|(ns, _)| ns.clone())
            .collect();
        if elsewhere.is_empty() {
            Err(TrustError::Untrusted {
                package: name.to_string(),
                key: key.to_string(),
                namespace: name.namespace().to_string(),
            })
        } else {
            Err(TrustError::WrongNamespace {
                package: name.to_string(),
                key: key.to_string(),
                namespace: name.namespace().to_string(),
                trusted_for: elsewhere,
            })
        }
    }
}

fn validate_namespace(namespace: &str) -> Result<(), TrustError> {
    // A namespace is valid if `namespace:x` is a valid package name.
    format!("{namespace}:x")
        .parse::<PackageName>()
        .map(|_| ())
        .map_err(|e| TrustError::InvalidNamespace {
            namespace: namespace.to_string(),
            reason: e.reason,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    #[test]
    fn a_key_is_trusted_only_for_its_namespace() {
        let acme = SecretKey::generate().expect("key").public();
        let other = SecretKey::generate().expect("key").public();
        let mut store = TrustStore::default();
        assert!(store.add("acme", acme, "Acme").expect("valid"));
        assert!(!store.add("acme", acme, "Acme").expect("valid"));
        let grep: PackageName = "acme:grep".parse().expect("name");
        let evil: PackageName = "evil:grep".parse().expect("name");
        assert!(store.check(&grep, &acme).is_ok());
        let err = store.check(&evil, &acme).expect_err("wrong namespace");
        assert!(matches!(err, TrustError::WrongNamespace { .. }), "{err}");
        assert!(err.to_string().contains("acme"), "{err}");
        let err = store.check(&grep, &other).expect_err("untrusted");
        assert!(matches!(err, TrustError::Untrusted { .. }), "{err}");
        assert!(err.to_string().contains("warden trust add acme"), "{err}");
    }

    #[test]
    fn the_store_round_trips_and_removes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trust.toml");
        let key = SecretKey::generate().expect("key").public();
        let mut store = TrustStore::default();
        store.add("acme", key, "Acme").expect("valid");
        store.save(&path).expect("save");
        let loaded = TrustStore::load(&path).expect("load");
        assert_eq!(loaded, store);
        let mut loaded = loaded;
        assert_eq!(loaded.remove("acme", Some(&key)), 1);
        assert!(loaded.namespaces.is_empty());
        assert!(store.add("Bad_NS", key, "").is_err());
    }
}
