//! Publisher keys (Ed25519).
//!
//! A publisher signs packages with a [`SecretKey`], kept in an owner-only
//! file; users trust its [`PublicKey`], written `ed25519:<64 hex digits>`.
//!
//! The secret key file is TOML:
//!
//! ```toml
//! # warden publisher secret key: anyone who can read this file can sign packages as you.
//! public-key = "ed25519:…"
//! secret-key = "ed25519-secret:<64 hex digits>"
//! ```

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::Deserialize;

use crate::error::KeyError;
use crate::fsutil::write_atomic_private;

const PUBLIC_PREFIX: &str = "ed25519:";
const SECRET_PREFIX: &str = "ed25519-secret:";
/// Largest key file `load` reads.
const MAX_KEY_FILE: u64 = 64 << 10;

/// A publisher's secret signing key. Its `Debug` shows only the public key.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new key from the system's random number generator.
    pub fn generate() -> Result<SecretKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random {
            reason: e.to_string(),
        })?;
        let key = SecretKey(SigningKey::from_bytes(&seed));
        seed.fill(0);
        Ok(key)
    }

    /// The key with this 32-byte seed (e.g. for reproducible tests).
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// Writes the key to a new file at `path`, readable only by its owner
    /// (0600 on unix). Refuses to overwrite an existing file.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        // The check and the rename are not one atomic step; the window only
        // matters if someone races to create the same file, which the
        // publisher controls.
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(KeyError::Exists {
                path: path.to_path_buf(),
            });
        }
        let text = format!(
            "# warden publisher secret key: anyone who can read this file can sign packages as you.\n\
             public-key = \"{}\"\n\
             secret-key = \"{SECRET_PREFIX}{}\"\n",
            self.public(),
            hex::encode(self.0.to_bytes())
        );
        write_atomic_private(path, text.as_bytes()).map_err(|e| KeyError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Reads a key saved by [`SecretKey::save`]. On unix, refuses a file
    /// that its group or others may read or write.
    pub fn load(path: &Path) -> Result<SecretKey, KeyError> {
        let io = |e| KeyError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let malformed = |reason: &str| KeyError::Malformed {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(malformed("not a regular file"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let mut text = String::new();
        file.take(MAX_KEY_FILE + 1)
            .read_to_string(&mut text)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    malformed("not UTF-8 text")
                } else {
                    io(e)
                }
            })?;
        if text.len() as u64 > MAX_KEY_FILE {
            return Err(malformed("larger than a key file can be"));
        }

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        struct KeyFile {
            public_key: String,
            secret_key: String,
        }
        // Only the parser's message (never the file text) goes into errors.
        let file: KeyFile = toml::from_str(&text).map_err(|e| {
            malformed(&format!(
                "expected `public-key` and `secret-key` entries: {}",
                e.message().trim_end()
            ))
        })?;
        let hex_part = file
            .secret_key
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| malformed("`secret-key` must start with `ed25519-secret:`"))?;
        let mut seed = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut seed)
            .map_err(|_| malformed("`secret-key` must be `ed25519-secret:` and 64 hex digits"))?;
        let key = SecretKey::from_seed(&seed);
        seed.fill(0);
        let public: PublicKey = file
            .public_key
            .parse()
            .map_err(|e: KeyError| malformed(&format!("`public-key`: {e}")))?;
        if public != key.public() {
            return Err(malformed(
                "`public-key` does not belong to `secret-key`; the file is corrupt or was edited",
            ));
        }
        Ok(key)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// A publisher's public key, written `ed25519:<64 lowercase hex digits>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Checks that `signature` is a valid signature of `message` by this
    /// key (strict: no malleable or weak-key signatures).
    pub fn verify_strict(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", hex::encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| KeyError::InvalidPublicKey {
            text: s.chars().take(100).collect(),
            reason: reason.to_string(),
        };
        let hex_part = s
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or_else(|| invalid("expected `ed25519:` and 64 lowercase hex digits"))?;
        if hex_part.len() != 64
            || !hex_part
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            return Err(invalid("expected `ed25519:` and 64 lowercase hex digits"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes)
            .map_err(|_| invalid("expected `ed25519:` and 64 lowercase hex digits"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| invalid("not a point on the Ed25519 curve"))?;
        if key.is_weak() {
            return Err(invalid("a weak (small-order) key, which cannot be trusted"));
        }
        Ok(PublicKey(key))
    }
}

crate::serde_as_text!(PublicKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_round_trip_through_text_and_serde() {
        let key = SecretKey::generate().expect("random").public();
        let text = key.to_string();
        assert!(
            text.starts_with("ed25519:") && text.len() == 8 + 64,
            "{text}"
        );
        assert_eq!(text.parse::<PublicKey>().expect("parse"), key);
        let json = serde_json::to_string(&key).expect("json");
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).expect("back"), key);
    }

    #[test]
    fn malformed_public_keys_say_why() {
        let good = SecretKey::from_seed(&[7; 32]).public().to_string();
        let cases = [
            ("ed25519:abcd".to_string(), "64 lowercase hex"),
            (good.replace("ed25519:", "ed448:"), "expected `ed25519:`"),
            (
                good.to_uppercase().replace("ED25519:", "ed25519:"),
                "lowercase",
            ),
            // The identity point is a small-order (weak) key.
            (format!("ed25519:01{}", "0".repeat(62)), "weak"),
        ];
        for (bad, why) in cases {
            let err = bad.parse::<PublicKey>().expect_err(&bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let seed = [0xab; 32];
        let key = SecretKey::from_seed(&seed);
        let debug = format!("{key:?}");
        assert!(!debug.contains(&hex::encode(seed)), "{debug}");
        assert!(debug.contains(&key.public().to_string()), "{debug}");
    }

    #[test]
    fn save_and_load_round_trip_owner_only_and_never_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("publisher.key");
        let key = SecretKey::generate().expect("random");
        key.save(&path).expect("save");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let loaded = SecretKey::load(&path).expect("load");
        assert_eq!(loaded.public(), key.public());
        assert_eq!(loaded.sign(b"m"), key.sign(b"m"));

        let err = SecretKey::generate()
            .expect("random")
            .save(&path)
            .expect_err("exists");
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert_eq!(
            SecretKey::load(&path).expect("unchanged").public(),
            key.public()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("publisher.key");
        SecretKey::generate()
            .expect("random")
            .save(&path)
            .expect("save");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = SecretKey::load(&path)
            .expect_err("group-readable")
            .to_string();
        assert!(
            err.contains("readable by group or others (mode 644)"),
            "{err}"
        );
        assert!(
            err.contains(&format!("chmod 600 {}", path.display())),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_key_file_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("publisher.key");
        let key = SecretKey::from_seed(&[1; 32]);
        let other = SecretKey::from_seed(&[2; 32]);
        let secret_hex = hex::encode([1u8; 32]);
        let cases = [
            (
                format!(
                    "public-key = \"{}\"\nsecret-key = \"ed25519-secret:{secret_hex}\"\n",
                    other.public()
                ),
                "does not belong",
            ),
            (
                format!("secret-key = \"ed25519-secret:{secret_hex}\"\n"),
                "missing field `public-key`",
            ),
            (
                format!(
                    "public-key = \"{}\"\nsecret-key = \"{secret_hex}\"\n",
                    key.public()
                ),
                "must start with `ed25519-secret:`",
            ),
            (secret_hex.clone(), "expected `public-key` and `secret-key`"),
        ];
        for (text, why) in cases {
            let _ = std::fs::remove_file(&path);
            crate::fsutil::write_atomic_private(&path, text.as_bytes()).expect("write");
            let err = SecretKey::load(&path).expect_err(why).to_string();
            assert!(err.contains(why), "{err}");
            assert!(!err.contains(&secret_hex), "secret echoed: {err}");
        }
    }
}
