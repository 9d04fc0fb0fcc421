//! What one call actually used of its grant: [`Usage`], recorded beside the
//! call (`AuditEvent::Used`) and in an agent run's recording, so that
//! `warden policy suggest` can derive the smallest grant a run needed.

use serde::{Deserialize, Serialize};

/// The most entries kept in each list of a [`Usage`]; more are counted in
/// [`Usage::dropped`], so a record stays small whatever a guest does.
pub const MAX_USAGE_ENTRIES: usize = 64;

/// The capabilities one call used (not merely held): bounded lists of the
/// granted directories it read or wrote, the destinations it connected to,
/// the environment it read and the secrets the host injected for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Granted directories the call opened something in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<DirUse>,
    /// Destinations the call connected to (allowed connections only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostUse>,
    /// Names of granted environment variables the call was handed (a
    /// guest reads the environment as a whole, so all granted names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Secrets injected into the call's requests, with where they went.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretUse>,
    /// Entries not kept because a list was full.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A granted directory a call used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DirUse {
    /// The directory on the host, as granted.
    pub host: String,
    /// Where the guest saw it.
    pub guest: String,
    /// Whether anything in it was created, written, renamed or removed.
    pub write: bool,
}

/// A destination a call connected to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HostUse {
    /// `http`, `https`, `tcp` or `udp`.
    pub scheme: String,
    /// The host name or IP address, as the request named it.
    pub host: String,
    /// The port.
    pub port: u16,
}

/// A secret the host injected into a request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretUse {
    /// The secret's name (never its value).
    pub name: String,
    /// Where it was sent.
    pub to: HostUse,
}

impl Usage {
    /// Whether nothing was used.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
            && self.hosts.is_empty()
            && self.env.is_empty()
            && self.secrets.is_empty()
            && self.dropped == 0
    }

    /// Notes a use of directory `host` (seen at `guest`); a write upgrades
    /// an earlier read.
    pub fn add_dir(&mut self, host: &str, guest: &str, write: bool) {
        if let Some(d) = self.dirs.iter_mut().find(|d| d.host == host) {
            d.write |= write;
            return;
        }
        let entry = DirUse {
            host: host.to_string(),
            guest: guest.to_string(),
            write,
        };
        push_bounded(&mut self.dirs, entry, &mut self.dropped);
    }

    /// Notes a connection.
    pub fn add_host(&mut self, scheme: &str, host: &str, port: u16) {
        let entry = HostUse {
            scheme: scheme.to_string(),
            host: host.to_ascii_lowercase(),
            port,
        };
        if !self.hosts.contains(&entry) {
            push_bounded(&mut self.hosts, entry, &mut self.dropped);
        }
    }

    /// Notes that the environment (these granted names) was read.
    pub fn add_env<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            if !self.env.iter().any(|n| n == name) {
                push_bounded(&mut self.env, name.to_string(), &mut self.dropped);
            }
        }
    }

    /// Notes that secret `name` was sent to `to`.
    pub fn add_secret(&mut self, name: &str, to: HostUse) {
        let entry = SecretUse {
            name: name.to_string(),
            to,
        };
        if !self.secrets.contains(&entry) {
            push_bounded(&mut self.secrets, entry, &mut self.dropped);
        }
    }

    /// Adds everything `other` used.
    pub fn merge(&mut self, other: &Usage) {
        for d in &other.dirs {
            self.add_dir(&d.host, &d.guest, d.write);
        }
        for h in &other.hosts {
            self.add_host(&h.scheme, &h.host, h.port);
        }
        self.add_env(other.env.iter().map(String::as_str));
        for s in &other.secrets {
            self.add_secret(&s.name, s.to.clone());
        }
        self.dropped = self.dropped.saturating_add(other.dropped);
    }

    /// Every string in the usage, for redaction and bounding.
    pub(crate) fn strings_mut(&mut self) -> Vec<&mut String> {
        let mut v: Vec<&mut String> = Vec::new();
        for d in &mut self.dirs {
            v.push(&mut d.host);
            v.push(&mut d.guest);
        }
        for h in &mut self.hosts {
            v.push(&mut h.scheme);
            v.push(&mut h.host);
        }
        v.extend(self.env.iter_mut());
        for s in &mut self.secrets {
            v.push(&mut s.name);
            v.push(&mut s.to.scheme);
            v.push(&mut s.to.host);
        }
        v
    }
}

fn push_bounded<T>(list: &mut Vec<T>, entry: T, dropped: &mut u64) {
    if list.len() < MAX_USAGE_ENTRIES {
        list.push(entry);
    } else {
        *dropped = dropped.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_deduplicated_writes_upgrade_reads_and_lists_are_bounded() {
        let mut u = Usage::default();
        u.add_dir("/src", "/src", false);
        u.add_dir("/src", "/src", true);
        u.add_dir("/src", "/src", false);
        assert_eq!(u.dirs.len(), 1);
        assert!(u.dirs[0].write);
        u.add_host("https", "Example.COM", 443);
        u.add_host("https", "example.com", 443);
        assert_eq!(u.hosts.len(), 1);
        for i in 0..(MAX_USAGE_ENTRIES as u16 + 10) {
            u.add_host("http", "127.0.0.1", 1000 + i);
        }
        assert_eq!(u.hosts.len(), MAX_USAGE_ENTRIES);
        assert_eq!(u.dropped, 11);
    }

    #[test]
    fn an_empty_usage_serialises_to_an_empty_object() {
        assert_eq!(
            serde_json::to_string(&Usage::default()).expect("json"),
            "{}"
        );
        let back: Usage = serde_json::from_str("{}").expect("json");
        assert!(back.is_empty());
    }
}
