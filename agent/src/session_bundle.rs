//! Sharing a session: one signed file holding the session, its recording
//! (if any) and the digests of the components it used.
//!
//! ```json
//! {"format": "warden-session-bundle-v1",
//!  "payload": "<the bundle's content, as JSON text>",
//!  "key": "ed25519:<hex>", "sig": "<128 hex digits>"}
//! ```
//!
//! `sig` is an Ed25519 signature by `key` over
//! `warden-session-bundle-v1\nsha256=<hex of the payload bytes>\n`. Any
//! change to the payload, the key or the signature is refused on import, as
//! is a key the importer does not trust.
//!
//! Secret values given to [`export`] are replaced by `[REDACTED]` in every
//! string of the session; a recording that holds one is left out rather
//! than edited (editing would break its hash chain).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_registry::Digest;
use warden_registry::fsutil::write_atomic;
use warden_registry::keys::{PublicKey, SecretKey};

use crate::error::SessionError;
use crate::id::SessionId;
use crate::session::Session;
use crate::session_store::SessionStore;

/// The format tag, and the first line of the signed statement.
pub const FORMAT: &str = "warden-session-bundle-v1";

/// The largest bundle read.
pub const MAX_BUNDLE_BYTES: u64 = 512 << 20;

/// What a bundle carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleContent {
    /// The session.
    pub session: Session,
    /// The run's recording (JSON lines), if it had one and it held no secret.
    pub recording: Option<String>,
    /// The components the session used, by name, with their digests.
    pub components: BTreeMap<String, Digest>,
    /// Whether a recording was left out because it held a secret value.
    #[serde(default)]
    pub recording_withheld: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleFile {
    format: String,
    payload: String,
    key: String,
    sig: String,
}

/// A bundle that cannot be made, read or stored.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Not a session bundle, or not this format.
    #[error("{origin} is not a warden session bundle: {reason}")]
    Malformed {
        /// The file.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The payload or signature was changed after signing.
    #[error("{origin} was changed after it was signed by {key}: its signature does not verify")]
    BadSignature {
        /// The file.
        origin: String,
        /// The key it names.
        key: String,
    },
    /// Signed by a key the importer does not trust.
    #[error("{origin} is signed by {key}, which is not a trusted key")]
    Untrusted {
        /// The file.
        origin: String,
        /// The signer.
        key: String,
    },
    /// A session with the bundle's id is already in the store.
    #[error("session {id} already exists in this workspace; remove it first to import the bundle")]
    Exists {
        /// The id.
        id: String,
    },
    /// The session store failed.
    #[error(transparent)]
    Session(#[from] SessionError),
}

fn statement(payload: &str) -> String {
    format!(
        "{FORMAT}\nsha256={}\n",
        Digest::of(payload.as_bytes()).hex()
    )
}

fn redact_value(value: &mut Value, secrets: &[&str]) {
    match value {
        Value::String(s) => {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                if s.contains(secret) {
                    *s = s.replace(secret, "[REDACTED]");
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_value(v, secrets)),
        _ => {}
    }
}

/// Writes the bundle of session `id` of `store`, signed with `key`, with
/// every value in `secrets` redacted; returns the bundle's text.
pub fn export(
    store: &SessionStore,
    id: &str,
    key: &SecretKey,
    secrets: &[&str],
) -> Result<String, BundleError> {
    let session = store.load(id)?;
    let mut value = serde_json::to_value(&session).map_err(|e| BundleError::Malformed {
        origin: format!("session {id}"),
        reason: e.to_string(),
    })?;
    redact_value(&mut value, secrets);
    let session: Session = serde_json::from_value(value).map_err(|e| BundleError::Malformed {
        origin: format!("session {id}"),
        reason: e.to_string(),
    })?;
    let recording = std::fs::read_to_string(store.recording_path(&session.id)).ok();
    let withheld = recording
        .as_deref()
        .is_some_and(|r| secrets.iter().any(|s| !s.is_empty() && r.contains(s)));
    let content = BundleContent {
        components: session.components.clone(),
        session,
        recording: recording.filter(|_| !withheld),
        recording_withheld: withheld,
    };
    let payload = serde_json::to_string(&content).map_err(|e| BundleError::Malformed {
        origin: format!("session {id}"),
        reason: e.to_string(),
    })?;
    let sig = key.sign(statement(&payload).as_bytes());
    let file = BundleFile {
        format: FORMAT.into(),
        payload,
        key: key.public().to_string(),
        sig: sig.iter().map(|b| format!("{b:02x}")).collect(),
    };
    serde_json::to_string_pretty(&file).map_err(|e| BundleError::Malformed {
        origin: format!("session {id}"),
        reason: e.to_string(),
    })
}

/// Verifies a bundle's signature and that its key is one of `trusted`;
/// `origin` names it in errors. Returns its content and signer.
pub fn verify(
    text: &str,
    trusted: &[PublicKey],
    origin: &str,
) -> Result<(BundleContent, PublicKey), BundleError> {
    let malformed = |reason: String| BundleError::Malformed {
        origin: origin.to_string(),
        reason,
    };
    let file: BundleFile = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
    if file.format != FORMAT {
        return Err(malformed(format!(
            "format `{}` (this warden reads {FORMAT})",
            file.format
        )));
    }
    let key: PublicKey = file
        .key
        .parse()
        .map_err(|e| malformed(format!("key: {e}")))?;
    let mut sig = [0u8; 64];
    let bytes = file.sig.as_bytes();
    if bytes.len() != 128 {
        return Err(malformed("`sig` must be 128 hex digits".into()));
    }
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).ok();
        sig[i] = hex
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| malformed("`sig` must be 128 hex digits".into()))?;
    }
    if !key.verify_strict(statement(&file.payload).as_bytes(), &sig) {
        return Err(BundleError::BadSignature {
            origin: origin.to_string(),
            key: key.to_string(),
        });
    }
    if !trusted.contains(&key) {
        return Err(BundleError::Untrusted {
            origin: origin.to_string(),
            key: key.to_string(),
        });
    }
    let content: BundleContent =
        serde_json::from_str(&file.payload).map_err(|e| malformed(format!("payload: {e}")))?;
    Ok((content, key))
}

/// Stores a verified bundle's session (and recording) in `store`; refuses
/// an id the store already holds.
pub fn import(store: &SessionStore, content: &BundleContent) -> Result<SessionId, BundleError> {
    let id = content.session.id.clone();
    if store.load(id.as_str()).is_ok() {
        return Err(BundleError::Exists { id: id.to_string() });
    }
    if let Some(recording) = &content.recording {
        let path = store.recording_path(&id);
        write_atomic(&path, recording.as_bytes()).map_err(|e| SessionError::io(&path, e))?;
    }
    store.save(&content.session)?;
    Ok(id)
}
