//! Environment variables and secrets: granted by name, requested, allowed
//! by an org rule (by name or `*`), and not denied.

use super::{DENY_BY_DEFAULT, Layers, ORG_DEFAULT, decision};
use crate::effective::{EffectiveGrant, Outcome};
use crate::request::Capabilities;
use crate::rules::{Capability, Rule, secret_name};

/// Environment variables or secrets: the same rules, by name.
#[derive(Clone, Copy)]
pub(super) enum Names {
    Env,
    Secrets,
}

impl Names {
    fn of(self, rule: &Rule) -> &[String] {
        match self {
            Names::Env => &rule.env,
            Names::Secrets => &rule.secrets,
        }
    }

    fn requested(self, caps: &Capabilities) -> &[String] {
        match self {
            Names::Env => &caps.env,
            Names::Secrets => &caps.secrets,
        }
    }

    fn capability(self, name: &str) -> Capability {
        match self {
            Names::Env => Capability::Env(name.to_string()),
            Names::Secrets => Capability::Secret(name.to_string()),
        }
    }
}

/// Decides every granted and every requested name of `kind`. A secret
/// grant may name its host (`NAME@HOST`): requests, org rules and deny
/// rules match its name, and the effective grant keeps the host.
pub(super) fn decide(layers: &Layers, grant: &mut EffectiveGrant, kind: Names) {
    let matches = |pattern: &str, entry: &str| {
        let (pattern, name) = (secret_name(pattern), secret_name(entry));
        pattern == "*" || pattern == name
    };
    let mut seen: Vec<&str> = Vec::new();
    for src in &layers.user {
        for name in kind.of(src.rule) {
            if seen.contains(&name.as_str()) {
                continue;
            }
            seen.push(name);
            let cap = kind.capability(name);
            let mut because = vec![format!("user grant in {}: {cap}", src.label)];
            let mut denied = false;
            if let Some(req) = layers.requested {
                if kind
                    .requested(req)
                    .iter()
                    .any(|r| secret_name(r) == secret_name(name))
                {
                    because.push("requested by the manifest".into());
                } else {
                    denied = true;
                    because.push("not requested by the manifest".into());
                }
            }
            if let Some(org) = &layers.org {
                let allowing = org
                    .iter()
                    .find(|s| kind.of(s.rule).iter().any(|p| matches(p, name)));
                match allowing {
                    Some(s) => because.push(format!("{} allows it", s.label)),
                    None => {
                        denied = true;
                        because.push(ORG_DEFAULT.into());
                    }
                }
            }
            for s in &layers.deny {
                for p in kind.of(s.rule).iter().filter(|p| matches(p, name)) {
                    denied = true;
                    because.push(format!("{} denies {}", s.label, kind.capability(p)));
                }
            }
            let outcome = if denied {
                Outcome::Denied
            } else {
                let list = match kind {
                    Names::Env => &mut grant.env,
                    Names::Secrets => &mut grant.secrets,
                };
                list.push(name.clone());
                Outcome::Allowed
            };
            grant.decisions.push(decision(cap, outcome, because));
        }
    }
    if let Some(req) = layers.requested {
        for name in kind.requested(req) {
            if !seen.iter().any(|s| secret_name(s) == secret_name(name)) {
                grant.decisions.push(decision(
                    kind.capability(name),
                    Outcome::Denied,
                    vec!["requested by the manifest".into(), DENY_BY_DEFAULT.into()],
                ));
            }
        }
    }
}
