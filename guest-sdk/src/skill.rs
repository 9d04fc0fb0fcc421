//! Bindings for the `skill` world. Implement the generated `Guest` trait and
//! export it with `warden_sdk::skill::bindings::export!`. Higher-level helpers
//! for this world arrive with the agent runtime.

/// Bindings generated from `wit/` for the `skill` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "skill",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_skill_world",
        default_bindings_module: "warden_sdk::skill::bindings",
        runtime_path: "warden_sdk::__private::wit_bindgen::rt",
        type_section_suffix: "skill",
    });

    /// Exports a type implementing this world's `Guest` trait(s):
    /// `export!(MyComponent);` at the crate root of a `cdylib`.
    #[doc(inline)]
    pub use __export_skill_world as export;
}
