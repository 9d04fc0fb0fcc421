//! Outbound network enforcement, at the connection: the `wasi:http` send
//! hook checks every request's host and port, and the `wasi:sockets`
//! address check every TCP/UDP address, against the grant's host patterns.
//! Each refusal is recorded as a [`Denial`] the host reports even if the
//! guest swallows the error.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::bindings::{Capability, Denial};
use crate::grant::HostPattern;

/// Denials the host itself observed during one call, in order.
#[derive(Debug, Clone, Default)]
pub struct DenialLog(Arc<Mutex<Vec<Denial>>>);

impl DenialLog {
    /// Records a denial.
    pub fn push(&self, denial: Denial) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(denial);
    }

    /// The denials recorded so far.
    pub fn snapshot(&self) -> Vec<Denial> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The network part of a grant, shared by the HTTP hook and the socket check.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    hosts: Arc<[HostPattern]>,
    denials: DenialLog,
    timeout: Duration,
}

impl NetworkPolicy {
    /// A policy allowing exactly `hosts`; refusals go to `denials`.
    /// `timeout` bounds connecting and waiting for a response.
    pub fn new(hosts: &[HostPattern], denials: DenialLog, timeout: Duration) -> NetworkPolicy {
        NetworkPolicy {
            hosts: hosts.into(),
            denials,
            timeout,
        }
    }

    /// Whether any outbound network use is granted at all.
    pub fn any(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// Whether `host:port` is granted.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.hosts.iter().any(|p| p.allows(host, port))
    }

    fn granted_list(&self) -> String {
        if self.hosts.is_empty() {
            "no hosts are granted".to_string()
        } else {
            let list: Vec<String> = self.hosts.iter().map(ToString::to_string).collect();
            format!("granted: {}", list.join(", "))
        }
    }

    fn deny(&self, target: String) {
        let reason = format!(
            "the host is not in the component's network grant ({}); grant it with --allow-host {}",
            self.granted_list(),
            target
        );
        self.denials.push(Denial {
            capability: Capability::Network,
            target,
            reason,
        });
    }

    /// The check for `wasi:sockets`: only connections and datagrams to
    /// granted addresses (IP-literal patterns) pass; listening and accepting
    /// are never granted to a tool.
    pub fn check_socket(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        let allowed = match use_ {
            SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                self.allows(&addr.ip().to_string(), addr.port())
            }
            // Implicit binds happen before every connect and send; they use
            // the wildcard address and open nothing to the outside.
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                self.any() && addr.ip().is_unspecified()
            }
            SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => false,
        };
        if !allowed {
            self.deny(addr.to_string());
        }
        allowed
    }
}

impl WasiHttpHooks for NetworkPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
                )>,
            > + Send,
    > {
        drop(fut);
        let uri = request.uri();
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let host = uri.host().unwrap_or_default().to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if !self.allows(&host, port) {
            let target = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            self.deny(target);
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        // Bound every phase of the request by the call's wall-clock limit.
        let cap = |d: Option<Duration>| Some(d.map_or(self.timeout, |d| d.min(self.timeout)));
        let options = RequestOptions {
            connect_timeout: cap(options.and_then(|o| o.connect_timeout)),
            first_byte_timeout: cap(options.and_then(|o| o.first_byte_timeout)),
            between_bytes_timeout: cap(options.and_then(|o| o.between_bytes_timeout)),
        };
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str]) -> (NetworkPolicy, DenialLog) {
        let hosts: Vec<HostPattern> = hosts
            .iter()
            .map(|h| HostPattern::parse(h).expect("valid"))
            .collect();
        let log = DenialLog::default();
        (
            NetworkPolicy::new(&hosts, log.clone(), Duration::from_secs(1)),
            log,
        )
    }

    #[test]
    fn sockets_connect_only_to_granted_addresses_and_never_listen() {
        let (p, log) = policy(&["127.0.0.1:8080"]);
        let ok: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let other: SocketAddr = "127.0.0.1:8081".parse().expect("addr");
        let any: SocketAddr = "0.0.0.0:0".parse().expect("addr");
        assert!(p.check_socket(ok, SocketAddrUse::TcpConnect));
        assert!(p.check_socket(any, SocketAddrUse::TcpBind));
        assert!(!p.check_socket(other, SocketAddrUse::TcpConnect));
        assert!(!p.check_socket(any, SocketAddrUse::TcpListen));
        let denials = log.snapshot();
        assert_eq!(denials.len(), 2);
        assert_eq!(denials[0].target, "127.0.0.1:8081");
        assert!(
            denials[0].reason.contains("--allow-host 127.0.0.1:8081"),
            "{}",
            denials[0].reason
        );
    }

    #[test]
    fn with_no_hosts_nothing_binds() {
        let (p, _) = policy(&[]);
        let any: SocketAddr = "0.0.0.0:0".parse().expect("addr");
        assert!(!p.check_socket(any, SocketAddrUse::TcpBind));
        assert!(!p.any());
    }
}
