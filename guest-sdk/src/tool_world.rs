//! The `tool` world of `warden:plugin@0.2.0`: bindings, typed errors,
//! logging, progress, rich results and [`export_tools!`].

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Bindings generated from `wit/0.2.0/` for the `tool` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "tool",
        path: "../wit/0.2.0",
        pub_export_macro: true,
        export_macro_name: "__export_tool_world",
        default_bindings_module: "warden_sdk::bindings",
        runtime_path: "warden_sdk::__private::wit_bindgen::rt",
    });
}

pub use bindings::exports::warden::plugin::tools::Guest as ToolsGuest;
pub use bindings::warden::plugin::types::{
    Capability, Content, Denial, EmbeddedResource, Media, ResourceBody, ToolError, ToolResult,
    ToolSpec,
};

/// Progress of the current call, which the host forwards to whoever waits
/// for it (an MCP client that asked for progress). Values must increase;
/// the host drops a report that does not.
pub mod progress {
    /// Reports that the call has got to `progress` (of `total`, if known).
    pub fn report(progress: f64, total: Option<f64>, message: Option<&str>) {
        super::bindings::warden::plugin::progress::report(progress, total, message);
    }
}

impl ToolSpec {
    /// A spec with no title, no output schema, not destructive.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: impl Into<String>,
    ) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            title: None,
            description: description.into(),
            input_schema: input_schema.into(),
            output_schema: None,
            destructive: false,
        }
    }
}

impl ToolResult {
    /// One text block.
    pub fn text(text: impl Into<String>) -> ToolResult {
        ToolResult {
            content: vec![Content::Text(text.into())],
            structured: None,
        }
    }

    /// A JSON value as a result, shown the way the host shows a 0.1.0
    /// tool's output: an object as structured content (which the host also
    /// shows as its JSON text, so it is handed over once), a string as one
    /// text block, anything else as one block of its JSON.
    pub fn json(value: &serde_json::Value) -> ToolResult {
        match value {
            serde_json::Value::Object(_) => ToolResult {
                content: Vec::new(),
                structured: Some(value.to_string()),
            },
            serde_json::Value::String(s) => ToolResult::text(s.clone()),
            other => ToolResult::text(other.to_string()),
        }
    }
}

/// Logging to the host, which tags each line with the component's name.
pub mod log {
    use super::bindings::warden::plugin::log::{Level, log};

    /// Logs at `trace` level.
    pub fn trace(message: &str) {
        log(Level::Trace, message);
    }
    /// Logs at `debug` level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    /// Logs at `info` level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    /// Logs at `warn` level.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    /// Logs at `error` level.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

impl ToolError {
    /// Maps an I/O error on `resource` (a path, a URL, ...) to a typed tool
    /// error: a permission error (how WASI reports an access outside the
    /// grant) becomes `denied`, a missing file `not-found`, anything else
    /// `failed`.
    pub fn from_io(resource: &str, err: &std::io::Error) -> ToolError {
        use std::io::ErrorKind;
        match err.kind() {
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
                ToolError::Denied(Denial {
                    capability: Capability::Filesystem,
                    target: resource.to_string(),
                    reason: format!("the grant does not allow this access ({err})"),
                })
            }
            ErrorKind::NotFound => ToolError::NotFound(format!("{resource}: {err}")),
            _ => ToolError::Failed(format!("{resource}: {err}")),
        }
    }

    /// A filesystem denial for `resource`.
    pub fn denied_fs(resource: &str, reason: impl Into<String>) -> ToolError {
        ToolError::Denied(Denial {
            capability: Capability::Filesystem,
            target: resource.to_string(),
            reason: reason.into(),
        })
    }

    /// A network denial for `target` (a `host:port` or an address), e.g. when
    /// `wasi:http` answers `HTTP-request-denied` or a socket connect fails
    /// with a permission error.
    pub fn denied_net(target: &str, reason: impl Into<String>) -> ToolError {
        ToolError::Denied(Denial {
            capability: Capability::Network,
            target: target.to_string(),
            reason: reason.into(),
        })
    }
}

/// Builds the spec of one tool from its handler's input type. Used by
/// [`export_tools!`].
#[doc(hidden)]
pub fn spec<F, I, O>(name: &str, description: &str, _handler: &F) -> ToolSpec
where
    F: Fn(I) -> Result<O, ToolError>,
    I: DeserializeOwned + schemars::JsonSchema,
    O: Serialize,
{
    let schema = schemars::schema_for!(I);
    ToolSpec::new(
        name,
        // `///` lines arrive with their leading space: drop one per line.
        description
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim(),
        serde_json::to_string(&schema).unwrap_or_else(|_| "{}".to_string()),
    )
}

/// Decodes `input`, runs `handler`, encodes its output (see
/// [`ToolResult::json`]). Used by [`export_tools!`].
#[doc(hidden)]
pub fn invoke<F, I, O>(handler: &F, input: &str) -> Result<ToolResult, ToolError>
where
    F: Fn(I) -> Result<O, ToolError>,
    I: DeserializeOwned,
    O: Serialize,
{
    let input: I =
        serde_json::from_str(input).map_err(|e| ToolError::InvalidInput(e.to_string()))?;
    let output = handler(input)?;
    let encode = |e: serde_json::Error| ToolError::Failed(format!("could not encode output: {e}"));
    // Encoded once, straight to text: an object (the usual output) is
    // handed over as it is; only a string or another value needs a look at
    // its value (see [`ToolResult::json`]).
    let json = serde_json::to_string(&output).map_err(encode)?;
    if json.starts_with('{') {
        return Ok(ToolResult {
            content: Vec::new(),
            structured: Some(json),
        });
    }
    Ok(ToolResult::json(
        &serde_json::from_str(&json).map_err(encode)?,
    ))
}

/// Exports a set of Rust functions as the tools of this component.
///
/// Each entry is an optional `///` description (shown to the model), the
/// tool's name and a function `fn(Input) -> Result<Output, ToolError>` where
/// `Input: serde::Deserialize + JsonSchema` and `Output: serde::Serialize`.
/// Use it once per component.
///
/// ```ignore
/// warden_sdk::export_tools! {
///     /// Greets someone by name.
///     "greet" => greet,
///     /// Says goodbye.
///     "farewell" => farewell,
/// }
/// ```
#[macro_export]
macro_rules! export_tools {
    ($( $(#[doc = $doc:literal])* $name:literal => $handler:path ),+ $(,)?) => {
        #[doc(hidden)]
        struct __WardenTools;

        impl $crate::ToolsGuest for __WardenTools {
            fn list_tools() -> ::std::vec::Vec<$crate::ToolSpec> {
                ::std::vec![$(
                    $crate::spec($name, concat!($($doc, "\n",)* ""), &$handler)
                ),+]
            }

            fn call(
                name: ::std::string::String,
                input: ::std::string::String,
            ) -> ::std::result::Result<$crate::ToolResult, $crate::ToolError> {
                match name.as_str() {
                    $( $name => $crate::invoke(&$handler, &input), )+
                    other => ::std::result::Result::Err($crate::ToolError::UnknownTool(other.to_string())),
                }
            }
        }

        $crate::bindings::__export_tool_world!(__WardenTools with_types_in $crate::bindings);
    };
}
