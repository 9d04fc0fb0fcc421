//! Host-side bindings for the `warden:plugin` worlds, generated from `wit/`.
//!
//! Each world gets its own module; the interfaces they share (`types`,
//! `chat`, `planning`, `log`) are generated once, in [`tool`] and [`planner`],
//! and reused by the others, so a `ToolSpec` is one Rust type everywhere.

/// The `tool` world: what a tool component exports.
#[allow(missing_docs)]
pub mod tool {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "tool",
        imports: { default: trappable },
        exports: { default: async },
        // Recordings of agent runs (agent/recording.rs) store these values.
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

/// The `tool` world of `warden:plugin@0.2.0` (`wit/0.2.0/`): rich results,
/// output schemas and the `progress` import. Served beside 0.1.0; see
/// [`crate::tool_result`] for the one adapter between them.
#[allow(missing_docs)]
pub mod tool_v2 {
    wasmtime::component::bindgen!({
        path: "../wit/0.2.0",
        world: "tool",
        imports: { default: trappable },
        exports: { default: async },
    });
}

/// The `model-provider` world: what a model-provider component exports.
#[allow(missing_docs)]
pub mod model_provider {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "model-provider",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "warden:plugin/types": crate::bindings::tool::warden::plugin::types,
            "warden:plugin/log": crate::bindings::tool::warden::plugin::log,
            "warden:plugin/chat": crate::bindings::planner::warden::plugin::chat,
        },
    });
}

/// The `streaming-model-provider` world: `model-provider` plus the
/// `stream-sink` import (see [`crate::stream_sink`]). Its `model` export is
/// the same interface, so components of both worlds are loaded as
/// [`model_provider::ModelProviderPre`]; only the import is used from here.
#[allow(missing_docs)]
pub mod streaming_model_provider {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "streaming-model-provider",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "warden:plugin/types": crate::bindings::tool::warden::plugin::types,
            "warden:plugin/log": crate::bindings::tool::warden::plugin::log,
            "warden:plugin/chat": crate::bindings::planner::warden::plugin::chat,
        },
    });
}

/// The `skill` world: what a skill component exports.
#[allow(missing_docs)]
pub mod skill {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "skill",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "warden:plugin/types": crate::bindings::tool::warden::plugin::types,
            "warden:plugin/log": crate::bindings::tool::warden::plugin::log,
        },
    });
}

/// The `planner` world: the agent loop, and the broker the host provides it.
#[allow(missing_docs)]
pub mod planner {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "planner",
        imports: { default: async | trappable },
        exports: { default: async },
        // Recordings of agent runs (agent/recording.rs) store these values.
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "warden:plugin/types": crate::bindings::tool::warden::plugin::types,
            "warden:plugin/log": crate::bindings::tool::warden::plugin::log,
        },
    });
}

/// The `planner-context` world: a planner that also imports the
/// workspace's shared `context`. Only the `context` interface is generated
/// here; everything else is the `planner` world's (the exports are the same,
/// so one `PlannerPre` serves both worlds).
#[allow(missing_docs)]
pub mod planner_context {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "planner-context",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "warden:plugin/types": crate::bindings::tool::warden::plugin::types,
            "warden:plugin/log": crate::bindings::tool::warden::plugin::log,
            "warden:plugin/chat": crate::bindings::planner::warden::plugin::chat,
            "warden:plugin/planning": crate::bindings::planner::warden::plugin::planning,
            "warden:plugin/broker": crate::bindings::planner::warden::plugin::broker,
            "warden:plugin/agent": crate::bindings::planner::exports::warden::plugin::agent,
        },
    });
}

pub use tool::warden::plugin::log::Level as LogLevel;
pub use tool::warden::plugin::types::{Capability, Denial, SkillSpec, ToolError, ToolSpec};
