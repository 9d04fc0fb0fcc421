//! The user's `grants.toml`, a (signed) org policy and a package manifest,
//! NUL-separated: parsing never panics, `GrantsFile::to_toml` round-trips,
//! and the effective grant of the three (with its explanation) is computed
//! without a panic. Org policy text is tried both as a signed file (checked
//! against a fixed admin key) and unsigned.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_policy::{ComponentId, GrantsFile, OrgPolicy, effective};
use warden_registry::{Digest, Manifest, SecretKey};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let grants = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let org = parts.next().and_then(|p| std::str::from_utf8(p).ok());
    let manifest = parts.next().and_then(|p| std::str::from_utf8(p).ok());

    let user = match grants.map(GrantsFile::parse) {
        Some(Ok(user)) => {
            let written = user.to_toml();
            let again = GrantsFile::parse(&written)
                .unwrap_or_else(|e| panic!("to_toml output does not parse: {e}\n{written}"));
            assert_eq!(again, user, "to_toml does not round-trip:\n{written}");
            let _ = user.show();
            user
        }
        _ => GrantsFile::default(),
    };
    let admin = SecretKey::from_seed(&[3; 32]).public();
    let org = org.and_then(|text| {
        if let Ok(signed) = OrgPolicy::verify(text, &[admin], "fuzz") {
            return Some(signed);
        }
        OrgPolicy::parse(text).ok()
    });
    let manifest = manifest.and_then(|text| Manifest::parse(text).ok());
    let id = match &manifest {
        Some(m) => ComponentId {
            name: m.name.clone(),
            version: m.version.clone(),
            digest: Digest::of(b"component"),
        },
        None => ComponentId {
            name: "acme:grep".parse().expect("valid name"),
            version: semver::Version::new(1, 2, 0),
            digest: Digest::of(b"component"),
        },
    };
    let grant = effective(&id, manifest.as_ref().map(|m| &m.capabilities), &user, org.as_ref());
    let _ = grant.explain();
    let network = grant.network();
    let _ = network.allows("https", "api.example.com", 443);
    let _ = network.allows("http", "10.1.2.3", 80);
    let _ = network.denied("https", "::1", 443);
    if let Some(org) = &org {
        let _ = org.label();
    }
});
