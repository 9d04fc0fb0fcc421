//! Loading the skill components `warden mcp --skill` names: each is
//! located like a tool (a `.wasm` file, or an installed package of kind
//! `skill`), compiled, and asked for its skills once, under its grant.

use anyhow::Context;
use warden::Runtime;
use warden_registry::store::Registry;

use super::prompts::Skills;
use crate::grant_args::GrantArgs;
use crate::install::parse_spec;
use crate::policy_grant::{DeniedFlags, resolve};
use crate::tool::{Located, locate, locate_part};

/// The skills of the components `specs` names.
pub async fn load(
    registry: &Registry,
    flags: &GrantArgs,
    specs: &[String],
) -> anyhow::Result<Skills> {
    let mut skills = Skills::default();
    for spec in specs {
        let located =
            find(registry, spec).with_context(|| format!("cannot find skill `{spec}`"))?;
        let resolved = resolve(registry, &located.subject, flags, DeniedFlags::Refuse)
            .with_context(|| format!("cannot serve the skills of `{}`", located.name))?;
        // Listing skills is not a call: nothing to record.
        let runtime = Runtime::new(resolved.engine, warden::AuditSink::disabled())?;
        let component = runtime
            .load_skill(&located.name, &located.bytes)
            .with_context(|| format!("cannot load `{}` as a skill component", located.name))?;
        let list = runtime
            .list_skills(&component, &resolved.grant)
            .await
            .with_context(|| format!("cannot list the skills of `{}`", located.name))?;
        skills.add(&located.name, list)?;
    }
    Ok(skills)
}

/// A file path, or an installed package `NAME[@RANGE]` of kind `skill`.
fn find(registry: &Registry, spec: &str) -> anyhow::Result<Located> {
    let looks_like_file = spec.contains('/') || spec.ends_with(".wasm") || !spec.contains(':');
    if looks_like_file {
        return locate(spec, registry);
    }
    let (name, req) = parse_spec(spec)?;
    locate_part(&name, &req, "skill", registry)
}
