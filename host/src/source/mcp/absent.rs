//! Without the `mcp-servers` feature: an [`McpServer`] exists (so the
//! types stay the same) but every use fails with one explanation.

use super::McpServer;
use crate::bindings::ToolSpec;
use crate::call::CallReport;
use crate::error::CallError;
use crate::grant::Grant;

/// Nothing runs.
#[derive(Debug, Default)]
pub(super) struct State;

impl McpServer {
    /// How many times it was started: never, in this build.
    pub async fn starts(&self) -> u64 {
        0
    }

    /// The process id of the running server: none, in this build.
    pub async fn pid(&self) -> Option<u32> {
        None
    }

    fn not_built(&self) -> CallError {
        CallError::Instantiate {
            component: self.subject.clone(),
            reason: "this build of the warden library has no MCP-server support (its \
                     `mcp-servers` feature is off)"
                .into(),
        }
    }

    pub(crate) async fn list_tools(&self, _grant: &Grant) -> Result<Vec<ToolSpec>, CallError> {
        Err(self.not_built())
    }

    pub(crate) async fn call(
        &self,
        tool: &str,
        _input: &str,
        _grant: &Grant,
    ) -> Result<CallReport, CallError> {
        if let Some(why) = self.decl.refuses(tool) {
            return Err(crate::source::tool_not_allowed(&self.subject, tool, why));
        }
        Err(self.not_built())
    }
}
