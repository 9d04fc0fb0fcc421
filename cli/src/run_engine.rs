//! The engine of `warden run`. One engine runs every part of the agent
//! (planner, provider, tools, skills, executors), and the stack limit is a
//! setting of the engine, not of a call: it is the strictest that the policy
//! (the user's grants, capped by the org's ceilings) sets for any part.

use warden::EngineConfig;
use warden_agent::AgentManifest;
use warden_registry::store::Registry;

use super::grant_args::GrantArgs;
use super::policy_grant::{DeniedFlags, resolve};
use super::tool::locate_part;

/// The engine settings for the parts of `manifest`.
pub fn engine_for_parts(
    registry: &Registry,
    manifest: &AgentManifest,
) -> anyhow::Result<EngineConfig> {
    let mut parts = vec![
        (&manifest.planner, "planner"),
        (&manifest.provider, "model-provider"),
    ];
    parts.extend(manifest.tools.iter().map(|p| (p, "tool")));
    parts.extend(
        manifest
            .skill_components()
            .into_iter()
            .map(|p| (p, "skill")),
    );
    let mut stack = None::<usize>;
    for (part, kind) in parts {
        let located = locate_part(&part.name, &part.req, kind, registry)?;
        let resolved = resolve(
            registry,
            &located.subject,
            &GrantArgs::default(),
            DeniedFlags::Warn,
        )?;
        let part_stack = resolved.engine.max_wasm_stack;
        stack = Some(stack.map_or(part_stack, |s| s.min(part_stack)));
    }
    let mut engine = EngineConfig::default();
    if let Some(stack) = stack {
        engine.max_wasm_stack = stack;
    }
    Ok(engine)
}
