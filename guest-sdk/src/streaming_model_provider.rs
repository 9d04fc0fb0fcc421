//! Bindings for the `streaming-model-provider` world: `model-provider` plus
//! the `stream-sink` import, through which a provider hands the host each
//! piece of a completion's text as it is generated. Implement the generated
//! `Guest` trait and export it with
//! `warden_sdk::streaming_model_provider::bindings::export!`.

/// Bindings generated from `wit/` for the `streaming-model-provider` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "streaming-model-provider",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_streaming_model_provider_world",
        default_bindings_module: "warden_sdk::streaming_model_provider::bindings",
        runtime_path: "warden_sdk::__private::wit_bindgen::rt",
        type_section_suffix: "streaming_model_provider",
    });

    /// Exports a type implementing this world's `Guest` trait(s):
    /// `export!(MyComponent);` at the crate root of a `cdylib`.
    #[doc(inline)]
    pub use __export_streaming_model_provider_world as export;
}
