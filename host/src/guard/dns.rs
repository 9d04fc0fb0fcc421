//! `wasi:sockets/ip-name-lookup`, replaced by a resolver that asks the
//! system only about names the grant matches.
//!
//! wasmtime-wasi's own lookup is all or nothing: once a component may use
//! the network, it may resolve any name, which is a channel out (a query for
//! `<secret>.attacker.example` leaves the machine) and a way to tie up the
//! host's blocking threads. Here:
//! - a name is resolved only if a host pattern of the grant matches it and
//!   no deny rule does; IP literals are answered without a query (the
//!   connect check decides about the address);
//! - a call may start at most [`MAX_LOOKUPS_PER_CALL`] lookups, at most
//!   [`MAX_LOOKUPS_IN_FLIGHT`] of them at once, and the whole process runs
//!   at most [`MAX_LOOKUPS_IN_PROCESS`] system lookups at once (each on its
//!   own blocking thread, which holds its permit until the system resolver
//!   returns), so no component can starve another's lookups or the host's
//!   blocking pool;
//! - every address a granted name resolves to is remembered for the call,
//!   so the socket check can let the guest connect to it (see
//!   [`NetworkPolicy::check_socket`](crate::net::NetworkPolicy::check_socket)).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};
use wasmtime::component::{Linker, Resource, ResourceType};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress};
use wasmtime_wasi::p2::{DynPollable, Network, Pollable, subscribe};

use super::HostLimitExceeded;
use crate::bindings::{Capability, Denial};
use crate::sandbox::SandboxState;

const INTERFACE: &str = "wasi:sockets/ip-name-lookup@0.2.12";

/// Name lookups one call may start.
pub const MAX_LOOKUPS_PER_CALL: u32 = 64;
/// Lookups of one call that may be running at once (the rest wait).
pub const MAX_LOOKUPS_IN_FLIGHT: usize = 4;
/// System lookups the whole process runs at once.
pub const MAX_LOOKUPS_IN_PROCESS: usize = 16;
/// How long a guest waits for one lookup.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

static RESOLVER: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(MAX_LOOKUPS_IN_PROCESS)));

/// One call's lookup counters.
#[derive(Debug)]
pub(crate) struct LookupBudget {
    started: u32,
    in_flight: Arc<Semaphore>,
}

impl Default for LookupBudget {
    fn default() -> Self {
        LookupBudget {
            started: 0,
            in_flight: Arc::new(Semaphore::new(MAX_LOOKUPS_IN_FLIGHT)),
        }
    }
}

type LookupResult = Result<Vec<IpAddr>, ErrorCode>;

/// The guest's handle on one lookup (`resolve-address-stream`).
pub struct GuardedLookup {
    state: LookupState,
    task: Option<tokio::task::JoinHandle<()>>,
}

enum LookupState {
    Pending(oneshot::Receiver<LookupResult>),
    Ready(Result<std::vec::IntoIter<IpAddr>, ErrorCode>),
}

impl GuardedLookup {
    fn ready(result: LookupResult) -> GuardedLookup {
        GuardedLookup {
            state: LookupState::Ready(result.map(Vec::into_iter)),
            task: None,
        }
    }
}

impl Drop for GuardedLookup {
    fn drop(&mut self) {
        // A lookup still waiting for a permit is abandoned; one already on
        // a blocking thread finishes there and releases its permit.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuardedLookup {
    async fn ready(&mut self) {
        if let LookupState::Pending(rx) = &mut self.state {
            let result = rx.await.unwrap_or(Err(ErrorCode::PermanentResolverFailure));
            self.state = LookupState::Ready(result.map(Vec::into_iter));
        }
    }
}

/// Replaces the whole `ip-name-lookup` interface.
pub(crate) fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(INTERFACE)?;
    inst.resource(
        "resolve-address-stream",
        ResourceType::host::<GuardedLookup>(),
        |mut store, rep| {
            store
                .data_mut()
                .table()
                .delete(Resource::<GuardedLookup>::new_own(rep))?;
            Ok(())
        },
    )?;
    inst.func_wrap(
        "resolve-addresses",
        |mut store, (network, name): (Resource<Network>, String)| {
            let state = store.data_mut();
            state.table().get(&network)?;
            let lookup = start_lookup(state, name)?;
            Ok((match lookup {
                Ok(lookup) => Ok(state.table().push(lookup)?),
                Err(code) => Err(code),
            },))
        },
    )?;
    inst.func_wrap(
        "[method]resolve-address-stream.resolve-next-address",
        |mut store, (stream,): (Resource<GuardedLookup>,)| {
            let lookup = store.data_mut().table().get_mut(&stream)?;
            if let LookupState::Pending(rx) = &mut lookup.state {
                match rx.try_recv() {
                    Ok(result) => lookup.state = LookupState::Ready(result.map(Vec::into_iter)),
                    Err(oneshot::error::TryRecvError::Empty) => {
                        return Ok((Err(ErrorCode::WouldBlock),));
                    }
                    Err(oneshot::error::TryRecvError::Closed) => {
                        lookup.state = LookupState::Ready(Err(ErrorCode::PermanentResolverFailure));
                    }
                }
            }
            let next: Result<Option<IpAddress>, ErrorCode> = match &mut lookup.state {
                LookupState::Ready(Ok(addrs)) => Ok(addrs.next().map(IpAddress::from)),
                LookupState::Ready(Err(code)) => Err(*code),
                LookupState::Pending(_) => Err(ErrorCode::WouldBlock),
            };
            Ok((next,))
        },
    )?;
    inst.func_wrap(
        "[method]resolve-address-stream.subscribe",
        |mut store,
         (stream,): (Resource<GuardedLookup>,)|
         -> wasmtime::Result<(Resource<DynPollable>,)> {
            let borrowed = Resource::<GuardedLookup>::new_borrow(stream.rep());
            Ok((subscribe(store.data_mut().table(), borrowed)?,))
        },
    )?;
    Ok(())
}

/// Checks a lookup of `name` against the grant and the call's budget and
/// starts it. `Err(code)` answers the guest; a trap is a limit.
fn start_lookup(
    state: &mut SandboxState,
    name: String,
) -> wasmtime::Result<Result<GuardedLookup, ErrorCode>> {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(Ok(GuardedLookup::ready(Ok(vec![ip.to_canonical()]))));
    }
    let Some(host) = valid_name(&name) else {
        return Ok(Err(ErrorCode::InvalidArgument));
    };
    let net = state.network().clone();
    if !net.allows_lookup(&host) {
        state.denials.push(Denial {
            capability: Capability::Network,
            target: host.clone(),
            reason: format!(
                "looking up `{host}` is not granted: only names the network grant matches are \
                 resolved ({})",
                net.granted_list()
            ),
        });
        return Ok(Err(ErrorCode::AccessDenied));
    }
    let budget = &mut state.guard.lookups;
    if budget.started >= MAX_LOOKUPS_PER_CALL {
        let e = HostLimitExceeded {
            what: "name lookups per call",
            limit: u64::from(MAX_LOOKUPS_PER_CALL),
            requested: u64::from(budget.started) + 1,
        };
        state.guard.record(e.clone());
        return Err(wasmtime::Error::new(e));
    }
    budget.started += 1;
    let in_flight = budget.in_flight.clone();
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let result = resolve(in_flight, host.clone()).await;
        if let Ok(addrs) = &result {
            net.remember_resolved(&host, addrs);
        }
        let _ = tx.send(result);
    });
    Ok(Ok(GuardedLookup {
        state: LookupState::Pending(rx),
        task: Some(task),
    }))
}

/// Resolves `host` within the call's and the process's concurrency limits.
async fn resolve(in_flight: Arc<Semaphore>, host: String) -> LookupResult {
    let Ok(_call) = in_flight.acquire_owned().await else {
        return Err(ErrorCode::PermanentResolverFailure);
    };
    let Ok(permit) = RESOLVER.clone().acquire_owned().await else {
        return Err(ErrorCode::PermanentResolverFailure);
    };
    let blocking = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        (host.as_str(), 0u16)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a: SocketAddr| a.ip().to_canonical()).collect())
    });
    match tokio::time::timeout(LOOKUP_TIMEOUT, blocking).await {
        Ok(Ok(Ok(addrs))) => Ok(addrs),
        Ok(Ok(Err(_))) => Err(ErrorCode::NameUnresolvable),
        Ok(Err(_)) => Err(ErrorCode::PermanentResolverFailure),
        Err(_) => Err(ErrorCode::TemporaryResolverFailure),
    }
}

/// `name` as a lower-case DNS name without a trailing dot, if it is one
/// (ASCII letters, digits, `-` and `_`, labels of 1–63, 253 in all).
fn valid_name(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then(|| name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_dns_names_are_looked_up() {
        assert_eq!(valid_name("Example.COM.").as_deref(), Some("example.com"));
        assert_eq!(
            valid_name("a-b_c.example").as_deref(),
            Some("a-b_c.example")
        );
        for bad in [
            "",
            ".",
            "a..b",
            "exa mple.com",
            "ex\0ample.com",
            "bücher.example",
            &"a".repeat(64),
            &format!("{}.com", "a.".repeat(130)),
        ] {
            assert_eq!(valid_name(bad), None, "{bad:?}");
        }
    }
}
