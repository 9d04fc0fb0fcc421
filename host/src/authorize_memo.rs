//! The *authorize* step of a long-running server, done once per policy.
//!
//! `warden mcp` authorizes the same component with the same call grants on
//! every call. What [`authorize_asking`] decides depends only on the policy
//! layers, the subject, the call grants and a few facts read at the time:
//! whether each granted directory exists, the secrets' values, and the
//! user's answer to an `ask` rule. An [`AuthorizeMemo`] keeps the last
//! result and hands it out again while
//!
//! - the layers are the same ones: [`PolicyCache`](crate::policy_cache::PolicyCache)
//!   hands out a new `Arc` whenever `grants.toml`, the org policy or the
//!   admin keys change, so `warden grant` / `revoke` apply at the next call;
//! - the subject and the call grants are equal to the remembered ones;
//! - every granted directory is still a directory (one `stat` each, as the
//!   full step does; the sandbox then opens it without following links);
//!
//! and never when the result put a question to the user (an `ask` rule
//! applies: asked on every call), grants a secret (its value is read per
//! call, so a changed secrets file applies) or left a granted directory
//! unmounted (it may appear later). Nothing else changes while a process
//! runs: the policy has no clock, and granted variables come from this
//! process's environment.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::authorize::{
    Asking, AuthorizeError, AuthorizeNote, Authorized, CallGrants, DeniedGrants, PolicyLayers,
    Subject, authorize_asking,
};
use crate::secret::SecretValue;

/// The last reusable authorization of a server's component; see the
/// module docs for when it is reused.
#[derive(Default)]
pub struct AuthorizeMemo {
    last: Mutex<Option<Remembered>>,
}

struct Remembered {
    layers: Arc<PolicyLayers>,
    subject: Subject,
    call: CallGrants,
    denied: DeniedGrants,
    authorized: Arc<Authorized>,
}

/// What [`AuthorizeMemo::authorize_asking`] returns.
#[derive(Debug)]
pub struct Memoized {
    /// The authorization (shared with the memo: reusing it copies nothing).
    pub authorized: Arc<Authorized>,
    /// Whether it was made for this call (its notes are new) rather than
    /// reused.
    pub fresh: bool,
}

impl AuthorizeMemo {
    /// An empty memo.
    pub fn new() -> AuthorizeMemo {
        AuthorizeMemo::default()
    }

    /// [`authorize_asking`], or the remembered result when nothing it
    /// depends on can have changed (module docs).
    #[allow(clippy::too_many_arguments)]
    pub async fn authorize_asking<E>(
        &self,
        layers: &Arc<PolicyLayers>,
        subject: &Subject,
        call: &CallGrants,
        denied: DeniedGrants,
        home: &Path,
        stored_secrets: impl FnOnce() -> Result<BTreeMap<String, SecretValue>, E>,
        asking: Asking<'_>,
    ) -> Result<Memoized, AuthorizeError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if let Some(authorized) = self.reuse(layers, subject, call, denied) {
            return Ok(Memoized {
                authorized,
                fresh: false,
            });
        }
        let authorized = Arc::new(
            authorize_asking(layers, subject, call, denied, home, stored_secrets, asking).await?,
        );
        let reusable = !authorized.asked
            && authorized.effective.secrets().is_empty()
            && !authorized
                .notes
                .iter()
                .any(|n| matches!(n, AuthorizeNote::DirNotMounted { .. }));
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        *last = reusable.then(|| Remembered {
            layers: layers.clone(),
            subject: subject.clone(),
            call: call.clone(),
            denied,
            authorized: Arc::clone(&authorized),
        });
        Ok(Memoized {
            authorized,
            fresh: true,
        })
    }

    fn reuse(
        &self,
        layers: &Arc<PolicyLayers>,
        subject: &Subject,
        call: &CallGrants,
        denied: DeniedGrants,
    ) -> Option<Arc<Authorized>> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let r = last.as_ref()?;
        let same = Arc::ptr_eq(&r.layers, layers)
            && r.subject == *subject
            && r.call == *call
            && r.denied == denied;
        let dirs_there = || {
            r.authorized
                .grant
                .dirs
                .iter()
                .all(|d| std::fs::metadata(&d.host).is_ok_and(|m| m.is_dir()))
        };
        (same && dirs_there()).then(|| Arc::clone(&r.authorized))
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use warden_policy::{Capability, GrantsFile, Target};

    use super::*;
    use crate::approval::{Answer, AnswerFuture, Approver, Question};
    use crate::record::AuditSink;

    /// Says yes, and counts the questions.
    #[derive(Default)]
    struct Yes(AtomicUsize);

    impl Approver for Yes {
        fn channel(&self) -> &str {
            "test"
        }
        fn ask<'a>(&'a self, _question: &'a Question) -> AnswerFuture<'a> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Answer::Accept })
        }
    }

    struct Case {
        home: tempfile::TempDir,
        data: tempfile::TempDir,
        subject: Subject,
        yes: Yes,
        audit: AuditSink,
    }

    impl Case {
        fn new() -> Case {
            Case {
                home: tempfile::tempdir().expect("home"),
                data: tempfile::tempdir().expect("data"),
                subject: Subject::builtin("fs", b"the component's bytes").expect("subject"),
                yes: Yes::default(),
                audit: AuditSink::disabled(),
            }
        }

        fn dir(&self) -> Capability {
            let spec = format!("{}:/data:ro", self.data.path().display());
            Capability::parse("dir", &spec).expect("dir")
        }

        fn call(&self) -> CallGrants {
            CallGrants {
                capabilities: vec![self.dir()],
                ..CallGrants::default()
            }
        }

        /// Layers whose user grants give `capability` to the subject under
        /// the rule `ask` or `grant`.
        fn layers(&self, user: impl FnOnce(&mut GrantsFile, &Target)) -> Arc<PolicyLayers> {
            let mut grants = GrantsFile::default();
            user(&mut grants, &Target::from(self.subject.id.name.clone()));
            Arc::new(PolicyLayers {
                user: grants,
                org: None,
            })
        }

        fn authorize(
            &self,
            memo: &AuthorizeMemo,
            layers: &Arc<PolicyLayers>,
            call: &CallGrants,
        ) -> Memoized {
            let asking = Asking {
                approver: &self.yes,
                audit: &self.audit,
                tool: Some("read_file"),
            };
            let secrets = || Ok::<_, std::io::Error>(BTreeMap::new());
            let run = memo.authorize_asking(
                layers,
                &self.subject,
                call,
                DeniedGrants::Refuse,
                self.home.path(),
                secrets,
                asking,
            );
            futures::executor::block_on(run).unwrap_or_else(|e| panic!("authorize: {e}"))
        }
    }

    #[test]
    fn the_same_policy_is_authorized_once_and_a_changed_one_again() {
        let case = Case::new();
        let (memo, call) = (AuthorizeMemo::new(), case.call());
        let layers = case.layers(|_, _| {});
        let first = case.authorize(&memo, &layers, &call);
        assert!(first.fresh);
        assert_eq!(first.authorized.grant.dirs.len(), 1);
        let again = case.authorize(&memo, &layers, &call);
        assert!(!again.fresh, "the same layers reuse the authorization");
        assert_eq!(again.authorized.grant, first.authorized.grant);

        // What PolicyCache hands out after `warden revoke` / a new org
        // policy: other layers, even with equal content, are authorized anew.
        let reloaded = case.layers(|_, _| {});
        assert!(case.authorize(&memo, &reloaded, &call).fresh);
        // Other call grants (or another subject) never reuse it.
        let fewer = CallGrants::default();
        let other = case.authorize(&memo, &reloaded, &fewer);
        assert!(other.fresh);
        assert!(other.authorized.grant.dirs.is_empty());
    }

    #[test]
    fn an_ask_rule_is_asked_on_every_call() {
        let case = Case::new();
        let (memo, dir) = (AuthorizeMemo::new(), case.dir());
        let layers = case.layers(|g, target| {
            g.ask(target, dir).expect("ask rule");
        });
        for n in 1..=3 {
            let asked = case.authorize(&memo, &layers, &CallGrants::default());
            assert!(asked.fresh && asked.authorized.asked);
            assert_eq!(asked.authorized.grant.dirs.len(), 1);
            assert_eq!(case.yes.0.load(Ordering::SeqCst), n);
        }
    }

    #[test]
    fn a_granted_directory_that_goes_away_or_comes_back_is_noticed() {
        let case = Case::new();
        let (memo, call) = (AuthorizeMemo::new(), case.call());
        let layers = case.layers(|_, _| {});
        assert!(case.authorize(&memo, &layers, &call).fresh);
        let moved = case.home.path().join("moved");
        std::fs::rename(case.data.path(), &moved).expect("move the directory away");
        let gone = case.authorize(&memo, &layers, &call);
        assert!(gone.fresh, "a missing directory is authorized anew");
        assert!(gone.authorized.grant.dirs.is_empty());
        assert!(matches!(
            gone.authorized.notes.as_slice(),
            [AuthorizeNote::DirNotMounted { .. }]
        ));
        // Not remembered while a directory is missing: it is mounted as
        // soon as it is back.
        std::fs::rename(&moved, case.data.path()).expect("move it back");
        let back = case.authorize(&memo, &layers, &call);
        assert!(back.fresh);
        assert_eq!(back.authorized.grant.dirs.len(), 1);
    }

    #[test]
    fn a_granted_secret_is_read_again_for_every_call() {
        let case = Case::new();
        let memo = AuthorizeMemo::new();
        let secret =
            Capability::parse("secret", "WARDEN_MEMO_TEST_TOKEN@api.example.com").expect("secret");
        let layers = case.layers(|g, target| {
            g.grant(target, secret).expect("grant the secret");
        });
        let call = CallGrants::default();
        assert!(case.authorize(&memo, &layers, &call).fresh);
        assert!(
            case.authorize(&memo, &layers, &call).fresh,
            "a changed secrets file applies at the next call"
        );
    }
}
