//! The first-party components, built from `components/` by `host/build.rs` and
//! embedded in the binary, so `warden tool call builtin:fs ...` and
//! `warden run` work anywhere.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/builtin_components.rs"));
}

pub use generated::{EDIT, FS, GREP, HTTP_FETCH, OPENAI_PROVIDER, PLANNER};

/// The names of the built-in tool components, for `builtin:NAME`.
pub const NAMES: [&str; 4] = ["fs", "grep", "http-fetch", "edit"];

/// The names of the built-in model providers.
pub const MODEL_PROVIDERS: [&str; 1] = ["openai-provider"];

/// The names of the built-in planners.
pub const PLANNERS: [&str; 1] = ["planner"];

/// The bytes of the built-in component `name` (`fs`, `grep`, `http-fetch`, `edit`,
/// `openai-provider`, `planner`).
pub fn lookup(name: &str) -> Option<&'static [u8]> {
    match name {
        "fs" => Some(FS),
        "grep" => Some(GREP),
        "edit" => Some(EDIT),
        "http-fetch" | "http_fetch" => Some(HTTP_FETCH),
        "openai-provider" | "openai_provider" => Some(OPENAI_PROVIDER),
        "planner" => Some(PLANNER),
        _ => None,
    }
}
