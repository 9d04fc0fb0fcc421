//! Data residency in the broker: which model may see a request.
//!
//! The policy ([`warden_policy::Residency`], from the org policy and the
//! user's grants) labels data by where it lives and says which providers
//! may receive each class. The broker asks [`ResidencyGuard::route`] before
//! every model request:
//!
//! - the task carries the classes of the workspace it runs in;
//! - a tool result carries the classes of every labelled path its tool's
//!   grant reaches (the broker cannot tell which file a result came from,
//!   so a tool that *could* read labelled data taints what it returns);
//! - once labelled content has entered the conversation, every later
//!   request of the run carries its classes (what the model answers is
//!   derived from it), including the requests of executors.
//!
//! A request with classes the provider may not receive goes to the agent's
//! fallback provider when that one may receive them, and is otherwise
//! refused with a typed denial the planner can read. Every decision is
//! recorded in the audit log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use warden_policy::{NetRule, Residency};

use crate::grant::Grant;

/// Where one model request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// To the agent's provider.
    Primary,
    /// To the fallback provider.
    Fallback,
    /// Nowhere: no provider of the agent may receive the content.
    Refused {
        /// Why, in words the planner (and the model) can act on.
        reason: String,
    },
}

/// A routing decision and what it was based on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    /// Where the request goes.
    pub route: Route,
    /// The classes of the request's content.
    pub classes: Vec<String>,
    /// Why (the rule that decided).
    pub reason: String,
}

/// The data-residency state of one run (shared by its executors).
#[derive(Debug)]
pub struct ResidencyGuard {
    policy: Residency,
    /// Classes of the task (the workspace's labels).
    task: BTreeSet<String>,
    /// Classes of each tool's results, by tool name.
    tools: BTreeMap<String, BTreeSet<String>>,
    /// The destinations the primary provider may reach.
    primary: Vec<NetRule>,
    /// The destinations the fallback provider may reach, if there is one.
    fallback: Option<Vec<NetRule>>,
    /// Classes that have entered the conversation so far.
    seen: Mutex<BTreeSet<String>>,
}

/// The destinations a grant lets a provider reach.
pub fn destinations(grant: &Grant) -> Vec<NetRule> {
    grant.hosts.iter().map(|h| h.rule().clone()).collect()
}

impl ResidencyGuard {
    /// The guard of a run in `workspace` (if any) under `policy`, whose
    /// tools (by name) have the given grants, with the primary provider's
    /// grant and, optionally, the fallback provider's.
    pub fn new<'a>(
        policy: Residency,
        workspace: Option<&std::path::Path>,
        tools: impl IntoIterator<Item = (&'a str, &'a Grant)>,
        primary: &Grant,
        fallback: Option<&Grant>,
    ) -> ResidencyGuard {
        let task = workspace
            .and_then(|w| w.to_str())
            .map(|w| policy.classes_at(w))
            .unwrap_or_default();
        let tools = tools
            .into_iter()
            .map(|(name, grant)| {
                let classes = grant
                    .dirs
                    .iter()
                    .filter_map(|d| d.host.to_str())
                    .flat_map(|d| policy.classes_within(d))
                    .collect();
                (name.to_string(), classes)
            })
            .collect();
        ResidencyGuard {
            task,
            tools,
            primary: destinations(primary),
            fallback: fallback.map(destinations),
            policy,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// Whether the policy labels or rules on anything (if not, no request
    /// is ever kept from a provider, and nothing is recorded).
    pub fn is_active(&self) -> bool {
        !self.policy.is_empty()
    }

    /// The classes of the results of tool `name`.
    pub fn tool_classes(&self, name: &str) -> BTreeSet<String> {
        self.tools.get(name).cloned().unwrap_or_default()
    }

    /// Notes that a result of tool `name` entered the conversation.
    pub fn saw_tool_result(&self, name: &str) {
        if let Some(classes) = self.tools.get(name).filter(|c| !c.is_empty()) {
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(classes.iter().cloned());
        }
    }

    /// Notes classes the conversation already carries before the run
    /// starts (a resumed session's): every request of the run carries them.
    pub fn carry(&self, classes: impl IntoIterator<Item = String>) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(classes);
    }

    /// The classes the next request carries.
    pub fn classes(&self) -> BTreeSet<String> {
        let mut classes = self.task.clone();
        classes.extend(
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        classes
    }

    /// Where the next request goes.
    pub fn route(&self) -> RouteDecision {
        let classes = self.classes();
        let list: Vec<String> = classes.iter().cloned().collect();
        if classes.is_empty() {
            return RouteDecision {
                route: Route::Primary,
                classes: list,
                reason: "the request carries no labelled data".into(),
            };
        }
        let check = |dest: &[NetRule]| -> Result<(), String> {
            for class in &classes {
                self.policy.permits(class, dest)?;
            }
            Ok(())
        };
        let primary_refusal = match check(&self.primary) {
            Ok(()) => {
                return RouteDecision {
                    route: Route::Primary,
                    classes: list,
                    reason: "the provider may receive every class of the request".into(),
                };
            }
            Err(e) => e,
        };
        match &self.fallback {
            Some(dest) => match check(dest) {
                Ok(()) => RouteDecision {
                    route: Route::Fallback,
                    classes: list,
                    reason: format!("{primary_refusal}; the fallback provider may receive it"),
                },
                Err(e) => RouteDecision {
                    reason: format!("{primary_refusal}; and for the fallback provider: {e}"),
                    route: Route::Refused {
                        reason: format!(
                            "data residency: the conversation holds {} data, which neither the \
                             agent's model nor its fallback may receive ({primary_refusal}; \
                             fallback: {e}); answer without the model, or ask the user",
                            list.join(", ")
                        ),
                    },
                    classes: list,
                },
            },
            None => RouteDecision {
                reason: format!("{primary_refusal}; the agent declares no [fallback] provider"),
                route: Route::Refused {
                    reason: format!(
                        "data residency: the conversation holds {} data, which the agent's \
                         model may not receive ({primary_refusal}) and the agent declares no \
                         [fallback] provider",
                        list.join(", ")
                    ),
                },
                classes: list,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::grant::{DirGrant, DirMode, HostPattern};

    fn policy(text: &str) -> Residency {
        warden_policy::GrantsFile::parse(text)
            .expect("valid")
            .residency()
            .clone()
    }

    fn provider(host: &str) -> Grant {
        Grant {
            hosts: vec![HostPattern::parse(host).expect("host")],
            ..Grant::default()
        }
    }

    #[test]
    fn labelled_tool_results_taint_the_rest_of_the_run() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("secret");
        std::fs::create_dir(&secret).expect("mkdir");
        let canon = dir.path().canonicalize().expect("canonical");
        let text = format!(
            "[[label]]\nclass = \"restricted\"\npaths = [\"{}/secret\"]\n\n\
             [[residency]]\nclass = \"restricted\"\nproviders = [\"127.0.0.1:1111\"]\n",
            canon.display()
        );
        let reads_all = Grant {
            dirs: vec![DirGrant::new(dir.path(), Some("/w"), DirMode::ReadOnly).expect("dir")],
            ..Grant::default()
        };
        let reads_nothing = Grant::default();
        let cloud = provider("http://127.0.0.1:2222");
        let local = provider("http://127.0.0.1:1111");
        let guard = ResidencyGuard::new(
            policy(&text),
            Some(dir.path()),
            [("read_file", &reads_all), ("now", &reads_nothing)],
            &cloud,
            Some(&local),
        );
        assert!(guard.is_active());
        assert_eq!(guard.route().route, Route::Primary);
        guard.saw_tool_result("now");
        assert_eq!(guard.route().route, Route::Primary);
        guard.saw_tool_result("read_file");
        let decision = guard.route();
        assert_eq!(decision.route, Route::Fallback, "{decision:?}");
        assert_eq!(decision.classes, ["restricted"]);

        // Without a fallback the request is refused, saying why.
        let guard = ResidencyGuard::new(
            policy(&text),
            Some(&secret),
            [("read_file", &reads_all)],
            &cloud,
            None,
        );
        let Route::Refused { reason } = guard.route().route else {
            panic!("a labelled workspace's task may not go to the cloud");
        };
        assert!(reason.contains("restricted"), "{reason}");
        assert!(reason.contains("no [fallback] provider"), "{reason}");
    }
}
