//! IP networks in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), matched
//! with prefix masks. An address is a network of one (`/32`, `/128`).
//!
//! IPv4 and IPv6 networks never contain each other, except that an
//! IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is matched as the IPv4
//! address it maps, so a rule about `10.0.0.0/8` cannot be bypassed by
//! writing the address in its IPv6 form.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Text that is not an IP network, or a network written with a mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IP address.
    #[error("`{text}` is not an IPv4 or IPv6 address")]
    NotAnAddress {
        /// The address as given.
        text: String,
    },
    /// The part after `/` is not a number of bits.
    #[error("the prefix length `/{prefix}` is not a number of bits")]
    PrefixNotANumber {
        /// The prefix as given (without the `/`).
        prefix: String,
    },
    /// The prefix is longer than the address.
    #[error(
        "the prefix length /{prefix} is longer than an {} address ({max} bits)",
        if *max == 32 { "IPv4" } else { "IPv6" }
    )]
    PrefixTooLong {
        /// The prefix length as given.
        prefix: u8,
        /// The address's length in bits (32 or 128).
        max: u8,
    },
    /// The address has bits set past the prefix (`10.0.0.1/8`).
    #[error("{addr}/{prefix} has bits set past the prefix; did you mean {network}/{prefix}?")]
    HostBitsSet {
        /// The address as given.
        addr: IpAddr,
        /// The prefix length.
        prefix: u8,
        /// The network the address is in (what was probably meant).
        network: IpAddr,
    },
}

/// An IP network: an address whose bits past `prefix` are zero, and the
/// prefix length (0-32 for IPv4, 0-128 for IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// The mask of a `prefix`-bit IPv4 network.
fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// The mask of a `prefix`-bit IPv6 network.
fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl IpNet {
    /// The network `addr/prefix`. Refuses a prefix longer than the address
    /// and an address with bits set past the prefix (`10.0.0.1/8`), which
    /// is almost always a typo for the network (`10.0.0.0/8`).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<IpNet, CidrError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(CidrError::PrefixTooLong { prefix, max });
        }
        let masked = Self::masked(addr, prefix);
        if masked != addr {
            return Err(CidrError::HostBitsSet {
                addr,
                prefix,
                network: masked,
            });
        }
        Ok(IpNet { addr, prefix })
    }

    /// The network of exactly one address.
    pub fn host(addr: IpAddr) -> IpNet {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        IpNet { addr, prefix }
    }

    fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
        match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask_v4(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_v6(prefix))),
        }
    }

    /// The network address (the first address of the network).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether this network is a single address (`/32` or `/128`).
    pub fn is_host(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address is
    /// matched as its IPv4 address.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask_v4(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask_v6(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }

    /// Whether every address of `other` is in this network.
    pub fn contains_net(&self, other: &IpNet) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && self.prefix <= other.prefix
            && self.contains(&other.addr)
    }

    /// The addresses both networks contain, if any. Two networks either
    /// nest or are disjoint, so this is the smaller one or nothing.
    pub fn intersect(&self, other: &IpNet) -> Option<IpNet> {
        if self.contains_net(other) {
            Some(*other)
        } else if other.contains_net(self) {
            Some(*self)
        } else {
            None
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl FromStr for IpNet {
    type Err = CidrError;

    /// Parses `ADDR/PREFIX` or a bare address (`10.0.0.1`, `::1`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::NotAnAddress {
            text: addr.to_string(),
        })?;
        match prefix {
            None => Ok(IpNet::host(addr)),
            Some(p) => {
                let valid = !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit());
                let prefix: u8 = p.parse().ok().filter(|_| valid).ok_or_else(|| {
                    CidrError::PrefixNotANumber {
                        prefix: p.to_string(),
                    }
                })?;
                IpNet::new(addr, prefix)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn ipv4_networks_match_by_prefix_including_their_boundaries() {
        let n = net("10.0.0.0/8");
        assert!(n.contains(&ip("10.0.0.0")));
        assert!(n.contains(&ip("10.255.255.255")));
        assert!(!n.contains(&ip("9.255.255.255")));
        assert!(!n.contains(&ip("11.0.0.0")));

        let n = net("192.168.1.0/25");
        assert!(n.contains(&ip("192.168.1.127")));
        assert!(!n.contains(&ip("192.168.1.128")));

        let n = net("203.0.113.7/32");
        assert!(n.contains(&ip("203.0.113.7")));
        assert!(!n.contains(&ip("203.0.113.6")));
        assert!(!n.contains(&ip("203.0.113.8")));

        let all = net("0.0.0.0/0");
        assert!(all.contains(&ip("0.0.0.0")));
        assert!(all.contains(&ip("255.255.255.255")));
        assert!(!all.contains(&ip("::1")), "an IPv4 network holds no IPv6");
    }

    #[test]
    fn ipv6_networks_match_by_prefix_including_their_boundaries() {
        let n = net("2001:db8::/32");
        assert!(n.contains(&ip("2001:db8::")));
        assert!(n.contains(&ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!n.contains(&ip("2001:db9::")));
        assert!(!n.contains(&ip("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));

        let n = net("fe80::/10");
        assert!(n.contains(&ip("febf::1")));
        assert!(!n.contains(&ip("fec0::1")));

        let one = net("::1/128");
        assert!(one.contains(&ip("::1")));
        assert!(!one.contains(&ip("::2")));
        assert!(!one.contains(&ip("127.0.0.1")));

        let all = net("::/0");
        assert!(all.contains(&ip("::")));
        assert!(all.contains(&ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(
            !all.contains(&ip("10.0.0.1")),
            "an IPv6 network holds no IPv4"
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_addresses_match_as_ipv4() {
        assert!(net("10.0.0.0/8").contains(&ip("::ffff:10.1.2.3")));
        assert!(!net("10.0.0.0/8").contains(&ip("::ffff:11.1.2.3")));
    }

    #[test]
    fn bare_addresses_are_single_address_networks() {
        assert_eq!(net("10.1.2.3"), net("10.1.2.3/32"));
        assert_eq!(net("::1"), net("::1/128"));
        assert!(net("::1").is_host());
        assert_eq!(net("10.1.2.3/32").to_string(), "10.1.2.3");
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn networks_nest_or_are_disjoint() {
        let big = net("10.0.0.0/8");
        let small = net("10.20.0.0/16");
        assert!(big.contains_net(&small));
        assert!(!small.contains_net(&big));
        assert_eq!(big.intersect(&small), Some(small));
        assert_eq!(small.intersect(&big), Some(small));
        assert_eq!(big.intersect(&net("11.0.0.0/8")), None);
        assert_eq!(big.intersect(&net("::/0")), None);
        assert!(net("0.0.0.0/0").contains_net(&big));
    }

    #[test]
    fn malformed_networks_say_why() {
        for (bad, why) in [
            ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
            ("10.0.0.0/33", "longer than an IPv4 address"),
            ("::/129", "longer than an IPv6 address"),
            ("10.0.0.0/", "not a number of bits"),
            ("10.0.0.0/+8", "not a number of bits"),
            ("10.0.0/8", "not an IPv4 or IPv6 address"),
            ("example.com/8", "not an IPv4 or IPv6 address"),
        ] {
            let err = bad.parse::<IpNet>().expect_err(bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_network_with_host_bits_names_the_network_meant() {
        assert_eq!(
            "10.0.0.1/8".parse::<IpNet>(),
            Err(CidrError::HostBitsSet {
                addr: ip("10.0.0.1"),
                prefix: 8,
                network: ip("10.0.0.0"),
            })
        );
        assert_eq!(
            "::/129".parse::<IpNet>(),
            Err(CidrError::PrefixTooLong {
                prefix: 129,
                max: 128
            })
        );
    }
}
