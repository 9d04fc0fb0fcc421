//! Approvals: what an `ask` rule in the user's grants puts to the user
//! when a component is called.
//!
//! ```toml
//! [[rule]]
//! component = "acme:fetch"
//! effect = "ask"                    # granted only when you approve it, call by call
//! network = [{ host = "api.example.com" }]
//! dirs = [{ host = "/home/me/notes", mode = "rw" }]
//! ```
//!
//! An `ask` rule names capabilities the way an allow rule does; the
//! effective grant ([`crate::effective()`]) ignores it. [`plan`] works out,
//! for one component, which of its capabilities would add to that grant if
//! the user approved them ([`AskPlan::ask`]); the host puts them to the user
//! and, on approval, decides again with [`crate::GrantsFile::with_approved`].
//! An approved capability still passes every other layer (the manifest,
//! the org ceilings, every deny rule), so asking can never give more than
//! an allow rule could.
//!
//! An org policy can forbid asking: a `no-ask` rule matches like a deny
//! rule, and what it covers is denied when a user rule says to ask for it
//! ([`AskPlan::forbidden`]); an allow rule for it still applies.

use super::decide::effective;
use super::effective::{Decision, EffectiveGrant, Outcome};
use super::grants::GrantsFile;
use super::org::OrgPolicy;
use super::rules::{Capability, Effect};
use super::target::{ComponentId, Target};
use crate::request::Capabilities;

/// One capability an `ask` rule names, to put to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The capability, as the rule names it.
    pub capability: Capability,
    /// The `ask` rule's target (an approval is granted to it).
    pub target: Target,
    /// The rule, as explanations name it (`grants.toml rule 3`).
    pub rule: String,
}

/// What the `ask` rules of the user's grants mean for one component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AskPlan {
    /// What to ask the user for: each would add to the effective grant.
    pub ask: Vec<Asked>,
    /// What an `ask` rule names but an org `no-ask` rule forbids asking
    /// for: denied, with the reasons.
    pub forbidden: Vec<Decision>,
}

impl AskPlan {
    /// Whether there is nothing to ask.
    pub fn is_empty(&self) -> bool {
        self.ask.is_empty()
    }

    /// The lines `warden policy explain` adds for `ask` rules.
    pub fn explain(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for a in &self.ask {
            lines.push(format!("ask      {}", a.capability));
            lines.push(format!(
                "         - {} says to ask: granted for a call only when the user approves it",
                a.rule
            ));
        }
        for d in &self.forbidden {
            lines.extend(d.explain());
        }
        lines
    }
}

/// The `ask` rules of `user` that apply to `component`, under the same
/// layers as [`crate::effective()`]: see the module docs.
pub fn plan(
    component: &ComponentId,
    requested: Option<&Capabilities>,
    user: &GrantsFile,
    org: Option<&OrgPolicy>,
) -> AskPlan {
    let rules: Vec<(usize, &super::rules::Rule)> = user
        .rules()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.effect == Effect::Ask && r.target.matches(component))
        .collect();
    if rules.is_empty() {
        return AskPlan::default();
    }
    let base = effective(component, requested, user, org);
    // What asking may give: org `no-ask` rules deny.
    let strict = org.and_then(OrgPolicy::with_no_ask_as_deny);
    let strict_base = match &strict {
        Some(s) => effective(component, requested, user, Some(s)),
        None => base.clone(),
    };
    let no_ask_labels: Vec<String> = org
        .map(|o| {
            o.rules()
                .iter()
                .enumerate()
                .filter(|(_, r)| r.effect == Effect::NoAsk)
                .map(|(i, _)| format!("org policy rule {}", i + 1))
                .collect()
        })
        .unwrap_or_default();
    let mut out = AskPlan::default();
    for (index, rule) in rules {
        let label = user.rule_label(index);
        for capability in rule.capabilities() {
            let asked = Asked {
                capability: capability.clone(),
                target: rule.target.clone(),
                rule: label.clone(),
            };
            let probe = user.with_approved(std::slice::from_ref(&asked));
            let granted = effective(component, requested, &probe, strict.as_ref().or(org));
            if adds(&granted, &strict_base) {
                out.ask.push(asked);
                continue;
            }
            if strict.is_none() {
                continue;
            }
            // Denied under `no-ask`: would it be given without it?
            let loose = effective(component, requested, &probe, org);
            if !adds(&loose, &base) {
                continue;
            }
            let mut because = vec![format!("{label} says to ask for it")];
            let decided = granted.decision(&capability);
            for line in decided.map(|d| d.because.as_slice()).unwrap_or_default() {
                match no_ask_labels
                    .iter()
                    .find(|l| line.starts_with(&format!("{l} ")))
                {
                    Some(l) => because.push(format!(
                        "{l} forbids asking for it (`no-ask`), so it is denied"
                    )),
                    None if line.starts_with("your approval") => {}
                    None => because.push(line.clone()),
                }
            }
            out.forbidden.push(Decision {
                capability,
                outcome: Outcome::Denied,
                because,
            });
        }
    }
    out
}

/// Whether `with` gives anything `base` does not (limits aside: `ask`
/// rules set none).
fn adds(with: &EffectiveGrant, base: &EffectiveGrant) -> bool {
    with.dirs() != base.dirs()
        || with.network() != base.network()
        || with.env() != base.env()
        || with.secrets() != base.secrets()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::Digest;

    fn id() -> ComponentId {
        ComponentId {
            name: "acme:fetch".parse().expect("name"),
            version: "1.0.0".parse().expect("version"),
            digest: Digest::of(b"bytes"),
        }
    }

    const GRANTS: &str = r#"
[[rule]]
component = "acme:fetch"
effect = "allow"
network = [{ host = "a.example.com" }]

[[rule]]
component = "acme:fetch"
effect = "ask"
network = [{ host = "a.example.com" }, { host = "b.example.com" }]
env = ["TOKEN"]
"#;

    #[test]
    fn an_ask_rule_is_not_a_grant_and_asks_only_for_what_it_adds() {
        let user = GrantsFile::parse(GRANTS).expect("grants");
        let grant = effective(&id(), None, &user, None);
        assert!(grant.network().allows("https", "a.example.com", 443));
        assert!(
            !grant.network().allows("https", "b.example.com", 443),
            "an ask rule grants nothing by itself"
        );
        let plan = plan(&id(), None, &user, None);
        let asked: Vec<String> = plan.ask.iter().map(|a| a.capability.to_string()).collect();
        assert_eq!(
            asked,
            [
                "network https://b.example.com:443",
                "environment variable TOKEN"
            ],
            "a.example.com is already allowed"
        );
        assert_eq!(plan.ask[0].rule, "grants.toml rule 2");

        let approved = user.with_approved(&plan.ask);
        let grant = effective(&id(), None, &approved, None);
        assert!(grant.network().allows("https", "b.example.com", 443));
        assert_eq!(grant.env(), ["TOKEN"]);
        assert!(
            grant
                .explain()
                .iter()
                .any(|l| l.contains("your approval for this call")),
            "{grant}"
        );
        assert!(approved.save(std::path::Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn an_org_no_ask_rule_turns_an_ask_into_a_deny_but_leaves_allow_rules_alone() {
        let user = GrantsFile::parse(GRANTS).expect("grants");
        let org = OrgPolicy::parse(
            r#"
[[rule]]
component = "*"
effect = "allow"
network = [{ scheme = "*", host = "*", port = "*" }]
env = ["*"]

[[rule]]
component = "*"
effect = "no-ask"
network = [{ host = "*.example.com" }]
"#,
        )
        .expect("org");
        let plan = plan(&id(), None, &user, Some(&org));
        let asked: Vec<String> = plan.ask.iter().map(|a| a.capability.to_string()).collect();
        assert_eq!(asked, ["environment variable TOKEN"]);
        assert_eq!(plan.forbidden.len(), 1, "{plan:?}");
        let lines = plan.explain().join("\n");
        assert!(
            lines.contains("denied   network https://b.example.com:443"),
            "{lines}"
        );
        assert!(
            lines.contains("org policy rule 2 forbids asking for it (`no-ask`)"),
            "{lines}"
        );
        let grant = effective(&id(), None, &user, Some(&org));
        assert!(
            grant.network().allows("https", "a.example.com", 443),
            "no-ask does not deny what an allow rule grants"
        );
    }

    #[test]
    fn ask_and_no_ask_belong_to_their_own_layer() {
        let err =
            GrantsFile::parse("[[rule]]\ncomponent = \"*\"\neffect = \"no-ask\"\nenv = [\"A\"]\n")
                .expect_err("no-ask in grants")
                .to_string();
        assert!(err.contains("`no-ask` belongs in an org policy"), "{err}");
        let err =
            OrgPolicy::parse("[[rule]]\ncomponent = \"*\"\neffect = \"ask\"\nenv = [\"A\"]\n")
                .expect_err("ask in org")
                .to_string();
        assert!(err.contains("`ask` is each user's choice"), "{err}");
        let err = GrantsFile::parse(
            "[[rule]]\ncomponent = \"*\"\neffect = \"ask\"\nlimits = { memory = \"1GiB\" }\n",
        )
        .expect_err("limits")
        .to_string();
        assert!(err.contains("an `ask` rule cannot set `limits`"), "{err}");
        let err = GrantsFile::parse(
            "[[rule]]\ncomponent = \"*\"\neffect = \"ask\"\ndirs = [{ host = \"/home/*\" }]\n",
        )
        .expect_err("pattern")
        .to_string();
        assert!(err.contains("is a pattern"), "{err}");
    }
}
