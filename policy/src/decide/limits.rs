//! Limits: the smallest of the user's grant (or the default), the
//! manifest's request (or the default) and the org ceiling.

use super::{Layers, Source, decision};
use crate::effective::{EffectiveGrant, Outcome};
use crate::limits::{LimitKind, Limits};
use crate::rules::Capability;

/// The largest value of `kind` any of `sources` sets, and which one.
fn largest<'a>(sources: &'a [Source<'a>], kind: LimitKind) -> Option<(u64, &'a str)> {
    sources
        .iter()
        .filter_map(|s| s.rule.limits.get(kind).map(|v| (v, s.label.as_str())))
        .max_by_key(|(v, _)| *v)
}

/// Decides every kind of limit some layer or the defaults set.
pub(super) fn decide(layers: &Layers, grant: &mut EffectiveGrant) {
    for kind in LimitKind::ALL {
        let show = |v: u64| Capability::Limit(kind, v);
        let default = Limits::DEFAULTS.get(kind);
        let user = largest(&layers.user, kind);
        let mut because = Vec::new();
        let base = match (user, default) {
            (Some((v, label)), _) => {
                because.push(format!("user grant in {label}: {}", show(v)));
                Some(v)
            }
            (None, Some(d)) => {
                because.push(format!("default {} (no user grant sets one)", show(d)));
                Some(d)
            }
            (None, None) => None,
        };
        let mut value = base;
        if let Some(req) = layers.requested {
            let asked = match kind {
                LimitKind::Memory => req.limits.memory_bytes,
                LimitKind::Fuel => req.limits.fuel,
                LimitKind::WallClock => req.limits.timeout_ms,
                _ => None,
            };
            let manifest_kind = matches!(
                kind,
                LimitKind::Memory | LimitKind::Fuel | LimitKind::WallClock
            );
            if let Some(r) = asked.or(if manifest_kind { default } else { None }) {
                if value.is_none_or(|v| r < v) {
                    value = Some(r);
                    because.push(match asked {
                        Some(_) => format!("the manifest asks only for {}", show(r)),
                        None => {
                            format!("the manifest asks for no more than the default {}", show(r))
                        }
                    });
                } else if asked.is_some() {
                    because.push(format!("the manifest asks for {}", show(r)));
                }
            }
        }
        if let Some(org) = &layers.org
            && let Some((c, label)) = largest(org, kind)
        {
            because.push(format!("{label} caps {kind} at {}", kind.format(c)));
            if value.is_none_or(|v| c < v) {
                value = Some(c);
            }
        }
        let Some(value) = value else { continue };
        grant.limits.set(kind, Some(value));
        let (cap, outcome) = match base {
            Some(b) if value < b => (show(b), Outcome::Capped { to: show(value) }),
            _ => (show(value), Outcome::Allowed),
        };
        grant.decisions.push(decision(cap, outcome, because));
    }
}
