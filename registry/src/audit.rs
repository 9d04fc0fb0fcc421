//! The audit log: one tamper-evident record per decision warden makes
//! (install, grant, call, denial, ...), in `$WARDEN_HOME/audit.jsonl`.
//!
//! # Format
//!
//! The log is JSON Lines: one record per line, each line ended by `\n`,
//! appended and never rewritten:
//!
//! ```json
//! {"seq":12,"time":"2026-11-24T14:03:05.123Z","prev":"sha256:<hex>","hash":"sha256:<hex>","event":{"type":"call",...},"sig":"<hex>"}
//! ```
//!
//! - `seq` counts records from 0, one by one.
//! - `time` is when the record was written: RFC 3339, UTC, milliseconds.
//! - `prev` is the `hash` of the record before it; for seq 0 it is [`GENESIS`]
//!   (`sha256:` and 64 zeros).
//! - `hash` is the SHA-256 of the record's *canonical content*: the JSON
//!   object `{"seq":…,"time":…,"prev":…,"event":…}`, fields in that order,
//!   no spaces, as [`serde_json`] writes it. Every record line is itself
//!   canonical, so the content is the line with `"hash":"sha256:<hex>",` and
//!   a trailing `,"sig":"<hex>"` cut out; anyone can check a line without
//!   warden:
//!
//!   ```sh
//!   line=$(sed -n 7p audit.jsonl)
//!   printf '%s' "$line" \
//!     | sed -E 's/"hash":"sha256:[0-9a-f]{64}",//; s/,"sig":"[0-9a-f]{128}"\}$/}/' \
//!     | sha256sum
//!   ```
//! - `event` is an [`AuditEvent`]: an object whose `type` says what happened
//!   (`install`, `call`, `denial`, ...). Its fields are fixed per type and
//!   serialized in declaration order, so the bytes are deterministic.
//! - `sig`, present when the log is written with a signing key, is the
//!   Ed25519 signature (128 hex digits) of [`SIGNATURE_CONTEXT`] followed by
//!   the 32 raw bytes of `hash`. The context string keeps a signature made
//!   for the audit log from being valid for anything else the same key
//!   signs.
//!
//! # Guarantees
//!
//! - **Edits are evident.** Changing any byte of a record breaks its hash;
//!   re-computing the hash breaks the next record's `prev`; deleting,
//!   copying or reordering records breaks the `seq` count. [`verify`] reads
//!   the whole log and names the line and seq of each problem
//!   (`line 7 (seq 6): the record was edited: its hash does not match its
//!   contents`).
//! - **Forgery needs the key.** Without a signing key, someone who can write
//!   the file can rebuild the whole chain after an edit; the chain then
//!   proves integrity only up to a head hash kept elsewhere (see
//!   [`VerifyReport::head`]). With a key, rebuilt records fail their
//!   signatures. Neither detects the *last* records being cut off unless the
//!   head (its seq and hash) was noted elsewhere.
//! - **Appends are serialized and durable.** [`AuditLog::append`] holds an
//!   exclusive lock on the sibling lock file ([`lock_path`]) across
//!   processes and threads, reads only the end of the log for the previous
//!   record, writes the new line with a single `write_all` to a file opened
//!   for appending, and calls `fdatasync` before returning.
//! - **A crash leaves at most a torn last line**, which [`verify`] reports
//!   and `append` refuses to write after ([`AuditError::TornTail`]) instead
//!   of burying it; [`repair_torn_tail`] moves it to a side file, explicitly.
//! - **Secrets are kept out.** Tool arguments are recorded only as a digest
//!   ([`argument_digest`]), and `append` replaces every given secret value
//!   in every string of the event with `[REDACTED]` before hashing
//!   ([`redact`]).
//!
//! The log is created owner-only (0600 on unix). It is never rotated by
//! warden: a rotated-away start shows up as missing records in [`verify`].
//!
//! # Example
//!
//! ```
//! use warden_registry::audit::{self, AuditEvent, AuditLog};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("audit.jsonl");
//! let log = AuditLog::open(&path, None)?;
//! log.append(
//!     AuditEvent::Grant {
//!         package: "acme:grep".into(),
//!         capabilities: vec!["read /home/me/src".into()],
//!     },
//!     &[],
//! )?;
//! let report = audit::verify(&path, None)?;
//! assert!(report.is_intact(), "{:?}", report.problems);
//! assert_eq!(report.records, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::Digest;
use crate::error::AuditError;
use crate::fsutil::sync_dir;
use crate::keys::{PublicKey, SecretKey};

/// The `prev` of the first record (seq 0): `sha256:` and 64 zeros.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// What a signature covers, before the 32 bytes of the record's hash.
pub const SIGNATURE_CONTEXT: &[u8] = b"warden-audit-record-v1\n";

/// What [`redact`] puts in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// The longest record line (without its newline), 1 MiB. `append` refuses
/// bigger events; readers report longer lines as damage rather than load
/// them.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The longest string field of a record, in bytes. `append` cuts longer
/// ones (a denial's target or reason comes from a component and may be any
/// size) and marks the cut with the full length and digest ([`bound_field`]),
/// so every event fits in a line and none is dropped.
pub const MAX_FIELD_BYTES: usize = 16 << 10;

/// How much is read at a time when reading backwards from the end.
const CHUNK: u64 = 64 << 10;

/// [`verify`] lists at most this many problems and counts the rest.
const MAX_PROBLEMS: usize = 10_000;

/// 9999-12-31T23:59:59.999Z, in milliseconds since 1970.
const MAX_MILLIS: u64 = 253_402_300_800_000 - 1;

/// How many bytes of a torn line [`RepairedTail::fragment`] shows.
const FRAGMENT_PREVIEW: usize = 1024;

/// The [`GENESIS`] digest.
fn genesis() -> Digest {
    GENESIS.parse().expect("GENESIS is a well-formed digest")
}

/// The digest recorded for a tool call's arguments (`sha256:<hex>` of their
/// bytes), so that the arguments themselves never reach the log.
pub fn argument_digest(arguments: &str) -> String {
    Digest::of(arguments.as_bytes()).to_string()
}

/// `text` with every occurrence of each non-empty secret replaced by
/// `[REDACTED]`.
///
/// Occurrences that overlap or touch another secret's are replaced as one
/// run, so no byte of any occurrence survives (replacing secrets one after
/// the other could leave part of one that overlaps another).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let step = secret.chars().next().map_or(1, char::len_utf8);
        let mut from = 0;
        while let Some(i) = text[from..].find(secret) {
            let start = from + i;
            spans.push((start, start + secret.len()));
            // Overlapping occurrences too (`aa` in `aaa`); `step` keeps
            // `from` on a character boundary.
            from = start + step;
        }
    }
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut spans = spans.into_iter().peekable();
    while let Some((start, mut end)) = spans.next() {
        while let Some(&(next_start, next_end)) = spans.peek() {
            if next_start > end {
                break;
            }
            end = end.max(next_end);
            spans.next();
        }
        out.push_str(&text[done..start]);
        out.push_str(REDACTED);
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// `text` cut to at most [`MAX_FIELD_BYTES`] (on a character boundary) and
/// ended with `…[truncated: N bytes, sha256:…]`, the full length and the
/// digest of the whole text, when it is longer; otherwise `text` as is.
pub fn bound_field(text: &str) -> Option<String> {
    if text.len() <= MAX_FIELD_BYTES {
        return None;
    }
    let marker = format!(
        "…[truncated: {} bytes, {}]",
        text.len(),
        Digest::of(text.as_bytes())
    );
    let mut keep = MAX_FIELD_BYTES.saturating_sub(marker.len());
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    Some(format!("{}{marker}", &text[..keep]))
}

/// A record's time: whole milliseconds, UTC, from 1970 to the end of 9999,
/// written as RFC 3339 (`2026-11-24T14:03:05.123Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: u64,
}

impl Timestamp {
    /// The current time, to the millisecond (rounded down).
    pub fn now() -> Result<Timestamp, AuditError> {
        let now = SystemTime::now();
        Timestamp::from_system_time(now).ok_or_else(|| AuditError::Clock {
            reason: match now.duration_since(UNIX_EPOCH) {
                Err(e) => format!("{} s before 1970", e.duration().as_secs()),
                Ok(d) => format!("{} s after 1970, past the year 9999", d.as_secs()),
            },
        })
    }

    /// `time`, rounded down to the millisecond; `None` before 1970 or after
    /// 9999.
    pub fn from_system_time(time: SystemTime) -> Option<Timestamp> {
        let since = time.duration_since(UNIX_EPOCH).ok()?;
        Timestamp::from_unix_millis(u64::try_from(since.as_millis()).ok()?)
    }

    /// The time `millis` milliseconds after 1970-01-01T00:00:00Z; `None`
    /// after 9999.
    pub fn from_unix_millis(millis: u64) -> Option<Timestamp> {
        (millis <= MAX_MILLIS).then_some(Timestamp { millis })
    }

    /// Parses RFC 3339 UTC (`2026-11-24T14:03:05.123Z`); digits past the
    /// millisecond are dropped.
    pub fn parse(text: &str) -> Option<Timestamp> {
        Timestamp::from_system_time(humantime::parse_rfc3339(text).ok()?)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn unix_millis(&self) -> u64 {
        self.millis
    }

    /// As a [`SystemTime`].
    pub fn system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.millis)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // In range by construction, so humantime never fails here.
        write!(
            f,
            "{}",
            humantime::format_rfc3339_millis(self.system_time())
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(
                "`time` is not an RFC 3339 UTC time from 1970 to 9999 \
                 (like 2026-11-24T14:03:05.123Z)",
            )
        })
    }
}

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
}

impl AuditEvent {
    /// The event's `type`: `install`, `upgrade`, `remove`, `trust-add`,
    /// `trust-remove`, `grant`, `revoke`, `policy-change`, `call` or
    /// `denial`.
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
            } => vec![component, digest, function, argument_digest, outcome],
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
        }
    }

    /// Refuses what JSON cannot hold faithfully.
    fn check(&self) -> Result<(), AuditError> {
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
struct HashedContent<'a> {
    seq: u64,
    time: &'a Timestamp,
    prev: &'a Digest,
    event: &'a AuditEvent,
}

fn content_hash(seq: u64, time: &Timestamp, prev: &Digest, event: &AuditEvent) -> Digest {
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
fn signed_message(hash: &Digest) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + 32);
    message.extend_from_slice(SIGNATURE_CONTEXT);
    message.extend_from_slice(hash.as_bytes());
    message
}

/// 128 lowercase hex digits → 64 bytes.
fn decode_signature(text: &str) -> Option<[u8; 64]> {
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

/// Parses one line; the error says what is wrong, by column.
fn parse_record(line: &[u8]) -> Result<Record, String> {
    if line.is_empty() {
        return Err("the line is empty".into());
    }
    serde_json::from_slice(line).map_err(|e| {
        // Each line is parsed alone, so serde's "line 1" would mislead.
        e.to_string().replace(" at line 1 column ", " at column ")
    })
}

/// The lock file next to the log (`audit.jsonl` → `audit.lock`), held
/// exclusively by every append and repair.
pub fn lock_path(log: &Path) -> PathBuf {
    log.with_extension("lock")
}

/// Options that create files owner-only.
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Takes the log's exclusive lock, waiting for other holders; released
/// when the returned file is dropped. Each call opens its own handle, so
/// threads of one process exclude each other as processes do.
fn lock(log: &Path) -> Result<File, AuditError> {
    let path = lock_path(log);
    let file = private_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| AuditError::io(&path, e))?;
    file.lock().map_err(|e| AuditError::io(&path, e))?;
    Ok(file)
}

/// Opens the log for reading, with its length at a moment no append was
/// in progress: readers read only that far, so a line being appended as
/// they read is never mistaken for a torn one. The shared lock is held only
/// while the length is taken, and only if the lock file exists (reading a
/// copy of a log elsewhere creates nothing next to it).
fn open_snapshot(path: &Path) -> Result<(File, u64), AuditError> {
    let io = |e| AuditError::io(path, e);
    let file = File::open(path).map_err(io)?;
    let lock = File::open(lock_path(path)).ok();
    if let Some(lock) = &lock {
        // Best effort: without the lock, a concurrent append may show as a
        // torn last line, which a second look clears.
        let _ = lock.lock_shared();
    }
    let len = file.metadata().map_err(io)?.len();
    drop(lock);
    Ok((file, len))
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Reads `buf.len()` bytes at `offset`.
fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// The number of newlines in the first `end` bytes (so the 1-based line
/// number of the line starting at `end` is this plus one). Reads from the
/// start: used only to name a line in an error.
fn newlines_before(file: &mut File, end: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(CHUNK as usize, file.take(end));
    let mut count = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}

/// The offset of the last newline before `end`, reading backwards.
fn last_newline_before(file: &mut File, end: u64) -> io::Result<Option<u64>> {
    let mut pos = end;
    let mut buf = vec![0u8; CHUNK as usize];
    while pos > 0 {
        let n = CHUNK.min(pos);
        pos -= n;
        let chunk = &mut buf[..n as usize];
        read_at(file, pos, chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(pos + i as u64));
        }
    }
    Ok(None)
}

/// The end of the log's last complete line: `Ok(end)` where `end` is the
/// offset of its newline (or 0 when the file is empty), or `Err(start)`
/// when the file ends with a torn line starting at `start`.
fn complete_end(file: &mut File, len: u64) -> io::Result<Result<u64, u64>> {
    if len == 0 {
        return Ok(Ok(0));
    }
    let mut last = [0u8];
    read_at(file, len - 1, &mut last)?;
    if last[0] == b'\n' {
        return Ok(Ok(len - 1));
    }
    Ok(Err(last_newline_before(file, len)?.map_or(0, |p| p + 1)))
}

/// What [`ReverseLines::prev`] found.
enum Prev {
    /// A line (without its newline) and its offset.
    Line(u64, Vec<u8>),
    /// A line longer than [`MAX_LINE_BYTES`], ending at this offset.
    TooLong(u64),
    /// The start of the file.
    Start,
}

/// Reads the lines of `[0, end)` backwards, a chunk at a time. `end` must
/// be a line end (the offset of a newline, or 0).
struct ReverseLines<'a> {
    file: &'a mut File,
    /// Bytes `[start, start + buf.len())`, not yet returned.
    buf: Vec<u8>,
    start: u64,
    exhausted: bool,
}

impl<'a> ReverseLines<'a> {
    fn new(file: &'a mut File, end: u64) -> ReverseLines<'a> {
        ReverseLines {
            file,
            buf: Vec::new(),
            start: end,
            exhausted: false,
        }
    }

    fn prev(&mut self) -> io::Result<Prev> {
        if self.exhausted {
            return Ok(Prev::Start);
        }
        loop {
            if let Some(i) = self.buf.iter().rposition(|&b| b == b'\n') {
                let line = self.buf[i + 1..].to_vec();
                self.buf.truncate(i);
                return Ok(Prev::Line(self.start + i as u64 + 1, line));
            }
            if self.buf.len() > MAX_LINE_BYTES {
                self.exhausted = true;
                return Ok(Prev::TooLong(self.start + self.buf.len() as u64));
            }
            if self.start == 0 {
                self.exhausted = true;
                return Ok(Prev::Line(0, std::mem::take(&mut self.buf)));
            }
            let n = CHUNK.min(self.start);
            let mut chunk = vec![0u8; n as usize];
            read_at(self.file, self.start - n, &mut chunk)?;
            chunk.extend_from_slice(&self.buf);
            self.buf = chunk;
            self.start -= n;
        }
    }
}

/// One line read forwards by [`read_line`].
struct LineRead {
    /// Whether it ended with a newline (only the last line may not).
    terminated: bool,
    /// Its length without the newline; only the first
    /// `MAX_LINE_BYTES + 1` bytes are kept.
    len: u64,
}

impl LineRead {
    fn too_long(&self) -> bool {
        self.len > MAX_LINE_BYTES as u64
    }
}

/// Reads the next line into `buf` (without its newline), keeping at most
/// `MAX_LINE_BYTES + 1` bytes of it; `None` at the end of the file.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<LineRead>> {
    buf.clear();
    let mut len = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((len > 0).then_some(LineRead {
                terminated: false,
                len,
            }));
        }
        let (take, found) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&available[..take.min(room)]);
        len += take as u64;
        reader.consume(take + usize::from(found));
        if found {
            return Ok(Some(LineRead {
                terminated: true,
                len,
            }));
        }
    }
}

/// An audit log open for appending.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    signer: Option<SecretKey>,
}

impl AuditLog {
    /// The log at `path` (`$WARDEN_HOME/audit.jsonl`), created owner-only if
    /// missing (with its parent directory). With a `signer`, every record
    /// appended is signed with it.
    pub fn open(path: impl AsRef<Path>, signer: Option<SecretKey>) -> Result<AuditLog, AuditError> {
        let path = path.as_ref().to_path_buf();
        let dir = parent_dir(&path);
        std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        let existed = path.exists();
        private_options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| AuditError::io(&path, e))?;
        if !existed {
            sync_dir(dir).map_err(|e| AuditError::io(dir, e))?;
        }
        Ok(AuditLog { path, signer })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public key of the signer, if records are signed.
    pub fn signer(&self) -> Option<PublicKey> {
        self.signer.as_ref().map(SecretKey::public)
    }

    /// Appends one record for `event` and returns it, once it is on disk.
    ///
    /// Every occurrence of each value in `redact` (the secret values in play,
    /// e.g. those granted to the component) is replaced by `[REDACTED]` in
    /// every string of the event first, so a secret passed by mistake never
    /// reaches the log. Then every string longer than [`MAX_FIELD_BYTES`] is
    /// cut and marked with its full length and digest ([`bound_field`]), so
    /// no event a component can influence (a denial's target and reason) is
    /// too big to record.
    ///
    /// Takes the exclusive lock; reads only the end of the log to chain onto
    /// its last record; writes the line with one `write_all` to the file
    /// opened for appending and syncs it (`sync_data`). If the write or sync fails, the log is cut
    /// back to its previous length and the error returned. Refuses to append
    /// after a torn last line ([`AuditError::TornTail`]) or an unreadable
    /// last record ([`AuditError::Corrupt`]).
    pub fn append(&self, event: AuditEvent, redact: &[&str]) -> Result<Record, AuditError> {
        let event = event.redacted(redact).bounded();
        event.check()?;
        let path = &self.path;
        let io = |e| AuditError::io(path, e);

        let _lock = lock(path)?;
        let mut file = private_options()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let (seq, prev) = match last_record(&mut file, path, len)? {
            None => (0, genesis()),
            Some(last) => match last.seq.checked_add(1) {
                Some(seq) => (seq, last.hash),
                None => {
                    return Err(AuditError::Corrupt {
                        path: path.clone(),
                        // The log ends with a newline: one per line.
                        line_no: newlines_before(&mut file, len).map_err(io)?,
                        reason: "its seq is the largest possible".into(),
                    });
                }
            },
        };
        let time = Timestamp::now()?;
        let hash = content_hash(seq, &time, &prev, &event);
        let sig = self
            .signer
            .as_ref()
            .map(|key| hex::encode(key.sign(&signed_message(&hash))));
        let record = Record {
            seq,
            time,
            prev,
            hash,
            event,
            sig,
        };
        let mut line = record.to_line();
        if line.len() > MAX_LINE_BYTES {
            return Err(AuditError::InvalidEvent {
                event: record.event.kind().to_string(),
                reason: format!(
                    "its record would be {} bytes, over the limit of {MAX_LINE_BYTES}",
                    line.len()
                ),
            });
        }
        line.push('\n');
        if let Err(e) = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
        {
            // Leave no torn line behind (best effort: if this fails too,
            // verify reports the torn line and repair moves it aside).
            let _ = file.set_len(len).and_then(|()| file.sync_data());
            return Err(io(e));
        }
        if len == 0 {
            let dir = parent_dir(path);
            sync_dir(dir).map_err(|e| AuditError::io(dir, e))?;
        }
        Ok(record)
    }
}

/// The last record of the log (`None` if empty), reading only its end.
fn last_record(file: &mut File, path: &Path, len: u64) -> Result<Option<Record>, AuditError> {
    let io = |e| AuditError::io(path, e);
    let end = match complete_end(file, len).map_err(io)? {
        Ok(end) => end,
        Err(start) => {
            return Err(AuditError::TornTail {
                path: path.to_path_buf(),
                line_no: newlines_before(file, start).map_err(io)? + 1,
                bytes: len - start,
            });
        }
    };
    if len == 0 {
        return Ok(None);
    }
    let corrupt = |file: &mut File, at: u64, reason: String| -> AuditError {
        match newlines_before(file, at) {
            Ok(n) => AuditError::Corrupt {
                path: path.to_path_buf(),
                line_no: n + 1,
                reason,
            },
            Err(e) => AuditError::io(path, e),
        }
    };
    let mut lines = ReverseLines::new(file, end);
    match lines.prev().map_err(io)? {
        Prev::Line(offset, bytes) => match parse_record(&bytes) {
            Ok(record) => Ok(Some(record)),
            Err(reason) => Err(corrupt(file, offset, reason)),
        },
        Prev::TooLong(end) => Err(corrupt(
            file,
            end,
            format!("the line is longer than {MAX_LINE_BYTES} bytes"),
        )),
        Prev::Start => Ok(None),
    }
}

/// The last `n` complete records, oldest first, reading only the end of the
/// log. A torn last line is not a record and is skipped (see [`verify`]).
/// Does not check hashes or the chain.
pub fn tail(path: &Path, n: usize) -> Result<Vec<Record>, AuditError> {
    let io = |e| AuditError::io(path, e);
    let (mut file, len) = open_snapshot(path)?;
    let end = match complete_end(&mut file, len).map_err(io)? {
        Ok(end) => end,
        // The line before the torn one ends at `start - 1`.
        Err(0) => return Ok(Vec::new()),
        Err(start) => start - 1,
    };
    if len == 0 || n == 0 {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut damaged = None;
    {
        let mut lines = ReverseLines::new(&mut file, end);
        while found.len() < n {
            match lines.prev().map_err(io)? {
                Prev::Start => break,
                Prev::Line(offset, bytes) => match parse_record(&bytes) {
                    Ok(record) => found.push(record),
                    Err(reason) => {
                        damaged = Some((offset, reason));
                        break;
                    }
                },
                Prev::TooLong(end) => {
                    damaged = Some((
                        end,
                        format!("the line is longer than {MAX_LINE_BYTES} bytes"),
                    ));
                    break;
                }
            }
        }
    }
    if let Some((at, reason)) = damaged {
        return Err(AuditError::Corrupt {
            path: path.to_path_buf(),
            line_no: newlines_before(&mut file, at).map_err(io)? + 1,
            reason,
        });
    }
    found.reverse();
    Ok(found)
}

/// The records written at or after `since`, oldest first, read lazily
/// from the start of the log. Does not check hashes or the chain: run
/// [`verify`] for that. Yields an error for a damaged line and then goes on
/// with the next; a torn last line ends the iteration (see
/// [`Export::torn_tail`]).
pub fn export(path: &Path, since: SystemTime) -> Result<Export, AuditError> {
    let (file, len) = open_snapshot(path)?;
    Ok(Export {
        reader: BufReader::with_capacity(CHUNK as usize, file.take(len)),
        path: path.to_path_buf(),
        since,
        line_no: 0,
        buf: Vec::new(),
        done: false,
        torn: false,
    })
}

/// The iterator [`export`] returns.
#[derive(Debug)]
pub struct Export {
    reader: BufReader<io::Take<File>>,
    path: PathBuf,
    since: SystemTime,
    line_no: u64,
    buf: Vec<u8>,
    done: bool,
    torn: bool,
}

impl Export {
    /// Whether the iteration stopped at a torn last line (an interrupted
    /// write), which was not returned.
    pub fn torn_tail(&self) -> bool {
        self.torn
    }
}

impl Iterator for Export {
    type Item = Result<Record, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = match read_line(&mut self.reader, &mut self.buf) {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    self.done = true;
                    return Some(Err(AuditError::io(&self.path, e)));
                }
            };
            self.line_no += 1;
            if !line.terminated {
                self.torn = true;
                break;
            }
            let corrupt = |reason| {
                Some(Err(AuditError::Corrupt {
                    path: self.path.clone(),
                    line_no: self.line_no,
                    reason,
                }))
            };
            if line.too_long() {
                return corrupt(format!("the line is longer than {MAX_LINE_BYTES} bytes"));
            }
            match parse_record(&self.buf) {
                Err(reason) => return corrupt(reason),
                Ok(record) if record.time.system_time() >= self.since => return Some(Ok(record)),
                Ok(_) => {}
            }
        }
        self.done = true;
        None
    }
}

/// What kind of problem [`verify`] found on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditProblemKind {
    /// Not a JSON record of the expected shape (or longer than
    /// [`MAX_LINE_BYTES`]).
    Malformed,
    /// The record's hash does not match its contents.
    Edited,
    /// The hash matches, but the line's bytes are not the ones warden writes
    /// (an added field, changed spacing or escapes).
    NotCanonical,
    /// The seq is right but `prev` is not the previous record's hash.
    ChainBroken,
    /// Records are missing before this line (a seq gap).
    Missing,
    /// A record out of order: moved, copied or replayed.
    OutOfOrder,
    /// A signature that does not verify with the given key.
    BadSignature,
    /// No signature, though a key was given.
    Unsigned,
    /// The last line is incomplete: an interrupted write.
    TornTail,
}

/// One problem found by [`verify`]. Its `Display` says where and what:
/// `line 7 (seq 6): the record was edited: its hash does not match its
/// contents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditProblem {
    /// The 1-based line number in the file.
    pub line_no: u64,
    /// The line's seq, when it could be read.
    pub seq: Option<u64>,
    /// What kind of problem.
    pub kind: AuditProblemKind,
    /// What is wrong, in words.
    pub detail: String,
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "line {} (seq {seq}): {}", self.line_no, self.detail),
            None => write!(f, "line {}: {}", self.line_no, self.detail),
        }
    }
}

/// The newest record of a log: note it somewhere else to be able to tell
/// later that nothing up to it was rewritten or cut off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub hash: Digest,
    /// Its 1-based line number.
    pub line_no: u64,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The number of lines that are well-formed records (whether or not they
    /// passed every check).
    pub records: u64,
    /// How many of them carry a signature (checked only when a key is
    /// given).
    pub signed_records: u64,
    /// Every problem, in line order (at most 10,000; see
    /// `omitted_problems`).
    pub problems: Vec<AuditProblem>,
    /// Problems found beyond those listed.
    pub omitted_problems: u64,
    /// Whether the last line is incomplete (also listed in `problems`).
    pub torn_tail: bool,
    /// The record with the highest seq, if any.
    pub head: Option<ChainHead>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty() && self.omitted_problems == 0
    }
}

/// Checks the whole log at `path`: every line a well-formed, canonical
/// record whose hash matches its contents; seqs counting up from 0 with no
/// gap, copy or reordering; each `prev` the previous record's hash; with
/// `key`, every record signed by it; and no torn last line.
///
/// Damage is reported in the [`VerifyReport`], one problem per finding,
/// naming the line and seq; the error is only for a log that cannot be read
/// (a missing file included: [`AuditLog::open`] creates it, so a missing
/// log was removed).
pub fn verify(path: &Path, key: Option<&PublicKey>) -> Result<VerifyReport, AuditError> {
    let (file, len) = open_snapshot(path)?;
    let reader = BufReader::with_capacity(CHUNK as usize, file.take(len));
    verify_reader(reader, key).map_err(|e| AuditError::io(path, e))
}

/// [`verify`] for a log held in memory (a copy, an export, or a fuzzer's
/// input): the same checks and the same report, with no file to fail.
pub fn verify_bytes(log: &[u8], key: Option<&PublicKey>) -> VerifyReport {
    let mut reader = log;
    let mut checker = Checker::new(key);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    // Reading a slice cannot fail.
    while let Ok(Some(line)) = read_line(&mut reader, &mut buf) {
        line_no += 1;
        checker.line(line_no, &line, &buf);
    }
    checker.finish()
}

/// The lines of `reader`, checked (see [`verify`]).
fn verify_reader(mut reader: impl BufRead, key: Option<&PublicKey>) -> io::Result<VerifyReport> {
    let mut checker = Checker::new(key);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    while let Some(line) = read_line(&mut reader, &mut buf)? {
        line_no += 1;
        checker.line(line_no, &line, &buf);
    }
    Ok(checker.finish())
}

/// A run of missing seqs found by [`verify`].
struct Gap {
    /// The last missing seq (the first is the map key).
    to: u64,
    /// The line after the gap.
    line_no: u64,
    /// Its problem's index, if listed.
    problem: Option<usize>,
    /// Seqs of the gap found later in the file, and the first line of one.
    moved: BTreeSet<u64>,
    first_moved_line: u64,
}

/// The state of [`verify`] between lines.
struct Checker<'k> {
    key: Option<&'k PublicKey>,
    report: VerifyReport,
    /// Malformed lines since the highest record: they may be the records
    /// a seq jump skips.
    malformed_since_head: u64,
    /// Gaps by first missing seq.
    gaps: BTreeMap<u64, Gap>,
}

impl<'k> Checker<'k> {
    fn new(key: Option<&'k PublicKey>) -> Checker<'k> {
        Checker {
            key,
            report: VerifyReport {
                records: 0,
                signed_records: 0,
                problems: Vec::new(),
                omitted_problems: 0,
                torn_tail: false,
                head: None,
            },
            malformed_since_head: 0,
            gaps: BTreeMap::new(),
        }
    }

    fn problem(
        &mut self,
        line_no: u64,
        seq: Option<u64>,
        kind: AuditProblemKind,
        detail: String,
    ) -> Option<usize> {
        if self.report.problems.len() >= MAX_PROBLEMS {
            self.report.omitted_problems += 1;
            return None;
        }
        self.report.problems.push(AuditProblem {
            line_no,
            seq,
            kind,
            detail,
        });
        Some(self.report.problems.len() - 1)
    }

    fn malformed(&mut self, line_no: u64, seq: Option<u64>, reason: String) {
        self.malformed_since_head += 1;
        self.problem(
            line_no,
            seq,
            AuditProblemKind::Malformed,
            format!("the line is not a valid audit record: {reason}"),
        );
    }

    /// Checks one line read by [`read_line`] (`buf` holds its bytes).
    fn line(&mut self, line_no: u64, line: &LineRead, buf: &[u8]) {
        if !line.terminated {
            self.report.torn_tail = true;
            self.problem(
                line_no,
                None,
                AuditProblemKind::TornTail,
                format!(
                    "the last line is incomplete ({} bytes without a newline): a write was \
                     interrupted (a crash or a full disk); it does not affect the lines before \
                     it. Appends are refused until it is moved aside to a side file with \
                     `warden audit repair`",
                    line.len
                ),
            );
        } else if line.too_long() {
            self.malformed(
                line_no,
                None,
                format!("the line is longer than {MAX_LINE_BYTES} bytes"),
            );
        } else {
            self.check_line(line_no, buf);
        }
    }

    fn check_line(&mut self, line_no: u64, line: &[u8]) {
        let record = match parse_record(line) {
            Ok(record) => record,
            Err(reason) => {
                // Name the seq if the line is JSON with one.
                let seq = serde_json::from_slice::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("seq")?.as_u64());
                return self.malformed(line_no, seq, reason);
            }
        };
        self.report.records += 1;
        if record.sig.is_some() {
            self.report.signed_records += 1;
        }
        let seq = Some(record.seq);
        if record.compute_hash() != record.hash {
            self.problem(
                line_no,
                seq,
                AuditProblemKind::Edited,
                "the record was edited: its hash does not match its contents".into(),
            );
        } else if record.to_line().as_bytes() != line {
            self.problem(
                line_no,
                seq,
                AuditProblemKind::NotCanonical,
                "the line was rewritten: its contents match its hash, but its bytes are not \
                 the ones warden writes (a field was added, or spacing or escapes changed)"
                    .into(),
            );
        }
        if let Some(key) = self.key {
            match record.sig.as_deref().map(decode_signature) {
                None => {
                    self.problem(
                        line_no,
                        seq,
                        AuditProblemKind::Unsigned,
                        format!(
                            "the record is not signed, but it should be signed by {key}: its \
                             signature was removed, or it was written without the key"
                        ),
                    );
                }
                Some(None) => {
                    self.problem(
                        line_no,
                        seq,
                        AuditProblemKind::BadSignature,
                        "the signature is not 128 lowercase hex digits".into(),
                    );
                }
                Some(Some(sig)) => {
                    if !key.verify_strict(&signed_message(&record.hash), &sig) {
                        self.problem(
                            line_no,
                            seq,
                            AuditProblemKind::BadSignature,
                            format!(
                                "the signature is not valid for {key}: the record was forged, \
                                 signed with another key, or its signature was altered"
                            ),
                        );
                    }
                }
            }
        }
        self.check_order(line_no, &record);
    }

    /// Checks `seq` and `prev` against the highest record so far.
    fn check_order(&mut self, line_no: u64, record: &Record) {
        let seq = record.seq;
        let (expected, after) = match &self.report.head {
            None => (0, None),
            Some(head) => (
                head.seq.saturating_add(1),
                Some((head.seq, head.hash, head.line_no)),
            ),
        };
        if seq < expected {
            return self.out_of_order(line_no, seq, after);
        }
        if seq == expected {
            let (want, of) = match after {
                None => (
                    genesis(),
                    "the genesis value (the log's first record)".to_string(),
                ),
                Some((s, h, l)) => (h, format!("the hash of line {l} (seq {s})")),
            };
            if record.prev != want {
                self.problem(
                    line_no,
                    Some(seq),
                    AuditProblemKind::ChainBroken,
                    format!(
                        "the chain is broken: its prev is not {of}: that record was edited and \
                         its hash recomputed, or this record's prev was changed"
                    ),
                );
            }
        } else if seq - expected > self.malformed_since_head {
            // More seqs skipped than malformed lines could account for.
            let last_missing = seq - 1;
            let range = if expected == last_missing {
                format!("the record with seq {expected} is")
            } else {
                format!(
                    "{} records (seq {expected} to {last_missing}) are",
                    seq - expected
                )
            };
            let detail = match after {
                None => format!(
                    "the log starts at seq {seq}, not 0: {range} missing before it (the start \
                     of the log was removed)"
                ),
                Some((s, _, l)) => format!(
                    "expected seq {expected} after line {l} (seq {s}), found seq {seq}: {range} \
                     missing here: removed, or moved elsewhere"
                ),
            };
            let problem = self.problem(line_no, Some(seq), AuditProblemKind::Missing, detail);
            self.gaps.insert(
                expected,
                Gap {
                    to: last_missing,
                    line_no,
                    problem,
                    moved: BTreeSet::new(),
                    first_moved_line: 0,
                },
            );
        }
        self.report.head = Some(ChainHead {
            seq,
            hash: record.hash,
            line_no,
        });
        self.malformed_since_head = 0;
    }

    fn out_of_order(&mut self, line_no: u64, seq: u64, after: Option<(u64, Digest, u64)>) {
        let gap = self
            .gaps
            .range_mut(..=seq)
            .next_back()
            .filter(|(_, gap)| seq <= gap.to);
        let detail = match gap {
            Some((&from, gap)) => {
                if gap.moved.is_empty() {
                    gap.first_moved_line = line_no;
                }
                gap.moved.insert(seq);
                let before = if from == 0 {
                    "the log starts".to_string()
                } else {
                    format!("seq {} is followed", from - 1)
                };
                format!(
                    "seq {seq} is out of place: it belongs before line {}, where {before} by \
                     seq {}; the records were reordered",
                    gap.line_no,
                    gap.to + 1
                )
            }
            None => {
                let (s, _, l) = after.unwrap_or((0, genesis(), 0));
                format!(
                    "seq {seq} comes after seq {s} (line {l}): the record was copied, replayed \
                     or moved; each record must appear once, in order"
                )
            }
        };
        self.problem(line_no, Some(seq), AuditProblemKind::OutOfOrder, detail);
    }

    fn finish(mut self) -> VerifyReport {
        for (from, gap) in &self.gaps {
            let Some(problem) = gap.problem.and_then(|i| self.report.problems.get_mut(i)) else {
                continue;
            };
            if gap.moved.is_empty() {
                continue;
            }
            let size = gap.to - from + 1;
            let found = gap.moved.len() as u64;
            if found == size {
                problem.kind = AuditProblemKind::OutOfOrder;
                problem.detail = format!(
                    "expected seq {from}, found seq {}: seq {from}{} appear{} later in the file \
                     (from line {}): the records were reordered",
                    gap.to + 1,
                    if size > 1 {
                        format!(" to {}", gap.to)
                    } else {
                        String::new()
                    },
                    if size > 1 { "" } else { "s" },
                    gap.first_moved_line
                );
            } else {
                problem.detail.push_str(&format!(
                    " ({found} of them appear later in the file, from line {}: those were \
                     moved, the rest are gone)",
                    gap.first_moved_line
                ));
            }
        }
        self.report
    }
}

/// What [`repair_torn_tail`] moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairedTail {
    /// The 1-based line number the torn line had.
    pub line_no: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// The side file now holding it (`audit.jsonl.torn-<time>`).
    pub moved_to: PathBuf,
    /// Its first 1 KiB, as text (invalid UTF-8 replaced).
    pub fragment: String,
}

/// Moves a torn last line (an interrupted write) out of the log, into a new
/// side file next to it named `<log name>.torn-<UTC time>`, and cuts the log
/// back to its last complete line, so appends can resume. Returns what was
/// moved, or `None` if the log does not end torn (nothing is changed then).
///
/// The side file is written and synced before the log is cut, so a crash in
/// between leaves the fragment in both places, never in neither. Takes the
/// log's lock, like `append`.
pub fn repair_torn_tail(path: &Path) -> Result<Option<RepairedTail>, AuditError> {
    let io = |e| AuditError::io(path, e);
    let _lock = lock(path)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let start = match complete_end(&mut file, len).map_err(io)? {
        Ok(_) => return Ok(None),
        Err(start) => start,
    };
    let line_no = newlines_before(&mut file, start).map_err(io)? + 1;
    let bytes = len - start;

    let time = Timestamp::now()?.to_string().replace(':', "-");
    let name = path
        .file_name()
        .map_or_else(|| "audit".into(), |n| n.to_string_lossy().into_owned());
    let dir = parent_dir(path);
    let mut attempt = 0u32;
    let (moved_to, mut side) = loop {
        let candidate = match attempt {
            0 => dir.join(format!("{name}.torn-{time}")),
            n => dir.join(format!("{name}.torn-{time}-{n}")),
        };
        match private_options()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(f) => break (candidate, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(AuditError::io(&candidate, e)),
        }
    };
    let side_io = |e| AuditError::io(&moved_to, e);
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut preview = Vec::new();
    (&mut file)
        .take(FRAGMENT_PREVIEW as u64)
        .read_to_end(&mut preview)
        .map_err(io)?;
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let copied = io::copy(&mut (&mut file).take(bytes), &mut side).map_err(side_io)?;
    if copied != bytes {
        return Err(side_io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "copied {copied} of the {bytes} bytes of the torn line; the log was not changed"
            ),
        )));
    }
    side.sync_all().map_err(side_io)?;
    sync_dir(dir).map_err(|e| AuditError::io(dir, e))?;

    file.set_len(start).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(Some(RepairedTail {
        line_no,
        bytes,
        moved_to,
        fragment: String::from_utf8_lossy(&preview).into_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_replaces_every_occurrence_and_overlaps_as_one() {
        assert_eq!(
            redact("a s3cr3t b s3cr3t", &["s3cr3t"]),
            "a [REDACTED] b [REDACTED]"
        );
        assert_eq!(redact("nothing here", &["s3cr3t", ""]), "nothing here");
        // An empty secret would match everywhere: it is ignored.
        assert_eq!(redact("abc", &[""]), "abc");
        // `xa` and `abcdef` overlap: neither may leave a part behind.
        assert_eq!(redact("-xabcdef-", &["xa", "abcdef"]), "-[REDACTED]-");
        // Self-overlapping occurrences.
        assert_eq!(redact("aaa", &["aa"]), "[REDACTED]");
        // Multi-byte characters keep boundaries.
        assert_eq!(redact("é-ü-é-ü", &["ü"]), "é-[REDACTED]-é-[REDACTED]");
        assert_eq!(redact("ééé", &["éé"]), "[REDACTED]");
    }

    #[test]
    fn an_event_with_a_huge_field_is_recorded_cut_with_its_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, None).expect("open");
        let target = format!("s3cr3t{}", "t".repeat(20 << 20));
        let full = redact(&target, &["s3cr3t"]);
        let record = log
            .append(
                AuditEvent::Denial {
                    component: "hostile".into(),
                    digest: None,
                    capability: "network".into(),
                    target,
                    reason: "é".repeat(MAX_FIELD_BYTES),
                },
                &["s3cr3t"],
            )
            .expect("recorded");
        let AuditEvent::Denial { target, reason, .. } = &record.event else {
            panic!("not a denial: {record:?}");
        };
        assert!(target.len() <= MAX_FIELD_BYTES, "{}", target.len());
        assert!(target.starts_with("[REDACTED]ttt"), "{}", &target[..20]);
        let marker = format!(
            "…[truncated: {} bytes, {}]",
            full.len(),
            Digest::of(full.as_bytes())
        );
        assert!(
            target.ends_with(&marker),
            "{}",
            &target[target.len() - 100..]
        );
        assert!(reason.len() <= MAX_FIELD_BYTES && reason.contains("truncated"));
        let report = verify(&path, None).expect("verify");
        assert!(report.is_intact(), "{:?}", report.problems);
        assert_eq!(report.records, 1);
    }

    #[test]
    fn timestamps_are_rfc3339_utc_milliseconds() {
        let t = Timestamp::from_unix_millis(1_795_010_585_123).expect("in range");
        assert_eq!(t.to_string(), "2026-11-18T14:03:05.123Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        assert_eq!(
            Timestamp::from_unix_millis(0)
                .map(|t| t.to_string())
                .as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
        assert_eq!(
            Timestamp::from_unix_millis(MAX_MILLIS)
                .map(|t| t.to_string())
                .as_deref(),
            Some("9999-12-31T23:59:59.999Z")
        );
        assert_eq!(Timestamp::from_unix_millis(MAX_MILLIS + 1), None);
        assert_eq!(
            Timestamp::from_system_time(UNIX_EPOCH - Duration::from_secs(1)),
            None
        );
        assert_eq!(Timestamp::parse("2026-11-24 14:03:05"), None);
        assert_eq!(Timestamp::parse("2026-11-24T14:03:05+01:00"), None);
    }

    #[test]
    fn reverse_lines_reads_every_line_back_across_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lines");
        let lines: Vec<String> = (0..5000)
            .map(|i| format!("line {i} {}", "x".repeat(i % 97)))
            .collect();
        std::fs::write(&path, format!("\n{}\n", lines.join("\n"))).expect("write");
        let mut file = File::open(&path).expect("open");
        let len = file.metadata().expect("stat").len();
        let mut rev = ReverseLines::new(&mut file, len - 1);
        let mut back = Vec::new();
        while let Prev::Line(_, bytes) = rev.prev().expect("read") {
            back.push(String::from_utf8(bytes).expect("utf8"));
        }
        back.reverse();
        assert_eq!(back[0], "", "the empty first line");
        assert_eq!(back[1..], lines[..]);
    }
}
