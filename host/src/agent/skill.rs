//! Skill components (the `skill` world): skills whose text is computed by
//! a component. The host lists them in a fresh store under the component's
//! grant, like any call; what they return is data, checked like a
//! `SKILL.md` (required tools must be in the agent).

use crate::bindings::SkillSpec;
use crate::bindings::skill::SkillPre;
use crate::engine::Runtime;
use crate::error::{CallError, LoadError};
use crate::grant::Grant;
use crate::sandbox::SandboxState;
use crate::sandboxed::instantiate_and_call;

/// The interface a skill component must export.
pub const SKILLS_INTERFACE: &str = "warden:plugin/skills@0.1.0";

/// A compiled skill component.
pub type SkillComponent = super::loaded::Loaded<SkillPre<SandboxState>>;

impl Runtime {
    /// Compiles `bytes` as the skill component `name`: it must export
    /// `warden:plugin/skills` and import only logging and WASI.
    pub fn load_skill(&self, name: &str, bytes: &[u8]) -> Result<SkillComponent, LoadError> {
        let component = self.compile(name, bytes)?;
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| {
            LoadError::Link {
                component: name.to_string(),
                reason: format!(
                    "{e:#} (a skill may import `warden:plugin/log` and WASI 0.2 interfaces only)"
                ),
            }
        })?;
        let pre = SkillPre::new(instance_pre).map_err(|e| LoadError::Link {
            component: name.to_string(),
            reason: format!("it does not export `{SKILLS_INTERFACE}` with the right types: {e:#}"),
        })?;
        Ok(SkillComponent {
            name: name.into(),
            digest: warden_core::Digest::of(bytes),
            pre,
        })
    }

    /// The skills `skill` provides, listed in a fresh store under `grant`.
    pub async fn list_skills(
        &self,
        skill: &SkillComponent,
        grant: &Grant,
    ) -> Result<Vec<SkillSpec>, CallError> {
        let pre = &skill.pre;
        let run = self
            .run_sandboxed(
                &skill.name,
                grant,
                |_| {},
                instantiate_and_call!(pre, |instance, store| instance
                    .warden_plugin_skills()
                    .call_list_skills(&mut store)),
            )
            .await?;
        let specs = run.value;
        let limit = grant.limits.max_output_bytes;
        let size: usize = specs
            .iter()
            .map(|s| {
                s.name.len()
                    + s.description.len()
                    + s.when_to_use.len()
                    + s.instructions.len()
                    + s.required_tools.iter().map(String::len).sum::<usize>()
            })
            .sum();
        if size as u64 > limit {
            return Err(CallError::InvalidOutput {
                component: skill.name.to_string(),
                reason: format!("its skills are {size} bytes, over the output limit of {limit}"),
            });
        }
        Ok(specs)
    }
}
