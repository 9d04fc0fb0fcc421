//! Checking the whole chain: [`verify`] and its report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;

use crate::error::AuditError;
use crate::file::*;
use crate::record::*;
use crate::*;
use warden_core::digest::Digest;
use warden_core::keys::PublicKey;

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
pub(crate) fn verify_reader(
    mut reader: impl BufRead,
    key: Option<&PublicKey>,
) -> io::Result<VerifyReport> {
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
pub(crate) struct Gap {
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
pub(crate) struct Checker<'k> {
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
                return self.malformed(line_no, seq, reason.to_string());
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
