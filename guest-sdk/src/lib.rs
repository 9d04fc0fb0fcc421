//! # warden-sdk: write a warden tool in a few lines of Rust
//!
//! A warden tool is a WebAssembly component that exports the `tool` world of
//! the `warden:plugin@0.2.0` WIT package (`wit/0.2.0/` in the warden
//! repository): a call returns content blocks (text, image, audio, an
//! embedded resource, see [`ToolResult`]) and optional structured JSON, and
//! may report [`progress`]. The host still serves components built against
//! `warden:plugin@0.1.0` (`wit/`), e.g. with `wit-bindgen` directly. This
//! crate generates the bindings for you and turns plain Rust functions over
//! `serde` input types into tools: the JSON Schema the model sees is derived
//! from the input type with [`schemars`], bad input becomes a typed
//! `invalid-input` error, and the output is serialised to JSON.
//!
//! ```ignore
//! use warden_sdk::{JsonSchema, ToolError, export_tools};
//! use serde::Deserialize;
//!
//! /// Input of the `greet` tool.
//! #[derive(Deserialize, JsonSchema)]
//! struct Greet {
//!     /// Who to greet.
//!     name: String,
//! }
//!
//! fn greet(input: Greet) -> Result<String, ToolError> {
//!     warden_sdk::log::info(&format!("greeting {}", input.name));
//!     Ok(format!("Hello, {}!", input.name))
//! }
//!
//! export_tools! {
//!     /// Greets someone by name.
//!     "greet" => greet,
//! }
//! ```
//!
//! The crate needs `crate-type = ["cdylib"]` and depends on `warden-sdk`,
//! `serde` (with `derive`) and `schemars` (the `JsonSchema` derive expands to
//! paths under `schemars`). This exact tool is `tests/guests/greet` in the
//! warden repository, built and called by its test suite.
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (the Rust
//! toolchain produces a component for that target directly) or with
//! `cargo component build --release`; then run it under a grant with
//! `warden tool call target/wasm32-wasip2/release/NAME.wasm greet '{"name":"Ada"}'`.
//!
//! Everything beyond logging, such as files or HTTP, goes through standard
//! WASI (`std::fs`, the [`wasi`](https://docs.rs/wasi) crate) and works only
//! as far as the component's grant allows. A refused access surfaces as an
//! `std::io::Error`; [`ToolError::from_io`] turns it into the right typed error.

#![warn(missing_docs)]

// The generated bindings name this crate by its public path.
extern crate self as warden_sdk;

#[cfg(feature = "tool")]
mod tool_world;
#[cfg(feature = "tool")]
pub use tool_world::*;

#[cfg(all(feature = "model-provider", not(feature = "streaming-model-provider")))]
pub mod model_provider;
/// With both `model-provider` and `streaming-model-provider` enabled (two
/// crates of one workspace, or `--all-features`), one set of bindings
/// serves both, since the two worlds export the same `model` interface
/// (generated twice, its export macros would clash): the streaming world's.
/// A provider that never calls `stream_sink` does not import it.
#[cfg(all(feature = "model-provider", feature = "streaming-model-provider"))]
pub mod model_provider {
    pub use crate::streaming_model_provider::bindings;
}
#[cfg(all(feature = "planner", not(feature = "planner-context")))]
pub mod planner;
/// With `planner-context` also enabled, the `planner` module is that
/// world's bindings (one set of planner exports per component).
#[cfg(all(feature = "planner", feature = "planner-context"))]
pub mod planner {
    pub use crate::planner_context::bindings;
}
#[cfg(feature = "planner-context")]
pub mod planner_context;
#[cfg(feature = "skill")]
pub mod skill;
#[cfg(feature = "streaming-model-provider")]
pub mod streaming_model_provider;

pub use schemars::JsonSchema;

#[doc(hidden)]
pub mod __private {
    pub use serde_json;
    pub use wit_bindgen;
}
