//! A `SKILL.md` (YAML front matter + markdown), as found in a workspace or
//! a skill package: parsing and matching never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use warden_agent::Skill;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(skill) = Skill::parse(text, Path::new("skills/fuzz/SKILL.md")) else {
        return;
    };
    let _ = skill.applies_to("list the files that mention TODO");
    let _ = skill.check_required_tools(&["fs".to_string(), "grep".to_string()]);
});
