//! The prompts the official MCP conformance suite asks for, as skills:
//! `warden mcp --skill` serves each skill as a prompt, and each `{{name}}`
//! in a skill's instructions as a prompt argument.
//!
//! | skill | scenario |
//! |---|---|
//! | `test_simple_prompt` | `prompts-get-simple` |
//! | `test_prompt_with_arguments` | `prompts-get-with-args`, `completion-complete` |

use warden_sdk::skill::bindings::exports::warden::plugin::skills::Guest;
use warden_sdk::skill::bindings::warden::plugin::types::SkillSpec;

struct Skills;

impl Guest for Skills {
    fn list_skills() -> Vec<SkillSpec> {
        vec![
            SkillSpec {
                name: "test_simple_prompt".into(),
                description: "A simple prompt without arguments".into(),
                when_to_use: "testing".into(),
                required_tools: vec![],
                instructions: "This is a simple prompt for testing.".into(),
            },
            SkillSpec {
                name: "test_prompt_with_arguments".into(),
                description: "A prompt with required arguments".into(),
                when_to_use: "testing".into(),
                required_tools: vec![],
                instructions: "Prompt with arguments: arg1='{{arg1}}', arg2='{{arg2}}'".into(),
            },
        ]
    }
}

warden_sdk::skill::bindings::export!(Skills);
