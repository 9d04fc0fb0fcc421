//! The first-party tool components, built from `tools/` by `host/build.rs`
//! and embedded in the binary, so `warden tool call builtin:fs ...` works
//! anywhere.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/builtin_components.rs"));
}

pub use generated::{FS, GREP, HTTP_FETCH};

/// The names of the built-in components, for `builtin:NAME`.
pub const NAMES: [&str; 3] = ["fs", "grep", "http-fetch"];

/// The bytes of the built-in component `name` (`fs`, `grep`, `http-fetch`).
pub fn lookup(name: &str) -> Option<&'static [u8]> {
    match name {
        "fs" => Some(FS),
        "grep" => Some(GREP),
        "http-fetch" | "http_fetch" => Some(HTTP_FETCH),
        _ => None,
    }
}
