//! What a publisher signs: a canonical statement binding a package's name,
//! version, exact manifest bytes and component bytes.
//!
//! ```text
//! warden-package-signature-v1
//! name=acme:grep
//! version=1.2.0
//! manifest-sha256=<64 hex digits of the exact warden.toml bytes>
//! component-sha256=<64 hex digits of component.wasm>
//! ```
//!
//! The signature file, `signature.json`, names the key and repeats the two
//! digests it signed:
//!
//! ```json
//! {"version":1,"key":"ed25519:…","signature":"<128 hex digits>",
//!  "manifest-sha256":"<hex>","component-sha256":"<hex>"}
//! ```
//!
//! The repeated digests are not trusted: verification always signs over
//! the digests of the bytes actually present. They only let a failure say
//! *which* part changed after signing.

use std::fmt;

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::SignatureError;
use crate::keys::{PublicKey, SecretKey};
use crate::name::PackageName;

/// The first line of every statement; bumped if its format ever changes.
pub const STATEMENT_HEADER: &str = "warden-package-signature-v1";

/// The facts a package signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The package name (from the manifest).
    pub name: PackageName,
    /// The package version (from the manifest).
    pub version: Version,
    /// Digest of the exact `warden.toml` bytes in the package.
    pub manifest_digest: Digest,
    /// Digest of `component.wasm`.
    pub component_digest: Digest,
}

impl Statement {
    /// The statement for a package with this name, version, manifest bytes
    /// and component bytes.
    pub fn new(
        name: &PackageName,
        version: &Version,
        manifest_bytes: &[u8],
        component: &[u8],
    ) -> Statement {
        Statement {
            name: name.clone(),
            version: version.clone(),
            manifest_digest: Digest::of(manifest_bytes),
            component_digest: Digest::of(component),
        }
    }

    /// The canonical UTF-8 text that is signed.
    pub fn to_text(&self) -> String {
        format!(
            "{STATEMENT_HEADER}\nname={}\nversion={}\nmanifest-sha256={}\ncomponent-sha256={}\n",
            self.name,
            self.version,
            self.manifest_digest.hex(),
            self.component_digest.hex()
        )
    }

    fn package(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A signature over a [`Statement`], with the key that made it and the
/// digests it was made over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SignatureFile", try_from = "SignatureFile")]
pub struct Signature {
    /// The key that claims to have signed (trust is decided elsewhere).
    pub key: PublicKey,
    /// The Ed25519 signature of the statement text.
    pub sig: [u8; 64],
    /// The manifest digest that was signed.
    pub manifest_digest: Digest,
    /// The component digest that was signed.
    pub component_digest: Digest,
}

/// The JSON shape of `signature.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SignatureFile {
    version: u32,
    key: PublicKey,
    signature: String,
    manifest_sha256: String,
    component_sha256: String,
}

impl From<Signature> for SignatureFile {
    fn from(s: Signature) -> Self {
        SignatureFile {
            version: 1,
            key: s.key,
            signature: hex::encode(s.sig),
            manifest_sha256: s.manifest_digest.hex(),
            component_sha256: s.component_digest.hex(),
        }
    }
}

/// A `signature.json` whose fields are not a signature this build reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFileError {
    /// A format version other than 1.
    #[error("signature format version {found} is not supported (this warden reads version 1)")]
    Version {
        /// The version in the file.
        found: u32,
    },
    /// A `signature` that is not 64 bytes of hex.
    #[error("`signature` must be 128 hex digits")]
    Signature,
    /// A digest field that is not 64 lowercase hex digits.
    #[error("`{field}` must be 64 lowercase hex digits")]
    Digest {
        /// The field (`manifest-sha256`, `component-sha256`).
        field: &'static str,
    },
}

impl TryFrom<SignatureFile> for Signature {
    type Error = SignatureFileError;

    fn try_from(f: SignatureFile) -> Result<Self, SignatureFileError> {
        if f.version != 1 {
            return Err(SignatureFileError::Version { found: f.version });
        }
        let mut sig = [0u8; 64];
        if f.signature.len() != 128 || hex::decode_to_slice(&f.signature, &mut sig).is_err() {
            return Err(SignatureFileError::Signature);
        }
        let digest = |field: &'static str, text: &str| {
            format!("sha256:{text}")
                .parse::<Digest>()
                .map_err(|_| SignatureFileError::Digest { field })
        };
        Ok(Signature {
            key: f.key,
            sig,
            manifest_digest: digest("manifest-sha256", &f.manifest_sha256)?,
            component_digest: digest("component-sha256", &f.component_sha256)?,
        })
    }
}

impl Signature {
    /// The `signature.json` bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&SignatureFile::from(self.clone()))
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
        out.push(b'\n');
        out
    }

    /// Parses `signature.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Signature, SignatureError> {
        serde_json::from_slice(bytes).map_err(|e| SignatureError::Malformed {
            reason: e.to_string(),
        })
    }
}

/// Signs `statement` with `key`.
pub fn sign(key: &SecretKey, statement: &Statement) -> Signature {
    Signature {
        key: key.public(),
        sig: key.sign(statement.to_text().as_bytes()),
        manifest_digest: statement.manifest_digest,
        component_digest: statement.component_digest,
    }
}

/// Checks that `signature` is a valid signature of `statement` by the key it
/// names (strict Ed25519 verification). Whether that key is trusted is for
/// the caller to decide.
pub fn verify(signature: &Signature, statement: &Statement) -> Result<(), SignatureError> {
    if signature.component_digest != statement.component_digest {
        return Err(SignatureError::ComponentChanged {
            package: statement.package(),
            signed: signature.component_digest,
            found: statement.component_digest,
        });
    }
    if signature.manifest_digest != statement.manifest_digest {
        return Err(SignatureError::ManifestChanged {
            package: statement.package(),
            signed: signature.manifest_digest,
            found: statement.manifest_digest,
        });
    }
    if !signature
        .key
        .verify_strict(statement.to_text().as_bytes(), &signature.sig)
    {
        return Err(SignatureError::Invalid {
            package: statement.package(),
            key: signature.key.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> Statement {
        let name: PackageName = "acme:grep".parse().expect("name");
        Statement::new(&name, &Version::new(1, 2, 0), b"manifest", b"component")
    }

    #[test]
    fn the_statement_is_canonical_text() {
        let s = statement();
        assert_eq!(
            s.to_text(),
            format!(
                "warden-package-signature-v1\nname=acme:grep\nversion=1.2.0\nmanifest-sha256={}\ncomponent-sha256={}\n",
                Digest::of(b"manifest").hex(),
                Digest::of(b"component").hex()
            )
        );
    }

    #[test]
    fn a_signature_verifies_and_round_trips_through_json() {
        let key = SecretKey::from_seed(&[3; 32]);
        let sig = sign(&key, &statement());
        verify(&sig, &statement()).expect("verifies");
        let json = sig.to_json();
        let value: serde_json::Value = serde_json::from_slice(&json).expect("json");
        assert_eq!(value["version"], 1);
        assert_eq!(value["key"], key.public().to_string());
        assert_eq!(value["signature"].as_str().map(str::len), Some(128));
        let back = Signature::from_json(&json).expect("parse");
        assert_eq!(back, sig);
    }

    #[test]
    fn changes_are_refused_naming_what_changed() {
        let key = SecretKey::from_seed(&[3; 32]);
        let sig = sign(&key, &statement());
        let name: PackageName = "acme:grep".parse().expect("name");
        let v = Version::new(1, 2, 0);

        let other = Statement::new(&name, &v, b"manifest", b"c0mponent");
        let err = verify(&sig, &other).expect_err("component").to_string();
        assert!(
            err.starts_with("signature check failed for acme:grep@1.2.0: component.wasm"),
            "{err}"
        );

        let other = Statement::new(&name, &v, b"manifesT", b"component");
        let err = verify(&sig, &other).expect_err("manifest").to_string();
        assert!(
            err.contains("warden.toml is not the signed manifest"),
            "{err}"
        );

        // Same digests, another version: only the signature itself can tell.
        let other = Statement::new(&name, &Version::new(1, 2, 1), b"manifest", b"component");
        let err = verify(&sig, &other).expect_err("version").to_string();
        assert!(err.contains("is not a valid signature by"), "{err}");

        let mut flipped = sig.clone();
        flipped.sig[10] ^= 1;
        let err = verify(&flipped, &statement())
            .expect_err("flipped")
            .to_string();
        assert!(err.contains("is not a valid signature by"), "{err}");

        let mut swapped = sig.clone();
        swapped.key = SecretKey::from_seed(&[4; 32]).public();
        let err = verify(&swapped, &statement())
            .expect_err("swapped")
            .to_string();
        assert!(
            err.contains(&format!("not a valid signature by {}", swapped.key)),
            "{err}"
        );
    }

    #[test]
    fn malformed_signature_files_say_why() {
        let sig = sign(&SecretKey::from_seed(&[3; 32]), &statement());
        let good: serde_json::Value = serde_json::from_slice(&sig.to_json()).expect("json");
        let edit = |field: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[field] = value;
            serde_json::to_vec(&v).expect("json")
        };
        let cases = [
            (
                edit("version", 2.into()),
                "format version 2 is not supported",
            ),
            (
                edit("signature", "abcd".into()),
                "`signature` must be 128 hex digits",
            ),
            (edit("key", "ed25519:zz".into()), "invalid public key"),
            (
                edit("component-sha256", "xyz".into()),
                "`component-sha256` must be",
            ),
            (edit("extra", 1.into()), "unknown field `extra`"),
            (b"not json".to_vec(), "signature.json is malformed"),
        ];
        for (bytes, why) in cases {
            let err = Signature::from_json(&bytes).expect_err(why).to_string();
            assert!(
                err.contains(why) && err.starts_with("signature.json is malformed"),
                "{err}"
            );
        }
    }
}
