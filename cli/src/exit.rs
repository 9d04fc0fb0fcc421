//! Exit codes, one per kind of failure, so scripts can tell them apart.

use warden::{CallError, GrantError, LoadError};
use warden_registry::error::{PackageError, StoreError, TrustError};

/// Success.
pub const OK: u8 = 0;
/// Anything not covered below (bad flags, unreadable input, internal errors).
pub const FAILURE: u8 = 1;
/// The tool returned a typed error (invalid input, not found, failed, unknown tool).
pub const TOOL_ERROR: u8 = 3;
/// A capability was denied.
pub const DENIED: u8 = 4;
/// The wall-clock limit was reached.
pub const TIMEOUT: u8 = 5;
/// The memory limit was reached.
pub const OUT_OF_MEMORY: u8 = 6;
/// The CPU (fuel) budget was used up.
pub const OUT_OF_FUEL: u8 = 7;
/// The component trapped (panic, unreachable, bad memory access).
pub const TRAP: u8 = 8;
/// The component returned output that is not valid (not JSON, too large).
pub const INVALID_OUTPUT: u8 = 9;
/// The component could not be loaded (not a component, not a tool, bad imports).
pub const LOAD: u8 = 10;
/// The component overflowed its stack.
pub const STACK_OVERFLOW: u8 = 11;
/// The registry refused a package (tampered, unsigned, untrusted, downgrade, ...).
pub const REFUSED: u8 = 12;
/// The call was refused by a rate limit (concurrent instances, calls per minute).
pub const THROTTLED: u8 = 13;

/// One exit code as the docs describe it.
#[derive(Debug, Clone, Copy)]
pub struct Documented {
    /// The code.
    pub code: u8,
    /// Its meaning in a few words, as the README lists it.
    pub short: &'static str,
    /// Its meaning as the exit-code table of `--help` gives it.
    pub help: &'static str,
}

/// Every exit code, written once: `--help` ([`help`]) and the README's list
/// are made from (or, for the README, checked against) this table.
pub const EXIT_CODES: &[Documented] = &[
    Documented {
        code: OK,
        short: "ok",
        help: "success",
    },
    Documented {
        code: FAILURE,
        short: "usage/other",
        help: "usage or other error",
    },
    Documented {
        code: TOOL_ERROR,
        short: "the tool returned an error",
        help: "the tool returned an error (invalid input, not found, failed)",
    },
    Documented {
        code: DENIED,
        short: "denied",
        help: "a capability was denied",
    },
    Documented {
        code: TIMEOUT,
        short: "timeout",
        help: "timed out (--timeout)",
    },
    Documented {
        code: OUT_OF_MEMORY,
        short: "out of memory or a host resource limit",
        help: "out of memory (--memory) or a host resource limit",
    },
    Documented {
        code: OUT_OF_FUEL,
        short: "out of fuel",
        help: "out of fuel (--fuel)",
    },
    Documented {
        code: TRAP,
        short: "trap (e.g. a panic, with the guest's message and backtrace)",
        help: "the component trapped (e.g. panicked)",
    },
    Documented {
        code: INVALID_OUTPUT,
        short: "invalid output",
        help: "the component returned invalid output",
    },
    Documented {
        code: LOAD,
        short: "not loadable as a tool",
        help: "the component could not be loaded",
    },
    Documented {
        code: STACK_OVERFLOW,
        short: "stack overflow",
        help: "stack overflow",
    },
    Documented {
        code: REFUSED,
        short: "the registry refused a package",
        help: "the registry refused a package (tampered, unsigned, untrusted, downgrade, ...)",
    },
    Documented {
        code: THROTTLED,
        short: "throttled (instances or calls-per-minute limit)",
        help: "throttled: the component is at its instances or calls-per-minute limit",
    },
];

/// The environment variables shown at the end of `--help`.
const ENVIRONMENT: &str = "\
Environment:
  WARDEN_HOME      the warden root (registry, grants, audit log, compiled cache)
  WARDEN_CA_FILE   extra trusted roots (PEM) for components' outbound HTTPS, e.g. a corporate CA";

/// The text at the end of `--help`: the exit-code table made from
/// [`EXIT_CODES`], then the environment variables.
pub fn help() -> String {
    let mut text = String::from("Exit codes:\n");
    for c in EXIT_CODES {
        text.push_str(&format!("{:>4}  {}\n", c.code, c.help));
    }
    text.push('\n');
    text.push_str(ENVIRONMENT);
    text
}

/// The README's exit-code sentence made from [`EXIT_CODES`]: "Exit codes:
/// `0` ok, `1` usage/other, ….".
pub fn readme_sentence() -> String {
    let items: Vec<String> = EXIT_CODES
        .iter()
        .map(|c| format!("`{}` {}", c.code, c.short))
        .collect();
    format!("Exit codes: {}.", items.join(", "))
}

/// The exit code for an error, by its kind.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CallError>() {
            return code_for_call(e);
        }
        if cause
            .downcast_ref::<super::policy_grant::PolicyRefusal>()
            .is_some()
        {
            return DENIED;
        }
        if cause.downcast_ref::<LoadError>().is_some() {
            return LOAD;
        }
        if let Some(GrantError::ReservedDir { .. }) = cause.downcast_ref::<GrantError>() {
            return DENIED;
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return match e {
                StoreError::Io { .. } | StoreError::NotInstalled { .. } | StoreError::Policy(_) => {
                    FAILURE
                }
                _ => REFUSED,
            };
        }
        if cause.downcast_ref::<PackageError>().is_some()
            || cause.downcast_ref::<TrustError>().is_some()
        {
            return REFUSED;
        }
    }
    FAILURE
}

/// The exit code for a call that failed.
pub fn code_for_call(e: &CallError) -> u8 {
    match e {
        CallError::Denied { .. } => DENIED,
        CallError::Tool { error, .. } => match error {
            warden::bindings::ToolError::Denied(_) => DENIED,
            _ => TOOL_ERROR,
        },
        CallError::Timeout { .. } => TIMEOUT,
        CallError::OutOfMemory { .. } | CallError::HostLimit { .. } => OUT_OF_MEMORY,
        CallError::OutOfFuel { .. } => OUT_OF_FUEL,
        CallError::StackOverflow { .. } => STACK_OVERFLOW,
        CallError::Trap { .. } => TRAP,
        CallError::InvalidOutput { .. } | CallError::ToolListTooLarge { .. } => INVALID_OUTPUT,
        CallError::Throttled { .. } => THROTTLED,
        CallError::Instantiate { .. } | CallError::Stopped { .. } | CallError::Grant { .. } => {
            FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_in_order() {
        let codes: Vec<u8> = EXIT_CODES.iter().map(|c| c.code).collect();
        assert_eq!(codes, [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    }

    #[test]
    fn help_lists_every_code() {
        let help = help();
        assert!(help.starts_with("Exit codes:\n   0  success\n"), "{help}");
        assert!(help.contains("\n   6  out of memory (--memory) or a host resource limit\n"));
        assert!(help.contains("\n  13  throttled: "), "{help}");
        assert!(help.contains("\nEnvironment:\n  WARDEN_HOME "), "{help}");
    }

    /// The README's prose list says what [`EXIT_CODES`] says (line breaks
    /// aside); if not, the message gives the sentence to paste.
    #[test]
    fn readme_lists_the_same_exit_codes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md is readable");
        let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
        let expected = readme_sentence();
        assert!(
            flat.contains(&expected),
            "README.md's exit-code list differs from cli/src/exit.rs's EXIT_CODES; it should read:\n{expected}"
        );
    }
}
