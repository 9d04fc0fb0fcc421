//! Typed errors of the host library. Each message says what failed, for
//! which component, and what to do about it.

use std::path::PathBuf;
use std::time::Duration;

use crate::bindings::{Capability, Denial, ToolError};

/// A grant flag or grant value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// A directory grant (`HOST[:GUEST][:ro|rw]`).
    #[error("invalid directory grant `{spec}`: {problem}")]
    InvalidDir {
        /// The value as given.
        spec: String,
        /// What is wrong with it.
        #[source]
        problem: DirGrantProblem,
    },
    /// A network grant (`[SCHEME://]HOST[:PORT]`).
    #[error("invalid host grant `{spec}`: {problem}")]
    InvalidHost {
        /// The value as given.
        spec: String,
        /// What is wrong with it.
        #[source]
        problem: HostGrantProblem,
    },
    /// A secret grant (`NAME@[SCHEME://]HOST[:PORT]`) or the secrets file.
    #[error("invalid secret grant `{spec}`: {problem}")]
    InvalidSecret {
        /// The value as given (or the secrets file's path).
        spec: String,
        /// What is wrong with it.
        #[source]
        problem: SecretGrantProblem,
    },
    /// An environment grant (`NAME[=VALUE]`).
    #[error("invalid environment grant `{spec}`: {problem}")]
    InvalidEnv {
        /// The value as given.
        spec: String,
        /// What is wrong with it.
        #[source]
        problem: EnvGrantProblem,
    },
    /// A directory that reaches warden's own home (its registry, trust
    /// store, grants, audit log and sessions), which no component may see.
    #[error(
        "`{component}` may not be granted {}: it {} warden's home {}, where the registry, trust \
         store, grants, audit log and sessions are kept",
        dir.display(),
        if dir == home { "is" } else if *contains_home { "contains" } else { "is inside" },
        home.display()
    )]
    ReservedDir {
        /// The component.
        component: String,
        /// The granted host directory (canonical).
        dir: PathBuf,
        /// Warden's home (canonical).
        home: PathBuf,
        /// Whether `dir` is the home or contains it (else it is inside it).
        contains_home: bool,
    },
}

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("failed to configure the WebAssembly engine: {0}")]
pub struct EngineError(pub String);

/// Why a directory grant cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirGrantProblem {
    /// Not of the form `HOST[:GUEST][:ro|rw]`.
    #[error("expected HOST[:GUEST][:ro|rw]")]
    Syntax,
    /// No host directory.
    #[error("the host directory is empty")]
    EmptyHost,
    /// The host directory cannot be opened.
    #[error("cannot open host directory `{}`: {error}", path.display())]
    Unopenable {
        /// The host path as given.
        path: PathBuf,
        /// The system's reason.
        error: String,
    },
    /// The host path is not a directory.
    #[error("`{}` is not a directory", path.display())]
    NotADirectory {
        /// The host path as given.
        path: PathBuf,
    },
    /// The host path cannot be the guest path: it is not UTF-8.
    #[error("the host path is not UTF-8; give a guest path")]
    NonUtf8Host,
    /// The guest path is not a valid one.
    #[error(transparent)]
    GuestPath(#[from] warden_policy::path::GuestPathError),
}

/// Why a network grant cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostGrantProblem {
    /// Not a valid network rule.
    #[error(transparent)]
    Rule(#[from] warden_policy::network::NetRuleError),
    /// A URL with a path where a host was expected.
    #[error("give a host name, not a URL (e.g. example.com or example.com:8080)")]
    Url,
}

/// Why a secret grant (or the secrets file) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretGrantProblem {
    /// The name breaks the one name rule.
    #[error(
        "`{name}` is not a secret name: 1 to 128 letters, digits and `_`, not starting \
         with a digit"
    )]
    BadName {
        /// The name as given.
        name: String,
    },
    /// No destination was named.
    #[error(
        "name the host it is for, e.g. `{name}@https://api.example.com`: a secret is sent \
         only to the host it is granted for"
    )]
    NoHost {
        /// The secret's name.
        name: String,
    },
    /// The destination is not a valid one.
    #[error(transparent)]
    Destination(#[from] warden_policy::rules::RuleError),
    /// Neither the environment nor the secrets file has a value.
    #[error(
        "no value for `{name}`: set the environment variable {name}, or add it to the \
         secrets file"
    )]
    NoValue {
        /// The secret's name.
        name: String,
    },
    /// The secrets file cannot be read.
    #[error("cannot read the secrets file: {error}")]
    FileUnreadable {
        /// The system's reason.
        error: String,
    },
    /// The secrets file is readable by others than its owner.
    #[error("the secrets file is readable by others (mode {mode:o}); make it mode 600")]
    FileExposed {
        /// The file's permission bits.
        mode: u32,
    },
    /// The secrets file is not a TOML table of strings.
    #[error("not a TOML table of NAME = \"value\": {error}")]
    FileNotToml {
        /// The parser's reason.
        error: String,
    },
}

/// Why an environment grant cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvGrantProblem {
    /// `NAME` alone, and the variable is not set here.
    #[error("`{name}` is not set in this environment; pass NAME=VALUE to set it explicitly")]
    NotSet {
        /// The variable's name.
        name: String,
    },
    /// The name breaks the one name rule.
    #[error("a variable name is 1 to 128 letters, digits and `_`, not starting with a digit")]
    BadName,
}

/// A component could not be loaded as a warden tool.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read component `{}`: {source}", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error(
        "`{component}` is not a WebAssembly component (it does not start with the wasm magic bytes)"
    )]
    NotWasm {
        /// The component's name.
        component: String,
    },
    /// The bytes are a core module rather than a component.
    #[error(
        "`{component}` is a core WebAssembly module, not a component: build it for the \
         wasm32-wasip2 target (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule {
        /// The component's name.
        component: String,
    },
    /// Compilation failed (malformed or unsupported WebAssembly).
    #[error("`{component}` failed to compile: {reason}")]
    Compile {
        /// The component's name.
        component: String,
        /// The compiler's message.
        reason: String,
    },
    /// The component does not export the `tool` world's interface.
    #[error(
        "`{component}` is not a warden tool: it does not export `{expected}` (it exports: {}). \
         Build it against the `tool` world in wit/",
        if found.is_empty() { "nothing".to_string() } else { found.join(", ") }
    )]
    MissingExport {
        /// The component's name.
        component: String,
        /// The interface that is missing.
        expected: String,
        /// What it does export.
        found: Vec<String>,
    },
    /// The component imports something the host does not provide, or its
    /// exports have the wrong types.
    #[error("`{component}` cannot be linked as a warden tool: {reason}")]
    Link {
        /// The component's name.
        component: String,
        /// What does not match.
        reason: String,
    },
}

/// A call into a component that did not produce a result.
///
/// After any of these the host is unaffected and serves the next call
/// normally: every call runs in its own store.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The component needed a capability its grant does not give.
    #[error(
        "`{component}` was denied {} access to `{}`: {}",
        capability_name(denial.capability), denial.target, denial.reason
    )]
    Denied {
        /// The component's name.
        component: String,
        /// What was refused.
        denial: Denial,
    },
    /// The tool ran and returned one of its typed errors.
    #[error("`{component}` tool `{tool}` {}", describe_tool_error(error))]
    Tool {
        /// The component's name.
        component: String,
        /// The tool called.
        tool: String,
        /// The error it returned.
        error: ToolError,
    },
    /// The call ran past its wall-clock limit.
    #[error("`{component}` timed out after {limit:?}")]
    Timeout {
        /// The component's name.
        component: String,
        /// The limit that was reached.
        limit: Duration,
    },
    /// The component tried to grow its memory past its limit.
    #[error("`{component}` ran out of memory: it tried to use more than its limit of {}", human_bytes(*limit))]
    OutOfMemory {
        /// The component's name.
        component: String,
        /// The memory limit in bytes.
        limit: u64,
    },
    /// The component made the host hold more than its per-call limits
    /// allow (host memory for HTTP fields and bodies, open files and
    /// sockets, name lookups). See [`crate::guard`].
    #[error(
        "`{component}` exceeded a host resource limit: {what} (the limit is {}; it asked for {}); \
         the host refused and stopped the call",
        amount(what, *limit),
        amount(what, *requested)
    )]
    HostLimit {
        /// The component's name.
        component: String,
        /// Which host resource.
        what: String,
        /// The limit.
        limit: u64,
        /// What the guest asked for in total.
        requested: u64,
    },
    /// The component used up its CPU budget.
    #[error("`{component}` ran out of fuel: it used its whole CPU budget of {limit} units")]
    OutOfFuel {
        /// The component's name.
        component: String,
        /// The fuel budget.
        limit: u64,
    },
    /// The component recursed past the maximum WebAssembly stack size.
    #[error("`{component}` overflowed its stack (the WebAssembly stack limit is {})", human_bytes(*limit as u64))]
    StackOverflow {
        /// The component's name.
        component: String,
        /// The stack limit in bytes.
        limit: usize,
    },
    /// The component trapped (a panic, an `unreachable`, a bad memory access).
    #[error("`{component}` trapped: {message}{}", backtrace_summary(backtrace))]
    Trap {
        /// The component's name.
        component: String,
        /// The trap, with the guest's own last words (its panic message) if any.
        message: String,
        /// Guest function names, innermost first.
        backtrace: Vec<String>,
    },
    /// The component's output is over the grant's output limit.
    #[error(
        "`{component}` returned invalid output: the output is {bytes} bytes, over the limit of {}",
        human_bytes(*limit)
    )]
    OutputTooLarge {
        /// The component's name.
        component: String,
        /// The output's size in bytes.
        bytes: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The component returned something that is not a valid result.
    #[error("`{component}` returned invalid output: {reason}")]
    InvalidOutput {
        /// The component's name.
        component: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The component's tool list is over one of the host's bounds (see
    /// [`crate::bounds`]): too many tools, or specs too big.
    #[error(
        "`{component}` listed more than the host accepts: {}",
        crate::bounds::SpecOverLimit { limit: *limit, tool: tool.as_deref(), size: *size }
    )]
    ToolListTooLarge {
        /// The component's name.
        component: String,
        /// Which bound it exceeded.
        limit: crate::bounds::SpecLimit,
        /// The tool whose description or schema is too long, if it is one
        /// tool's.
        tool: Option<String>,
        /// How many tools, or how many bytes, it listed.
        size: u64,
    },
    /// The component could not be instantiated (a host-side fault).
    #[error("`{component}` could not be started: {reason}")]
    Instantiate {
        /// The component's name.
        component: String,
        /// The host's message.
        reason: String,
    },
    /// A reused instance ([`crate::ToolInstance`]) was called after an
    /// earlier call on it trapped, hit a limit or timed out: its state can
    /// no longer be trusted, so it answers nothing more.
    #[error("`{component}`'s instance stopped at an earlier call ({cause}); open a new instance")]
    Stopped {
        /// The component's name.
        component: String,
        /// The kind of the failure that stopped it (`trap`, `timeout`, ...).
        cause: String,
    },
    /// The call was refused before it started: the component is at its
    /// limit of concurrent instances or of calls per minute.
    #[error("`{component}` was not called: {reason} (its `{limit}` limit)")]
    Throttled {
        /// The component's name.
        component: String,
        /// Which limit: `instances` or `calls-per-minute`.
        limit: String,
        /// What was counted, and when to retry.
        reason: String,
    },
    /// The grant itself could not be applied (e.g. a granted directory vanished).
    #[error("the grant for `{component}` could not be applied: {reason}")]
    Grant {
        /// The component's name.
        component: String,
        /// Why.
        reason: String,
    },
}

impl CallError {
    /// The capability that was refused, when the call failed because of
    /// one (observed by the host, or reported by the tool as `denied`).
    pub fn denial(&self) -> Option<&Denial> {
        match self {
            CallError::Denied { denial, .. }
            | CallError::Tool {
                error: ToolError::Denied(denial),
                ..
            } => Some(denial),
            _ => None,
        }
    }

    /// A short, stable name for the kind of failure (`denied`, `timeout`, ...),
    /// used in `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Denied { .. } => "denied",
            CallError::Tool { error, .. } => match error {
                ToolError::InvalidInput(_) => "invalid-input",
                ToolError::UnknownTool(_) => "unknown-tool",
                ToolError::NotFound(_) => "not-found",
                ToolError::Denied(_) => "denied",
                ToolError::Failed(_) => "failed",
            },
            CallError::Timeout { .. } => "timeout",
            CallError::OutOfMemory { .. } => "out-of-memory",
            CallError::HostLimit { .. } => "host-limit",
            CallError::OutOfFuel { .. } => "out-of-fuel",
            CallError::StackOverflow { .. } => "stack-overflow",
            CallError::Trap { .. } => "trap",
            CallError::InvalidOutput { .. }
            | CallError::OutputTooLarge { .. }
            | CallError::ToolListTooLarge { .. } => "invalid-output",
            CallError::Instantiate { .. } => "instantiate",
            CallError::Stopped { .. } => "stopped",
            CallError::Throttled { .. } => "throttled",
            CallError::Grant { .. } => "grant",
        }
    }
}

/// A host-limit amount as the user reads it: bytes for memory, else a count.
fn amount(what: &str, n: u64) -> String {
    if what.contains("memory") {
        match n {
            n if n % 1024 == 0 || n < 1 << 20 => human_bytes(n),
            n => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        }
    } else {
        n.to_string()
    }
}

/// The user-facing name of a capability.
pub fn capability_name(c: Capability) -> &'static str {
    match c {
        Capability::Filesystem => "filesystem",
        Capability::Network => "network",
        Capability::Environment => "environment",
        Capability::Secret => "secret",
        Capability::Component => "component",
    }
}

fn describe_tool_error(e: &ToolError) -> String {
    match e {
        ToolError::InvalidInput(m) => format!("rejected its input: {m}"),
        ToolError::UnknownTool(m) => {
            format!("does not exist: no tool named `{m}` (see `warden tool list`)")
        }
        ToolError::NotFound(m) => format!("found nothing: {m}"),
        ToolError::Denied(d) => format!(
            "was denied {} access to `{}`: {}",
            capability_name(d.capability),
            d.target,
            d.reason
        ),
        ToolError::Failed(m) => format!("failed: {m}"),
    }
}

fn backtrace_summary(frames: &[String]) -> String {
    if frames.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> = frames.iter().take(6).map(String::as_str).collect();
    let more = frames.len().saturating_sub(shown.len());
    let mut s = format!("\n  guest backtrace: {}", shown.join(" <- "));
    if more > 0 {
        s.push_str(&format!(" <- ... ({more} more)"));
    }
    s
}

/// Formats a byte count with a binary unit (`64 MiB`); shared with the
/// checks of guest output.
pub use warden_guest_output::human_bytes;
