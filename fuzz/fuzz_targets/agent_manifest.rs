//! `agent.toml`: parsing never panics, and `to_toml` round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_agent::AgentManifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = AgentManifest::parse(text) else {
        return;
    };
    let written = manifest.to_toml();
    let again = AgentManifest::parse(&written)
        .unwrap_or_else(|e| panic!("to_toml output does not parse: {e}\n{written}"));
    assert_eq!(again, manifest, "to_toml does not round-trip:\n{written}");
    let _ = manifest.digest();
    let _ = manifest.skill_dirs(std::path::Path::new("/workspace"));
    let _ = manifest.skill_components();
});
