//! How the layers combine into one effective grant.
//!
//! Deny by default; deny wins. A capability is effective only if it is
//! granted by the user (`grants.toml`), requested by the manifest (when one
//! is given), within the org policy's ceilings (when there is one), and not
//! denied by any deny rule of either layer. Within a layer allow rules are
//! a union; across layers the result is the intersection, so each layer
//! can only narrow:
//!
//! - a directory keeps the lowest mode of the grant, the manifest request
//!   covering its guest path and the org ceiling covering its host path. A
//!   deny rule overlapping the directory (matching it, or lying inside it,
//!   since a mount cannot exclude a subdirectory) denies it; a deny rule
//!   with `mode = "rw"` only takes write access away;
//! - a network rule is narrowed to its intersection with the manifest's
//!   hosts and the org's allow rules (`*.example.com` granted, only
//!   `api.example.com:443` requested → `api.example.com:443`). A deny rule
//!   covering it denies it; one that covers part of it (`evil.example.com`)
//!   is kept as an exception in [`NetworkGrant::deny`];
//! - env and secret names must be granted by name, requested, allowed by
//!   an org rule (by name or `*`) and not denied;
//! - each limit is the smallest of: the user's grant (the largest any
//!   matching user rule gives) or else the default ([`Limits::DEFAULTS`]);
//!   the manifest's request, or the default when it requests none; the org
//!   ceiling (the largest any matching org rule gives), when set.

mod dirs;
mod limits;
mod names;
mod network;

use super::effective::{Decision, EffectiveGrant, NetworkGrant, Outcome};
use super::grants::GrantsFile;
use super::limits::Limits;
use super::org::OrgPolicy;
use super::rules::{Capability, Effect, Rule};
use super::target::{ComponentId, NamePattern};
use crate::request::Capabilities;

/// A rule that applies to the component, and how to name it in reasons.
struct Source<'a> {
    label: String,
    rule: &'a Rule,
}

/// The rules of every layer that apply to one component.
struct Layers<'a> {
    requested: Option<&'a Capabilities>,
    user: Vec<Source<'a>>,
    org: Option<Vec<Source<'a>>>,
    deny: Vec<Source<'a>>,
}

fn sources<'a>(
    rules: &'a [Rule],
    name: impl Fn(usize) -> String,
    id: &ComponentId,
    effect: Effect,
) -> Vec<Source<'a>> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.effect == effect && r.target.matches(id))
        .map(|(i, rule)| {
            let t = &rule.target;
            let plain = matches!(t.component, NamePattern::Exact(_))
                && t.version.is_none()
                && t.digest.is_none();
            let label = if plain {
                name(i)
            } else {
                format!("{} (for `{t}`)", name(i))
            };
            Source { label, rule }
        })
        .collect()
}

/// The effective grant of `component`: see the module docs. `requested` is
/// the manifest's capabilities (`None` when no manifest is consulted).
pub fn effective(
    component: &ComponentId,
    requested: Option<&Capabilities>,
    user: &GrantsFile,
    org: Option<&OrgPolicy>,
) -> EffectiveGrant {
    let user_label = |i: usize| user.rule_label(i);
    let org_label = |i: usize| format!("org policy rule {}", i + 1);
    let mut deny = sources(user.rules(), user_label, component, Effect::Deny);
    if let Some(org) = org {
        deny.extend(sources(org.rules(), org_label, component, Effect::Deny));
    }
    let layers = Layers {
        requested,
        user: sources(user.rules(), user_label, component, Effect::Allow),
        org: org.map(|o| sources(o.rules(), org_label, component, Effect::Allow)),
        deny,
    };
    let mut grant = EffectiveGrant {
        component: component.clone(),
        layers: vec![
            "grants.toml (user grants)".to_string(),
            match requested {
                Some(_) => "the manifest (what the component requests)".to_string(),
                None => "no manifest: requests are not checked".to_string(),
            },
            match org {
                Some(o) => o.label(),
                None => "no org policy".to_string(),
            },
        ],
        dirs: Vec::new(),
        network: NetworkGrant::default(),
        env: Vec::new(),
        secrets: Vec::new(),
        limits: Limits::default(),
        decisions: Vec::new(),
    };
    dirs::decide(&layers, &mut grant);
    network::decide(&layers, &mut grant);
    names::decide(&layers, &mut grant, names::Names::Env);
    names::decide(&layers, &mut grant, names::Names::Secrets);
    limits::decide(&layers, &mut grant);
    grant
}

/// A decision.
fn decision(capability: Capability, outcome: Outcome, because: Vec<String>) -> Decision {
    Decision {
        capability,
        outcome,
        because,
    }
}

/// The reason when nothing allows a capability.
const DENY_BY_DEFAULT: &str = "no rule allows it (deny by default)";
/// The reason when an org policy allows nothing that covers a capability.
const ORG_DEFAULT: &str = "no org policy rule allows it (the org policy denies by default)";
