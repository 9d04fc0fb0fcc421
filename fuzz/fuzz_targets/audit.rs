//! The audit log (`audit.jsonl`) as found on disk: verifying it (chain,
//! order, signatures, torn tail) never panics, with or without a key; a line
//! that parses as a record is written back by `to_line` to one that parses
//! to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_registry::SecretKey;
use warden_audit::{self as audit, Record};

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_seed(&[7; 32]).public();
    let unsigned = audit::verify_bytes(data, None);
    let signed = audit::verify_bytes(data, Some(&key));
    assert_eq!(unsigned.records, signed.records);
    let _ = unsigned.is_intact();
    for line in data.split(|&b| b == b'\n') {
        let Ok(record) = serde_json::from_slice::<Record>(line) else {
            continue;
        };
        let _ = record.compute_hash();
        let _ = record.verify_signature(&key);
        let written = record.to_line();
        let again: Record = serde_json::from_str(&written)
            .unwrap_or_else(|e| panic!("to_line output does not parse: {e}\n{written}"));
        assert_eq!(again, record, "to_line does not round-trip:\n{written}");
    }
});
