//! Bounds on what a guest hands the host besides its result: the tool specs
//! it lists and the texts of the errors it returns.
//!
//! A component's result is bounded by its grant's `max_output_bytes`; these
//! bounds close the other paths, so that no guest-chosen size reaches the
//! CLI, `warden mcp` or the agent broker whole:
//!
//! - **Tool lists** are refused when they list more than [`MAX_TOOLS`] tools,
//!   a description over [`MAX_DESCRIPTION_BYTES`], a schema over
//!   [`MAX_SCHEMA_BYTES`], or more than [`MAX_TOOL_LIST_BYTES`] in all
//!   ([`check_specs`], run right after the list is lifted from the guest,
//!   before any copy or JSON parse).
//! - **Error texts** a guest controls (tool-error and model-error messages, a denial's
//!   reason) are cut to the grant's `max_output_bytes` each, a denial's
//!   target to [`MAX_DENIAL_TARGET_BYTES`], with a marker saying how long
//!   they were ([`truncate`]).

use std::fmt;

use crate::bindings::planner::warden::plugin::chat::ModelError;
use crate::bindings::{Denial, ToolError, ToolSpec};
use crate::error::{CallError, human_bytes};

/// The most tools one component may list.
pub const MAX_TOOLS: usize = 1024;

/// The longest tool description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 16 << 10;

/// The longest input schema of one tool, in bytes.
pub const MAX_SCHEMA_BYTES: usize = 64 << 10;

/// The most bytes of names, descriptions and schemas one component may list
/// in all.
pub const MAX_TOOL_LIST_BYTES: usize = 1 << 20;

/// Which bound of a tool list was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecLimit {
    /// The number of tools ([`MAX_TOOLS`]).
    ToolCount,
    /// One tool's description ([`MAX_DESCRIPTION_BYTES`]).
    Description,
    /// One tool's input schema ([`MAX_SCHEMA_BYTES`]).
    InputSchema,
    /// Every name, description and schema together ([`MAX_TOOL_LIST_BYTES`]).
    Total,
    /// One 0.2.0 tool's title ([`MAX_TITLE_BYTES`]).
    Title,
    /// One 0.2.0 tool's output schema ([`MAX_SCHEMA_BYTES`]).
    OutputSchema,
}

/// The longest title a 0.2.0 tool may declare, in bytes.
pub const MAX_TITLE_BYTES: usize = 1024;

impl SpecLimit {
    /// The bound itself: a count for [`SpecLimit::ToolCount`], bytes for the
    /// others.
    pub fn max(self) -> usize {
        match self {
            SpecLimit::ToolCount => MAX_TOOLS,
            SpecLimit::Description => MAX_DESCRIPTION_BYTES,
            SpecLimit::InputSchema => MAX_SCHEMA_BYTES,
            SpecLimit::Total => MAX_TOOL_LIST_BYTES,
            SpecLimit::Title => MAX_TITLE_BYTES,
            SpecLimit::OutputSchema => MAX_SCHEMA_BYTES,
        }
    }
}

/// Describes an exceeded bound: what was too big (`size`), for which tool
/// where it is one tool's, and the bound.
pub(crate) struct SpecOverLimit<'a> {
    pub(crate) limit: SpecLimit,
    pub(crate) tool: Option<&'a str>,
    pub(crate) size: u64,
}

impl fmt::Display for SpecOverLimit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tool = self.tool.unwrap_or("?");
        let max = self.limit.max() as u64;
        match self.limit {
            SpecLimit::ToolCount => write!(
                f,
                "it lists {} tools, over the limit of {max} per component; split it into \
                 several components",
                self.size
            ),
            SpecLimit::Description => write!(
                f,
                "the description of tool `{tool}` is {} bytes, over the limit of {}; shorten it",
                self.size,
                human_bytes(max)
            ),
            SpecLimit::InputSchema => write!(
                f,
                "the input schema of tool `{tool}` is {} bytes, over the limit of {}; simplify it",
                self.size,
                human_bytes(max)
            ),
            SpecLimit::Total => write!(
                f,
                "its tool names, descriptions and schemas come to at least {} bytes, over the \
                 limit of {} per component; shorten them or split the component",
                self.size,
                human_bytes(max)
            ),
            SpecLimit::Title => write!(
                f,
                "the title of tool `{tool}` is {} bytes, over the limit of {}; shorten it",
                self.size,
                human_bytes(max)
            ),
            SpecLimit::OutputSchema => write!(
                f,
                "the output schema of tool `{tool}` is {} bytes, over the limit of {}; simplify it",
                self.size,
                human_bytes(max)
            ),
        }
    }
}

/// Refuses a tool list over any of the bounds, naming `component`, the bound
/// and (for one tool's text) the tool. Reads only lengths: nothing is copied.
pub fn check_specs(component: &str, tools: &[ToolSpec]) -> Result<(), CallError> {
    let over = |limit: SpecLimit, tool: Option<&str>, size: usize| CallError::ToolListTooLarge {
        component: component.to_string(),
        limit,
        tool: tool.map(str::to_string),
        size: size as u64,
    };
    if tools.len() > MAX_TOOLS {
        return Err(over(SpecLimit::ToolCount, None, tools.len()));
    }
    let mut total = 0usize;
    for spec in tools {
        if spec.description.len() > MAX_DESCRIPTION_BYTES {
            return Err(over(
                SpecLimit::Description,
                Some(short(&spec.name)),
                spec.description.len(),
            ));
        }
        if spec.input_schema.len() > MAX_SCHEMA_BYTES {
            return Err(over(
                SpecLimit::InputSchema,
                Some(short(&spec.name)),
                spec.input_schema.len(),
            ));
        }
        total = total
            .saturating_add(spec.name.len())
            .saturating_add(spec.description.len())
            .saturating_add(spec.input_schema.len());
        if total > MAX_TOOL_LIST_BYTES {
            return Err(over(SpecLimit::Total, None, total));
        }
    }
    Ok(())
}

/// Refuses what 0.2.0 tools declare beyond their specs (title, output
/// schema) over its bounds; `meta` is in the order of `tools`. Reads only
/// lengths.
pub fn check_meta(
    component: &str,
    tools: &[ToolSpec],
    meta: &[crate::tool_result::ToolMeta],
) -> Result<(), CallError> {
    for (spec, meta) in tools.iter().zip(meta) {
        let sizes = [
            (SpecLimit::Title, meta.title.as_ref().map_or(0, String::len)),
            (
                SpecLimit::OutputSchema,
                meta.output_schema.as_ref().map_or(0, String::len),
            ),
        ];
        for (limit, size) in sizes {
            if size > limit.max() {
                return Err(CallError::ToolListTooLarge {
                    component: component.to_string(),
                    limit,
                    tool: Some(short(&spec.name).to_string()),
                    size: size as u64,
                });
            }
        }
    }
    Ok(())
}

/// A tool name as shown in a message about it: names are checked after
/// sizes, so an over-long one is cut.
fn short(name: &str) -> &str {
    &name[..floor_char_boundary(name, 64)]
}

/// `text` cut to at most `max` bytes, at a character boundary (no marker:
/// for bounded pieces such as stream deltas and progress messages).
pub(crate) fn prefix_within(text: &str, max: usize) -> &str {
    &text[..floor_char_boundary(text, max)]
}

/// The largest index `<= at` that is a char boundary of `text`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// `text` cut to at most `limit` bytes (on a character boundary), ending
/// with a marker that gives its full length, when it is longer.
pub fn truncate(text: String, limit: u64) -> String {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if text.len() <= limit {
        return text;
    }
    let marker = format!(
        " …[truncated by warden: {} bytes in all, over the limit of {}]",
        text.len(),
        human_bytes(limit as u64)
    );
    let keep = floor_char_boundary(&text, limit.saturating_sub(marker.len()));
    let mut out = String::with_capacity(keep + marker.len());
    out.push_str(&text[..keep]);
    if out.len() + marker.len() <= limit {
        out.push_str(&marker);
    }
    out
}

/// The longest target of a denial (a path, `host:port`, a variable name),
/// in bytes, whatever the output limit.
pub const MAX_DENIAL_TARGET_BYTES: u64 = 4 << 10;

/// `denial` with its target cut to [`MAX_DENIAL_TARGET_BYTES`] (or `limit`,
/// if smaller) and its reason to `limit` bytes.
pub fn bound_denial(denial: Denial, limit: u64) -> Denial {
    Denial {
        capability: denial.capability,
        target: truncate(denial.target, limit.min(MAX_DENIAL_TARGET_BYTES)),
        reason: truncate(denial.reason, limit),
    }
}

/// `error` with every text it carries cut to `limit` bytes.
pub fn bound_tool_error(error: ToolError, limit: u64) -> ToolError {
    match error {
        ToolError::InvalidInput(m) => ToolError::InvalidInput(truncate(m, limit)),
        ToolError::UnknownTool(m) => ToolError::UnknownTool(truncate(m, limit)),
        ToolError::NotFound(m) => ToolError::NotFound(truncate(m, limit)),
        ToolError::Denied(d) => ToolError::Denied(bound_denial(d, limit)),
        ToolError::Failed(m) => ToolError::Failed(truncate(m, limit)),
    }
}

/// A model provider's `error` with every text it carries cut to `limit`
/// bytes (a denial's target to [`MAX_DENIAL_TARGET_BYTES`]).
pub fn bound_model_error(error: ModelError, limit: u64) -> ModelError {
    match error {
        ModelError::InvalidRequest(m) => ModelError::InvalidRequest(truncate(m, limit)),
        ModelError::Denied(d) => ModelError::Denied(bound_denial(d, limit)),
        ModelError::Unavailable(m) => ModelError::Unavailable(truncate(m, limit)),
        ModelError::ContextOverflow(m) => ModelError::ContextOverflow(truncate(m, limit)),
        ModelError::BadResponse(m) => ModelError::BadResponse(truncate(m, limit)),
        other @ ModelError::RateLimited(_) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, description: usize, schema: usize) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            description: "d".repeat(description),
            input_schema: format!("{{\"x\":\"{}\"}}", "s".repeat(schema.saturating_sub(8))),
        }
    }

    #[test]
    fn texts_are_cut_with_a_marker_that_fits_the_limit() {
        assert_eq!(truncate("short".into(), 100), "short");
        let cut = truncate("é".repeat(10_000), 1000);
        assert!(cut.len() <= 1000, "{}", cut.len());
        assert!(cut.contains("truncated by warden: 20000 bytes"), "{cut}");
        assert!(cut.starts_with("éé"));
        // A limit smaller than the marker still bounds the text.
        assert!(truncate("x".repeat(100), 10).len() <= 10);
    }

    #[test]
    fn tool_lists_over_a_bound_are_refused_naming_it() {
        let many: Vec<ToolSpec> = (0..=MAX_TOOLS)
            .map(|i| spec(&format!("t{i}"), 1, 8))
            .collect();
        let err = check_specs("c", &many).expect_err("too many");
        assert!(err.to_string().contains("1025 tools"), "{err}");
        assert!(check_specs("c", &many[..MAX_TOOLS]).is_ok());

        let long = [spec("t", MAX_DESCRIPTION_BYTES + 1, 8)];
        let err = check_specs("c", &long).expect_err("description");
        assert!(err.to_string().contains("description of tool `t`"), "{err}");

        let schema = [spec("t", 1, MAX_SCHEMA_BYTES + 1)];
        let err = check_specs("c", &schema).expect_err("schema");
        assert!(
            err.to_string().contains("input schema of tool `t`"),
            "{err}"
        );

        let big: Vec<ToolSpec> = (0..40)
            .map(|i| {
                spec(
                    &format!("t{i}"),
                    MAX_DESCRIPTION_BYTES,
                    MAX_SCHEMA_BYTES / 2,
                )
            })
            .collect();
        let err = check_specs("c", &big).expect_err("total");
        assert!(err.to_string().contains("in all") || err.to_string().contains("per component"));
    }
}
