//! Guards between a guest and the WASI implementation: the host functions
//! where what a guest asks for would otherwise escape its grant or its
//! limits, replaced (shadowed in the linker) by checked versions that then
//! call wasmtime-wasi's own implementation.
//!
//! | guarded | why |
//! | --- | --- |
//! | `wasi:sockets/ip-name-lookup` (`dns.rs`) | only names the grant matches are resolved, a bounded number per call, a bounded number at once in the whole process |
//! | `wasi:sockets` socket creation (`sockets.rs`) | sockets count against the call's descriptor cap |
//! | `wasi:filesystem` `open-at`, `symlink-at` (`fs.rs`) | special files (FIFOs, devices, sockets) are never opened, so no host thread blocks in `open`; descriptors are capped; no symbolic link is ever created |
//! | `wasi:filesystem/preopens`, `wasi:cli/environment` (`fs.rs`, `env.rs`) | not refusals: what a call used of its grant is noted (`crate::usage`) |
//! | `wasi:http` fields and bodies (`http_budget.rs`) | every byte the guest makes the host hold in header fields and outgoing body buffers counts against the call's host-memory budget |
//!
//! The per-call state ([`CallGuard`]) lives in the store; a refusal that is
//! a limit traps the call with [`HostLimitExceeded`], which the caller
//! reports as [`CallError::HostLimit`](crate::CallError::HostLimit).

pub(crate) mod dns;
pub(crate) mod env;
pub(crate) mod fs;
mod fs_read_open;
pub(crate) mod http_budget;
pub(crate) mod sockets;

use wasmtime::component::Linker;

use crate::sandbox::SandboxState;

/// Live handles (files, sockets, streams, pollables, fields, requests…) one
/// call may hold at once in its resource table.
pub const MAX_HANDLES: usize = 4096;

/// Open file descriptors and sockets one call may hold at once.
pub const MAX_DESCRIPTORS: usize = 256;

/// A per-call limit on what a guest can make the host hold was reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: the limit is {limit}, and this call asked for {requested}")]
pub struct HostLimitExceeded {
    /// Which host resource (e.g. `host memory for HTTP header fields and body buffers`).
    pub what: &'static str,
    /// The limit.
    pub limit: u64,
    /// What the guest asked for in total.
    pub requested: u64,
}

/// What one call has made the host hold, against its limits.
#[derive(Debug)]
pub struct CallGuard {
    host_bytes_limit: u64,
    host_bytes_used: u64,
    /// The first limit the call hit, kept so the outcome names it even if
    /// the guest swallowed the error.
    pub(crate) exceeded: Option<HostLimitExceeded>,
    pub(crate) lookups: dns::LookupBudget,
}

impl CallGuard {
    /// A guard allowing `host_bytes` of guest-controlled host memory.
    pub fn new(host_bytes: u64) -> CallGuard {
        CallGuard {
            host_bytes_limit: host_bytes,
            host_bytes_used: 0,
            exceeded: None,
            lookups: dns::LookupBudget::default(),
        }
    }

    /// Charges `bytes` of host memory, or refuses (recording why).
    pub(crate) fn charge(&mut self, what: &'static str, bytes: u64) -> wasmtime::Result<()> {
        let requested = self.host_bytes_used.saturating_add(bytes);
        if requested > self.host_bytes_limit {
            let e = HostLimitExceeded {
                what,
                limit: self.host_bytes_limit,
                requested,
            };
            self.exceeded.get_or_insert(e.clone());
            return Err(wasmtime::Error::new(e));
        }
        self.host_bytes_used = requested;
        Ok(())
    }

    /// Host memory charged so far.
    pub fn host_bytes_used(&self) -> u64 {
        self.host_bytes_used
    }

    /// Records that a limit was hit (for limits that answer the guest with
    /// an error code instead of trapping).
    pub(crate) fn record(&mut self, e: HostLimitExceeded) {
        self.exceeded.get_or_insert(e);
    }
}

/// Shadows the guarded functions in `linker` (which already has
/// wasmtime-wasi's, and for tools wasmtime-wasi-http's, implementations).
pub(crate) fn add_to_linker(linker: &mut Linker<SandboxState>, http: bool) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    dns::add_to_linker(linker)?;
    sockets::add_to_linker(linker)?;
    fs::add_to_linker(linker)?;
    env::add_to_linker(linker)?;
    if http {
        http_budget::add_to_linker(linker)?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// Counts the descriptors (files, directories, sockets) live in `table`.
pub(crate) fn live_descriptors(table: &mut wasmtime::component::ResourceTable) -> usize {
    table
        .iter_mut()
        .filter(|e| {
            let any: &dyn std::any::Any = &**e;
            any.is::<wasmtime_wasi::filesystem::Descriptor>()
                || any.is::<wasmtime_wasi::p2::TcpSocket>()
                || any.is::<wasmtime_wasi::p2::UdpSocket>()
        })
        .count()
}
