//! # warden
//!
//! A local-first runtime for AI agents in which every moving part is a
//! sandboxed WebAssembly component. This crate is the host: it loads
//! components, runs each call in its own store with exactly the capabilities
//! its [`Grant`] allows, and reports every way a call can end as a typed
//! result.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use warden::{AuditSink, DirGrant, DirMode, EngineConfig, Grant, Runtime};
//! use warden_audit::AuditLog;
//!
//! // Every call is recorded in the audit log the runtime is given.
//! let audit = AuditSink::log(AuditLog::open("audit.jsonl", None)?);
//! let runtime = Runtime::new(EngineConfig::default(), audit)?;
//! let fs = runtime.load_tool("fs", warden::builtin::FS)?;
//! let grant = Grant {
//!     dirs: vec![DirGrant::new(".".as_ref(), Some("/repo"), DirMode::ReadOnly)?],
//!     ..Grant::default()
//! };
//! let report = runtime.call_tool(&fs, "read_file", r#"{"path": "/repo/README.md"}"#, &grant).await?;
//! println!("{}", report.output["content"]);
//! # Ok(()) }
//! ```
//!
//! The data path: [`Grant`] (what is allowed) → [`sandbox`] (a store built from
//! the grant and nothing else) → [`Runtime::call_tool`] (instantiate, arm the
//! limits, call, classify the outcome) → [`record`] (the call's audit record,
//! written to the runtime's [`AuditSink`]).

mod admission;
pub mod agent;
pub mod approval;
pub mod authorize;
pub mod authorize_memo;
pub mod bindings;
pub mod bounds;
pub mod builtin;
pub mod cache;
mod call;
mod component;
pub mod confine;
mod engine;
pub mod error;
pub mod grant;
mod granted_dir;
pub mod guard;
pub mod guest_log;
mod instance;
mod limiter;
pub mod net;
pub mod outbound;
pub mod policy_cache;
pub mod progress;
pub mod record;
pub mod resolve;
pub mod sandbox;
mod sandboxed;
pub mod secret;
pub mod source;
pub mod stream_sink;
pub mod suggest;
pub mod tool_result;
pub mod usage;
mod wit_check;

pub use cache::{ArtifactCache, CacheOutcome};
pub use call::{CallReport, CallStats, ToolList};
pub use component::{TOOLS_INTERFACE, TOOLS_INTERFACE_V2, ToolComponent};
pub use engine::{EPOCH_TICK, EngineConfig, Runtime};
pub use error::{CallError, EngineError, GrantError, LoadError};
pub use grant::{DirGrant, DirMode, Grant, HostPattern, Limits};
pub use instance::ToolInstance;
pub use progress::{Progress, ProgressSender};
pub use record::AuditSink;
pub use source::{ListedTool, SourceKind, ToolSource};
pub use stream_sink::OnDelta;
pub use tool_result::{Content, ToolMeta};
pub use usage::{Usage, UsageLog};
