//! Data residency: which data is labelled with which class, and which model
//! providers may receive content of each class.
//!
//! Both the org policy and the user's `grants.toml` may hold these tables
//! (the user's only add restrictions: see [`Residency::merge`]):
//!
//! ```toml
//! # Everything under these paths (globs as in directory rules) is `restricted`.
//! [[label]]
//! class = "restricted"
//! paths = ["/srv/clients/**", "/home/*/contracts"]
//!
//! # Who may receive `restricted` content: "loopback" (a model server on
//! # this machine), a host with an optional port ("llm.corp.example",
//! # "*.corp.example", "10.0.0.5:8080"), or "any".
//! [[residency]]
//! class = "restricted"
//! providers = ["loopback"]
//! ```
//!
//! Deny by default: a class that no `[[residency]]` table names may be sent
//! to no model at all. When both layers name a class, a provider must be
//! permitted by both. The policy is plain data; the host's broker checks
//! every model request against it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

use crate::network::{HostMatch, NetRule, Scheme};
use crate::path::PathPattern;

/// A class name: lowercase letters, digits and `-`, 1-64 characters.
pub fn check_class(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "data class `{name}` must be 1-64 lowercase letters, digits and `-` (e.g. \"restricted\")"
        ))
    }
}

/// A `[[label]]` table: the data under `paths` is of class `class`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLabel {
    /// The class.
    pub class: String,
    /// Where the data lives.
    pub paths: Vec<PathPattern>,
}

/// Which model providers may receive content of one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderMatch {
    /// `any`: every provider.
    Any,
    /// `loopback`: a provider that can reach only this machine
    /// (127.0.0.0/8, ::1 or `localhost`).
    Loopback,
    /// A host, optionally with a port: a provider whose every reachable
    /// destination this covers.
    Host(NetRule),
}

impl ProviderMatch {
    /// Parses `any`, `loopback` or `HOST[:PORT]`.
    pub fn parse(text: &str) -> Result<ProviderMatch, String> {
        match text {
            "any" | "*" => Ok(ProviderMatch::Any),
            "loopback" | "local" => Ok(ProviderMatch::Loopback),
            other => NetRule::from_manifest_host(other)
                .map(ProviderMatch::Host)
                .map_err(|e| {
                    format!(
                        "provider `{other}`: {e} (write \"loopback\", \"any\", or a host such as \
                         \"llm.corp.example\" or \"127.0.0.1:8080\")"
                    )
                }),
        }
    }

    /// Whether a provider that may reach `destination` is covered.
    pub fn covers(&self, destination: &NetRule) -> bool {
        match self {
            ProviderMatch::Any => true,
            ProviderMatch::Loopback => is_loopback(&destination.host),
            ProviderMatch::Host(rule) => {
                let rule = NetRule {
                    scheme: Scheme::Any,
                    ..rule.clone()
                };
                rule.covers(destination)
            }
        }
    }
}

impl fmt::Display for ProviderMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderMatch::Any => f.write_str("any"),
            ProviderMatch::Loopback => f.write_str("loopback"),
            ProviderMatch::Host(rule) => {
                let text = NetRule {
                    scheme: Scheme::Any,
                    ..rule.clone()
                }
                .to_string();
                let text = text.strip_prefix("*://").unwrap_or(&text);
                f.write_str(text.strip_suffix(":*").unwrap_or(text))
            }
        }
    }
}

/// Whether every host `host` matches is this machine.
fn is_loopback(host: &HostMatch) -> bool {
    match host {
        HostMatch::Name(n) => n == "localhost",
        HostMatch::Net(net) => ["127.0.0.0/8", "::1/128"]
            .into_iter()
            .filter_map(|l| l.parse::<crate::cidr::IpNet>().ok())
            .any(|l| l.intersect(net).as_ref() == Some(net)),
        HostMatch::Any | HostMatch::Subdomains(_) => false,
    }
}

/// A `[[residency]]` table: who may receive content of `class`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassRule {
    /// The class.
    pub class: String,
    /// The providers that may receive it (none: no model may).
    pub providers: Vec<ProviderMatch>,
}

/// The labels and class rules of one policy layer, or of both merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Residency {
    labels: Vec<(DataLabel, String)>,
    /// Per class, the provider lists of each layer that names it, with the
    /// layer's name.
    rules: BTreeMap<String, Vec<(Vec<ProviderMatch>, String)>>,
}

/// The raw `[[label]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLabel {
    class: String,
    paths: Vec<String>,
}

/// The raw `[[residency]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResidency {
    class: String,
    #[serde(default)]
    providers: Vec<String>,
}

impl Residency {
    /// Checks the raw tables of one layer named `layer` (`org policy`,
    /// `grants.toml`).
    pub(crate) fn from_raw(
        labels: Vec<RawLabel>,
        rules: Vec<RawResidency>,
        layer: &str,
    ) -> Result<Residency, String> {
        let mut out = Residency::default();
        for (i, raw) in labels.into_iter().enumerate() {
            let at = |e: String| format!("label {}: {e}", i + 1);
            check_class(&raw.class).map_err(at)?;
            if raw.paths.is_empty() {
                return Err(at(format!(
                    "`paths` is empty: name where `{}` data lives, e.g. paths = [\"/srv/clients/**\"]",
                    raw.class
                )));
            }
            let paths = raw
                .paths
                .iter()
                .map(|p| PathPattern::parse(p).map_err(|e| at(format!("path `{p}`: {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            out.labels.push((
                DataLabel {
                    class: raw.class,
                    paths,
                },
                layer.to_string(),
            ));
        }
        for (i, raw) in rules.into_iter().enumerate() {
            let at = |e: String| format!("residency {}: {e}", i + 1);
            check_class(&raw.class).map_err(at)?;
            if out.rules.contains_key(&raw.class) {
                return Err(at(format!(
                    "class `{}` has two [[residency]] tables; keep one",
                    raw.class
                )));
            }
            let providers = raw
                .providers
                .iter()
                .map(|p| ProviderMatch::parse(p).map_err(at))
                .collect::<Result<Vec<_>, _>>()?;
            out.rules
                .insert(raw.class, vec![(providers, layer.to_string())]);
        }
        Ok(out)
    }

    /// Whether nothing is labelled and no class is ruled on.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.rules.is_empty()
    }

    /// The org layer and the user's layer in one: every label of either,
    /// and for each class the rules of both (a provider must satisfy all).
    pub fn merge(org: Option<&Residency>, user: &Residency) -> Residency {
        let mut out = org.cloned().unwrap_or_default();
        out.labels.extend(user.labels.iter().cloned());
        for (class, rules) in &user.rules {
            out.rules
                .entry(class.clone())
                .or_default()
                .extend(rules.iter().cloned());
        }
        out
    }

    /// The labels, each with the layer that set it.
    pub fn labels(&self) -> &[(DataLabel, String)] {
        &self.labels
    }

    /// The classes of data at `path` (a normalised absolute path): the
    /// classes of every label one of whose patterns covers it.
    pub fn classes_at(&self, path: &str) -> BTreeSet<String> {
        self.labels
            .iter()
            .filter(|(l, _)| l.paths.iter().any(|p| p.matches(path)))
            .map(|(l, _)| l.class.clone())
            .collect()
    }

    /// The classes of data a component granted the directory `dir` can
    /// read: the labels covering `dir` or anything inside it.
    pub fn classes_within(&self, dir: &str) -> BTreeSet<String> {
        self.labels
            .iter()
            .filter(|(l, _)| l.paths.iter().any(|p| p.overlaps(dir)))
            .map(|(l, _)| l.class.clone())
            .collect()
    }

    /// Whether a provider that may reach exactly `destinations` may receive
    /// content of `class`; `Err` says why not.
    pub fn permits(&self, class: &str, destinations: &[NetRule]) -> Result<(), String> {
        let Some(layers) = self.rules.get(class) else {
            return Err(format!(
                "no [[residency]] table names class `{class}`, so no model provider may receive it"
            ));
        };
        if destinations.is_empty() {
            return Err("the provider may reach no host at all".into());
        }
        for (providers, layer) in layers {
            for dest in destinations {
                if !providers.iter().any(|p| p.covers(dest)) {
                    let allowed: Vec<String> = providers.iter().map(ToString::to_string).collect();
                    return Err(format!(
                        "{layer} lets `{class}` data go only to [{}], and the provider may \
                         reach {dest}",
                        allowed.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every class that is labelled or ruled on, with who may receive it
    /// (one line per layer rule), for `warden policy explain`.
    pub fn explain(&self) -> Vec<String> {
        let mut classes: BTreeSet<&str> = self.rules.keys().map(String::as_str).collect();
        classes.extend(self.labels.iter().map(|(l, _)| l.class.as_str()));
        let mut lines = Vec::new();
        for class in classes {
            for (label, layer) in self.labels.iter().filter(|(l, _)| l.class == class) {
                let paths: Vec<String> = label.paths.iter().map(ToString::to_string).collect();
                lines.push(format!(
                    "data class `{class}`: {} (labelled by {layer})",
                    paths.join(", ")
                ));
            }
            match self.rules.get(class) {
                None => lines.push(format!(
                    "data class `{class}` may be sent to: no model provider (no [[residency]] \
                     table names it)"
                )),
                Some(layers) => {
                    for (providers, layer) in layers {
                        let list: Vec<String> = providers.iter().map(ToString::to_string).collect();
                        lines.push(format!(
                            "data class `{class}` may be sent to: {} (by {layer})",
                            if list.is_empty() {
                                "no model provider".to_string()
                            } else {
                                list.join(", ")
                            }
                        ));
                    }
                }
            }
        }
        lines
    }

    /// The tables as TOML, for writing `grants.toml` back.
    pub(crate) fn to_toml(&self) -> String {
        let mut out = String::new();
        for (label, _) in &self.labels {
            let paths: Vec<String> = label
                .paths
                .iter()
                .map(|p| crate::rules::quote(&p.to_string()))
                .collect();
            out += &format!(
                "\n[[label]]\nclass = {}\npaths = [{}]\n",
                crate::rules::quote(&label.class),
                paths.join(", ")
            );
        }
        for (class, layers) in &self.rules {
            for (providers, _) in layers {
                let list: Vec<String> = providers
                    .iter()
                    .map(|p| crate::rules::quote(&p.to_string()))
                    .collect();
                out += &format!(
                    "\n[[residency]]\nclass = {}\nproviders = [{}]\n",
                    crate::rules::quote(class),
                    list.join(", ")
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(labels: &[(&str, &[&str])], rules: &[(&str, &[&str])], name: &str) -> Residency {
        Residency::from_raw(
            labels
                .iter()
                .map(|(c, p)| RawLabel {
                    class: c.to_string(),
                    paths: p.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            rules
                .iter()
                .map(|(c, p)| RawResidency {
                    class: c.to_string(),
                    providers: p.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            name,
        )
        .expect("valid")
    }

    fn dest(spec: &str) -> NetRule {
        spec.parse().expect("rule")
    }

    #[test]
    fn labels_cover_paths_and_the_directories_holding_them() {
        let r = layer(
            &[("restricted", &["/srv/clients/**"])],
            &[],
            "the org policy",
        );
        assert!(
            r.classes_at("/srv/clients/acme/a.txt")
                .contains("restricted")
        );
        assert!(r.classes_at("/srv/other").is_empty());
        // A grant of /srv can read the clients' files; a grant of /srv/other cannot.
        assert!(r.classes_within("/srv").contains("restricted"));
        assert!(r.classes_within("/srv/other").is_empty());
    }

    #[test]
    fn loopback_and_named_providers_are_told_apart() {
        let r = layer(
            &[],
            &[
                ("restricted", &["loopback"]),
                ("internal", &["*.corp.example", "127.0.0.1:8080"]),
                ("public", &["any"]),
            ],
            "the org policy",
        );
        let local = [dest("http://127.0.0.1:8080")];
        let cloud = [dest("https://api.openai.com:443")];
        assert!(r.permits("restricted", &local).is_ok());
        let err = r.permits("restricted", &cloud).expect_err("refused");
        assert!(err.contains("only to [loopback]"), "{err}");
        assert!(
            r.permits("internal", &[dest("https://llm.corp.example:443")])
                .is_ok()
        );
        assert!(
            r.permits("internal", &[dest("http://127.0.0.1:9090")])
                .is_err()
        );
        assert!(r.permits("public", &cloud).is_ok());
        // A provider that may reach any host is not on loopback.
        assert!(r.permits("restricted", &[dest("https://*:443")]).is_err());
        // Deny by default: an unnamed class goes nowhere.
        let err = r.permits("secret", &local).expect_err("refused");
        assert!(
            err.contains("no [[residency]] table names class `secret`"),
            "{err}"
        );
    }

    #[test]
    fn the_user_layer_narrows_the_org_layer_and_never_widens_it() {
        let org = layer(
            &[("restricted", &["/srv/**"])],
            &[("restricted", &["127.0.0.0/8"])],
            "the org policy",
        );
        let user = layer(
            &[("mine", &["/home/me/diary"])],
            &[("restricted", &["any"]), ("mine", &["127.0.0.1:8080"])],
            "grants.toml",
        );
        let both = Residency::merge(Some(&org), &user);
        assert!(
            both.permits("restricted", &[dest("https://api.openai.com:443")])
                .is_err()
        );
        assert!(
            both.permits("restricted", &[dest("http://127.0.0.1:1")])
                .is_ok()
        );
        assert!(both.classes_at("/home/me/diary/x").contains("mine"));
        assert!(
            both.permits("mine", &[dest("http://127.0.0.2:8080")])
                .is_err()
        );
        let explained = both.explain().join("\n");
        assert!(
            explained.contains("data class `restricted`: /srv/** (labelled by the org policy)"),
            "{explained}"
        );
        assert!(
            explained.contains(
                "data class `restricted` may be sent to: 127.0.0.0/8 (by the org policy)"
            ),
            "{explained}"
        );
    }

    #[test]
    fn bad_tables_are_refused_with_their_number() {
        let err = Residency::from_raw(
            vec![RawLabel {
                class: "Restricted".into(),
                paths: vec!["/x".into()],
            }],
            vec![],
            "the org policy",
        )
        .expect_err("refused");
        assert!(err.starts_with("label 1: data class `Restricted`"), "{err}");
        let err = Residency::from_raw(
            vec![],
            vec![RawResidency {
                class: "r".into(),
                providers: vec!["http://x/y".into()],
            }],
            "the org policy",
        )
        .expect_err("refused");
        assert!(
            err.starts_with("residency 1: provider `http://x/y`"),
            "{err}"
        );
    }

    #[test]
    fn grants_toml_keeps_its_labels_when_written_back_and_refuses_a_ceiling() {
        let text = "[[label]]\nclass = \"mine\"\npaths = [\"/home/me/diary\"]\n\n\
                    [[residency]]\nclass = \"mine\"\nproviders = [\"loopback\", \"llm.corp.example:443\"]\n";
        let grants = crate::GrantsFile::parse(text).expect("valid");
        let again = crate::GrantsFile::parse(&grants.to_toml()).expect("round trip");
        assert_eq!(again.residency(), grants.residency());
        assert!(
            again
                .residency()
                .permits("mine", &[dest("https://llm.corp.example:443")])
                .is_ok()
        );
        let err = crate::GrantsFile::parse("[sessions]\nmax_keep = \"1d\"\n")
            .expect_err("org only")
            .to_string();
        assert!(
            err.contains("`[sessions]` and `[context]` are org policy tables"),
            "{err}"
        );
        let org = crate::OrgPolicy::parse("[sessions]\nmax_keep = \"30d\"\n").expect("org");
        assert_eq!(
            org.sessions().and_then(|s| s.max_keep_ms),
            Some(30 * 86_400_000)
        );
    }
}
