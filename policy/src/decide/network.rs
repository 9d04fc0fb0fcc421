//! Network: each grant narrowed to its intersections with the manifest's
//! hosts and the org's allow rules; deny rules deny what they cover and
//! carve exceptions out of what they partly cover.

use super::{DENY_BY_DEFAULT, Layers, ORG_DEFAULT, decision};
use crate::effective::{EffectiveGrant, Outcome};
use crate::network::NetRule;
use crate::rules::Capability;

/// Narrows `pieces` to their intersections with `by`, recording why;
/// keeps only pieces no other piece covers.
fn narrow(
    pieces: Vec<(NetRule, Vec<String>)>,
    by: &[(String, NetRule)],
    word: &str,
) -> Vec<(NetRule, Vec<String>)> {
    let mut out: Vec<(NetRule, Vec<String>)> = Vec::new();
    for (piece, because) in &pieces {
        for (label, rule) in by {
            if let Some(x) = piece.intersect(rule) {
                let mut b = because.clone();
                if x == *piece {
                    b.push(format!("{label} {word} network {rule}"));
                } else {
                    b.push(format!("{label} {word} only network {rule}"));
                }
                out.push((x, b));
            }
        }
    }
    let mut kept: Vec<(NetRule, Vec<String>)> = Vec::new();
    for (i, (rule, because)) in out.iter().enumerate() {
        let covered = out
            .iter()
            .enumerate()
            .any(|(j, (other, _))| j != i && other.covers(rule) && (other != rule || j < i));
        if !covered {
            kept.push((rule.clone(), because.clone()));
        }
    }
    kept
}

/// Decides every granted and every requested network rule.
pub(super) fn decide(layers: &Layers, grant: &mut EffectiveGrant) {
    let requested: Option<Vec<(String, NetRule)>> = layers.requested.map(|req| {
        req.hosts
            .iter()
            .filter_map(|h| NetRule::from_manifest_host(h).ok())
            .map(|r| ("the manifest".to_string(), r))
            .collect()
    });
    let org: Option<Vec<(String, NetRule)>> = layers.org.as_ref().map(|org| {
        org.iter()
            .flat_map(|s| s.rule.network.iter().map(|n| (s.label.clone(), n.clone())))
            .collect()
    });
    let deny: Vec<(String, NetRule)> = layers
        .deny
        .iter()
        .flat_map(|s| s.rule.network.iter().map(|n| (s.label.clone(), n.clone())))
        .collect();
    for (_, d) in &deny {
        if !grant.network.deny.contains(d) {
            grant.network.deny.push(d.clone());
        }
    }

    for src in &layers.user {
        for granted in &src.rule.network {
            let cap = Capability::Network(granted.clone());
            let mut pieces = vec![(
                granted.clone(),
                vec![format!("user grant in {}: {cap}", src.label)],
            )];
            if let Some(req) = &requested {
                let next = narrow(pieces.clone(), req, "requests");
                if next.is_empty() {
                    let mut because = pieces.remove(0).1;
                    because.push("not requested by the manifest".into());
                    grant
                        .decisions
                        .push(decision(cap, Outcome::Denied, because));
                    continue;
                }
                pieces = next;
            }
            if let Some(org) = &org {
                let next = narrow(pieces.clone(), org, "allows");
                if next.is_empty() {
                    let mut because = pieces.remove(0).1;
                    because.push(ORG_DEFAULT.into());
                    grant
                        .decisions
                        .push(decision(cap, Outcome::Denied, because));
                    continue;
                }
                pieces = next;
            }
            for (piece, mut because) in pieces {
                let full: Vec<&(String, NetRule)> =
                    deny.iter().filter(|(_, d)| d.covers(&piece)).collect();
                if !full.is_empty() {
                    because.extend(full.iter().map(|(l, d)| format!("{l} denies network {d}")));
                    let what = if piece == *granted {
                        cap.clone()
                    } else {
                        Capability::Network(piece)
                    };
                    grant
                        .decisions
                        .push(decision(what, Outcome::Denied, because));
                    continue;
                }
                let mut exceptions = Vec::new();
                for (label, d) in &deny {
                    if let Some(x) = piece.intersect(d) {
                        because.push(format!("except network {x}: {label} denies network {d}"));
                        exceptions.push(decision(
                            Capability::Network(x),
                            Outcome::Denied,
                            vec![
                                format!("within user grant in {}: {cap}", src.label),
                                format!("{label} denies network {d}"),
                            ],
                        ));
                    }
                }
                let outcome = if piece == *granted {
                    Outcome::Allowed
                } else {
                    Outcome::Capped {
                        to: Capability::Network(piece.clone()),
                    }
                };
                if !grant.network.allow.iter().any(|a| a.covers(&piece)) {
                    grant.network.allow.push(piece);
                }
                grant
                    .decisions
                    .push(decision(cap.clone(), outcome, because));
                grant.decisions.extend(exceptions);
            }
        }
    }

    for (_, r) in requested.iter().flatten() {
        let granted = layers
            .user
            .iter()
            .any(|s| s.rule.network.iter().any(|n| n.intersect(r).is_some()));
        if !granted {
            grant.decisions.push(decision(
                Capability::Network(r.clone()),
                Outcome::Denied,
                vec!["requested by the manifest".into(), DENY_BY_DEFAULT.into()],
            ));
        }
    }
}
