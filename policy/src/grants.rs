//! The user's grants, `$WARDEN_HOME/grants.toml`: per component, what the
//! user allows (and, optionally, denies).
//!
//! ```toml
//! # warden grants: what you allow each component. Deny rules win over allow rules.
//! version = 1
//!
//! [[rule]]
//! component = "acme:grep"
//! effect = "allow"
//! dirs = [{ host = "/home/me/src", guest = "/src", mode = "ro" }]
//! network = [{ scheme = "https", host = "api.example.com", port = 443 }]
//! env = ["RUST_LOG"]
//! limits = { memory = "256MiB" }
//!
//! [[rule]]
//! component = "*"
//! effect = "deny"
//! dirs = [{ host = "/home/*/.ssh" }]
//!
//! [[rule]]                       # granted only when you approve it, call by call
//! component = "acme:grep"
//! effect = "ask"
//! network = [{ host = "api.example.com" }]
//! ```
//!
//! In a grant, a directory is one host directory (not a pattern; the guest
//! path defaults to the host path) and env and secret names are exact.
//! Deny rules may use patterns. [`GrantsFile::save`] writes the file
//! atomically (temp file, fsync, rename) in the canonical form above, so
//! comments in a hand-edited file are not kept; callers changing the file
//! hold the registry lock (`Registry::lock` (warden-registry)) from load to save.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::document::{parse_document, rule_error, write_document};
use super::path::PathPattern;
use super::rules::{Capability, DirRule, Effect, Rule, RuleError, check_name, check_secret};
use super::target::Target;
use crate::error::PolicyError;
use crate::request::Access;
use warden_core::fsutil::write_atomic;

/// The file name under the warden root.
pub const GRANTS_FILE: &str = "grants.toml";

/// The largest grants file read.
const MAX_BYTES: u64 = 4 << 20;

const HEADER: &str =
    "# warden grants: what you allow each component. Deny rules win over allow rules.\n";

/// The user's grants: a list of rules, in file order (rule numbers in
/// messages count from 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantsFile {
    rules: Vec<Rule>,
    /// Rules from this index on were added for one call
    /// ([`GrantsFile::with_call_grants`]) and are never saved.
    call_rules_from: Option<usize>,
    /// Rules from this index on were approved by the user for one call
    /// ([`GrantsFile::with_approved`]) and are never saved.
    approved_from: Option<usize>,
    /// The user's data labels and residency rules (within the org's).
    residency: crate::Residency,
}

impl GrantsFile {
    /// Where the grants file of the warden root `root` is.
    pub fn path(root: &Path) -> PathBuf {
        root.join(GRANTS_FILE)
    }

    /// Parses and validates grants text.
    pub fn parse(text: &str) -> Result<GrantsFile, PolicyError> {
        let doc = parse_document(text, GRANTS_FILE)?;
        if doc.sessions.is_some() || doc.context.is_some() {
            return Err(PolicyError::Invalid {
                origin: GRANTS_FILE.into(),
                line: None,
                column: None,
                reason: "`[sessions]` and `[context]` are org policy tables; a workspace sets its \
                         own retention and context grants in agent.toml"
                    .into(),
            });
        }
        if doc.audit_every_record.is_some() {
            return Err(PolicyError::Invalid {
                origin: GRANTS_FILE.to_string(),
                line: None,
                column: None,
                reason: "`[audit]` belongs in an org policy (an org can require audit \
                         durability); for one server, pass `warden mcp --audit-sync`"
                    .into(),
            });
        }
        if doc.require_confinement.is_some() {
            return Err(PolicyError::Invalid {
                origin: GRANTS_FILE.to_string(),
                line: None,
                column: None,
                reason: "`require-confinement` belongs in an org policy, not in your grants".into(),
            });
        }
        if doc.remote_servers.is_some() {
            return Err(PolicyError::Invalid {
                origin: GRANTS_FILE.to_string(),
                line: None,
                column: None,
                reason: "`[remote-servers]` belongs in an org policy, not in your grants".into(),
            });
        }
        let residency = doc.residency;
        let mut rules = Vec::with_capacity(doc.rules.len());
        for (i, (mut rule, at)) in doc.rules.into_iter().enumerate() {
            check_user_rule(&mut rule)
                .map_err(|e| rule_error(text, GRANTS_FILE, i, at, e.to_string()))?;
            rules.push(rule);
        }
        Ok(GrantsFile {
            rules,
            call_rules_from: None,
            approved_from: None,
            residency,
        })
    }

    /// Loads the grants file at `path`; a missing file grants nothing.
    pub fn load(path: &Path) -> Result<GrantsFile, PolicyError> {
        match read_limited(path, MAX_BYTES) {
            Ok(text) => GrantsFile::parse(&text),
            Err(PolicyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(GrantsFile::default())
            }
            Err(e) => Err(e),
        }
    }

    /// These grants plus `capabilities` granted to `target` for one call
    /// (command-line flags), in a rule of their own that explanations name
    /// as such. Such grants are refused by [`GrantsFile::save`].
    pub fn with_call_grants(
        &self,
        target: &Target,
        capabilities: &[Capability],
    ) -> Result<GrantsFile, PolicyError> {
        let mut out = self.clone();
        let first = out.rules.len();
        let mut rule = Rule::new(target.clone(), Effect::Allow);
        for cap in capabilities {
            let refuse = |error: GrantRuleError| PolicyError::NotGrantable {
                target: target.to_string(),
                capability: cap.to_string(),
                error,
            };
            push(&mut rule, cap.clone()).map_err(refuse)?;
        }
        check_user_rule(&mut rule).map_err(|error| PolicyError::NotGrantable {
            target: target.to_string(),
            capability: "the command-line grants".into(),
            error,
        })?;
        if !rule.is_empty() {
            out.rules.push(rule);
            out.call_rules_from = Some(first);
        }
        Ok(out)
    }

    /// These grants plus what the user approved for one call: each asked
    /// capability as an allow rule for its `ask` rule's target, named
    /// "your approval for this call" in explanations and never saved.
    pub fn with_approved(&self, approved: &[crate::ask::Asked]) -> GrantsFile {
        let mut out = self.clone();
        let first = out.rules.len();
        for asked in approved {
            let mut rule = Rule::new(asked.target.clone(), Effect::Allow);
            if push(&mut rule, asked.capability.clone()).is_ok() && !rule.is_empty() {
                out.rules.push(rule);
            }
        }
        if out.rules.len() > first {
            out.approved_from = Some(first);
        }
        out
    }

    /// Removes every allow rule for exactly `target` (when its package is
    /// removed); deny rules stay. Returns how many rules were removed.
    pub fn forget(&mut self, target: &Target) -> usize {
        let before = self.rules.len();
        self.rules
            .retain(|r| !(r.effect == Effect::Allow && r.target == *target));
        before - self.rules.len()
    }

    /// How explanations name rule `index` (0-based): `grants.toml rule N`,
    /// or `command-line flags` for grants made for one call.
    pub fn rule_label(&self, index: usize) -> String {
        if self.approved_from.is_some_and(|first| index >= first) {
            return "your approval for this call".to_string();
        }
        match self.call_rules_from {
            Some(first) if index >= first => "command-line flags".to_string(),
            _ => format!("{GRANTS_FILE} rule {}", index + 1),
        }
    }

    /// Writes the grants to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), PolicyError> {
        if self.call_rules_from.is_some() || self.approved_from.is_some() {
            return Err(PolicyError::CallGrantsNotSaved);
        }
        write_atomic(path, self.to_toml().as_bytes()).map_err(|source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The grants as `grants.toml` text; [`GrantsFile::parse`] reads it back
    /// to equal grants.
    pub fn to_toml(&self) -> String {
        write_document(HEADER, None, &self.rules, &self.residency)
    }

    /// The user's data labels and residency rules.
    pub fn residency(&self) -> &crate::Residency {
        &self.residency
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Allows `capability` to `target`, in the first allow rule for exactly
    /// that target (a new one if there is none). A directory already granted
    /// at the same host and guest path gets the new mode; a limit gets the
    /// new value. Returns whether anything changed.
    pub fn grant(&mut self, target: &Target, capability: Capability) -> Result<bool, PolicyError> {
        self.add(target, Effect::Allow, capability)
    }

    /// Denies `capability` to `target` (deny wins over every allow rule, in
    /// this file and in the org policy). Returns whether anything changed.
    pub fn deny(&mut self, target: &Target, capability: Capability) -> Result<bool, PolicyError> {
        self.add(target, Effect::Deny, capability)
    }

    /// Marks `capability` to `target` to be asked for: it is granted for
    /// one call when the user approves it then (an `effect = "ask"` rule).
    /// Limits cannot be asked for. Returns whether anything changed.
    pub fn ask(&mut self, target: &Target, capability: Capability) -> Result<bool, PolicyError> {
        self.add(target, Effect::Ask, capability)
    }

    fn add(
        &mut self,
        target: &Target,
        effect: Effect,
        capability: Capability,
    ) -> Result<bool, PolicyError> {
        let refuse = |error: GrantRuleError| PolicyError::NotGrantable {
            target: target.to_string(),
            capability: capability.to_string(),
            error,
        };
        let mut probe = Rule::new(target.clone(), effect);
        push(&mut probe, capability.clone()).map_err(refuse)?;
        check_user_rule(&mut probe).map_err(refuse)?;
        let Some(normalized) = probe.capabilities().into_iter().next() else {
            return Ok(false);
        };
        let index = match self
            .rules
            .iter()
            .position(|r| r.effect == effect && r.target == *target)
        {
            Some(i) => i,
            None => {
                self.rules.push(Rule::new(target.clone(), effect));
                self.rules.len() - 1
            }
        };
        Ok(merge(&mut self.rules[index], normalized))
    }

    /// Removes `capability` from the allow and ask rules for exactly
    /// `target` (a directory is matched by host path, and by guest path if
    /// `capability` names one; a limit by kind). Rules left empty are dropped. Returns
    /// how many entries were removed; refuses when there were none, saying
    /// which other rule grants it, if any.
    pub fn revoke(
        &mut self,
        target: &Target,
        capability: &Capability,
    ) -> Result<usize, PolicyError> {
        let mut removed = 0;
        for rule in self
            .rules
            .iter_mut()
            .filter(|r| matches!(r.effect, Effect::Allow | Effect::Ask) && r.target == *target)
        {
            removed += remove(rule, capability);
        }
        self.rules.retain(|r| !r.is_empty());
        if removed > 0 {
            return Ok(removed);
        }
        let others: Vec<String> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.effect == Effect::Allow && r.capabilities().iter().any(|c| same(c, capability))
            })
            .map(|(i, r)| format!("rule {} (for `{}`)", i + 1, r.target))
            .collect();
        let hint = if others.is_empty() {
            String::new()
        } else {
            format!(
                "; it is granted by grants.toml {}: revoke it there, or deny it to `{target}`",
                others.join(", ")
            )
        };
        Err(PolicyError::NotGranted {
            target: target.to_string(),
            capability: capability.to_string(),
            hint,
        })
    }

    /// The grants with the host directory of every allow rule resolved
    /// through `resolve` (the caller canonicalises paths on the file
    /// system, so symbolic links are judged by where they lead). A
    /// directory `resolve` cannot resolve keeps its path.
    pub fn with_resolved_dirs(&self, resolve: impl Fn(&str) -> Option<String>) -> GrantsFile {
        let mut out = self.clone();
        for rule in out.rules.iter_mut().filter(|r| r.effect.grants()) {
            for dir in &mut rule.dirs {
                if let Some(resolved) = dir
                    .host
                    .as_path()
                    .and_then(|p| resolve(&p))
                    .and_then(|p| super::PathPattern::parse(&p).ok())
                {
                    dir.host = resolved;
                }
            }
        }
        out
    }

    /// One line per granted or denied capability, for `warden policy show`.
    pub fn show(&self) -> Vec<String> {
        if self.rules.is_empty() {
            return vec![
                "no grants: every component is denied everything (deny by default)".into(),
            ];
        }
        let mut lines = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            for cap in rule.capabilities() {
                lines.push(format!(
                    "rule {}: {} {} to {}",
                    i + 1,
                    rule.effect.as_str(),
                    cap,
                    rule.target
                ));
            }
        }
        lines
    }
}

/// Reads at most `max` bytes of UTF-8 text from `path`.
pub(crate) fn read_limited(path: &Path, max: u64) -> Result<String, PolicyError> {
    let io = |source| PolicyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(max + 1).read_to_string(&mut text).map_err(io)?;
    if text.len() as u64 > max {
        return Err(PolicyError::TooLarge {
            path: path.to_path_buf(),
            max_bytes: max,
        });
    }
    Ok(text)
}

/// Why a rule or capability cannot be in the user's grants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantRuleError {
    /// An allow rule naming a host path pattern instead of one directory.
    #[error(
        "`dirs` host `{host}` is a pattern; a grant names one directory (patterns \
         belong in deny rules and org policies)"
    )]
    DirPattern {
        /// The pattern.
        host: PathPattern,
    },
    /// A deny rule naming a guest path.
    #[error(
        "the deny rule for `{host}` names a guest path; a deny rule matches host paths \
         only, so remove `guest`"
    )]
    DenyWithGuest {
        /// The rule's host path.
        host: PathPattern,
    },
    /// A deny rule setting limits.
    #[error("a deny rule cannot set limits; grant a smaller limit instead")]
    DenyWithLimits,
    /// An ask rule setting limits.
    #[error(
        "an ask rule cannot set limits: a limit is a ceiling, not something to approve; \
         grant the limit instead"
    )]
    AskWithLimits,
    /// A guest path given where a host directory is needed.
    #[error("`{guest}` is a guest path; name the host directory to map there (HOST:{guest})")]
    GuestPathOnly {
        /// The guest path.
        guest: String,
    },
    /// A `no-ask` rule in the user's grants.
    #[error(
        "`no-ask` belongs in an org policy (it forbids asking); in your grants, use \
         \"deny\" or leave the capability out"
    )]
    NoAskInGrants,
    /// A bad env or secret name.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// Checks what a user rule may say, and fills in a grant's default guest
/// path (the host path).
fn check_user_rule(rule: &mut Rule) -> Result<(), GrantRuleError> {
    match rule.effect {
        Effect::NoAsk => return Err(GrantRuleError::NoAskInGrants),
        Effect::Allow | Effect::Ask => {
            if rule.effect == Effect::Ask && !rule.limits.is_empty() {
                return Err(GrantRuleError::AskWithLimits);
            }
            for d in &mut rule.dirs {
                let Some(host) = d.host.as_path() else {
                    return Err(GrantRuleError::DirPattern {
                        host: d.host.clone(),
                    });
                };
                d.guest.get_or_insert(host);
            }
            for name in &rule.env {
                check_name(name, "env", false)?;
            }
            for entry in &rule.secrets {
                check_secret(entry, false)?;
            }
        }
        Effect::Deny => {
            if let Some(d) = rule.dirs.iter().find(|d| d.guest.is_some()) {
                return Err(GrantRuleError::DenyWithGuest {
                    host: d.host.clone(),
                });
            }
            for d in &mut rule.dirs {
                if d.mode == Some(Access::ReadOnly) {
                    d.mode = None;
                }
            }
            if !rule.limits.is_empty() {
                return Err(GrantRuleError::DenyWithLimits);
            }
        }
    }
    Ok(())
}

/// Adds `capability` to `rule` as it is (no merging).
fn push(rule: &mut Rule, capability: Capability) -> Result<(), GrantRuleError> {
    match capability {
        Capability::Dir(d) => rule.dirs.push(d),
        Capability::Network(n) => rule.network.push(n),
        Capability::Env(n) => rule.env.push(n),
        Capability::Secret(n) => rule.secrets.push(n),
        Capability::Limit(k, v) => rule.limits.set(k, Some(v)),
        Capability::RequestedDir { guest, .. } => {
            return Err(GrantRuleError::GuestPathOnly { guest });
        }
    }
    Ok(())
}

/// Adds `capability` to `rule`, merging with an entry of the same identity.
fn merge(rule: &mut Rule, capability: Capability) -> bool {
    match capability {
        Capability::Dir(new) => {
            match rule
                .dirs
                .iter_mut()
                .find(|d| d.host == new.host && d.guest == new.guest)
            {
                Some(old) if old.mode == new.mode => false,
                Some(old) => {
                    old.mode = new.mode;
                    true
                }
                None => {
                    rule.dirs.push(new);
                    true
                }
            }
        }
        Capability::Network(n) => add_unique(&mut rule.network, n),
        Capability::Env(n) => add_unique(&mut rule.env, n),
        Capability::Secret(n) => add_unique(&mut rule.secrets, n),
        Capability::Limit(k, v) => {
            let changed = rule.limits.get(k) != Some(v);
            rule.limits.set(k, Some(v));
            changed
        }
        Capability::RequestedDir { .. } => false,
    }
}

fn add_unique<T: PartialEq>(list: &mut Vec<T>, item: T) -> bool {
    if list.contains(&item) {
        false
    } else {
        list.push(item);
        true
    }
}

/// Whether `have` is what `want` names for revoking.
fn same(have: &Capability, want: &Capability) -> bool {
    match (have, want) {
        (Capability::Dir(a), Capability::Dir(b)) => dir_same(a, b),
        (Capability::Limit(a, _), Capability::Limit(b, _)) => a == b,
        (a, b) => a == b,
    }
}

fn dir_same(have: &DirRule, want: &DirRule) -> bool {
    have.host == want.host
        && want
            .guest
            .as_ref()
            .is_none_or(|g| have.guest.as_ref() == Some(g))
}

/// Removes what `capability` names from `rule`; returns how many entries.
fn remove(rule: &mut Rule, capability: &Capability) -> usize {
    fn retain<T>(list: &mut Vec<T>, keep: impl Fn(&T) -> bool) -> usize {
        let before = list.len();
        list.retain(keep);
        before - list.len()
    }
    match capability {
        Capability::Dir(want) => retain(&mut rule.dirs, |d| !dir_same(d, want)),
        Capability::Network(n) => retain(&mut rule.network, |x| x != n),
        Capability::Env(n) => retain(&mut rule.env, |x| x != n),
        Capability::Secret(n) => retain(&mut rule.secrets, |x| x != n),
        Capability::Limit(k, _) => {
            let had = rule.limits.get(*k).is_some();
            rule.limits.set(*k, None);
            usize::from(had)
        }
        Capability::RequestedDir { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(s: &str) -> Target {
        s.parse().expect("target")
    }

    fn cap(kind: &str, spec: &str) -> Capability {
        Capability::parse(kind, spec).expect("capability")
    }

    #[test]
    fn grants_merge_into_one_rule_per_target_and_round_trip() {
        let mut g = GrantsFile::default();
        let grep = target("acme:grep");
        assert!(
            g.grant(&grep, cap("dir", "/home/me/src:/src"))
                .expect("grant")
        );
        assert!(
            !g.grant(&grep, cap("dir", "/home/me/src:/src"))
                .expect("again")
        );
        assert!(
            g.grant(&grep, cap("dir", "/home/me/src:/src:rw"))
                .expect("mode")
        );
        assert!(
            g.grant(&grep, cap("network", "api.example.com"))
                .expect("net")
        );
        assert!(
            g.grant(&grep, cap("limit", "memory=256MiB"))
                .expect("limit")
        );
        assert!(
            g.deny(&target("*"), cap("dir", "/home/me/.ssh"))
                .expect("deny")
        );
        assert_eq!(g.rules().len(), 2);
        assert_eq!(g.rules()[0].dirs[0].mode, Some(Access::ReadWrite));
        assert_eq!(g.rules()[1].dirs[0].mode, None, "deny all access");
        let back = GrantsFile::parse(&g.to_toml()).expect("round trip");
        assert_eq!(back, g, "{}", g.to_toml());
    }

    #[test]
    fn the_default_guest_path_is_the_host_path() {
        let g = GrantsFile::parse(
            "[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\ndirs = [{ host = \"/data\" }]\n",
        )
        .expect("valid");
        assert_eq!(g.rules()[0].dirs[0].guest.as_deref(), Some("/data"));
    }

    #[test]
    fn patterns_cannot_be_granted_but_can_be_denied() {
        let mut g = GrantsFile::default();
        let err = g
            .grant(&target("acme:grep"), cap("dir", "/home/*"))
            .expect_err("pattern")
            .to_string();
        assert!(
            err.contains("is a pattern; a grant names one directory"),
            "{err}"
        );
        let err = g
            .grant(&target("acme:grep"), cap("env", "*"))
            .expect_err("any env")
            .to_string();
        assert!(err.contains("a grant names each variable"), "{err}");
        assert!(
            g.deny(&target("acme:grep"), cap("env", "*"))
                .expect("deny any")
        );
        let err = GrantsFile::parse(
            "[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\ndirs = [{ host = \"/home/**\" }]\n",
        )
        .expect_err("pattern in file")
        .to_string();
        assert!(
            err.starts_with("invalid grants.toml at line 1, column 1: rule 1:"),
            "{err}"
        );
    }

    #[test]
    fn revoke_removes_exact_grants_and_says_what_else_grants_it() {
        let mut g = GrantsFile::default();
        g.grant(&target("acme:*"), cap("env", "RUST_LOG"))
            .expect("grant");
        g.grant(&target("acme:grep"), cap("env", "RUST_LOG"))
            .expect("grant");
        g.grant(&target("acme:grep"), cap("limit", "memory=1GiB"))
            .expect("grant");
        assert_eq!(
            g.revoke(&target("acme:grep"), &cap("env", "RUST_LOG"))
                .expect("revoke"),
            1
        );
        assert_eq!(
            g.revoke(&target("acme:grep"), &cap("limit", "memory=1MiB"))
                .expect("limit"),
            1
        );
        assert_eq!(g.rules().len(), 1, "the emptied rule is dropped");
        let err = g
            .revoke(&target("acme:grep"), &cap("env", "RUST_LOG"))
            .expect_err("not granted to acme:grep itself")
            .to_string();
        assert!(
            err.contains("granted by grants.toml rule 1 (for `acme:*`)"),
            "{err}"
        );
    }

    #[test]
    fn show_lists_every_rule_and_a_missing_file_grants_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = GrantsFile::path(dir.path());
        let mut g = GrantsFile::load(&path).expect("missing is empty");
        assert!(g.show()[0].contains("deny by default"));
        g.grant(&target("acme:grep"), cap("secret", "TOKEN"))
            .expect("grant");
        g.save(&path).expect("save");
        let loaded = GrantsFile::load(&path).expect("load");
        assert_eq!(
            loaded.show(),
            vec!["rule 1: allow secret TOKEN to acme:grep"]
        );
    }
}
