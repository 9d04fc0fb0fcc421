//! The per-call sandbox: a store's data built from a [`Grant`] and nothing
//! else. No stdio is inherited, no environment, no directory, no network
//! unless the grant names it.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::filesystem::Dir as PreopenDir;
use wasmtime_wasi::{FsPerms, OpenMode, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::tool::warden::plugin::log as wit_log;
use crate::error::CallError;
use crate::grant::{DirMode, Grant};
use crate::guard::{CallGuard, MAX_HANDLES};
use crate::guest_log::{LogCapture, LogSource};
use crate::limiter::MemoryLimiter;
use crate::net::{DenialLog, NetworkPolicy};
use crate::usage::UsageLog;

/// The data of one call's store.
pub struct SandboxState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    net: NetworkPolicy,
    /// Caps memory; remembers if the cap was hit.
    pub(crate) limiter: MemoryLimiter,
    /// What the guest logged or printed.
    pub(crate) log: LogCapture,
    /// Denials the host observed (network).
    pub(crate) denials: DenialLog,
    /// What the guest used of its grant.
    pub(crate) usage: UsageLog,
    /// The granted directories, opened for this call (see
    /// `crate::granted_dir`), with their guest paths: what the guest's
    /// `wasi:filesystem/preopens` answers (`crate::guard::fs`).
    pub(crate) preopens: Vec<(PreopenDir, String)>,
    /// Set when the wall-clock deadline interrupted the guest.
    pub(crate) timed_out: bool,
    component: Arc<str>,
    /// For a planner: the host side of its `broker` imports.
    pub(crate) broker: Option<Arc<crate::agent::Broker>>,
    /// What the guest has made the host hold, against the call's limits.
    pub(crate) guard: CallGuard,
    /// Where a 0.2.0 tool's progress reports go, if anyone listens.
    pub(crate) progress: Option<crate::progress::ProgressSink>,
    /// Where a streaming model provider's text goes, if anyone watches.
    pub(crate) stream: Option<crate::stream_sink::StreamSink>,
}

/// File operations of a granted directory (open, stat, read) run on the
/// calling thread instead of a `spawn_blocking` hop each: a small
/// `read_file` was ~70 futex calls and several thread switches per call.
/// Each operation is one bounded syscall on a local file.
pub(crate) const FILES_ON_CALLING_THREAD: bool = true;

impl SandboxState {
    /// Builds the sandbox for `component` from `grant`.
    pub fn new(component: Arc<str>, grant: &Grant) -> Result<SandboxState, CallError> {
        let log = LogCapture::new(grant.limits.max_log_bytes);
        let denials = DenialLog::default();
        let usage = UsageLog::new(grant);
        let net = NetworkPolicy::new(&grant.hosts, denials.clone(), grant.limits.timeout)
            .with_deny(&grant.deny_hosts)
            .with_secrets(&grant.secrets)
            .with_usage(usage.clone());

        let mut wasi = WasiCtxBuilder::new();
        wasi.allow_blocking_current_thread(FILES_ON_CALLING_THREAD);
        wasi.stdout(log.stream(LogSource::Stdout));
        wasi.stderr(log.stream(LogSource::Stderr));
        let mut preopens = Vec::with_capacity(grant.dirs.len());
        for dir in &grant.dirs {
            let perms = match dir.mode {
                DirMode::ReadOnly => FsPerms::ReadOnly,
                DirMode::ReadWrite => FsPerms::ReadWrite,
            };
            let refused = |e: &dyn std::fmt::Display| CallError::Grant {
                component: component.to_string(),
                reason: format!(
                    "cannot open granted directory `{}`: {e}",
                    dir.host.display()
                ),
            };
            // Never through a symbolic link put in the path after the grant:
            // the descriptor opened here is the preopen itself.
            let pinned = crate::granted_dir::pin(&dir.host).map_err(|e| refused(&e))?;
            let open_mode = match perms {
                FsPerms::ReadOnly => OpenMode::READ,
                FsPerms::ReadWrite => OpenMode::READ | OpenMode::WRITE,
            };
            preopens.push((
                PreopenDir::new(pinned, perms, open_mode, FILES_ON_CALLING_THREAD),
                dir.guest.clone(),
            ));
        }
        if let Some(first) = grant.dirs.first() {
            wasi.initial_cwd(&first.guest);
        }
        for (name, value) in &grant.env {
            wasi.env(name, value);
        }
        // Socket creation needs a network grant; every address a socket
        // connects to, binds or sends to is checked by the policy, and
        // name lookups go through the guarded resolver (crate::guard::dns).
        let check = net.clone();
        wasi.allow_tcp(net.any())
            .allow_udp(net.any())
            .allow_ip_name_lookup(net.any())
            .socket_addr_check(move |addr, use_| {
                let allowed = check.check_socket(addr, use_);
                Box::pin(async move { allowed })
            });

        // Every handle the guest holds is a host allocation: cap them.
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HANDLES);
        Ok(SandboxState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table,
            net,
            limiter: MemoryLimiter::new(grant.limits.memory_bytes),
            log,
            denials,
            usage,
            preopens,
            timed_out: false,
            component,
            broker: None,
            guard: CallGuard::new(grant.limits.memory_bytes),
            progress: None,
            stream: None,
        })
    }

    /// The component this sandbox runs.
    pub fn component(&self) -> &str {
        &self.component
    }

    /// The store's resource table (the guest's handles).
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// The network part of the grant.
    pub(crate) fn network(&self) -> &NetworkPolicy {
        &self.net
    }

    /// What the guest has made the host hold so far.
    pub fn guard(&self) -> &CallGuard {
        &self.guard
    }
}

impl WasiView for SandboxState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for SandboxState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.net,
        }
    }
}

impl wit_log::Host for SandboxState {
    fn log(&mut self, level: wit_log::Level, message: String) -> wasmtime::Result<()> {
        self.log.push(level, &message);
        Ok(())
    }
}

impl crate::bindings::tool_v2::warden::plugin::log::Host for SandboxState {
    fn log(
        &mut self,
        level: crate::bindings::tool_v2::warden::plugin::log::Level,
        message: String,
    ) -> wasmtime::Result<()> {
        use crate::bindings::tool_v2::warden::plugin::log::Level as V2;
        let level = match level {
            V2::Trace => wit_log::Level::Trace,
            V2::Debug => wit_log::Level::Debug,
            V2::Info => wit_log::Level::Info,
            V2::Warn => wit_log::Level::Warn,
            V2::Error => wit_log::Level::Error,
        };
        self.log.push(level, &message);
        Ok(())
    }
}
