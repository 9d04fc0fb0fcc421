//! Directories: the grant's mode, capped by the manifest request covering
//! its guest path and the org ceiling covering its host path; denied when a
//! deny rule overlaps it.

use super::{Layers, ORG_DEFAULT, decision};
use crate::effective::{EffectiveDir, EffectiveGrant, Outcome};
use crate::path::guest_within;
use crate::request::Access;
use crate::rules::{Capability, DirRule};

/// Decides every granted and every requested directory.
pub(super) fn decide(layers: &Layers, grant: &mut EffectiveGrant) {
    for src in &layers.user {
        for d in &src.rule.dirs {
            let Some(host) = d.host.as_path() else {
                grant.decisions.push(decision(
                    Capability::Dir(d.clone()),
                    Outcome::Denied,
                    vec![format!(
                        "{} names a pattern, not a directory to mount",
                        src.label
                    )],
                ));
                continue;
            };
            let guest = d.guest.clone().unwrap_or_else(|| host.clone());
            let want = d.mode.unwrap_or(Access::ReadOnly);
            let granted = DirRule {
                host: d.host.clone(),
                guest: Some(guest.clone()),
                mode: Some(want),
            };
            let cap = Capability::Dir(granted.clone());
            let mut because = vec![format!("user grant in {}: {cap}", src.label)];
            let mut mode = want;
            let mut denied = false;

            if let Some(req) = layers.requested {
                let best = req
                    .dirs
                    .iter()
                    .filter(|r| guest_within(&guest, &r.path))
                    .max_by_key(|r| r.mode);
                match best {
                    None => {
                        denied = true;
                        because.push(format!(
                            "not requested by the manifest (it asks for no directory at or \
                             above {guest})"
                        ));
                    }
                    Some(r) if r.mode < mode => {
                        mode = r.mode;
                        because.push(format!(
                            "the manifest asks only for {} access to {}",
                            r.mode, r.path
                        ));
                    }
                    Some(r) => because.push(format!(
                        "requested by the manifest: directory {} ({})",
                        r.path, r.mode
                    )),
                }
            }

            if let Some(org) = &layers.org {
                let best = org
                    .iter()
                    .flat_map(|s| s.rule.dirs.iter().map(move |d| (s, d)))
                    .filter(|(_, d)| d.host.matches(&host))
                    .max_by_key(|(_, d)| d.mode.unwrap_or(Access::ReadOnly));
                match best {
                    None => {
                        denied = true;
                        because.push(format!("{ORG_DEFAULT}: no org rule covers {host}"));
                    }
                    Some((s, c)) => {
                        let ceiling = c.mode.unwrap_or(Access::ReadOnly);
                        let ceiling_cap = Capability::Dir(c.clone());
                        if ceiling < mode {
                            mode = ceiling;
                            because.push(format!("{} allows only {ceiling_cap}", s.label));
                        } else {
                            because.push(format!("{} allows {ceiling_cap}", s.label));
                        }
                    }
                }
            }

            for s in &layers.deny {
                for x in s.rule.dirs.iter().filter(|x| x.host.overlaps(&host)) {
                    let inside = if x.host.matches(&host) {
                        String::new()
                    } else {
                        format!(
                            ", which lies inside {host} (a directory grant cannot exclude what is \
                             inside it)"
                        )
                    };
                    if x.mode == Some(Access::ReadWrite) {
                        if mode == Access::ReadWrite {
                            mode = Access::ReadOnly;
                            because
                                .push(format!("{} denies writing to {}{inside}", s.label, x.host));
                        }
                    } else {
                        denied = true;
                        because.push(format!(
                            "{} denies {}{inside}",
                            s.label,
                            Capability::Dir(x.clone())
                        ));
                    }
                }
            }

            if !denied {
                if let Some(i) = grant.dirs.iter().position(|e| e.guest == guest) {
                    let other = &mut grant.dirs[i];
                    if other.host != host {
                        denied = true;
                        because.push(format!(
                            "guest path {guest} is already mapped to {} by an earlier grant",
                            other.host
                        ));
                    } else {
                        other.mode = other.mode.max(mode);
                    }
                } else {
                    grant.dirs.push(EffectiveDir {
                        host: host.clone(),
                        guest: guest.clone(),
                        mode,
                    });
                }
            }

            let outcome = if denied {
                Outcome::Denied
            } else if mode < want {
                Outcome::Capped {
                    to: Capability::Dir(DirRule {
                        mode: Some(mode),
                        ..granted
                    }),
                }
            } else {
                Outcome::Allowed
            };
            grant.decisions.push(decision(cap, outcome, because));
        }
    }

    if let Some(req) = layers.requested {
        for r in &req.dirs {
            let mapped = layers.user.iter().any(|s| {
                s.rule.dirs.iter().any(|d| {
                    let guest = d.guest.clone().or_else(|| d.host.as_path());
                    guest.is_some_and(|g| guest_within(&g, &r.path))
                })
            });
            if !mapped {
                grant.decisions.push(decision(
                    Capability::RequestedDir {
                        guest: r.path.clone(),
                        mode: r.mode,
                    },
                    Outcome::Denied,
                    vec![
                        "requested by the manifest".into(),
                        format!(
                            "no user grant maps a host directory to {} (deny by default)",
                            r.path
                        ),
                    ],
                ));
            }
        }
    }
}
