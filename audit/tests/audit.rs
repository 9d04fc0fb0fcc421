//! The audit log, tampered with for real: every test edits, deletes, swaps,
//! copies or truncates bytes of a real log file and checks that `verify`
//! names the exact line and seq.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};
use warden_audit::AuditError;
use warden_audit::{
    self as audit, AuditEvent, AuditLog, AuditProblemKind, GENESIS, Record, VerifyReport,
};
use warden_core::SecretKey;

/// One event of each type, in turn.
fn event(i: usize) -> AuditEvent {
    match i % 10 {
        0 => AuditEvent::Install {
            package: "acme:grep".into(),
            version: format!("1.{i}.0"),
            digest: format!("sha256:{}", "ab".repeat(32)),
            publisher: format!("ed25519:{}", "cd".repeat(32)),
            granted: vec![
                "read /home/me/src".into(),
                "network api.example.com:443".into(),
            ],
        },
        1 => AuditEvent::Upgrade {
            package: "acme:grep".into(),
            from: "1.0.0".into(),
            to: "1.1.0".into(),
            digest: format!("sha256:{}", "ef".repeat(32)),
        },
        2 => AuditEvent::Remove {
            package: "acme:grep".into(),
            version: "1.1.0".into(),
        },
        3 => AuditEvent::TrustAdd {
            namespace: "acme".into(),
            key: format!("ed25519:{}", "cd".repeat(32)),
        },
        4 => AuditEvent::TrustRemove {
            namespace: "acme".into(),
            key: None,
        },
        5 => AuditEvent::Grant {
            package: "acme:fetch".into(),
            capabilities: vec!["network example.com:443".into()],
        },
        6 => AuditEvent::Revoke {
            package: "acme:fetch".into(),
            capabilities: vec!["network example.com:443".into()],
        },
        7 => AuditEvent::PolicyChange {
            policy_digest: format!("sha256:{}", "01".repeat(32)),
            signer: format!("ed25519:{}", "23".repeat(32)),
        },
        8 => AuditEvent::Call {
            component: "acme:grep".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            function: "search".into(),
            argument_digest: audit::argument_digest(&format!("{{\"pattern\":\"x{i}\"}}")),
            outcome: "ok".into(),
            duration_ms: 1.25 + i as f64,
            fuel_used: Some(12_345),
            peak_memory_bytes: None,
            used: None,
        },
        _ => AuditEvent::Denial {
            component: "acme:fetch".into(),
            digest: None,
            capability: "network".into(),
            target: "evil.example.com:443".into(),
            reason: "not in the grant's hosts".into(),
        },
    }
}

/// A log of `n` records (one of each event type in turn) in `dir`.
fn write_log(dir: &Path, n: usize, signer: Option<SecretKey>) -> (PathBuf, Vec<Record>) {
    let path = dir.join("audit.jsonl");
    let log = AuditLog::open(&path, signer).expect("open");
    let records = (0..n)
        .map(|i| log.append(event(i), &[]).expect("append"))
        .collect();
    (path, records)
}

fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read");
    text.lines().map(str::to_string).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).expect("write");
}

/// The hash of a line as the module docs say to compute it by hand: the
/// line without `"hash":"…",` and without a trailing `,"sig":"…"`.
fn hash_by_hand(line: &str) -> String {
    let start = line.find("\"hash\":\"sha256:").expect("has a hash");
    let end = start + "\"hash\":\"sha256:".len() + 64 + "\",".len();
    let mut content = format!("{}{}", &line[..start], &line[end..]);
    if let Some(sig) = content.rfind(",\"sig\":\"") {
        content = format!("{}}}", &content[..sig]);
    }
    format!("sha256:{}", hex::encode(Sha256::digest(content.as_bytes())))
}

/// `line` with its `hash` replaced by the one its (edited) contents have.
fn rehash(line: &str) -> String {
    let start = line.find("\"hash\":\"").expect("has a hash") + "\"hash\":\"".len();
    let end = start + "sha256:".len() + 64;
    format!("{}{}{}", &line[..start], hash_by_hand(line), &line[end..])
}

fn verify(path: &Path) -> VerifyReport {
    audit::verify(path, None).expect("verify")
}

/// The problems as their messages, for assertions and failure output.
fn messages(report: &VerifyReport) -> Vec<String> {
    report.problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn records_chain_from_genesis_in_the_documented_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, records) = write_log(dir.path(), 12, None);

    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.seq, i as u64);
        let prev = if i == 0 {
            GENESIS.to_string()
        } else {
            records[i - 1].hash.to_string()
        };
        assert_eq!(record.prev.to_string(), prev);
        assert_eq!(record.compute_hash(), record.hash);
        assert_eq!(record.sig, None);
    }

    let lines = lines(&path);
    assert_eq!(lines.len(), 12);
    let time_shape = regex_like_time();
    for (line, record) in lines.iter().zip(&records) {
        assert_eq!(line, &record.to_line());
        // Fields in the documented order, no spaces.
        let order: Vec<usize> = [
            "{\"seq\":",
            ",\"time\":\"",
            ",\"prev\":\"",
            ",\"hash\":\"",
            ",\"event\":{\"type\":\"",
        ]
        .iter()
        .map(|f| line.find(f).unwrap_or_else(|| panic!("{f} in {line}")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{line}");
        assert!(!line.contains(": ") && !line.contains(", "), "{line}");
        let value: serde_json::Value = serde_json::from_str(line).expect("json");
        assert!(time_shape(value["time"].as_str().expect("time")), "{line}");
        assert_eq!(value["event"]["type"], record.event.kind());
        assert_eq!(hash_by_hand(line), record.hash.to_string());
    }
    assert!(lines[0].contains(&format!("\"prev\":\"{GENESIS}\"")));
    assert!(
        lines[4]
            .contains("\"event\":{\"type\":\"trust-remove\",\"namespace\":\"acme\",\"key\":null}"),
        "{}",
        lines[4]
    );
    assert!(
        lines[7].contains("\"type\":\"policy-change\",\"policy_digest\":"),
        "{}",
        lines[7]
    );
    assert!(
        lines[8].contains("\"duration_ms\":9.25,\"fuel_used\":12345,\"peak_memory_bytes\":null}"),
        "{}",
        lines[8]
    );

    let report = verify(&path);
    assert!(report.is_intact(), "{:?}", messages(&report));
    assert_eq!(report.records, 12);
    assert!(!report.torn_tail);
    let head = report.head.expect("head");
    assert_eq!(
        (head.seq, head.hash, head.line_no),
        (11, records[11].hash, 12)
    );
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn regex_like_time() -> impl Fn(&str) -> bool {
    |t: &str| {
        t.len() == 24
            && t.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                19 => b == b'.',
                23 => b == b'Z',
                _ => b.is_ascii_digit(),
            })
    }
}

#[test]
fn every_event_type_reads_back_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, records) = write_log(dir.path(), 10, None);
    let back = audit::tail(&path, 100).expect("tail");
    assert_eq!(back, records);
    let kinds: Vec<&str> = back.iter().map(|r| r.event.kind()).collect();
    assert_eq!(
        kinds,
        [
            "install",
            "upgrade",
            "remove",
            "trust-add",
            "trust-remove",
            "grant",
            "revoke",
            "policy-change",
            "call",
            "denial"
        ]
    );
}

#[test]
fn an_edited_record_is_named_by_line_and_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 13, None);
    let mut lines = lines(&path);
    // Line 7 (seq 6) is a revoke: make it look like it revoked something else.
    assert!(lines[6].contains("\"type\":\"revoke\""));
    lines[6] = lines[6].replace("acme:fetch", "acme:other");
    serde_json::from_str::<serde_json::Value>(&lines[6]).expect("still valid JSON");
    write_lines(&path, &lines);

    let report = verify(&path);
    assert_eq!(
        messages(&report),
        ["line 7 (seq 6): the record was edited: its hash does not match its contents"]
    );
    assert_eq!(report.problems[0].kind, AuditProblemKind::Edited);
    assert_eq!(report.records, 13);
}

#[test]
fn an_edit_with_a_recomputed_hash_breaks_the_next_prev() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 10, None);
    let mut lines = lines(&path);
    lines[5] = rehash(&lines[5].replace("network example.com:443", "network *"));
    write_lines(&path, &lines);

    let report = verify(&path);
    assert_eq!(report.problems.len(), 1, "{:?}", messages(&report));
    assert_eq!(report.problems[0].kind, AuditProblemKind::ChainBroken);
    assert_eq!(
        report.problems[0].to_string(),
        "line 7 (seq 6): the chain is broken: its prev is not the hash of line 6 (seq 5): that \
         record was edited and its hash recomputed, or this record's prev was changed"
    );
}

#[test]
fn a_deleted_record_is_reported_as_a_gap_at_the_next_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 10, None);
    let mut lines = lines(&path);
    lines.remove(4); // seq 4
    write_lines(&path, &lines);

    let report = verify(&path);
    assert_eq!(
        messages(&report),
        [
            "line 5 (seq 5): expected seq 4 after line 4 (seq 3), found seq 5: the record with \
          seq 4 is missing here: removed, or moved elsewhere"
        ]
    );
    assert_eq!(report.problems[0].kind, AuditProblemKind::Missing);

    // Several at once.
    lines.drain(5..8); // seq 6, 7, 8
    write_lines(&path, &lines);
    let report = verify(&path);
    assert_eq!(report.problems.len(), 2, "{:?}", messages(&report));
    assert_eq!(
        report.problems[1].to_string(),
        "line 6 (seq 9): expected seq 6 after line 5 (seq 5), found seq 9: 3 records (seq 6 to \
         8) are missing here: removed, or moved elsewhere"
    );
}

#[test]
fn a_removed_start_of_the_log_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 5, None);
    let lines = lines(&path);
    write_lines(&path, &lines[2..]);
    let report = verify(&path);
    assert_eq!(
        messages(&report),
        [
            "line 1 (seq 2): the log starts at seq 2, not 0: 2 records (seq 0 to 1) are missing \
          before it (the start of the log was removed)"
        ]
    );
}

#[test]
fn swapped_records_are_reported_as_reordered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 8, None);
    let mut lines = lines(&path);
    lines.swap(3, 4); // seq 3 and 4
    write_lines(&path, &lines);

    let report = verify(&path);
    assert_eq!(
        messages(&report),
        [
            "line 4 (seq 4): expected seq 3, found seq 4: seq 3 appears later in the file \
             (from line 5): the records were reordered",
            "line 5 (seq 3): seq 3 is out of place: it belongs before line 4, where seq 2 is \
             followed by seq 4; the records were reordered",
        ]
    );
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.kind == AuditProblemKind::OutOfOrder)
    );
}

#[test]
fn a_copied_record_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 6, None);
    let mut lines = lines(&path);
    let copy = lines[2].clone();
    lines.insert(5, copy); // seq 2 again, after seq 4
    write_lines(&path, &lines);

    let report = verify(&path);
    assert_eq!(
        messages(&report),
        [
            "line 6 (seq 2): seq 2 comes after seq 4 (line 5): the record was copied, replayed or \
          moved; each record must appear once, in order"
        ]
    );
}

#[test]
fn a_malformed_line_is_named_and_does_not_hide_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 8, None);
    let mut lines = lines(&path);
    // Valid JSON, but not an event warden knows.
    lines[2] = lines[2].replace("\"type\":\"remove\"", "\"type\":\"erase\"");
    lines[5] = "garbage".into();
    write_lines(&path, &lines);

    let report = verify(&path);
    let found = messages(&report);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with(
            "line 3 (seq 2): the line is not a valid audit record: unknown variant `erase`"
        ),
        "{found:?}"
    );
    assert!(
        found[1] == "line 6: the line is not a valid audit record: expected value at column 1",
        "{found:?}"
    );
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.kind == AuditProblemKind::Malformed)
    );
    assert_eq!(report.records, 6);

    // An edit right after a malformed line is still caught.
    let mut edited = lines.clone();
    edited[6] = edited[6].replace("acme:fetch", "acme:other");
    write_lines(&path, &edited);
    let found = messages(&verify(&path));
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(
        found[2],
        "line 7 (seq 6): the record was edited: its hash does not match its contents"
    );
}

#[test]
fn a_rewritten_but_equal_line_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 4, None);
    let mut lines = lines(&path);
    // An extra field the hash does not cover.
    lines[1] = lines[1].replacen("{\"seq\":1,", "{\"note\":\"fine\",\"seq\":1,", 1);
    // Same values, other spacing.
    lines[2] = lines[2].replacen("\"seq\":2,", "\"seq\": 2,", 1);
    write_lines(&path, &lines);

    let report = verify(&path);
    assert_eq!(report.problems.len(), 2, "{:?}", messages(&report));
    for (problem, line_no) in report.problems.iter().zip([2, 3]) {
        assert_eq!(problem.kind, AuditProblemKind::NotCanonical);
        assert_eq!(problem.line_no, line_no);
        assert!(
            problem.detail.starts_with("the line was rewritten"),
            "{problem}"
        );
    }
}

#[test]
fn signatures_are_checked_with_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::from_seed(&[9; 32]);
    let (path, records) = write_log(dir.path(), 6, Some(key.clone()));
    assert!(records.iter().all(|r| r.verify_signature(&key.public())));
    let report = audit::verify(&path, Some(&key.public())).expect("verify");
    assert!(report.is_intact(), "{:?}", messages(&report));
    assert_eq!(report.signed_records, 6);
    let original = lines(&path);
    // The documented by-hand hash holds for signed lines too.
    for line in &original {
        assert_eq!(
            hash_by_hand(line),
            serde_json::from_str::<serde_json::Value>(line).expect("json")["hash"]
        );
    }

    // A flipped hex digit of one signature.
    let mut lines = original.clone();
    let at = lines[3].rfind("\"}").expect("sig end") - 1;
    let flipped = if lines[3].as_bytes()[at] == b'0' {
        "1"
    } else {
        "0"
    };
    lines[3].replace_range(at..=at, flipped);
    write_lines(&path, &lines);
    let report = audit::verify(&path, Some(&key.public())).expect("verify");
    assert_eq!(
        messages(&report),
        [format!(
            "line 4 (seq 3): the signature is not valid for {}: the record was forged, signed \
             with another key, or its signature was altered",
            key.public()
        )]
    );
    assert_eq!(report.problems[0].kind, AuditProblemKind::BadSignature);
    // Without a key, only the hash chain is checked, and it is intact.
    assert!(verify(&path).is_intact());

    // The wrong key: every record is reported.
    write_lines(&path, &original);
    let other = SecretKey::from_seed(&[10; 32]).public();
    let report = audit::verify(&path, Some(&other)).expect("verify");
    assert_eq!(report.problems.len(), 6, "{:?}", messages(&report));
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.kind == AuditProblemKind::BadSignature)
    );
    assert_eq!(report.problems[0].line_no, 1);

    // A stripped signature (the hash does not cover it, so only the key
    // can tell).
    let mut lines = original.clone();
    let sig = lines[2].rfind(",\"sig\":\"").expect("sig");
    lines[2] = format!("{}}}", &lines[2][..sig]);
    write_lines(&path, &lines);
    let report = audit::verify(&path, Some(&key.public())).expect("verify");
    assert_eq!(report.problems.len(), 1, "{:?}", messages(&report));
    assert_eq!(report.problems[0].kind, AuditProblemKind::Unsigned);
    assert!(
        report.problems[0]
            .to_string()
            .starts_with("line 3 (seq 2): the record is not signed")
    );

    // A record forged and re-hashed by someone without the key: the chain
    // may be rebuilt, the signature cannot.
    let mut lines = original.clone();
    lines[5] = rehash(&lines[5].replace("example.com:443", "*:443"));
    assert_ne!(lines[5], original[5]);
    write_lines(&path, &lines);
    assert!(
        verify(&path).is_intact(),
        "the hash chain alone is satisfied"
    );
    let report = audit::verify(&path, Some(&key.public())).expect("verify");
    assert_eq!(report.problems.len(), 1, "{:?}", messages(&report));
    assert_eq!(report.problems[0].kind, AuditProblemKind::BadSignature);
    assert_eq!(report.problems[0].line_no, 6);
}

#[test]
fn an_unsigned_log_fails_verification_with_a_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 3, None);
    let key = SecretKey::from_seed(&[9; 32]).public();
    let report = audit::verify(&path, Some(&key)).expect("verify");
    assert_eq!(report.problems.len(), 3);
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.kind == AuditProblemKind::Unsigned)
    );
}

#[test]
fn a_crash_mid_append_leaves_a_torn_tail_that_is_reported_refused_and_repaired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, records) = write_log(dir.path(), 5, None);
    let log = AuditLog::open(&path, None).expect("open");

    // What a process killed mid-write leaves: half of the next line.
    let next = log.append(event(5), &[]).expect("append").to_line();
    let mut lines = lines(&path);
    lines.pop();
    write_lines(&path, &lines);
    let half = &next[..next.len() / 2];
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.extend_from_slice(half.as_bytes());
    std::fs::write(&path, &bytes).expect("write");

    let report = verify(&path);
    assert!(report.torn_tail);
    assert_eq!(report.records, 5, "every earlier record is read");
    assert_eq!(report.problems.len(), 1, "{:?}", messages(&report));
    assert_eq!(report.problems[0].kind, AuditProblemKind::TornTail);
    assert_eq!(report.problems[0].line_no, 6);
    assert!(
        report.problems[0].to_string().starts_with(&format!(
            "line 6: the last line is incomplete ({} bytes",
            half.len()
        )),
        "{}",
        report.problems[0]
    );
    assert_eq!(report.head.as_ref().map(|h| h.seq), Some(4));

    // Readers skip it.
    assert_eq!(audit::tail(&path, 2).expect("tail"), records[3..]);
    let mut export = audit::export(&path, SystemTime::UNIX_EPOCH).expect("export");
    assert_eq!(export.by_ref().count(), 5);
    assert!(export.torn_tail());

    // Append refuses, and changes nothing.
    let err = log.append(event(6), &[]).expect_err("torn");
    assert!(
        matches!(err, AuditError::TornTail { line_no: 6, bytes, .. } if bytes == half.len() as u64),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("incomplete line 6"), "{message}");
    assert!(message.contains("warden audit verify"), "{message}");
    assert_eq!(std::fs::read(&path).expect("read"), bytes);

    // Repair moves it aside, says what it moved, and appends resume.
    let repaired = audit::repair_torn_tail(&path)
        .expect("repair")
        .expect("something to repair");
    assert_eq!(repaired.line_no, 6);
    assert_eq!(repaired.bytes, half.len() as u64);
    assert_eq!(repaired.fragment, half);
    assert_eq!(
        std::fs::read_to_string(&repaired.moved_to).expect("side file"),
        half
    );
    let side_name = repaired
        .moved_to
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(side_name.starts_with("audit.jsonl.torn-"), "{side_name}");
    assert!(!side_name.contains(':'), "{side_name}");
    assert_eq!(repaired.moved_to.parent(), path.parent());
    let after_repair = verify(&path);
    assert!(after_repair.is_intact(), "{:?}", messages(&after_repair));
    assert_eq!(
        audit::repair_torn_tail(&path).expect("repair"),
        None,
        "nothing left to do"
    );

    let resumed = log.append(event(7), &[]).expect("append after repair");
    assert_eq!(resumed.seq, 5);
    assert_eq!(resumed.prev, records[4].hash);
    let report = verify(&path);
    assert!(report.is_intact(), "{:?}", messages(&report));
    assert_eq!(report.records, 6);
}

#[test]
fn a_torn_first_line_is_repaired_to_an_empty_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "{\"seq\":0,\"ti").expect("write");
    let report = verify(&path);
    assert!(report.torn_tail && report.records == 0);
    assert_eq!(report.problems[0].line_no, 1);
    let log = AuditLog::open(&path, None).expect("open");
    assert!(matches!(
        log.append(event(0), &[]),
        Err(AuditError::TornTail { line_no: 1, .. })
    ));
    audit::repair_torn_tail(&path)
        .expect("repair")
        .expect("repaired");
    assert_eq!(std::fs::metadata(&path).expect("stat").len(), 0);
    assert_eq!(log.append(event(0), &[]).expect("append").seq, 0);
}

#[test]
fn append_refuses_to_chain_onto_an_unreadable_last_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_log(dir.path(), 3, None);
    let mut lines = lines(&path);
    lines[2] = "{\"seq\":2,\"garbage\":true}".into();
    write_lines(&path, &lines);
    let log = AuditLog::open(&path, None).expect("open");
    let err = log.append(event(3), &[]).expect_err("corrupt");
    assert!(
        matches!(err, AuditError::Corrupt { line_no: 3, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("line 3 of the audit log"),
        "{err}"
    );
}

#[test]
fn concurrent_appends_from_one_log_form_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None).expect("open");
    std::thread::scope(|s| {
        for t in 0..8 {
            let log = &log;
            s.spawn(move || {
                for i in 0..50 {
                    log.append(event(t * 50 + i), &[]).expect("append");
                }
            });
        }
    });
    let report = verify(&path);
    assert!(report.is_intact(), "{:?}", messages(&report));
    assert_eq!(report.records, 400);
    assert_eq!(report.head.map(|h| h.seq), Some(399));
}

#[test]
fn concurrent_appends_from_separate_opens_form_one_chain() {
    // As separate processes would: each thread opens the log itself, so
    // only the file lock orders them. (Unsigned: Ed25519 in an unoptimized
    // test build would make this test slow; signing happens under the same
    // lock, after the hash, and is tested above.)
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    std::thread::scope(|s| {
        for t in 0..8 {
            let path = &path;
            s.spawn(move || {
                let log = AuditLog::open(path, None).expect("open");
                for i in 0..50 {
                    log.append(event(t * 50 + i), &[]).expect("append");
                }
            });
        }
    });
    let report = verify(&path);
    assert!(report.is_intact(), "{:?}", messages(&report));
    assert_eq!(report.records, 400);
    let seqs: Vec<u64> = audit::tail(&path, 400)
        .expect("tail")
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (0..400).collect::<Vec<u64>>());
}

#[test]
fn secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None).expect("open");
    let secret = "sk-live-0123456789";
    let other = "hunter2";
    // A caller that passes secrets by mistake, in every kind of field.
    let events = [
        AuditEvent::Call {
            component: "acme:fetch".into(),
            digest: "sha256:00".into(),
            function: format!("fetch?token={secret}"),
            argument_digest: audit::argument_digest(&format!("{{\"key\":\"{secret}\"}}")),
            outcome: format!("failed: 401 for Bearer {secret}"),
            duration_ms: 3.5,
            fuel_used: None,
            peak_memory_bytes: Some(1 << 20),
            used: None,
        },
        AuditEvent::Denial {
            component: "acme:fetch".into(),
            digest: Some(format!("{other}{secret}")),
            capability: "network".into(),
            target: format!("https://evil.example.com/?k={secret}&p={other}"),
            reason: format!("{secret} is not yours"),
        },
        AuditEvent::Install {
            package: "acme:fetch".into(),
            version: "1.0.0".into(),
            digest: "sha256:00".into(),
            publisher: "ed25519:00".into(),
            granted: vec![format!("secret API_KEY={secret}")],
        },
        AuditEvent::TrustRemove {
            namespace: "acme".into(),
            key: Some(other.into()),
        },
    ];
    for event in events {
        let record = log.append(event, &[secret, other, ""]).expect("append");
        assert!(!format!("{record:?}").contains(secret));
    }
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(!text.contains(secret) && !text.contains(other), "{text}");
    assert!(
        !text.contains("sk-live") && !text.contains("hunter"),
        "{text}"
    );
    assert_eq!(text.matches("[REDACTED]").count(), 8, "{text}");
    assert!(
        text.contains("\"outcome\":\"failed: 401 for Bearer [REDACTED]\""),
        "{text}"
    );
    assert!(text.contains("\"digest\":\"[REDACTED]\""), "{text}");
    assert!(
        verify(&path).is_intact(),
        "redaction happens before hashing"
    );

    assert_eq!(
        audit::redact("Bearer abc and abc", &["abc"]),
        "Bearer [REDACTED] and [REDACTED]"
    );
}

#[test]
fn tail_returns_the_last_records_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, records) = write_log(dir.path(), 25, None);
    assert_eq!(audit::tail(&path, 3).expect("tail"), records[22..]);
    assert_eq!(audit::tail(&path, 100).expect("tail"), records);
    assert_eq!(audit::tail(&path, 0).expect("tail"), []);

    let mut lines = lines(&path);
    lines[23] = "{oops".into();
    write_lines(&path, &lines);
    assert_eq!(audit::tail(&path, 1).expect("tail"), records[24..]);
    let err = audit::tail(&path, 2).expect_err("damaged");
    assert!(
        matches!(err, AuditError::Corrupt { line_no: 24, .. }),
        "{err:?}"
    );
}

#[test]
fn export_returns_the_records_since_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None).expect("open");
    for i in 0..3 {
        log.append(event(i), &[]).expect("append");
    }
    std::thread::sleep(Duration::from_millis(5));
    let since = SystemTime::now();
    std::thread::sleep(Duration::from_millis(2));
    let later: Vec<Record> = (3..7)
        .map(|i| log.append(event(i), &[]).expect("append"))
        .collect();

    let exported: Vec<Record> = audit::export(&path, since)
        .expect("export")
        .collect::<Result<_, _>>()
        .expect("records");
    assert_eq!(exported, later);
    assert!(exported.iter().all(|r| r.time.system_time() >= since));
    let all = audit::export(&path, SystemTime::UNIX_EPOCH)
        .expect("export")
        .count();
    assert_eq!(all, 7);

    // A damaged line is an error naming it; the iteration goes on.
    let mut lines = lines(&path);
    lines[4] = "[]".into();
    write_lines(&path, &lines);
    let results: Vec<_> = audit::export(&path, SystemTime::UNIX_EPOCH)
        .expect("export")
        .collect();
    assert_eq!(results.len(), 7);
    assert!(
        matches!(&results[4], Err(AuditError::Corrupt { line_no: 5, .. })),
        "{:?}",
        results[4]
    );
    assert!(results.iter().filter(|r| r.is_ok()).count() == 6);
}

#[test]
fn events_json_cannot_hold_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None).expect("open");
    let call = |duration_ms: f64, outcome: String| AuditEvent::Call {
        component: "c".into(),
        digest: "d".into(),
        function: "f".into(),
        argument_digest: audit::argument_digest(""),
        outcome,
        duration_ms,
        fuel_used: None,
        peak_memory_bytes: None,
        used: None,
    };
    let err = log
        .append(call(f64::NAN, "ok".into()), &[])
        .expect_err("NaN");
    assert!(
        err.to_string()
            .contains("`duration_ms` must be a finite number"),
        "{err}"
    );
    // Too many fields near the field bound still make a line too long.
    let err = log
        .append(
            AuditEvent::Grant {
                package: "p".into(),
                capabilities: vec!["x".repeat(audit::MAX_FIELD_BYTES); 100],
            },
            &[],
        )
        .expect_err("too large");
    assert!(matches!(err, AuditError::InvalidEvent { .. }), "{err:?}");
    assert_eq!(
        std::fs::metadata(&path).expect("stat").len(),
        0,
        "nothing written"
    );
    // One huge field is recorded, cut and marked.
    let record = log
        .append(call(1.0, "x".repeat(audit::MAX_LINE_BYTES)), &[])
        .expect("recorded cut");
    let AuditEvent::Call { outcome, .. } = &record.event else {
        panic!("not a call");
    };
    assert!(
        outcome.len() <= audit::MAX_FIELD_BYTES && outcome.contains("…[truncated: 1048576 bytes"),
        "{}",
        outcome.len()
    );
    log.append(call(0.0, "ok".into()), &[]).expect("a sane one");
    assert!(verify(&path).is_intact());
}

#[test]
fn a_missing_log_is_an_error_and_an_empty_one_is_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("home").join("audit.jsonl");
    let err = audit::verify(&path, None).expect_err("missing");
    assert!(matches!(err, AuditError::Io { .. }), "{err:?}");
    assert!(audit::tail(&path, 1).is_err());

    let log = AuditLog::open(&path, None).expect("open creates the directory and file");
    assert_eq!(log.path(), path);
    let report = verify(&path);
    assert!(report.is_intact() && report.records == 0 && report.head.is_none());
    assert_eq!(audit::tail(&path, 5).expect("tail"), []);
    assert_eq!(audit::repair_torn_tail(&path).expect("repair"), None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        log.append(event(0), &[]).expect("append");
        for p in [path.clone(), audit::lock_path(&path)] {
            let mode = std::fs::metadata(&p).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
        assert_eq!(
            audit::lock_path(&path).file_name().expect("name"),
            "audit.lock"
        );
    }
}

#[test]
fn readers_never_see_a_half_written_append_as_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None).expect("open");
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..300 {
                log.append(event(i), &[]).expect("append");
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut checks = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) || checks == 0 {
            let report = verify(&path);
            assert!(report.is_intact(), "{:?}", messages(&report));
            let tail = audit::tail(&path, 3).expect("tail");
            assert!(tail.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
            let mut export = audit::export(&path, SystemTime::UNIX_EPOCH).expect("export");
            assert!(export.by_ref().all(|r| r.is_ok()));
            assert!(!export.torn_tail());
            checks += 1;
        }
    });
    assert_eq!(verify(&path).records, 300);
}

/// Durations with many significant digits must read back to the same
/// bytes, or an honest log would verify as edited.
#[test]
fn float_durations_survive_the_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None).expect("open");
    for duration_ms in [
        0.409_919_999_999_999_95,
        1.0 / 3.0,
        12_345.678_901_234_567,
        1e-7,
    ] {
        log.append(
            AuditEvent::Call {
                component: "fs".into(),
                digest: "sha256:00".into(),
                function: "list_dir".into(),
                argument_digest: "sha256:00".into(),
                outcome: "ok".into(),
                duration_ms,
                fuel_used: None,
                peak_memory_bytes: None,
                used: None,
            },
            &[],
        )
        .expect("append");
    }
    let report = verify(&path);
    assert!(report.is_intact(), "{:?}", messages(&report));
}

/// Batched durability (group commit): every record is in the file when
/// `append` returns — a reader sees it, a killed process cannot lose it —
/// and concurrent appends still form one intact chain.
#[test]
fn a_batched_log_writes_each_record_before_append_returns_and_keeps_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None)
        .expect("open")
        .with_durability(warden_audit::Durability::Batched {
            window: Duration::from_millis(5),
        })
        .expect("batched");
    assert!(matches!(
        log.durability(),
        warden_audit::Durability::Batched { .. }
    ));
    std::thread::scope(|s| {
        for t in 0..4 {
            let (log, path) = (&log, &path);
            s.spawn(move || {
                for i in 0..50 {
                    let record = log.append(event(t * 50 + i), &[]).expect("append");
                    let last = audit::tail(path, 1).expect("tail");
                    assert!(
                        last.last().is_some_and(|r| r.seq >= record.seq),
                        "record {} is not in the file yet",
                        record.seq
                    );
                }
            });
        }
    });
    log.sync().expect("sync");
    drop(log);
    let report = audit::verify(&path, None).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records, 200);
}

/// Each log remembers where its last append left the file and skips reading
/// the tail when the file still ends there; two logs on the same file (two
/// processes) that take turns must each notice the other's records.
#[test]
fn two_writers_taking_turns_keep_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let a = AuditLog::open(&path, None).expect("open a");
    let b = AuditLog::open(&path, None).expect("open b");
    for i in 0..60 {
        // Runs of one, two and three records from each writer in turn.
        let writer = if (i / (1 + i % 3)) % 2 == 0 { &a } else { &b };
        let record = writer.append(event(i), &[]).expect("append");
        assert_eq!(record.seq, i as u64);
    }
    let report = audit::verify(&path, None).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records, 60);
}

#[test]
fn a_log_moved_aside_is_not_appended_to_by_a_writer_that_kept_it_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, None).expect("open");
    for i in 0..3 {
        log.append(event(i), &[]).expect("append");
    }
    // Someone moves the log aside (an archive, a repair) while this writer
    // still has it open.
    let aside = dir.path().join("audit.jsonl.old");
    std::fs::rename(&path, &aside).expect("move aside");
    let before = std::fs::read(&aside).expect("read");

    let record = log.append(event(3), &[]).expect("append after the move");
    assert_eq!(record.seq, 0, "a new log starts a new chain");
    assert_eq!(
        std::fs::read(&aside).expect("read"),
        before,
        "the moved file is left as it was"
    );
    let report = audit::verify(&path, None).expect("verify");
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records, 1);
    let old = audit::verify(&aside, None).expect("verify the old log");
    assert!(old.is_intact(), "{:?}", old.problems);
    assert_eq!(old.records, 3);
}
