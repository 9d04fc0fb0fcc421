//! Exit codes, one per kind of failure, so scripts can tell them apart.

use warden::agent::RecordingError;
use warden::authorize::AuthorizeError;
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
/// `warden replay`: the planner (or a live tool) did not do what the recording says.
pub const DIVERGED: u8 = 14;
/// `warden replay`: the recording was refused (edited, incompatible, or a component it names is missing).
pub const RECORDING_REFUSED: u8 = 15;

/// Standard output was closed before warden finished writing (e.g. `| head`):
/// the code a shell reports for a process ended by `SIGPIPE` (128 + 13).
pub const BROKEN_PIPE: u8 = 141;

/// Every exit code, written once: the code, its meaning in a few words as the
/// README lists it (`cli/tests/exit_codes.rs` checks the README), and its line
/// in the `--help` table ([`help`]).
pub const EXIT_CODES: &[(u8, &str, &str)] = &[
    (OK, "ok", "success"),
    (FAILURE, "usage/other", "usage or other error"),
    (
        TOOL_ERROR,
        "the tool returned an error",
        "the tool returned an error (invalid input, not found, failed)",
    ),
    (DENIED, "denied", "a capability was denied"),
    (TIMEOUT, "timeout", "timed out (--timeout)"),
    (
        OUT_OF_MEMORY,
        "out of memory or a host resource limit",
        "out of memory (--memory) or a host resource limit",
    ),
    (OUT_OF_FUEL, "out of fuel", "out of fuel (--fuel)"),
    (
        TRAP,
        "trap (e.g. a panic, with the guest's message and backtrace)",
        "the component trapped (e.g. panicked)",
    ),
    (
        INVALID_OUTPUT,
        "invalid output",
        "the component returned invalid output",
    ),
    (
        LOAD,
        "not loadable as a tool",
        "the component could not be loaded",
    ),
    (STACK_OVERFLOW, "stack overflow", "stack overflow"),
    (
        REFUSED,
        "the registry refused a package",
        "the registry refused a package (tampered, unsigned, untrusted, downgrade, ...)",
    ),
    (
        THROTTLED,
        "throttled (instances or calls-per-minute limit)",
        "throttled: the component is at its instances or calls-per-minute limit",
    ),
    (
        DIVERGED,
        "a replay diverged from its recording",
        "warden replay: the run diverged from its recording (a diff is printed)",
    ),
    (
        RECORDING_REFUSED,
        "a recording was refused",
        "warden replay: the recording was refused (edited, incompatible, or a component is missing)",
    ),
    (
        BROKEN_PIPE,
        "standard output was closed early",
        "standard output was closed before the output was written (e.g. `| head`)",
    ),
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
    for (code, _, help) in EXIT_CODES {
        text.push_str(&format!("{code:>4}  {help}\n"));
    }
    text + "\n" + ENVIRONMENT
}

/// The README's exit-code sentence made from [`EXIT_CODES`]:
/// "Exit codes: `0` ok, `1` usage/other, …".
pub fn readme_sentence() -> String {
    let items: Vec<String> = EXIT_CODES
        .iter()
        .map(|(code, short, _)| format!("`{code}` {short}"))
        .collect();
    format!("Exit codes: {}.", items.join(", "))
}

/// An error type that knows its exit code. Each error type the CLI can end
/// with says its own code here, once; `None` means "no code of its own: look
/// at its cause".
pub trait ExitStatus {
    /// The exit code for this error, or `None` to let its cause decide.
    fn exit_code(&self) -> Option<u8>;
}

impl ExitStatus for CallError {
    fn exit_code(&self) -> Option<u8> {
        Some(match self {
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
            CallError::InvalidOutput { .. }
            | CallError::OutputTooLarge { .. }
            | CallError::ToolListTooLarge { .. } => INVALID_OUTPUT,
            CallError::Throttled { .. } => THROTTLED,
            CallError::Instantiate { .. } | CallError::Stopped { .. } | CallError::Grant { .. } => {
                FAILURE
            }
        })
    }
}

impl ExitStatus for AuthorizeError {
    fn exit_code(&self) -> Option<u8> {
        match self {
            AuthorizeError::Refused { .. } | AuthorizeError::NotApproved { .. } => Some(DENIED),
            // Transparent: its `source()` skips the `GrantError` itself.
            AuthorizeError::Grant(e) => e.exit_code(),
            _ => None,
        }
    }
}

impl ExitStatus for GrantError {
    fn exit_code(&self) -> Option<u8> {
        matches!(self, GrantError::ReservedDir { .. }).then_some(DENIED)
    }
}

impl ExitStatus for RecordingError {
    fn exit_code(&self) -> Option<u8> {
        (!matches!(self, RecordingError::Serialise(_))).then_some(RECORDING_REFUSED)
    }
}

impl ExitStatus for LoadError {
    fn exit_code(&self) -> Option<u8> {
        Some(LOAD)
    }
}

impl ExitStatus for StoreError {
    fn exit_code(&self) -> Option<u8> {
        Some(match self {
            StoreError::Io { .. } | StoreError::NotInstalled { .. } | StoreError::Policy(_) => {
                FAILURE
            }
            _ => REFUSED,
        })
    }
}

impl ExitStatus for PackageError {
    fn exit_code(&self) -> Option<u8> {
        Some(REFUSED)
    }
}

impl ExitStatus for TrustError {
    fn exit_code(&self) -> Option<u8> {
        Some(REFUSED)
    }
}

/// The error itself where `cause` only wraps it transparently (its
/// `source()` would skip it), else `cause`. Exit codes and hints look
/// through such wrappers.
pub fn unwrapped<'e>(
    cause: &'e (dyn std::error::Error + 'static),
) -> &'e (dyn std::error::Error + 'static) {
    use warden::resolve::ResolveError;
    match cause.downcast_ref::<ResolveError>() {
        Some(ResolveError::Read(e)) => e,
        Some(ResolveError::Store(e)) => e,
        Some(ResolveError::Subject(e)) => e,
        Some(ResolveError::Servers(e)) => e,
        _ => cause,
    }
}

/// The exit code of one error in a chain, if its type has one.
fn code_of(cause: &(dyn std::error::Error + 'static)) -> Option<u8> {
    let cause = unwrapped(cause);
    /// Tries each error type with an [`ExitStatus`], in order.
    macro_rules! first_of {
        ($($ty:ty),+ $(,)?) => {
            $(
                if let Some(e) = cause.downcast_ref::<$ty>() {
                    return e.exit_code();
                }
            )+
        };
    }
    first_of!(
        CallError,
        AuthorizeError,
        GrantError,
        RecordingError,
        LoadError,
        StoreError,
        PackageError,
        TrustError,
    );
    None
}

/// The exit code for an error: that of the first error in its chain whose
/// type says one ([`ExitStatus`]), else [`FAILURE`].
pub fn code_for(err: &anyhow::Error) -> u8 {
    err.chain().find_map(code_of).unwrap_or(FAILURE)
}

/// The exit code for a call that failed.
pub fn code_for_call(e: &CallError) -> u8 {
    e.exit_code().unwrap_or(FAILURE)
}
