//! A package's `warden.toml`: parsing never panics, and a parsed manifest
//! written back with `to_toml` parses to the same manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_registry::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::parse(text) else {
        return;
    };
    let written = manifest.to_toml();
    let again = Manifest::parse(&written)
        .unwrap_or_else(|e| panic!("to_toml output does not parse: {e}\n{written}"));
    assert_eq!(again, manifest, "to_toml does not round-trip:\n{written}");
    let _ = manifest.capabilities.describe();
    let _ = manifest.capabilities.exceeding(&manifest.capabilities);
    let _ = manifest.id();
});
