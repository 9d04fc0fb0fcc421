//! `wasi:sockets` socket creation, counted: a socket is a host descriptor,
//! so it counts against the call's [`MAX_DESCRIPTORS`]. (Without a network
//! grant wasmtime-wasi refuses to create one at all; the connect, bind and
//! listen checks are in [`NetworkPolicy::check_socket`](crate::net::NetworkPolicy::check_socket).)

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
use wasmtime_wasi::p2::bindings::sockets::{tcp_create_socket, udp_create_socket};
use wasmtime_wasi::p2::{SocketResult, TcpSocket, UdpSocket};
use wasmtime_wasi::sockets::WasiSocketsView;

use super::{HostLimitExceeded, MAX_DESCRIPTORS, live_descriptors};
use crate::sandbox::SandboxState;

/// Refuses (with a trap naming the limit) a new descriptor past the cap.
pub(crate) fn check_descriptor_cap(state: &mut SandboxState) -> wasmtime::Result<()> {
    let live = live_descriptors(state.table());
    if live >= MAX_DESCRIPTORS {
        let e = HostLimitExceeded {
            what: "open files and sockets at once",
            limit: MAX_DESCRIPTORS as u64,
            requested: live as u64 + 1,
        };
        state.guard.record(e.clone());
        return Err(wasmtime::Error::new(e));
    }
    Ok(())
}

/// A WASI result whose error may be a trap, as the generated bindings
/// return it to the guest.
pub(crate) fn lower<T>(r: SocketResult<T>) -> wasmtime::Result<Result<T, ErrorCode>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) => e.downcast().map(Err),
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    linker
        .instance("wasi:sockets/tcp-create-socket@0.2.12")?
        .func_wrap(
            "create-tcp-socket",
            |mut store,
             (family,): (IpAddressFamily,)|
             -> wasmtime::Result<(Result<Resource<TcpSocket>, ErrorCode>,)> {
                let state = store.data_mut();
                check_descriptor_cap(state)?;
                let mut view = state.sockets();
                Ok((lower(tcp_create_socket::Host::create_tcp_socket(
                    &mut view, family,
                ))?,))
            },
        )?;
    linker
        .instance("wasi:sockets/udp-create-socket@0.2.12")?
        .func_wrap_async(
            "create-udp-socket",
            |mut store, (family,): (IpAddressFamily,)| {
                Box::new(async move {
                    let state = store.data_mut();
                    check_descriptor_cap(state)?;
                    let mut view = state.sockets();
                    let created: SocketResult<Resource<UdpSocket>> =
                        udp_create_socket::Host::create_udp_socket(&mut view, family).await;
                    Ok((lower(created)?,))
                })
            },
        )?;
    Ok(())
}
