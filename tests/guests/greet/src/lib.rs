//! The example tool from the README, verbatim.

use serde::Deserialize;
use warden_sdk::{JsonSchema, ToolError, export_tools};

/// Input of the `greet` tool.
#[derive(Deserialize, JsonSchema)]
struct Greet {
    /// Who to greet.
    name: String,
}

fn greet(input: Greet) -> Result<String, ToolError> {
    if input.name.is_empty() {
        return Err(ToolError::InvalidInput("name is empty".into()));
    }
    warden_sdk::log::info(&format!("greeting {}", input.name));
    Ok(format!("Hello, {}!", input.name))
}

export_tools! {
    /// Greets someone by name.
    "greet" => greet,
}
