//! A skill component. It always provides `style-guide` (which needs
//! `read_file`); when granted the variable `SKILL_EXAMPLE_DEPLOY` it also
//! provides `deploy`, which needs a tool no test agent has.

use warden_sdk::skill::bindings::exports::warden::plugin::skills::Guest;
use warden_sdk::skill::bindings::warden::plugin::types::SkillSpec;

struct Skills;

impl Guest for Skills {
    fn list_skills() -> Vec<SkillSpec> {
        let mut skills = vec![SkillSpec {
            name: "style-guide".into(),
            description: "House style for prose".into(),
            when_to_use: "style, prose".into(),
            required_tools: vec!["read_file".into()],
            instructions: format!("STYLE-INSTRUCTIONS: computed by a component ({} rules).", 3),
        }];
        if std::env::var("SKILL_EXAMPLE_DEPLOY").is_ok() {
            skills.push(SkillSpec {
                name: "deploy".into(),
                description: "Deploys".into(),
                when_to_use: "deploy".into(),
                required_tools: vec!["kubectl".into()],
                instructions: "Deploy it.".into(),
            });
        }
        skills
    }
}

warden_sdk::skill::bindings::export!(Skills);
