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
//! use warden_audit::{self as audit, AuditEvent, AuditLog};
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

mod error;
mod event;
mod file;
mod log;
mod read;
mod record;
mod redact;
mod repair;
mod time;
mod usage;
mod verify;

pub use error::AuditError;
pub use event::AuditEvent;
pub use file::lock_path;
pub use log::{AuditLog, Durability};
pub use read::{Export, export, tail};
pub use record::{Record, RecordParseError};
pub use redact::{argument_digest, bound_field, redact};
pub use repair::{RepairedTail, repair_torn_tail};
pub use time::Timestamp;
pub use usage::{DirUse, HostUse, MAX_USAGE_ENTRIES, SecretUse, Usage};
pub use verify::{AuditProblem, AuditProblemKind, ChainHead, VerifyReport, verify, verify_bytes};

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
pub(crate) const CHUNK: u64 = 64 << 10;

/// [`verify`] lists at most this many problems and counts the rest.
pub(crate) const MAX_PROBLEMS: usize = 10_000;

/// 9999-12-31T23:59:59.999Z, in milliseconds since 1970.
pub(crate) const MAX_MILLIS: u64 = 253_402_300_800_000 - 1;

/// How many bytes of a torn line [`RepairedTail::fragment`] shows.
pub(crate) const FRAGMENT_PREVIEW: usize = 1024;
