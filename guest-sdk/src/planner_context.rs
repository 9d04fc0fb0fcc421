//! Bindings for the `planner-context` world: the `planner` world plus the
//! workspace's shared `context` (`wit/context.wit`). Implement the generated
//! `Guest` trait and export it with
//! `warden_sdk::planner_context::bindings::export!`. A planner built for this
//! world needs a host that serves `context`; one that does not use it should
//! use the `planner` feature instead.

/// Bindings generated from `wit/` for the `planner-context` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "planner-context",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_planner_context_world",
        default_bindings_module: "warden_sdk::planner_context::bindings",
        runtime_path: "warden_sdk::__private::wit_bindgen::rt",
        type_section_suffix: "planner-context",
    });

    /// Exports a type implementing this world's `Guest` trait(s):
    /// `export!(MyComponent);` at the crate root of a `cdylib`.
    #[doc(inline)]
    pub use __export_planner_context_world as export;
}
