//! What a guest tool returns: its JSON result (first byte even) or its tool
//! specs (first byte odd; NUL-separated name, schema, name, schema, ...).
//! The checks never panic and accept only what they promise to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_guest_output::{SpecRef, is_valid_tool_name, parse_output, validate_specs};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode % 2 == 0 {
        let limit = u64::from(mode) * 64;
        if let Ok(value) = parse_output(text, limit) {
            assert!(text.len() as u64 <= limit);
            let _ = serde_json::to_string(&value);
        }
        return;
    }
    let parts: Vec<&str> = text.split('\0').collect();
    let specs: Vec<SpecRef<'_>> = parts
        .chunks(2)
        .map(|pair| SpecRef {
            name: pair[0],
            input_schema: pair.get(1).copied().unwrap_or("{}"),
        })
        .collect();
    if validate_specs(specs.iter().copied()).is_ok() {
        for spec in &specs {
            assert!(is_valid_tool_name(spec.name), "{:?}", spec.name);
            assert!(
                serde_json::from_str::<serde_json::Value>(spec.input_schema)
                    .is_ok_and(|v| v.is_object())
            );
        }
    }
});
