//! `warden.lock`: parsing never panics, and `to_toml` round-trips.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use warden_registry::lockfile::Lockfile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("warden.lock");
    let Ok(lock) = Lockfile::parse(text, path) else {
        return;
    };
    let written = lock.to_toml();
    let again = Lockfile::parse(&written, path)
        .unwrap_or_else(|e| panic!("to_toml output does not parse: {e}\n{written}"));
    assert_eq!(again, lock, "to_toml does not round-trip:\n{written}");
});
