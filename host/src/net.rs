//! Outbound network enforcement, at the connection: the `wasi:http` send
//! hook checks every request's host and port, and the `wasi:sockets`
//! address check every TCP/UDP address, against the grant's host patterns.
//! Each refusal is recorded as a [`Denial`] the host reports even if the
//! guest swallows the error.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::bindings::{Capability, Denial};
use crate::grant::HostPattern;
use crate::secret::SecretGrant;
use crate::usage::UsageLog;

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

    /// The denials recorded so far, leaving the log empty (for an instance
    /// that answers more than one call).
    pub fn take(&self) -> Vec<Denial> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The network part of a grant, shared by the HTTP hook and the socket check.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    hosts: Arc<[HostPattern]>,
    deny: Arc<[HostPattern]>,
    secrets: Arc<[SecretGrant]>,
    denials: DenialLog,
    /// Where allowed connections and injected secrets are noted.
    usage: UsageLog,
    timeout: Duration,
    /// Addresses that granted names resolved to during this call (by the
    /// guarded resolver), with the names: a socket may connect to them as
    /// it may to the names.
    resolved: Arc<Mutex<HashMap<IpAddr, Vec<String>>>>,
}

impl NetworkPolicy {
    /// A policy allowing exactly `hosts`; refusals go to `denials`.
    /// `timeout` bounds connecting and waiting for a response.
    pub fn new(hosts: &[HostPattern], denials: DenialLog, timeout: Duration) -> NetworkPolicy {
        NetworkPolicy {
            hosts: hosts.into(),
            deny: Arc::new([]),
            secrets: Arc::new([]),
            denials,
            usage: UsageLog::default(),
            timeout,
            resolved: Arc::default(),
        }
    }

    /// Never allows what `deny` matches, by name or by resolved address.
    pub fn with_deny(mut self, deny: &[HostPattern]) -> NetworkPolicy {
        self.deny = deny.into();
        self
    }

    /// Injects `secrets` into requests to their hosts.
    pub fn with_secrets(mut self, secrets: &[SecretGrant]) -> NetworkPolicy {
        self.secrets = secrets.into();
        self
    }

    /// Notes allowed connections and injected secrets in `usage`.
    pub fn with_usage(mut self, usage: UsageLog) -> NetworkPolicy {
        self.usage = usage;
        self
    }

    /// Whether any outbound network use is granted at all.
    pub fn any(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// Whether a `scheme` (`http`, `https`, `tcp`, `udp`) connection to
    /// `host:port` is granted and not denied.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.hosts.iter().any(|p| p.matches(scheme, host, port))
            && self.denied_by(scheme, host, port).is_none()
    }

    /// The deny rule matching a connection, if any.
    fn denied_by(&self, scheme: &str, host: &str, port: u16) -> Option<&HostPattern> {
        self.deny.iter().find(|p| p.matches(scheme, host, port))
    }

    /// Whether the guest may look up `name` (a lower-case DNS name): a host
    /// pattern of the grant matches it (whatever the scheme and port) and no
    /// deny rule does.
    pub fn allows_lookup(&self, name: &str) -> bool {
        self.hosts.iter().any(|p| p.matches_name(name))
            && !self.deny.iter().any(|p| p.matches_name(name))
    }

    /// Remembers that `name` (whose lookup was granted) resolved to `addrs`.
    pub fn remember_resolved(&self, name: &str, addrs: &[IpAddr]) {
        let mut map = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        for ip in addrs {
            let names = map.entry(*ip).or_default();
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }

    /// Whether a connection to `addr` is granted through a name that
    /// resolved to it during this call.
    fn allowed_by_resolved_name(&self, scheme: &str, addr: &SocketAddr) -> bool {
        let map = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&addr.ip().to_canonical())
            .is_some_and(|names| names.iter().any(|n| self.allows(scheme, n, addr.port())))
    }

    pub(crate) fn granted_list(&self) -> String {
        if self.hosts.is_empty() {
            "no hosts are granted".to_string()
        } else {
            let list: Vec<String> = self.hosts.iter().map(ToString::to_string).collect();
            format!("granted: {}", list.join(", "))
        }
    }

    fn deny(&self, scheme: &str, host: &str, port: u16, target: String) {
        let reason = match self.denied_by(scheme, host, port) {
            Some(rule) => format!(
                "{scheme} to `{target}` is forbidden by a deny rule ({rule}); deny rules win over \
                 every grant (see `warden policy explain`)"
            ),
            None => format!(
                "`{target}` is not in the component's network grant ({})",
                self.granted_list()
            ),
        };
        self.denials.push(Denial {
            capability: Capability::Network,
            target,
            reason,
        });
    }

    /// The check for `wasi:sockets`, for every TCP and UDP address:
    /// - connect/send/receive: never to an address a deny rule names; to a
    ///   special-purpose address (loopback, link-local and metadata,
    ///   private, CGNAT, ULA, IPv4-mapped forms of those, `0.0.0.0`,
    ///   multicast, broadcast) only when granted by explicit IP or CIDR —
    ///   `*` and names never reach them; to any other address when a
    ///   pattern matches it (by IP, CIDR or `*`) or a granted name resolved
    ///   to it during this call.
    /// - bind: only the implicit bind to the wildcard address and an
    ///   ephemeral port (port 0) that every connect and send performs; a
    ///   chosen address or port (squatting it) is refused.
    /// - listen and accept: refused; a tool gets no inbound network.
    pub fn check_socket(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        let scheme = match use_ {
            SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive | SocketAddrUse::UdpBind => "udp",
            _ => "tcp",
        };
        let ip = addr.ip().to_canonical();
        let canonical = SocketAddr::new(ip, addr.port());
        let shown = ip.to_string();
        let (allowed, reason) = match use_ {
            SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                if let Some(rule) = self.denied_by(scheme, &shown, addr.port()) {
                    (
                        false,
                        Some(format!(
                            "{scheme} to `{canonical}` is forbidden by a deny rule ({rule}); deny \
                             rules win over every grant (see `warden policy explain`)"
                        )),
                    )
                } else if self
                    .hosts
                    .iter()
                    .any(|p| p.contains_address(scheme, canonical))
                {
                    (true, None)
                } else if let Some(range) = special_range(&ip) {
                    (
                        false,
                        Some(format!(
                            "`{canonical}` is {range}; such addresses are reachable only when \
                             granted by IP or network (e.g. `{canonical}`), never \
                             through `*` or a name"
                        )),
                    )
                } else if self.allows(scheme, &shown, addr.port())
                    || self.allowed_by_resolved_name(scheme, &canonical)
                {
                    (true, None)
                } else {
                    (false, None)
                }
            }
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                if self.any() && ip.is_unspecified() && addr.port() == 0 {
                    (true, None)
                } else {
                    (
                        false,
                        Some(format!(
                            "binding `{canonical}` is refused: components may not bind a chosen \
                             address or port (only the ephemeral port every outbound connection \
                             uses), and no grant gives inbound network"
                        )),
                    )
                }
            }
            SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => (
                false,
                Some(format!(
                    "listening on `{canonical}` is refused: no grant gives a component inbound \
                     network"
                )),
            ),
        };
        if allowed && matches!(use_, SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend) {
            self.usage.connected(scheme, &shown, addr.port());
        }
        if !allowed {
            match reason {
                Some(reason) => self.denials.push(Denial {
                    capability: Capability::Network,
                    target: canonical.to_string(),
                    reason,
                }),
                None => self.deny(scheme, &shown, addr.port(), canonical.to_string()),
            }
        }
        allowed
    }
}

impl WasiHttpHooks for NetworkPolicy {
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        crate::guard::http_budget::BODY_BUFFER_CHUNKS
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        crate::guard::http_budget::BODY_CHUNK_BYTES
    }

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
        let scheme = if https { "https" } else { "http" };
        let host = uri.host().unwrap_or_default().to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if !self.check_url(scheme, &host, port) {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        // Bound every phase of the request by the call's wall-clock limit.
        let cap = |d: Option<Duration>| Some(d.map_or(self.timeout, |d| d.min(self.timeout)));
        let options = RequestOptions {
            connect_timeout: cap(options.and_then(|o| o.connect_timeout)),
            first_byte_timeout: cap(options.and_then(|o| o.first_byte_timeout)),
            between_bytes_timeout: cap(options.and_then(|o| o.between_bytes_timeout)),
        };
        let policy = self.clone();
        let mut request = request;
        // Secrets go in on the host side: the guest never sees the values.
        // Each goes only to the scheme, host and port it was granted for,
        // and every response is scrubbed of them on the way back
        // (`outbound::send`), in case the server reflects them.
        self.inject_secrets(&mut request, scheme, &host, port);
        Box::new(async move {
            use http_body_util::BodyExt;
            // Check the address actually connected, not just the name: a
            // granted name must not lead to loopback, link-local or private
            // addresses unless those are granted by IP.
            let addr = policy.resolve_checked(scheme, &host, port).await?;
            // Connect to exactly that address (never resolving the name
            // again), verifying TLS for the name.
            let target = crate::outbound::Target { addr, host, https };
            let (response, io) = crate::outbound::send(request, &target, &options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            ))
        })
    }
}

impl NetworkPolicy {
    /// Puts the secrets granted for `scheme://host:port` into `request`'s
    /// headers (the requester never sees the values), and the secrets to
    /// scrub from the response into its extensions (for
    /// [`crate::outbound::send`]).
    pub(crate) fn inject_secrets<B>(
        &self,
        request: &mut http::Request<B>,
        scheme: &str,
        host: &str,
        port: u16,
    ) {
        if let Some(reflection) = crate::secret::Reflection::new(&self.secrets) {
            request.extensions_mut().insert(Arc::new(reflection));
        }
        for secret in self
            .secrets
            .iter()
            .filter(|s| s.applies_to(scheme, host, port))
        {
            match (
                http::header::HeaderName::try_from(secret.header.as_str()),
                http::header::HeaderValue::try_from(secret.header_value()),
            ) {
                (Ok(name), Ok(mut value)) => {
                    value.set_sensitive(true);
                    request.headers_mut().insert(name, value);
                    self.usage.secret_sent(&secret.name, scheme, host, port);
                }
                _ => tracing::warn!(
                    "secret `{}` cannot be sent as a header; not injected",
                    secret.name
                ),
            }
        }
    }

    /// Checks a connection to `scheme://host:port` by name, recording a
    /// denial (and returning false) when the grant does not allow it.
    pub(crate) fn check_url(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self.allows(scheme, host, port) {
            self.usage.connected(scheme, host, port);
            return true;
        }
        let target = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        self.deny(scheme, host, port, target);
        false
    }

    /// Resolves `host` and returns the first address the grant allows
    /// connecting to, recording a denial if there is none.
    pub(crate) async fn resolve_checked(
        &self,
        scheme: &str,
        host: &str,
        port: u16,
    ) -> wasmtime_wasi_http::Result<SocketAddr> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                match tokio::time::timeout(self.timeout, tokio::net::lookup_host((bare, port)))
                    .await
                {
                    Ok(Ok(addrs)) => addrs.collect(),
                    Ok(Err(_)) => {
                        return Err(wasmtime_wasi_http::Error::DnsError {
                            rcode: Some("address not available".into()),
                            info_code: None,
                        });
                    }
                    Err(_) => return Err(wasmtime_wasi_http::Error::DnsTimeout),
                }
            }
        };
        if let Some(addr) = addrs.iter().find(|a| self.address_allowed(scheme, a)) {
            return Ok(*addr);
        }
        let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
        if let Some((addr, rule)) = addrs.iter().find_map(|a| {
            self.denied_by(scheme, &a.ip().to_string(), a.port())
                .map(|r| (a, r))
        }) {
            self.denials.push(Denial {
                capability: Capability::Network,
                target: format!("{host}:{port}"),
                reason: format!(
                    "`{host}` resolves to {}, which a deny rule forbids ({rule}); deny rules \
                     win over every grant",
                    addr.ip()
                ),
            });
            return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
        }
        let first = addrs
            .first()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        self.denials.push(Denial {
            capability: Capability::Network,
            target: format!("{host}:{port}"),
            reason: format!(
                "`{host}` resolves to {}, {}; such addresses are refused unless granted by IP \
                 (e.g. `{first}:{port}`)",
                shown.join(", "),
                addrs
                    .first()
                    .map(|a| special_range(&a.ip()).unwrap_or("a forbidden address"))
                    .unwrap_or("nothing")
            ),
        });
        Err(wasmtime_wasi_http::Error::HttpRequestDenied)
    }

    /// Whether connecting to `addr` is allowed: not denied, and either a
    /// public address of a granted name or an address granted by IP or
    /// network.
    fn address_allowed(&self, scheme: &str, addr: &SocketAddr) -> bool {
        if self
            .denied_by(scheme, &addr.ip().to_string(), addr.port())
            .is_some()
        {
            return false;
        }
        let by_ip = self.hosts.iter().any(|p| p.contains_address(scheme, *addr));
        by_ip || special_range(&addr.ip()).is_none()
    }
}

/// The name of the special-purpose range `ip` is in, if any: addresses a
/// granted host name must never lead to unless granted by IP.
pub fn special_range(ip: &IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_link_local() {
                Some("a link-local address (cloud metadata lives here)")
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                Some("a private address")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || o[0] == 0 {
                Some("a non-routable address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_range(&IpAddr::V4(v4));
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                Some("a loopback address")
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Some("a link-local address")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Some("a private (unique local) address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("a non-routable address")
            } else {
                None
            }
        }
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
            denials[0]
                .reason
                .contains("`127.0.0.1:8081` is a loopback address")
                && denials[0].reason.contains("granted by IP")
                && !denials[0].reason.contains("--"),
            "{}",
            denials[0].reason
        );
    }

    #[test]
    fn special_ranges_are_recognised() {
        for (ip, special) in [
            ("127.0.0.1", true),
            ("169.254.169.254", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("192.168.1.1", true),
            ("100.64.0.1", true),
            ("0.0.0.0", true),
            ("::1", true),
            ("fe80::1", true),
            ("fd00::1", true),
            ("::ffff:127.0.0.1", true),
            ("93.184.216.34", false),
            ("2606:4700::1111", false),
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert_eq!(special_range(&ip).is_some(), special, "{ip}");
        }
    }

    #[test]
    fn a_special_address_needs_a_grant_by_ip() {
        let (by_name, _) = policy(&["localhost:8080"]);
        let (by_ip, _) = policy(&["127.0.0.1:8080"]);
        let loopback: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let public: SocketAddr = "93.184.216.34:8080".parse().expect("addr");
        assert!(!by_name.address_allowed("http", &loopback));
        assert!(by_name.address_allowed("http", &public));
        assert!(by_ip.address_allowed("http", &loopback));
    }

    #[test]
    fn deny_rules_apply_to_names_and_resolved_addresses() {
        let (p, log) = policy(&["*:*", "10.0.0.0/8"]);
        let p = p.with_deny(&[
            HostPattern::parse("*.internal").expect("valid"),
            HostPattern::parse("10.1.0.0/16").expect("valid"),
        ]);
        assert!(p.allows("https", "api.example.com", 443));
        assert!(!p.allows("https", "db.internal", 443));
        assert!(p.allows("tcp", "10.2.0.1", 5432));
        assert!(!p.allows("tcp", "10.1.0.1", 5432));
        // A granted name resolving into a denied network is refused.
        let denied: SocketAddr = "10.1.2.3:443".parse().expect("addr");
        let granted: SocketAddr = "10.2.2.3:443".parse().expect("addr");
        assert!(!p.address_allowed("https", &denied));
        assert!(p.address_allowed("https", &granted));
        assert!(!p.check_socket(denied, SocketAddrUse::TcpConnect));
        let reason = &log.snapshot()[0].reason;
        assert!(
            reason.contains("deny rule") && reason.contains("10.1.0.0/16"),
            "{reason}"
        );
    }

    #[test]
    fn under_star_raw_sockets_never_reach_special_addresses() {
        let (p, log) = policy(&["*"]);
        for addr in [
            "127.0.0.1:8080",
            "127.1.2.3:22",
            "169.254.169.254:80",
            "10.0.0.1:5432",
            "172.16.0.1:80",
            "192.168.1.1:80",
            "100.64.0.1:80",
            "0.0.0.0:80",
            "255.255.255.255:9",
            "224.0.0.1:9",
            "[::1]:80",
            "[fe80::1]:80",
            "[fd00::1]:80",
            "[::ffff:169.254.169.254]:80",
            "[::ffff:127.0.0.1]:80",
        ] {
            let addr: SocketAddr = addr.parse().expect("addr");
            for use_ in [
                SocketAddrUse::TcpConnect,
                SocketAddrUse::UdpSend,
                SocketAddrUse::UdpReceive,
            ] {
                assert!(!p.check_socket(addr, use_), "{addr} {use_:?}");
            }
        }
        let public: SocketAddr = "93.184.216.34:443".parse().expect("addr");
        assert!(p.check_socket(public, SocketAddrUse::TcpConnect));
        assert!(p.check_socket(public, SocketAddrUse::UdpSend));
        let metadata = log
            .snapshot()
            .into_iter()
            .find(|d| d.target == "169.254.169.254:80")
            .expect("denial recorded");
        assert!(
            metadata.reason.contains("link-local"),
            "{}",
            metadata.reason
        );
        assert!(
            metadata.reason.contains("never through `*`"),
            "{}",
            metadata.reason
        );
    }

    #[test]
    fn special_addresses_are_reachable_when_granted_by_ip_or_network() {
        let (p, _) = policy(&["127.0.0.1:8080", "10.0.0.0/8", "[::1]:53"]);
        let ok = |a: &str, u| p.check_socket(a.parse().expect("addr"), u);
        assert!(ok("127.0.0.1:8080", SocketAddrUse::TcpConnect));
        assert!(!ok("127.0.0.1:8081", SocketAddrUse::TcpConnect));
        assert!(ok("10.9.8.7:1", SocketAddrUse::TcpConnect));
        assert!(ok("[::1]:53", SocketAddrUse::UdpSend));
        assert!(!ok("[::1]:54", SocketAddrUse::UdpSend));
        assert!(!ok("169.254.169.254:80", SocketAddrUse::TcpConnect));
    }

    #[test]
    fn a_socket_reaches_what_a_granted_name_resolved_to_and_nothing_else() {
        let (p, _) = policy(&["example.com:443"]);
        let addr: SocketAddr = "93.184.216.34:443".parse().expect("addr");
        assert!(
            !p.check_socket(addr, SocketAddrUse::TcpConnect),
            "not resolved yet"
        );
        assert!(p.allows_lookup("example.com"));
        assert!(!p.allows_lookup("exfil.attacker.example"));
        assert!(!p.allows_lookup("api.example.com"));
        p.remember_resolved("example.com", &[addr.ip()]);
        assert!(p.check_socket(addr, SocketAddrUse::TcpConnect));
        let other_port: SocketAddr = "93.184.216.34:25".parse().expect("addr");
        assert!(!p.check_socket(other_port, SocketAddrUse::TcpConnect));
        // A granted name resolving to a special address does not open it.
        let loopback: SocketAddr = "127.0.0.1:443".parse().expect("addr");
        p.remember_resolved("example.com", &[loopback.ip()]);
        assert!(!p.check_socket(loopback, SocketAddrUse::TcpConnect));
    }

    #[test]
    fn deny_rules_stop_lookups_too() {
        let (p, _) = policy(&["*"]);
        let p = p.with_deny(&[HostPattern::parse("*.internal").expect("valid")]);
        assert!(p.allows_lookup("example.org"));
        assert!(!p.allows_lookup("metadata.internal"));
    }

    #[test]
    fn only_the_implicit_ephemeral_bind_is_allowed() {
        let (p, log) = policy(&["*"]);
        let ok = |a: &str, u| p.check_socket(a.parse().expect("addr"), u);
        assert!(ok("0.0.0.0:0", SocketAddrUse::TcpBind));
        assert!(ok("[::]:0", SocketAddrUse::UdpBind));
        assert!(!ok("0.0.0.0:8080", SocketAddrUse::TcpBind));
        assert!(!ok("0.0.0.0:5353", SocketAddrUse::UdpBind));
        assert!(!ok("127.0.0.1:0", SocketAddrUse::TcpBind));
        assert!(!ok("0.0.0.0:8080", SocketAddrUse::TcpListen));
        assert!(!ok("127.0.0.1:9", SocketAddrUse::TcpAccept));
        assert!(log.snapshot()[0].reason.contains("may not bind"));
    }

    #[test]
    fn with_no_hosts_nothing_binds() {
        let (p, _) = policy(&[]);
        let any: SocketAddr = "0.0.0.0:0".parse().expect("addr");
        assert!(!p.check_socket(any, SocketAddrUse::TcpBind));
        assert!(!p.any());
    }
}
