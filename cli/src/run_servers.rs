//! The MCP servers an agent declares (`[servers.NAME]` in `agent.toml`),
//! offered to its planner beside the tool components: each server's tools
//! under the prefix `NAME__`, each call through the library's one call path
//! (`Runtime::call_source`) under the grant of `server:NAME`, capped by
//! the user's grants and the org policy like a component's.

use std::path::Path;

use anyhow::Context;
use warden::Runtime;
use warden::agent::AgentTool;
use warden::bindings::ToolSpec;
use warden::resolve::Resolved;
use warden::source::servers::ServersFile;
use warden_agent::AgentManifest;
use warden_registry::store::Registry;

use super::grant_args::GrantArgs;
use super::policy_grant::{DeniedFlags, resolve};

/// The tools of `manifest`'s servers, listed under their grants.
pub async fn server_tools(
    runtime: &Runtime,
    registry: &Registry,
    manifest: &AgentManifest,
    agent_path: Option<&Path>,
    flags: &GrantArgs,
) -> anyhow::Result<Vec<AgentTool>> {
    if manifest.servers.is_empty() {
        return Ok(Vec::new());
    }
    let declared = ServersFile::from_tables(
        &manifest.servers,
        agent_path.unwrap_or(Path::new("agent.toml")),
    )?;
    let mut tools = Vec::new();
    for (name, decl) in declared.servers {
        let Resolved::Source { source, subject } = warden::resolve::server(&name, decl) else {
            anyhow::bail!("server `{name}` did not resolve to a server");
        };
        let grant = resolve(registry, &subject, flags, DeniedFlags::Warn)?.grant;
        let listed = runtime
            .list_source(&source, &grant)
            .await
            .with_context(|| format!("cannot list the tools of server `{name}`"))?;
        for tool in listed {
            tools.push(AgentTool {
                spec: ToolSpec {
                    name: format!("{name}__{}", tool.name),
                    description: tool.description,
                    input_schema: tool.input_schema.to_string(),
                },
                source: source.clone(),
                tool: tool.name,
                grant: grant.clone(),
            });
        }
    }
    Ok(tools)
}
