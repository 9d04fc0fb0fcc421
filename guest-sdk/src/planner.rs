//! Bindings for the `planner` world. Implement the generated `Guest` trait and
//! export it with `warden_sdk::planner::bindings::export!`. Higher-level helpers
//! for this world arrive with the agent runtime.

/// Bindings generated from `wit/` for the `planner` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "planner",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_planner_world",
        default_bindings_module: "warden_sdk::planner::bindings",
        runtime_path: "warden_sdk::__private::wit_bindgen::rt",
        type_section_suffix: "planner",
    });

    /// Exports a type implementing this world's `Guest` trait(s):
    /// `export!(MyComponent);` at the crate root of a `cdylib`.
    #[doc(inline)]
    pub use __export_planner_world as export;
}
