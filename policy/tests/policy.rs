//! Capability policy from inline TOML: user grants ∩ manifest requests ∩
//! org ceilings, deny by default, deny wins, and the reasons for each.

use warden_policy::{
    Capability, ComponentId, DirRule, EffectiveGrant, GrantsFile, IpNet, LimitKind, NetRule,
    OrgPolicy, Outcome, effective, load_signed, sign_policy,
};
use warden_registry::manifest::Access;
use warden_registry::{Capabilities, Digest, Manifest, SecretKey};

fn id(name: &str, version: &str) -> ComponentId {
    ComponentId {
        name: name.parse().expect("name"),
        version: version.parse().expect("version"),
        digest: Digest::of(format!("{name}@{version}").as_bytes()),
    }
}

fn grep() -> ComponentId {
    id("acme:grep", "1.2.0")
}

fn user(text: &str) -> GrantsFile {
    GrantsFile::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn org(text: &str) -> OrgPolicy {
    OrgPolicy::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The capabilities of a manifest with this `[capabilities]` body.
fn requested(body: &str) -> Capabilities {
    let text = format!(
        "name = \"acme:grep\"\nversion = \"1.2.0\"\nkind = \"tool\"\ndescription = \"t\"\n\
         world = \"warden:plugin/tool@0.1.0\"\n[capabilities]\n{body}"
    );
    Manifest::parse(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .capabilities
}

/// An org policy allowing everything, for tests about other layers.
const OPEN_ORG: &str = r#"
[[rule]]
component = "*"
effect = "allow"
dirs = [{ host = "/", mode = "rw" }]
network = [{ scheme = "*", host = "*", port = "*" }]
env = ["*"]
secrets = ["*"]
"#;

fn net(spec: &str) -> Capability {
    Capability::Network(spec.parse().expect("net rule"))
}

fn outcome<'a>(grant: &'a EffectiveGrant, capability: &Capability) -> &'a Outcome {
    &grant
        .decision(capability)
        .unwrap_or_else(|| panic!("no decision about {capability}:\n{grant}"))
        .outcome
}

fn explained(grant: &EffectiveGrant) -> String {
    grant.explain().join("\n")
}

// ---- each rule kind: allowed and refused -------------------------------

#[test]
fn directories_are_mounted_only_when_granted() {
    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
dirs = [{ host = "/home/me/src", guest = "/src", mode = "rw" }]
"#,
    );
    let grant = effective(&grep(), None, &g, None);
    assert_eq!(grant.dirs().len(), 1);
    let d = &grant.dirs()[0];
    assert_eq!(
        (d.host.as_str(), d.guest.as_str(), d.mode),
        ("/home/me/src", "/src", Access::ReadWrite)
    );

    let other = effective(&id("acme:fetch", "1.0.0"), None, &g, None);
    assert!(other.dirs().is_empty(), "{other}");
}

#[test]
fn network_is_reachable_only_when_granted() {
    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
network = [{ host = "api.example.com" }]
"#,
    );
    let grant = effective(&grep(), None, &g, None);
    let n = grant.network();
    assert!(n.allows("https", "api.example.com", 443));
    assert!(
        !n.allows("https", "api.example.com", 8443),
        "the port defaults to 443"
    );
    assert!(
        !n.allows("http", "api.example.com", 443),
        "the scheme defaults to https"
    );
    assert!(!n.allows("https", "other.example.com", 443));
    assert!(
        effective(&id("acme:fetch", "1.0.0"), None, &g, None)
            .network()
            .is_empty()
    );
}

#[test]
fn env_and_secrets_are_passed_only_by_name() {
    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
env = ["RUST_LOG"]
secrets = ["GITHUB_TOKEN"]
"#,
    );
    let caps =
        requested("env = [\"RUST_LOG\", \"HOME\"]\nsecrets = [\"GITHUB_TOKEN\", \"AWS_KEY\"]\n");
    let grant = effective(&grep(), Some(&caps), &g, None);
    assert_eq!(grant.env(), ["RUST_LOG"]);
    assert_eq!(grant.secrets(), ["GITHUB_TOKEN"]);
    for refused in [
        Capability::Env("HOME".into()),
        Capability::Secret("AWS_KEY".into()),
    ] {
        let d = grant.decision(&refused).expect("decided");
        assert_eq!(d.outcome, Outcome::Denied);
        assert!(
            d.because.iter().any(|b| b.contains("deny by default")),
            "{d:?}"
        );
    }
}

#[test]
fn limits_default_and_are_raised_only_by_a_grant_within_the_request() {
    let none = effective(&grep(), None, &GrantsFile::default(), None);
    assert_eq!(none.limits().memory_bytes, Some(64 << 20));
    assert_eq!(none.limits().wall_clock_ms, Some(10_000));
    assert_eq!(
        none.limits().instances,
        None,
        "no policy default: the host decides"
    );

    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
limits = { memory = "1GiB", instances = 2 }
"#,
    );
    let granted = effective(&grep(), None, &g, None);
    assert_eq!(granted.limits().memory_bytes, Some(1 << 30));
    assert_eq!(granted.limits().instances, Some(2));

    // The manifest asks for 128 MiB: that is all it gets.
    let caps = requested("[capabilities.limits]\nmemory = \"128MiB\"\n");
    let grant = effective(&grep(), Some(&caps), &g, None);
    assert_eq!(grant.limits().memory_bytes, Some(128 << 20));
    assert_eq!(
        *outcome(&grant, &Capability::Limit(LimitKind::Memory, 1 << 30)),
        Outcome::Capped {
            to: Capability::Limit(LimitKind::Memory, 128 << 20)
        }
    );

    // Asking for more than was granted gets the grant (here: the default).
    let caps = requested("[capabilities.limits]\nmemory = \"2GiB\"\n");
    let grant = effective(&grep(), Some(&caps), &GrantsFile::default(), None);
    assert_eq!(grant.limits().memory_bytes, Some(64 << 20));
}

// ---- the manifest ------------------------------------------------------

#[test]
fn what_the_manifest_does_not_request_is_not_effective() {
    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
dirs = [{ host = "/home/me/src", guest = "/src", mode = "rw" }, { host = "/tmp/x", guest = "/x" }]
network = [{ scheme = "*", host = "*.example.com", port = "*" }, { host = "api.other.org" }]
env = ["RUST_LOG"]
"#,
    );
    let caps = requested(
        "dirs = [{ path = \"/src\", mode = \"ro\" }]\nhosts = [\"api.example.com:443\"]\n",
    );
    let grant = effective(&grep(), Some(&caps), &g, None);
    let text = explained(&grant);

    // Read-write granted, read-only requested → read-only.
    assert_eq!(grant.dirs().len(), 1, "{text}");
    assert_eq!(grant.dirs()[0].mode, Access::ReadOnly);
    assert!(
        text.contains("the manifest asks only for read-only access to /src"),
        "{text}"
    );
    let x = Capability::Dir(DirRule::parse("/tmp/x:/x").expect("dir"));
    assert_eq!(*outcome(&grant, &x), Outcome::Denied);

    // *.example.com granted, api.example.com:443 requested → just that.
    assert_eq!(grant.network().allow.len(), 1, "{text}");
    assert!(grant.network().allows("https", "api.example.com", 443));
    assert!(!grant.network().allows("https", "www.example.com", 443));
    assert_eq!(
        *outcome(&grant, &net("*://*.example.com:*")),
        Outcome::Capped {
            to: net("*://api.example.com:443")
        }
    );
    let d = grant
        .decision(&net("https://api.other.org:443"))
        .expect("decided");
    assert_eq!(d.outcome, Outcome::Denied);
    assert!(
        d.because
            .iter()
            .any(|b| b == "not requested by the manifest"),
        "{d:?}"
    );
    assert!(grant.env().is_empty());
}

#[test]
fn what_the_manifest_requests_but_nobody_grants_is_denied_by_default() {
    let caps = requested(
        "dirs = [{ path = \"/src\", mode = \"ro\" }]\nhosts = [\"api.example.com:443\"]\nenv = [\"RUST_LOG\"]\n",
    );
    let grant = effective(&grep(), Some(&caps), &GrantsFile::default(), None);
    assert!(grant.dirs().is_empty() && grant.network().is_empty() && grant.env().is_empty());
    let text = explained(&grant);
    assert!(
        text.contains("denied   directory /src in the guest (read-only)"),
        "{text}"
    );
    assert!(
        text.contains("no user grant maps a host directory to /src"),
        "{text}"
    );
    assert!(
        text.contains("denied   network *://api.example.com:443"),
        "{text}"
    );
    assert!(
        text.contains("denied   environment variable RUST_LOG"),
        "{text}"
    );
}

// ---- deny beats allow --------------------------------------------------

#[test]
fn a_user_deny_rule_beats_the_users_own_allow_rules() {
    let g = user(
        r#"
[[rule]]
component = "acme:*"
effect = "allow"
dirs = [{ host = "/home/me", guest = "/home" }]
network = [{ host = "*.example.com" }]
env = ["RUST_LOG", "HOME"]

[[rule]]
component = "acme:grep"
effect = "deny"
dirs = [{ host = "/home/*/.ssh" }]
network = [{ host = "tracker.example.com" }]
env = ["HOME"]
"#,
    );
    let grant = effective(&grep(), None, &g, None);
    let text = explained(&grant);
    assert!(grant.dirs().is_empty(), "{text}");
    assert!(
        text.contains(
            "grants.toml rule 2 denies directory /home/*/.ssh, which lies inside /home/me"
        ),
        "{text}"
    );
    assert!(grant.network().allows("https", "api.example.com", 443));
    assert!(!grant.network().allows("https", "tracker.example.com", 443));
    assert_eq!(grant.env(), ["RUST_LOG"]);

    // The deny rule names acme:grep only.
    let fetch = effective(&id("acme:fetch", "1.0.0"), None, &g, None);
    assert_eq!(fetch.dirs().len(), 1);
    assert_eq!(fetch.env(), ["RUST_LOG", "HOME"]);
}

#[test]
fn an_org_deny_rule_beats_user_grants_and_org_allow_rules() {
    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
dirs = [{ host = "/home/me/.ssh", guest = "/ssh" }, { host = "/home/me/src", guest = "/src" }]
secrets = ["AWS_KEY", "GITHUB_TOKEN"]
"#,
    );
    let o = org(&format!(
        "{OPEN_ORG}\n[[rule]]\ncomponent = \"*\"\neffect = \"deny\"\n\
         dirs = [{{ host = \"/home/*/.ssh\" }}]\nsecrets = [\"AWS_KEY\"]\n"
    ));
    let grant = effective(&grep(), None, &g, Some(&o));
    let text = explained(&grant);
    assert_eq!(grant.dirs().len(), 1, "{text}");
    assert_eq!(grant.dirs()[0].guest, "/src");
    assert_eq!(grant.secrets(), ["GITHUB_TOKEN"]);
    assert!(
        text.contains("org policy rule 2 (for `*`) denies directory /home/*/.ssh"),
        "{text}"
    );
    assert!(
        text.contains("org policy rule 2 (for `*`) denies secret AWS_KEY"),
        "{text}"
    );
}

#[test]
fn a_write_deny_takes_write_access_away_but_leaves_reading() {
    let g = user(
        "[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\n\
         dirs = [{ host = \"/etc/app\", guest = \"/cfg\", mode = \"rw\" }]\n",
    );
    let o = org(&format!(
        "{OPEN_ORG}\n[[rule]]\ncomponent = \"*\"\neffect = \"deny\"\ndirs = [{{ host = \"/etc\", mode = \"rw\" }}]\n"
    ));
    let grant = effective(&grep(), None, &g, Some(&o));
    assert_eq!(grant.dirs()[0].mode, Access::ReadOnly);
    assert!(explained(&grant).contains("org policy rule 2 (for `*`) denies writing to /etc"));
}

// ---- org ceilings beat user grants -------------------------------------

#[test]
fn an_org_ceiling_caps_read_write_to_read_only() {
    let g = user(
        "[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\n\
         dirs = [{ host = \"/home/me/src\", guest = \"/src\", mode = \"rw\" }, \
         { host = \"/srv/data\", guest = \"/data\" }]\n",
    );
    let o = org(
        "[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\ndirs = [{ host = \"/home/**\", mode = \"ro\" }]\n",
    );
    let grant = effective(&grep(), None, &g, Some(&o));
    let text = explained(&grant);
    assert_eq!(grant.dirs().len(), 1, "{text}");
    assert_eq!(grant.dirs()[0].mode, Access::ReadOnly);
    let granted = Capability::Dir(DirRule::parse("/home/me/src:/src:rw").expect("dir"));
    assert_eq!(
        *outcome(&grant, &granted),
        Outcome::Capped {
            to: Capability::Dir(DirRule::parse("/home/me/src:/src:ro").expect("dir"))
        }
    );
    assert!(
        text.contains("org policy rule 1 (for `*`) allows only directory /home/** (read-only)"),
        "{text}"
    );
    // Outside the ceiling: denied.
    let srv = Capability::Dir(DirRule::parse("/srv/data:/data").expect("dir"));
    assert_eq!(*outcome(&grant, &srv), Outcome::Denied);
    assert!(text.contains("no org rule covers /srv/data"), "{text}");
}

#[test]
fn an_org_ceiling_caps_memory() {
    let g = user(
        "[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\nlimits = { memory = \"1GiB\" }\n",
    );
    let o =
        org("[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\nlimits = { memory = \"256MiB\" }\n");
    let grant = effective(&grep(), None, &g, Some(&o));
    assert_eq!(grant.limits().memory_bytes, Some(256 << 20));
    assert_eq!(
        *outcome(&grant, &Capability::Limit(LimitKind::Memory, 1 << 30)),
        Outcome::Capped {
            to: Capability::Limit(LimitKind::Memory, 256 << 20)
        }
    );
    assert!(explained(&grant).contains("org policy rule 1 (for `*`) caps memory at 256MiB"));

    // A ceiling below the default caps the default too.
    let o = org(
        "[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\nlimits = { memory = \"16MiB\", calls-per-minute = 10 }\n",
    );
    let grant = effective(&grep(), None, &GrantsFile::default(), Some(&o));
    assert_eq!(grant.limits().memory_bytes, Some(16 << 20));
    assert_eq!(grant.limits().calls_per_minute, Some(10));
}

#[test]
fn an_org_forbid_inside_a_user_wildcard_denies_just_that_host() {
    let g = user(
        "[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\nnetwork = [{ host = \"*.example.com\" }]\n",
    );
    let o = org(&format!(
        "{OPEN_ORG}\n[[rule]]\ncomponent = \"*\"\neffect = \"deny\"\nnetwork = [{{ host = \"evil.example.com\" }}]\n"
    ));
    let grant = effective(&grep(), None, &g, Some(&o));
    let n = grant.network();
    assert!(n.allows("https", "api.example.com", 443));
    assert!(!n.allows("https", "evil.example.com", 443));
    assert_eq!(
        n.denied("https", "evil.example.com", 443)
            .map(ToString::to_string)
            .as_deref(),
        Some("*://evil.example.com:*")
    );
    assert_eq!(
        *outcome(&grant, &net("https://*.example.com:443")),
        Outcome::Allowed
    );
    let d = grant
        .decision(&net("https://evil.example.com:443"))
        .expect("decided");
    assert_eq!(d.outcome, Outcome::Denied);
    assert!(
        d.because.iter().any(
            |b| b.contains("org policy rule 2 (for `*`) denies network *://evil.example.com:*")
        ),
        "{d:?}"
    );
}

#[test]
fn an_org_policy_is_deny_by_default_for_what_it_does_not_allow() {
    let g = user(
        "[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\nnetwork = [{ host = \"api.example.com\" }]\nenv = [\"RUST_LOG\"]\n",
    );
    let o = org(
        "[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\nnetwork = [{ scheme = \"https\", host = \"*.corp.example\", port = 443 }]\n",
    );
    let grant = effective(&grep(), None, &g, Some(&o));
    assert!(grant.network().is_empty());
    assert!(grant.env().is_empty());
    assert!(explained(&grant).contains("no org policy rule allows it"));
}

// ---- CIDR --------------------------------------------------------------

#[test]
fn cidr_networks_match_v4_and_v6_at_their_boundaries() {
    let n = |s: &str| s.parse::<IpNet>().expect("net");
    let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
    assert!(n("0.0.0.0/0").contains(&ip("255.255.255.255")));
    assert!(n("::/0").contains(&ip("ffff::1")));
    assert!(!n("0.0.0.0/0").contains(&ip("::1")));
    assert!(n("10.0.0.0/8").contains(&ip("10.255.255.255")));
    assert!(!n("10.0.0.0/8").contains(&ip("11.0.0.0")));
    assert!(n("192.0.2.1/32").contains(&ip("192.0.2.1")));
    assert!(!n("192.0.2.1/32").contains(&ip("192.0.2.2")));
    assert!(n("::1/128").contains(&ip("::1")));
    assert!(!n("::1/128").contains(&ip("::2")));
    assert!(n("2001:db8::/127").contains(&ip("2001:db8::1")));
    assert!(!n("2001:db8::/127").contains(&ip("2001:db8::2")));
}

#[test]
fn address_rules_allow_and_deny_by_cidr() {
    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
network = [{ scheme = "*", host = "10.0.0.0/8", port = 5432 }, { scheme = "*", host = "::1", port = 8080 }]
"#,
    );
    let o = org(&format!(
        "{OPEN_ORG}\n[[rule]]\ncomponent = \"*\"\neffect = \"deny\"\nnetwork = [{{ host = \"10.99.0.0/16\" }}]\n"
    ));
    let grant = effective(&grep(), None, &g, Some(&o));
    let n = grant.network();
    assert!(n.allows("tcp", "10.0.0.0", 5432));
    assert!(n.allows("tcp", "10.255.255.255", 5432));
    assert!(!n.allows("tcp", "11.0.0.0", 5432));
    assert!(
        !n.allows("tcp", "10.99.0.1", 5432),
        "denied range inside the grant"
    );
    assert!(!n.allows("tcp", "10.99.255.255", 5432));
    assert!(n.allows("tcp", "10.98.255.255", 5432));
    assert!(
        !n.allows("tcp", "::ffff:10.99.0.1", 5432),
        "v4-mapped v6 is the v4 address"
    );
    assert!(n.allows("tcp", "[::1]", 8080));
    assert!(!n.allows("tcp", "::2", 8080));
    // A granted name resolving into a denied range is refused by address.
    assert!(n.denied("tcp", "10.99.3.4", 5432).is_some());
}

// ---- version- and digest-targeted rules --------------------------------

#[test]
fn version_and_digest_rules_apply_only_to_matching_components() {
    let old = id("acme:grep", "1.2.0");
    let new = id("acme:grep", "2.0.0");
    let text = format!(
        r#"
[[rule]]
component = "acme:grep"
version = "^1.2"
effect = "allow"
env = ["OLD_ONLY"]

[[rule]]
component = "acme:*"
digest = "{}"
effect = "allow"
env = ["THIS_BUILD_ONLY"]
"#,
        new.digest
    );
    let g = user(&text);
    assert_eq!(effective(&old, None, &g, None).env(), ["OLD_ONLY"]);
    let grant = effective(&new, None, &g, None);
    assert_eq!(grant.env(), ["THIS_BUILD_ONLY"]);
    assert!(explained(&grant).contains(&format!(
        "grants.toml rule 2 (for `acme:* ({})`)",
        new.digest
    )));
    let rebuilt = ComponentId {
        digest: Digest::of(b"other bytes"),
        ..new
    };
    assert!(effective(&rebuilt, None, &g, None).env().is_empty());

    // An org forbid for old versions only.
    let o = org(&format!(
        "{OPEN_ORG}\n[[rule]]\ncomponent = \"acme:grep\"\nversion = \"<2\"\neffect = \"deny\"\nenv = [\"*\"]\n"
    ));
    assert!(effective(&old, None, &g, Some(&o)).env().is_empty());
    assert_eq!(
        effective(
            &rebuilt,
            None,
            &user("[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\nenv = [\"A\"]\n"),
            Some(&o)
        )
        .env(),
        ["A"]
    );
}

// ---- signed org policies -----------------------------------------------

const POLICY: &str = r#"# Acme baseline
version = 1
description = "Acme baseline"

[[rule]]
component = "*"
effect = "allow"
dirs = [{ host = "/home/**", mode = "rw" }]
network = [{ scheme = "https", host = "*", port = 443 }]
env = ["*"]
secrets = ["*"]
limits = { memory = "256MiB", wall-clock = "60s" }

[[rule]]
component = "*"
effect = "deny"
dirs = [{ host = "/home/*/.ssh" }]
network = [{ host = "*.internal" }, { host = "10.0.0.0/8" }]
"#;

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn a_signed_policy_from_a_trusted_admin_is_loaded_and_explained() {
    let admin = SecretKey::from_seed(&[1; 32]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "policy.toml",
        &sign_policy(POLICY, &admin).expect("sign"),
    );
    let o = load_signed(
        &path,
        &[SecretKey::from_seed(&[2; 32]).public(), admin.public()],
    )
    .expect("trusted");
    assert_eq!(o.signed_by(), Some(admin.public()));
    assert_eq!(o.description(), Some("Acme baseline"));

    let g = user(
        "[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\nnetwork = [{ host = \"vault.internal\" }, { host = \"api.example.com\" }]\n",
    );
    let grant = effective(&grep(), None, &g, Some(&o));
    let text = explained(&grant);
    assert!(
        text.contains(&format!("signed by {}", admin.public())),
        "{text}"
    );
    assert!(
        text.contains("allowed  network https://api.example.com:443"),
        "{text}"
    );
    assert!(
        text.contains("org policy rule 1 (for `*`) allows network https://*:443"),
        "{text}"
    );
    assert!(
        text.contains("denied   network https://vault.internal:443"),
        "{text}"
    );
    assert!(
        text.contains("org policy rule 2 (for `*`) denies network *://*.internal:*"),
        "{text}"
    );
    assert!(
        text.contains("org policy rule 1 (for `*`) caps memory at 256MiB"),
        "{text}"
    );
}

#[test]
fn unsigned_tampered_and_untrusted_policies_are_refused() {
    let admin = SecretKey::from_seed(&[1; 32]);
    let trusted = [admin.public()];
    let signed = sign_policy(POLICY, &admin).expect("sign");
    let dir = tempfile::tempdir().expect("tempdir");
    let refuse = |name: &str, text: &str, keys: &[warden_registry::PublicKey]| {
        let path = write(dir.path(), name, text);
        load_signed(&path, keys).expect_err(name).to_string()
    };

    let err = refuse("unsigned.toml", POLICY, &trusted);
    assert!(
        err.contains("is unsigned") && err.contains("unsigned.toml"),
        "{err}"
    );

    // One more allow in the policy text.
    let tampered = signed.replace("memory = \"256MiB\"", "memory = \"4GiB\"");
    let err = refuse("tampered.toml", &tampered, &trusted);
    assert!(err.contains("was changed after it was signed"), "{err}");

    // The policy and its digest both changed: the signature no longer fits.
    let text = POLICY.replace("256MiB", "4GiB");
    let forged = signed.replace(
        &Digest::of(POLICY.as_bytes()).hex(),
        &Digest::of(text.as_bytes()).hex(),
    );
    let forged = forged.replacen(POLICY, &text, 1);
    let err = refuse("forged.toml", &forged, &trusted);
    assert!(
        err.contains(&format!("not a valid signature by {}", admin.public())),
        "{err}"
    );

    // Re-signed by someone else.
    let mallory = SecretKey::from_seed(&[6; 32]);
    let err = refuse(
        "mallory.toml",
        &sign_policy(&text, &mallory).expect("sign"),
        &trusted,
    );
    assert!(
        err.contains(&format!(
            "signed by {}, which is not a trusted admin key",
            mallory.public()
        )),
        "{err}"
    );
    let err = refuse("no-keys.toml", &signed, &[]);
    assert!(err.contains("(trusted: none)"), "{err}");

    // Rules added after the signature.
    let appended = format!("{signed}\n[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\n");
    let err = refuse("appended.toml", &appended, &trusted);
    assert!(
        err.contains("signature of") && err.contains("must come last"),
        "{err}"
    );
}

// ---- file formats ------------------------------------------------------

#[test]
fn grants_file_errors_name_the_rule_and_line() {
    let err = GrantsFile::parse(
        "version = 1\n\n[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\n\n[[rule]]\ncomponent = \"*\"\neffect = \"allow\"\ndirs = [{ host = \"/home/*\" }]\n",
    )
    .expect_err("pattern grant")
    .to_string();
    assert!(err.starts_with("invalid grants.toml at line 7"), "{err}");
    assert!(
        err.contains("rule 2: `dirs` host `/home/*` is a pattern"),
        "{err}"
    );

    let err = GrantsFile::parse(
        "[[rule]]\ncomponent = \"acme:grep\"\neffect = \"allow\"\nnetwork = [{ host = \"10.0.0.1/8\" }]\n",
    )
    .expect_err("cidr")
    .to_string();
    assert!(
        err.contains("line 4") && err.contains("did you mean 10.0.0.0/8"),
        "{err}"
    );
}

#[test]
fn grants_saved_and_loaded_are_equal_and_written_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = GrantsFile::path(dir.path());
    let mut g = GrantsFile::default();
    let grep_target = "acme:grep".parse().expect("target");
    g.grant(
        &grep_target,
        Capability::parse("dir", "/home/me/src:/src:rw").expect("cap"),
    )
    .expect("grant");
    g.grant(
        &grep_target,
        Capability::parse("network", "*://10.0.0.0/8:5432").expect("cap"),
    )
    .expect("grant");
    g.grant(
        &grep_target,
        Capability::parse("limit", "wall-clock=30s").expect("cap"),
    )
    .expect("grant");
    g.save(&path).expect("save");
    assert_eq!(GrantsFile::load(&path).expect("load"), g);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["grants.toml"], "no temp files left");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.contains("{ scheme = \"*\", host = \"10.0.0.0/8\", port = 5432 }"),
        "{text}"
    );
}

#[test]
fn explain_names_the_rule_behind_every_decision() {
    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
dirs = [{ host = "/home/me/src", guest = "/src", mode = "rw" }]
env = ["RUST_LOG"]
limits = { memory = "1GiB" }
"#,
    );
    let o = org(
        "[[rule]]\ncomponent = \"acme:*\"\neffect = \"allow\"\ndirs = [{ host = \"/home\", mode = \"ro\" }]\nenv = [\"RUST_LOG\"]\nlimits = { memory = \"256MiB\" }\n",
    );
    let grant = effective(&grep(), None, &g, Some(&o));
    for d in grant.decisions() {
        assert!(!d.because.is_empty(), "{d:?}");
        let defaulted = d.because.iter().any(|b| b.starts_with("default "));
        if !defaulted {
            assert!(
                d.because.iter().any(|b| b.contains("grants.toml rule 1")),
                "{d:?}"
            );
            assert!(
                d.because
                    .iter()
                    .any(|b| b.contains("org policy rule 1 (for `acme:*`)")),
                "{d:?}"
            );
        }
    }
    let text = explained(&grant);
    assert!(
        text.starts_with("effective grant of acme:grep@1.2.0"),
        "{text}"
    );
    assert!(text.contains("capped   directory /home/me/src at /src (read-write) to directory /home/me/src at /src (read-only)"), "{text}");
    assert!(
        text.contains("allowed  environment variable RUST_LOG"),
        "{text}"
    );
    assert!(
        text.contains("capped   memory limit 1GiB to memory limit 256MiB"),
        "{text}"
    );
    assert!(
        text.contains("NOT signature-checked"),
        "an unverified policy says so: {text}"
    );
    // Debug-printable for logs.
    assert!(format!("{grant:?}").contains("EffectiveGrant"));
}

#[test]
fn net_rules_print_explicitly() {
    let r: NetRule = "api.example.com".parse().expect("rule");
    assert_eq!(r.to_string(), "https://api.example.com:443");
}

#[test]
#[ignore = "prints an example explanation: cargo test --test policy -- --ignored --nocapture"]
fn print_an_example_explanation() {
    let g = user(
        r#"
[[rule]]
component = "acme:grep"
effect = "allow"
dirs = [{ host = "/home/me/src", guest = "/src", mode = "rw" }, { host = "/home/me", guest = "/me" }]
network = [{ host = "*.example.com" }, { host = "vault.internal" }]
env = ["RUST_LOG"]
secrets = ["GITHUB_TOKEN"]
limits = { memory = "1GiB" }
"#,
    );
    let admin = SecretKey::from_seed(&[1; 32]);
    let signed = sign_policy(
        &format!("{POLICY}\n[[rule]]\ncomponent = \"*\"\neffect = \"deny\"\nnetwork = [{{ host = \"evil.example.com\" }}]\n"),
        &admin,
    )
    .expect("sign");
    println!("{signed}");
    let o = OrgPolicy::verify(&signed, &[admin.public()], "policy.toml").expect("verify");
    let caps = requested(
        "dirs = [{ path = \"/src\", mode = \"rw\" }]\nhosts = [\"*.example.com:443\"]\nenv = [\"RUST_LOG\"]\n[capabilities.limits]\nmemory = \"512MiB\"\n",
    );
    let grant = effective(&grep(), Some(&caps), &g, Some(&o));
    println!("{}", g.to_toml());
    println!("{grant}");
    println!("{grant:#?}");
}
