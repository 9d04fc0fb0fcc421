//! Learning the grant: from what a run (or the audit log) says each
//! component actually used ([`Usage`]), the smallest grants that cover it,
//! as `grants.toml` rules; what the grants file allows a component but it
//! never used; and what it was refused, listed apart and never turned
//! into a grant. `warden policy suggest` is the CLI over this module.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use warden_policy::{
    Access, Capability, DirRule, Effect, GrantsFile, NetRule, PathPattern, PolicyError, Target,
};

use crate::agent::recording::RecordedDenial;
use crate::usage::{HostUse, Usage};

/// The name policies know the component run as `name` by (what rules in
/// `grants.toml` target): a package name as is, a built-in part (which
/// runs under its short name, `fs`) as `builtin:fs`, and any other short
/// name (a component file's stem) as `file:NAME`.
pub fn policy_name(name: &str) -> String {
    if name.contains(':') {
        name.to_string()
    } else if crate::builtin::lookup(name).is_some() {
        format!("builtin:{name}")
    } else {
        format!("file:{name}")
    }
}

/// What one component used and was refused, gathered over a run or a
/// stretch of the audit log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ComponentUse {
    /// Everything it used.
    pub usage: Usage,
    /// Everything it was refused (each once, in the order first seen).
    pub denied: Vec<RecordedDenial>,
    /// How many calls of an MCP server or a native command were seen
    /// (components' calls are not counted: their use is always observed).
    pub calls: u64,
}

impl ComponentUse {
    /// Adds a call's usage.
    pub fn add_usage(&mut self, usage: &Usage) {
        self.usage.merge(usage);
    }

    /// Adds a refusal (once).
    pub fn add_denial(&mut self, denial: RecordedDenial) {
        let seen = self
            .denied
            .iter()
            .any(|d| d.capability == denial.capability && d.target == denial.target);
        if !seen {
            self.denied.push(denial);
        }
    }
}

/// The suggestion for one component.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// The smallest grants covering what it used, in words.
    pub grants: Vec<String>,
    /// Capabilities the grants file allows it that it never used, in words.
    pub unused: Vec<String>,
    /// What it was refused (never turned into a grant).
    pub denied: Vec<RecordedDenial>,
    /// Uses that could not be expressed as a grant, with why.
    pub skipped: Vec<String>,
    #[serde(skip)]
    capabilities: Vec<Capability>,
}

impl Suggestion {
    /// The grants, as capabilities.
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }
}

/// The capabilities covering `usage`: each directory with the access used
/// (read-write only when something was written) at the guest path it was
/// seen at, each destination as exactly its scheme, host and port (a raw
/// TCP or UDP connection: host and port, any scheme), each environment
/// variable and each secret with where it was sent. Uses that cannot be
/// written as a grant are returned apart, with why.
pub fn capabilities_for(usage: &Usage) -> (Vec<Capability>, Vec<String>) {
    let mut caps = Vec::new();
    let mut skipped = Vec::new();
    for d in &usage.dirs {
        match PathPattern::parse(&d.host) {
            Ok(host) => caps.push(Capability::Dir(DirRule {
                host,
                guest: Some(d.guest.clone()),
                mode: Some(if d.write {
                    Access::ReadWrite
                } else {
                    Access::ReadOnly
                }),
            })),
            Err(e) => skipped.push(format!("directory {}: {e}", d.host)),
        }
    }
    for h in &usage.hosts {
        match net_rule(h) {
            Ok(rule) => caps.push(Capability::Network(rule)),
            Err(e) => skipped.push(format!("network {}:{}: {e}", h.host, h.port)),
        }
    }
    for name in &usage.env {
        caps.push(Capability::Env(name.clone()));
    }
    for s in &usage.secrets {
        caps.push(Capability::Secret(format!(
            "{}@{}://{}:{}",
            s.name,
            s.to.scheme,
            bracketed(&s.to.host),
            s.to.port
        )));
    }
    if usage.dropped > 0 {
        skipped.push(format!(
            "{} more uses were not recorded (over {} per call)",
            usage.dropped,
            warden_audit::MAX_USAGE_ENTRIES
        ));
    }
    (caps, skipped)
}

fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Exactly the destination used.
fn net_rule(h: &HostUse) -> Result<NetRule, warden_policy::network::NetRuleError> {
    let host = bracketed(&h.host);
    match h.scheme.as_str() {
        "http" | "https" => format!("{}://{host}:{}", h.scheme, h.port).parse(),
        _ => NetRule::from_manifest_host(&format!("{host}:{}", h.port)),
    }
}

/// What `suggest` says of an MCP server or a command that was called but
/// whose use of its grant was not observed.
pub const UNOBSERVED: &str = "its calls used nothing observable: a stdio MCP server or a command \
    runs as a confined process whose file, environment and network use the kernel enforces \
    without reporting it (only a remote server's connections and secrets are observed), so no \
    grant is suggested and none is reported unused; its refusals are listed";

/// Whether `subject` runs as a process of its own (a server, a command)
/// rather than a component.
fn is_process_subject(subject: &str) -> bool {
    subject.starts_with("server:") || subject.starts_with("command:")
}

/// Per component: the grants covering its use, what `grants` allows it
/// that it never used, and what it was refused. An MCP server or command
/// that was called but of whose use nothing was observed gets the note
/// [`UNOBSERVED`] instead of grants and unused capabilities.
pub fn suggest(
    uses: &BTreeMap<String, ComponentUse>,
    grants: &GrantsFile,
) -> BTreeMap<String, Suggestion> {
    uses.iter()
        .map(|(component, u)| {
            let (capabilities, mut skipped) = capabilities_for(&u.usage);
            let unobserved = is_process_subject(component) && u.calls > 0 && u.usage.is_empty();
            let unused = if unobserved {
                skipped.push(UNOBSERVED.to_string());
                Vec::new()
            } else {
                unused(component, &u.usage, grants)
            };
            let suggestion = Suggestion {
                grants: capabilities.iter().map(ToString::to_string).collect(),
                unused,
                denied: u.denied.clone(),
                skipped,
                capabilities,
            };
            (component.clone(), suggestion)
        })
        .collect()
}

/// The rules of `grants` allowing exactly `component` (by name), each
/// capability of which no use matched, in words. Limits are not
/// capabilities a call "uses" and are left out.
fn unused(component: &str, usage: &Usage, grants: &GrantsFile) -> Vec<String> {
    let Ok(target) = component.parse::<Target>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rule in grants
        .rules()
        .iter()
        .filter(|r| r.effect == Effect::Allow && r.target.component == target.component)
    {
        for cap in rule.capabilities() {
            let used = match &cap {
                Capability::Dir(d) => usage.dirs.iter().any(|u| {
                    d.host
                        .as_path()
                        .is_some_and(|p| same_dir(Path::new(&p), Path::new(&u.host)))
                }),
                Capability::Network(n) => usage
                    .hosts
                    .iter()
                    .any(|h| n.allows(&h.scheme, &h.host, h.port)),
                Capability::Env(n) => usage.env.iter().any(|e| n == "*" || e == n),
                Capability::Secret(s) => usage
                    .secrets
                    .iter()
                    .any(|u| s == "*" || warden_policy::rules::secret_name(s) == u.name),
                Capability::Limit(..) | Capability::RequestedDir { .. } => true,
            };
            if !used {
                out.push(cap.to_string());
            }
        }
    }
    out
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    canon(a) == canon(b)
}

/// The suggestions as `grants.toml` rules (only the grants; unused and
/// denied capabilities are reported, never written).
pub fn grants_toml(suggestions: &BTreeMap<String, Suggestion>) -> Result<String, PolicyError> {
    let mut file = GrantsFile::default();
    apply(&mut file, suggestions)?;
    Ok(file.to_toml())
}

/// Adds every suggested grant to `file`; returns how many entries changed.
pub fn apply(
    file: &mut GrantsFile,
    suggestions: &BTreeMap<String, Suggestion>,
) -> Result<usize, PolicyError> {
    let mut changed = 0;
    for (component, s) in suggestions {
        let Ok(target) = component.parse::<Target>() else {
            continue;
        };
        for cap in &s.capabilities {
            if file.grant(&target, cap.clone())? {
                changed += 1;
            }
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> Usage {
        let mut u = Usage::default();
        u.add_dir("/src/project", "/workspace", false);
        u.add_host("https", "api.example.com", 443);
        u.add_host("tcp", "10.0.0.5", 5432);
        u.add_env(["RUST_LOG"]);
        u.add_secret(
            "API_KEY",
            HostUse {
                scheme: "https".into(),
                host: "api.example.com".into(),
                port: 443,
            },
        );
        u
    }

    #[test]
    fn each_use_becomes_exactly_one_grant_with_the_access_used() {
        let (caps, skipped) = capabilities_for(&usage());
        let words: Vec<String> = caps.iter().map(ToString::to_string).collect();
        assert_eq!(
            words,
            vec![
                "directory /src/project at /workspace (read-only)",
                "network https://api.example.com:443",
                "network *://10.0.0.5:5432",
                "environment variable RUST_LOG",
                "secret API_KEY for https://api.example.com:443",
            ],
        );
        assert!(skipped.is_empty(), "{skipped:?}");
        let mut written = Usage::default();
        written.add_dir("/src/project", "/workspace", false);
        written.add_dir("/src/project", "/workspace", true);
        let (caps, _) = capabilities_for(&written);
        assert_eq!(
            caps[0].to_string(),
            "directory /src/project at /workspace (read-write)"
        );
    }

    #[test]
    fn denials_are_listed_never_granted_and_unused_grants_are_named() {
        let mut uses = BTreeMap::new();
        let mut u = ComponentUse::default();
        u.add_usage(&usage());
        let denial = RecordedDenial {
            capability: "network".into(),
            target: "evil.example:443".into(),
            reason: "not granted".into(),
        };
        u.add_denial(denial.clone());
        u.add_denial(denial);
        uses.insert("acme:tool".to_string(), u);
        let grants = GrantsFile::parse(
            r#"
version = 1
[[rule]]
component = "acme:tool"
effect = "allow"
network = [{ scheme = "https", host = "api.example.com", port = 443 }, { scheme = "https", host = "unused.example", port = 443 }]
env = ["RUST_LOG", "HOME"]
"#,
        )
        .expect("grants");
        let s = suggest(&uses, &grants);
        let s = &s["acme:tool"];
        assert_eq!(s.denied.len(), 1);
        assert!(
            s.grants.iter().all(|g| !g.contains("evil")),
            "{:?}",
            s.grants
        );
        assert_eq!(
            s.unused,
            vec![
                "network https://unused.example:443".to_string(),
                "environment variable HOME".to_string()
            ]
        );
        let toml =
            grants_toml(&BTreeMap::from([("acme:tool".to_string(), s.clone())])).expect("toml");
        let back = GrantsFile::parse(&toml).expect("the suggestion is a valid grants file");
        assert_eq!(back.rules().len(), 1);
        assert!(!toml.contains("evil"), "{toml}");
    }
}
