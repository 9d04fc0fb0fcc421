//! The organisation policy: ceilings and forbids set by an admin, signed
//! with an admin key, checked against the admin keys the user trusts.
//!
//! A policy is a rules document (see [`super::rules`]); allow rules are
//! ceilings (a capability must fit under one to be effective), deny rules
//! forbid. The org policy is deny by default too: a kind of capability no
//! allow rule mentions is allowed to nobody, so a policy that means to
//! restrict only some kinds allows the rest openly (`dirs = [{ host = "/",
//! mode = "rw" }]`, `network = [{ scheme = "*", host = "*", port = "*" }]`,
//! `env = ["*"]`, `secrets = ["*"]`). Limits a policy does not set are not
//! capped. Org rules never name a guest path (that is each user's choice).
//!
//! ## The signed file
//!
//! [`sign_policy`] appends a `[signature]` table to the policy text, so the
//! signed file is itself TOML:
//!
//! ```toml
//! # Acme baseline
//! version = 1
//! description = "Acme baseline"
//!
//! [[rule]]
//! component = "*"
//! effect = "allow"
//! dirs = [{ host = "/home/**", mode = "rw" }]
//! network = [{ scheme = "https", host = "*", port = 443 }]
//! env = ["*"]
//! secrets = ["*"]
//! limits = { memory = "256MiB", wall-clock = "60s" }
//!
//! [[rule]]
//! component = "*"
//! effect = "deny"
//! dirs = [{ host = "/home/*/.ssh" }]
//! network = [{ host = "*.internal" }, { host = "10.0.0.0/8" }]
//!
//! [audit]                  # optional: every record synced before its call is answered
//! sync = "every-record"
//!
//! [signature]
//! key = "ed25519:<64 hex digits>"
//! sha256 = "<64 hex digits>"
//! sig = "<128 hex digits>"
//! ```
//!
//! The policy bytes are exactly everything before the last line that reads
//! `[signature]`; `sha256` is their digest, and `sig` an Ed25519 signature
//! by `key` over the text `warden-org-policy-signature-v1\nsha256=<hex>\n`.
//! Any change to the policy bytes, the digest or the signature is refused,
//! as is a signature by a key that is not a trusted admin key.

use std::path::Path;

use serde::Deserialize;

use super::document::{parse_document, rule_error};
use super::grants::read_limited;
use super::rules::Rule;
use crate::error::PolicyError;
use warden_core::digest::Digest;
use warden_core::keys::{PublicKey, SecretKey};

/// The largest policy file read.
const MAX_BYTES: u64 = 4 << 20;

/// The first line of the signed statement.
const STATEMENT_TAG: &str = "warden-org-policy-signature-v1";

/// The line that starts the signature.
const SIGNATURE_LINE: &str = "[signature]";

/// A parsed org policy and, when it was verified, who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPolicy {
    description: Option<String>,
    /// `[audit] sync = "every-record"`.
    audit_every_record: bool,
    rules: Vec<Rule>,
    residency: crate::Residency,
    sessions: Option<crate::SessionCeiling>,
    context: Option<crate::ContextCeiling>,
    digest: Digest,
    signed_by: Option<PublicKey>,
    require_confinement: bool,
    remote_servers: Option<crate::RemoteServers>,
}

impl OrgPolicy {
    /// The same policy with every `no-ask` rule as a deny rule: what a
    /// capability asked for must fit (see [`crate::ask`]).
    pub(crate) fn with_no_ask_as_deny(&self) -> Option<OrgPolicy> {
        use super::rules::Effect;
        if !self.rules.iter().any(|r| r.effect == Effect::NoAsk) {
            return None;
        }
        let mut out = self.clone();
        for rule in out.rules.iter_mut().filter(|r| r.effect == Effect::NoAsk) {
            rule.effect = Effect::Deny;
        }
        Some(out)
    }

    /// Whether subprocess tool sources (MCP servers over stdio, native
    /// commands) may only run confined by the kernel (Landlock):
    /// `require-confinement = true` at the top of the policy.
    pub fn requires_confinement(&self) -> bool {
        self.require_confinement
    }

    /// The remote MCP servers that may be used, if the policy limits them
    /// (`[remote-servers]`; see [`crate::remote_servers`]).
    pub fn remote_servers(&self) -> Option<&crate::RemoteServers> {
        self.remote_servers.as_ref()
    }

    /// Parses and validates policy text without any signature check: for
    /// admins checking a policy before signing it, and for tests. A policy
    /// to enforce comes from [`load_signed`] or [`OrgPolicy::verify`].
    pub fn parse(text: &str) -> Result<OrgPolicy, PolicyError> {
        let origin = "org policy";
        let doc = parse_document(text, origin)?;
        let mut rules = Vec::with_capacity(doc.rules.len());
        for (i, (rule, at)) in doc.rules.into_iter().enumerate() {
            if rule.effect == super::rules::Effect::Ask {
                return Err(rule_error(
                    text,
                    origin,
                    i,
                    at,
                    "`ask` is each user's choice (in grants.toml); an org rule allows, denies, \
                     or forbids asking with \"no-ask\""
                        .to_string(),
                ));
            }
            if let Some(d) = rule.dirs.iter().find(|d| d.guest.is_some()) {
                return Err(rule_error(
                    text,
                    origin,
                    i,
                    at,
                    format!(
                        "the directory rule for `{}` names a guest path; org rules limit host \
                         paths only (the guest path is each user's choice), so remove `guest`",
                        d.host
                    ),
                ));
            }
            rules.push(rule);
        }
        Ok(OrgPolicy {
            description: doc.description,
            audit_every_record: doc.audit_every_record.unwrap_or(false),
            require_confinement: doc.require_confinement.unwrap_or(false),
            remote_servers: doc.remote_servers,
            rules,
            residency: doc.residency,
            sessions: doc.sessions,
            context: doc.context,
            digest: Digest::of(text.as_bytes()),
            signed_by: None,
        })
    }

    /// Verifies a signed policy (see the module docs) against the trusted
    /// admin keys and parses it. `origin` names it in errors (e.g. its path).
    pub fn verify(
        signed: &str,
        trusted_admin_keys: &[PublicKey],
        origin: &str,
    ) -> Result<OrgPolicy, PolicyError> {
        let malformed = |reason: String| PolicyError::MalformedSignature {
            origin: origin.to_string(),
            reason,
        };
        let split = signature_start(signed).ok_or_else(|| PolicyError::Unsigned {
            origin: origin.to_string(),
        })?;
        let (policy, tail) = signed.split_at(split);

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Tail {
            signature: SignatureTable,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct SignatureTable {
            key: PublicKey,
            sha256: String,
            sig: String,
        }
        let tail: Tail = toml::from_str(tail).map_err(|e| {
            malformed(format!(
                "{} (the `[signature]` table must come last and hold only `key`, `sha256` and `sig`)",
                e.message().trim_end()
            ))
        })?;
        let table = tail.signature;
        let signed_digest: Digest = format!("sha256:{}", table.sha256)
            .parse()
            .map_err(|_| malformed("`sha256` must be 64 lowercase hex digits".into()))?;
        let mut sig = [0u8; 64];
        if table.sig.len() != 128 || hex::decode_to_slice(&table.sig, &mut sig).is_err() {
            return Err(malformed("`sig` must be 128 hex digits".into()));
        }
        let found = Digest::of(policy.as_bytes());
        if found != signed_digest {
            return Err(PolicyError::Tampered {
                origin: origin.to_string(),
                signed: signed_digest,
                found,
            });
        }
        if !table.key.verify_strict(statement(&found).as_bytes(), &sig) {
            return Err(PolicyError::BadSignature {
                origin: origin.to_string(),
                key: table.key.to_string(),
            });
        }
        if !trusted_admin_keys.contains(&table.key) {
            return Err(PolicyError::UntrustedKey {
                origin: origin.to_string(),
                key: table.key.to_string(),
                trusted: trusted_admin_keys.iter().map(|k| k.to_string()).collect(),
            });
        }
        let mut parsed = OrgPolicy::parse(policy).map_err(|e| match e {
            PolicyError::Invalid {
                line,
                column,
                reason,
                ..
            } => PolicyError::Invalid {
                origin: origin.to_string(),
                line,
                column,
                reason,
            },
            other => other,
        })?;
        parsed.signed_by = Some(table.key);
        Ok(parsed)
    }

    /// The rules, in file order (rule numbers in messages count from 1).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The org's data labels and residency rules.
    pub fn residency(&self) -> &crate::Residency {
        &self.residency
    }

    /// The org's ceiling on session retention (`[sessions]`), if it sets one.
    pub fn sessions(&self) -> Option<&crate::SessionCeiling> {
        self.sessions.as_ref()
    }

    /// The org's ceiling on the shared context store (`[context]`), if any.
    pub fn context(&self) -> Option<&crate::ContextCeiling> {
        self.context.as_ref()
    }

    /// Whether the policy requires every audit record to be synced to disk
    /// before its call is answered (`[audit] sync = "every-record"`), so a
    /// server may not batch syncs.
    pub fn requires_every_record_sync(&self) -> bool {
        self.audit_every_record
    }

    /// The policy's own description, if it has one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The digest of the policy bytes (what was signed).
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The admin key that signed it; `None` for a policy from
    /// [`OrgPolicy::parse`], which was not verified.
    pub fn signed_by(&self) -> Option<PublicKey> {
        self.signed_by
    }

    /// One line naming the policy, for explanations.
    pub fn label(&self) -> String {
        let name = self
            .description
            .as_deref()
            .map_or(String::new(), |d| format!(" \"{d}\""));
        match self.signed_by {
            Some(k) => format!("org policy{name} ({}, signed by {k})", self.digest),
            None => format!("org policy{name} ({}, NOT signature-checked)", self.digest),
        }
    }
}

/// The text an admin key signs for policy bytes with `digest`.
fn statement(digest: &Digest) -> String {
    format!("{STATEMENT_TAG}\nsha256={}\n", digest.hex())
}

/// The byte offset of the last line that is exactly `[signature]`.
fn signature_start(text: &str) -> Option<usize> {
    let mut start = 0;
    let mut found = None;
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == SIGNATURE_LINE {
            found = Some(start);
        }
        start += line.len();
    }
    found
}

/// Signs policy text with an admin key: checks that it is a valid policy,
/// and returns the signed file (the text, a newline if it lacked one, and
/// a `[signature]` table).
pub fn sign_policy(text: &str, key: &SecretKey) -> Result<String, PolicyError> {
    if signature_start(text).is_some() {
        return Err(PolicyError::Invalid {
            origin: "org policy".into(),
            line: None,
            column: None,
            reason: "the text already has a `[signature]` table; sign the policy text without it"
                .into(),
        });
    }
    let mut policy = text.to_string();
    if !policy.ends_with('\n') {
        policy.push('\n');
    }
    OrgPolicy::parse(&policy)?;
    let digest = Digest::of(policy.as_bytes());
    let sig = key.sign(statement(&digest).as_bytes());
    Ok(format!(
        "{policy}{SIGNATURE_LINE}\nkey = \"{}\"\nsha256 = \"{}\"\nsig = \"{}\"\n",
        key.public(),
        digest.hex(),
        hex::encode(sig)
    ))
}

/// Loads a signed org policy from `path`, refusing one that is unsigned,
/// changed after signing, or signed by a key not in `trusted_admin_keys`.
pub fn load_signed(
    path: &Path,
    trusted_admin_keys: &[PublicKey],
) -> Result<OrgPolicy, PolicyError> {
    let text = read_limited(path, MAX_BYTES)?;
    OrgPolicy::verify(
        &text,
        trusted_admin_keys,
        &format!("org policy {}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str =
        "version = 1\n\n[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\nenv = [\"*\"]\n";

    #[test]
    fn an_org_policy_can_require_every_record_audit_sync() {
        assert!(
            !OrgPolicy::parse(POLICY)
                .expect("parse")
                .requires_every_record_sync()
        );
        let strict = format!("{POLICY}\n[audit]\nsync = \"every-record\"\n");
        assert!(
            OrgPolicy::parse(&strict)
                .expect("parse")
                .requires_every_record_sync()
        );
        let batched = format!("{POLICY}\n[audit]\nsync = \"batched\"\n");
        assert!(
            !OrgPolicy::parse(&batched)
                .expect("parse")
                .requires_every_record_sync()
        );
        let bogus = format!("{POLICY}\n[audit]\nsync = \"never\"\n");
        assert!(OrgPolicy::parse(&bogus).is_err());
        // Only an org can require it: grants.toml refuses the table.
        let err = crate::GrantsFile::parse(&strict).expect_err("grants refuse [audit]");
        assert!(err.to_string().contains("org policy"), "{err}");
    }

    #[test]
    fn an_org_policy_can_require_confinement_and_grants_cannot() {
        let strict = OrgPolicy::parse("require-confinement = true\n").expect("valid");
        assert!(strict.requires_confinement());
        let lax = OrgPolicy::parse("version = 1\n").expect("valid");
        assert!(!lax.requires_confinement());
        let err = crate::GrantsFile::parse("require-confinement = true\n").expect_err("user file");
        assert!(err.to_string().contains("org policy"), "{err}");
    }

    #[test]
    fn a_signed_policy_verifies_and_names_its_signer() {
        let admin = SecretKey::from_seed(&[9; 32]);
        let signed = sign_policy(POLICY, &admin).expect("sign");
        assert!(signed.starts_with(POLICY));
        let policy = OrgPolicy::verify(&signed, &[admin.public()], "p").expect("verify");
        assert_eq!(policy.signed_by(), Some(admin.public()));
        assert_eq!(policy.digest(), Digest::of(POLICY.as_bytes()));
        assert_eq!(policy.rules().len(), 1);
    }

    #[test]
    fn a_missing_trailing_newline_is_added_before_signing() {
        let admin = SecretKey::from_seed(&[9; 32]);
        let signed = sign_policy(POLICY.trim_end(), &admin).expect("sign");
        OrgPolicy::verify(&signed, &[admin.public()], "p").expect("verify");
    }

    #[test]
    fn invalid_or_already_signed_text_is_not_signed() {
        let admin = SecretKey::from_seed(&[9; 32]);
        let err = sign_policy("[[rule]]\n", &admin)
            .expect_err("invalid")
            .to_string();
        assert!(err.contains("missing field"), "{err}");
        let signed = sign_policy(POLICY, &admin).expect("sign");
        let err = sign_policy(&signed, &admin).expect_err("twice").to_string();
        assert!(err.contains("already has a `[signature]`"), "{err}");
    }

    #[test]
    fn org_rules_cannot_name_guest_paths() {
        let err = OrgPolicy::parse(
            "[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\ndirs = [{ host = \"/home\", guest = \"/h\" }]\n",
        )
        .expect_err("guest")
        .to_string();
        assert!(
            err.contains("rule 1: the directory rule for `/home` names a guest path"),
            "{err}"
        );
    }
}
