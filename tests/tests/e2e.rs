//! End-to-end tests: real components built from source, called through the
//! host under real grants, including hostile guests.

#[path = "e2e/agent.rs"]
mod agent;
#[path = "e2e/agent_servers.rs"]
mod agent_servers;
#[path = "e2e/bounds.rs"]
mod bounds;
#[path = "e2e/cli.rs"]
mod cli;
#[path = "e2e/cli_run.rs"]
mod cli_run;
#[path = "e2e/context.rs"]
mod context;
#[path = "e2e/context_replay.rs"]
mod context_replay;
#[path = "e2e/context_residency.rs"]
mod context_residency;
#[path = "e2e/edit_tool.rs"]
mod edit_tool;
#[path = "e2e/fs_read.rs"]
mod fs_read;
#[path = "e2e/fs_tool.rs"]
mod fs_tool;
#[path = "e2e/grep_tool.rs"]
mod grep_tool;
#[path = "e2e/held_attacks.rs"]
mod held_attacks;
#[path = "e2e/hostile.rs"]
mod hostile;
#[path = "e2e/hostile_provider.rs"]
mod hostile_provider;
#[path = "e2e/http_fetch.rs"]
mod http_fetch;
#[path = "e2e/js_tool.rs"]
mod js_tool;
#[path = "e2e/llama_server.rs"]
mod llama_server;
#[path = "e2e/loading.rs"]
mod loading;
#[path = "e2e/local_model.rs"]
mod local_model;
#[path = "e2e/mcp.rs"]
mod mcp;
#[path = "e2e/mcp_approval.rs"]
mod mcp_approval;
#[path = "e2e/mcp_approval_wait.rs"]
mod mcp_approval_wait;
#[path = "e2e/mcp_cancel.rs"]
mod mcp_cancel;
#[path = "e2e/mcp_conformance.rs"]
mod mcp_conformance;
#[path = "e2e/mcp_dir_swap.rs"]
mod mcp_dir_swap;
#[path = "e2e/mcp_rich.rs"]
mod mcp_rich;
#[path = "e2e/mcp_stdio.rs"]
mod mcp_stdio;
#[path = "e2e/mcp_stdio_kinds.rs"]
mod mcp_stdio_kinds;
#[path = "e2e/oci.rs"]
mod oci;
#[path = "e2e/policy.rs"]
mod policy;
#[path = "e2e/policy_suggest.rs"]
mod policy_suggest;
#[path = "e2e/record.rs"]
mod record;
#[path = "e2e/registry.rs"]
mod registry;
#[path = "e2e/remote_events.rs"]
mod remote_events;
#[path = "e2e/remote_hostile.rs"]
mod remote_hostile;
#[path = "e2e/remote_secrets.rs"]
mod remote_secrets;
#[path = "e2e/remote_servers.rs"]
mod remote_servers;
#[path = "e2e/replay.rs"]
mod replay;
#[path = "e2e/residency.rs"]
mod residency;
#[path = "e2e/residency_sessions.rs"]
mod residency_sessions;
#[path = "e2e/run_tests_tool.rs"]
mod run_tests_tool;
#[path = "e2e/secrets.rs"]
mod secrets;
#[path = "e2e/session_bundle.rs"]
mod session_bundle;
#[path = "e2e/streaming.rs"]
mod streaming;
#[path = "e2e/tool_sources.rs"]
mod tool_sources;
#[path = "e2e/trust_core.rs"]
mod trust_core;
#[path = "e2e/wasi_attacks.rs"]
mod wasi_attacks;
#[path = "e2e/world.rs"]
mod world;
