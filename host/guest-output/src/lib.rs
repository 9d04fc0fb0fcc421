//! # warden-guest-output
//!
//! What the host accepts from a guest tool, checked as plain data: the tool
//! specs its `list-tools` returns and the JSON text its `call-tool`
//! returns. Everything here comes from a sandboxed component, so every
//! input is untrusted: each function returns a typed error, never panics,
//! and is fuzzed on its own (`fuzz/fuzz_targets/guest_output.rs`) without
//! building wasmtime. The `warden` host turns these errors into
//! `CallError::InvalidOutput`.
//!
//! ```
//! use warden_guest_output::{OutputError, SpecRef, parse_output, validate_specs};
//!
//! let specs = [SpecRef { name: "grep", input_schema: r#"{"type": "object"}"# }];
//! assert!(validate_specs(specs).is_ok());
//! assert_eq!(parse_output(r#"{"n": 1}"#, 1024).unwrap()["n"], 1);
//! assert!(matches!(parse_output("[1", 1024), Err(OutputError::NotJson { .. })));
//! ```

use std::collections::HashSet;

use serde_json::Value;

/// The longest tool name, in bytes.
pub const MAX_TOOL_NAME: usize = 64;

/// The parts of one tool spec the host checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecRef<'a> {
    /// The tool's name, as the guest gave it.
    pub name: &'a str,
    /// The tool's input JSON Schema, as text.
    pub input_schema: &'a str,
}

/// Why a component's list of tool specs is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A name that is empty, too long, or has a character outside `a-z`,
    /// `0-9`, `_` and `-`.
    #[error("tool name `{name}` is not 1-64 characters of a-z, 0-9, `_` or `-`")]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// Two specs with one name.
    #[error("tool `{name}` is listed twice")]
    Duplicate {
        /// The repeated name.
        name: String,
    },
    /// An input schema that is JSON but not an object.
    #[error("the input schema of `{name}` is not a JSON object")]
    SchemaNotObject {
        /// The tool it belongs to.
        name: String,
    },
    /// An input schema that is not JSON.
    #[error("the input schema of `{name}` is not JSON: {reason}")]
    SchemaNotJson {
        /// The tool it belongs to.
        name: String,
        /// serde_json's message, with its line and column.
        reason: String,
    },
}

/// Why a tool's result is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// Longer than the grant's output limit.
    #[error(
        "the output is {size} bytes, over the limit of {} (raise it with --max-output)",
        human_bytes(*limit)
    )]
    TooLarge {
        /// Its length in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// Not JSON text.
    #[error("the output is not JSON ({reason})")]
    NotJson {
        /// serde_json's message, with its line and column.
        reason: String,
    },
}

/// Whether `name` is 1-64 characters of `a-z`, `0-9`, `_` or `-`.
pub fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOOL_NAME
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

/// Checks a component's tool specs: valid, distinct names, and input
/// schemas that are JSON objects. Stops at the first problem, in order.
pub fn validate_specs<'a>(specs: impl IntoIterator<Item = SpecRef<'a>>) -> Result<(), SpecError> {
    let mut seen = HashSet::new();
    for spec in specs {
        if !is_valid_tool_name(spec.name) {
            // The name is the guest's: show at most its first 200 bytes.
            let mut end = spec.name.len().min(200);
            while !spec.name.is_char_boundary(end) {
                end -= 1;
            }
            let mut name = spec.name[..end].to_string();
            if end < spec.name.len() {
                name.push('…');
            }
            return Err(SpecError::InvalidName { name });
        }
        if !seen.insert(spec.name) {
            return Err(SpecError::Duplicate {
                name: spec.name.to_string(),
            });
        }
        match serde_json::from_str::<Value>(spec.input_schema) {
            Ok(Value::Object(_)) => {}
            Ok(_) => {
                return Err(SpecError::SchemaNotObject {
                    name: spec.name.to_string(),
                });
            }
            Err(e) => {
                return Err(SpecError::SchemaNotJson {
                    name: spec.name.to_string(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Parses a tool's result: JSON text of at most `limit` bytes.
pub fn parse_output(output: &str, limit: u64) -> Result<Value, OutputError> {
    let size = output.len() as u64;
    if size > limit {
        return Err(OutputError::TooLarge { size, limit });
    }
    serde_json::from_str(output).map_err(|e| OutputError::NotJson {
        reason: e.to_string(),
    })
}

/// Formats a byte count with a binary unit (`64 MiB`, `1536 B`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024 && value.is_multiple_of(1024) && unit < UNITS.len() - 1 {
        value /= 1024;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(name: &'a str, input_schema: &'a str) -> SpecRef<'a> {
        SpecRef { name, input_schema }
    }

    #[test]
    fn names_schemas_and_duplicates_are_checked_in_order() {
        assert_eq!(validate_specs([spec("a-b_9", "{}")]), Ok(()));
        for bad in ["", "Grep", "a b", "é", &"x".repeat(65)] {
            assert!(
                matches!(
                    validate_specs([spec(bad, "{}")]),
                    Err(SpecError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(validate_specs([spec(&"x".repeat(64), "{}")]).is_ok());
        assert_eq!(
            validate_specs([spec("a", "{}"), spec("a", "{}")])
                .expect_err("twice")
                .to_string(),
            "tool `a` is listed twice"
        );
        assert_eq!(
            validate_specs([spec("a", "[]")])
                .expect_err("array")
                .to_string(),
            "the input schema of `a` is not a JSON object"
        );
        let err = validate_specs([spec("a", "{")]).expect_err("not json");
        assert!(
            err.to_string()
                .starts_with("the input schema of `a` is not JSON: EOF"),
            "{err}"
        );
    }

    #[test]
    fn output_is_json_within_the_limit() {
        assert_eq!(parse_output("[1, 2]", 6), Ok(serde_json::json!([1, 2])));
        assert_eq!(
            parse_output("[1, 2]", 5).expect_err("large").to_string(),
            "the output is 6 bytes, over the limit of 5 B (raise it with --max-output)"
        );
        assert_eq!(
            parse_output("x", 1 << 20).expect_err("json").to_string(),
            "the output is not JSON (expected value at line 1 column 1)"
        );
        // serde_json's depth limit turns deep nesting into an error, not a
        // stack overflow.
        let deep = "[".repeat(100_000);
        assert!(matches!(
            parse_output(&deep, u64::MAX),
            Err(OutputError::NotJson { .. })
        ));
    }

    #[test]
    fn byte_counts_use_the_largest_exact_unit() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1536 B");
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(1 << 40), "1024 GiB");
    }
}
