//! One line of the log, its canonical content, hash chain link and
//! signature.

use serde::{Deserialize, Serialize};

use crate::event::*;
use crate::time::*;
use crate::*;
use warden_core::digest::Digest;
use warden_core::keys::PublicKey;

/// The [`GENESIS`] digest.
pub(crate) fn genesis() -> Digest {
    GENESIS.parse().expect("GENESIS is a well-formed digest")
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its position: 0 for the first record, then one more each.
    pub seq: u64,
    /// When it was written.
    pub time: Timestamp,
    /// The previous record's `hash` ([`GENESIS`] for seq 0).
    pub prev: Digest,
    /// SHA-256 of `seq`, `time`, `prev` and `event` (see the module docs).
    pub hash: Digest,
    /// What happened.
    pub event: AuditEvent,
    /// Ed25519 signature of [`SIGNATURE_CONTEXT`] + the 32 bytes of `hash`,
    /// as 128 lowercase hex digits; absent when the log is not signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

/// The content a record's hash covers, in this field order.
#[derive(Serialize)]
pub(crate) struct HashedContent<'a> {
    seq: u64,
    time: &'a Timestamp,
    prev: &'a Digest,
    event: &'a AuditEvent,
}

pub(crate) fn content_hash(
    seq: u64,
    time: &Timestamp,
    prev: &Digest,
    event: &AuditEvent,
) -> Digest {
    let content = HashedContent {
        seq,
        time,
        prev,
        event,
    };
    // Plain structs, strings and numbers: serializing them cannot fail.
    Digest::of(&serde_json::to_vec(&content).expect("audit content always serializes"))
}

/// The bytes a record's signature covers.
pub(crate) fn signed_message(hash: &Digest) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + 32);
    message.extend_from_slice(SIGNATURE_CONTEXT);
    message.extend_from_slice(hash.as_bytes());
    message
}

/// 128 lowercase hex digits → 64 bytes.
pub(crate) fn decode_signature(text: &str) -> Option<[u8; 64]> {
    if text.len() != 128 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut sig = [0u8; 64];
    hex::decode_to_slice(text, &mut sig).ok()?;
    Some(sig)
}

impl Record {
    /// The hash of this record's `seq`, `time`, `prev` and `event`: equal to
    /// `hash` unless the record was changed.
    pub fn compute_hash(&self) -> Digest {
        content_hash(self.seq, &self.time, &self.prev, &self.event)
    }

    /// Whether `sig` is a valid signature of `hash` by `key` (strict
    /// Ed25519). `false` when unsigned.
    pub fn verify_signature(&self, key: &PublicKey) -> bool {
        self.sig
            .as_deref()
            .and_then(decode_signature)
            .is_some_and(|sig| key.verify_strict(&signed_message(&self.hash), &sig))
    }

    /// The record as one line of the log, without the newline.
    pub fn to_line(&self) -> String {
        // Plain structs, strings and numbers: serializing them cannot fail.
        serde_json::to_string(self).expect("an audit record always serializes")
    }
}

/// Why one line of the log is not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordParseError {
    /// An empty line.
    #[error("the line is empty")]
    Empty,
    /// Not the JSON of a record.
    #[error("{reason}{}", column.map(|c| format!(" at column {c}")).unwrap_or_default())]
    Json {
        /// What the JSON parser found wrong.
        reason: String,
        /// The column where it found it, when it names one.
        column: Option<usize>,
    },
}

/// Parses one line; the error says what is wrong, by column.
pub(crate) fn parse_record(line: &[u8]) -> Result<Record, RecordParseError> {
    if line.is_empty() {
        return Err(RecordParseError::Empty);
    }
    serde_json::from_slice(line).map_err(|e| {
        // Each line is parsed alone, so the line (always 1) is left out.
        let text = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        match text.strip_suffix(&position) {
            Some(reason) if e.line() > 0 => RecordParseError::Json {
                reason: reason.to_string(),
                column: Some(e.column()),
            },
            _ => RecordParseError::Json {
                reason: text,
                column: None,
            },
        }
    })
}
