//! Markdown skills: parsing, errors with file:line, discovery, when a skill
//! applies, and the tools it requires.

use std::path::{Path, PathBuf};

use warden_agent::{Skill, SkillError, discover_all, discover_skills};

const RELEASE_NOTES: &str = "---
name: release-notes
description: Writes release notes from the git history
when: release notes, changelog
tools: [read_file, grep]
---
# Writing release notes

1. List the merged changes since the last tag.
";

fn parse(text: &str) -> Result<Skill, SkillError> {
    Skill::parse(text, Path::new("skills/x/SKILL.md"))
}

/// The error's line and reason, checking the message names the file.
fn invalid(text: &str) -> (Option<usize>, String) {
    match parse(text) {
        Err(e @ SkillError::Invalid { .. }) => {
            let message = e.to_string();
            assert!(message.starts_with("skills/x/SKILL.md"), "{message}");
            let SkillError::Invalid { line, reason, .. } = e else {
                unreachable!()
            };
            if let Some(l) = line {
                assert!(
                    message.starts_with(&format!("skills/x/SKILL.md:{l}: ")),
                    "{message}"
                );
            }
            (line, reason)
        }
        other => panic!("expected Invalid for\n{text}\ngot {other:?}"),
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn a_skill_parses_with_every_field() {
    let s = parse(RELEASE_NOTES).expect("valid");
    assert_eq!(s.name, "release-notes");
    assert_eq!(s.description, "Writes release notes from the git history");
    assert_eq!(s.when.as_deref(), Some("release notes, changelog"));
    assert_eq!(s.tools, ["read_file", "grep"]);
    assert_eq!(
        s.instructions,
        "# Writing release notes\n\n1. List the merged changes since the last tag."
    );
    assert_eq!(s.path, Path::new("skills/x/SKILL.md"));
}

#[test]
fn yaml_lists_block_strings_and_crlf_are_understood() {
    let text = "---\r\nname: style\r\ndescription: >\r\n  Applies the house\r\n  style\r\nwhen:\r\n  - code review\r\n  - style guide\r\ntools:\r\n  - read_file\r\n---\r\nUse the house style.\r\n";
    let s = parse(text).expect("valid");
    assert_eq!(s.description, "Applies the house style");
    assert_eq!(s.when.as_deref(), Some("code review, style guide"));
    assert_eq!(s.tools, ["read_file"]);
    assert_eq!(s.instructions, "Use the house style.");
    let s = parse("---\nname: a\ndescription: d\n---\nbody").expect("minimal");
    assert_eq!(s.when, None);
    assert!(s.tools.is_empty());
}

#[test]
fn errors_name_the_file_and_line_and_say_what_to_write() {
    let (line, reason) = invalid("# no front matter\n");
    assert_eq!(line, Some(1));
    assert!(reason.contains("starts with front matter"), "{reason}");

    let (line, reason) = invalid("---\nname: a\ndescription: d\n");
    assert_eq!(line, Some(1));
    assert!(reason.contains("never closed"), "{reason}");

    let (line, reason) = invalid("---\nname: a\ndescription: d\nwhen: x\nwhenever: y\n---\nbody\n");
    assert_eq!(line, Some(5));
    assert!(reason.contains("unknown field `whenever`"), "{reason}");
    assert!(
        !reason.contains("at line"),
        "the line is not repeated: {reason}"
    );

    let (_, reason) = invalid("---\nname: a\n---\nbody\n");
    assert!(reason.contains("missing field `description`"), "{reason}");
    assert!(
        reason.contains("description: Writes release notes"),
        "{reason}"
    );

    let (line, reason) = invalid("---\ndescription: d\nname: Release Notes\n---\nbody\n");
    assert_eq!(line, Some(3));
    assert!(reason.contains("name: release-notes"), "{reason}");

    let (line, reason) = invalid("---\nname: a\ndescription: \"  \"\n---\nbody\n");
    assert_eq!(line, Some(3));
    assert!(reason.contains("`description` is empty"), "{reason}");

    let (line, reason) = invalid(&format!(
        "---\nname: a\ndescription: {}\n---\nbody\n",
        "d".repeat(1025)
    ));
    assert_eq!(line, Some(3));
    assert!(reason.contains("longer than 1024"), "{reason}");

    let (line, reason) = invalid("---\nname: a\ndescription: d\nwhen: \"\"\n---\nbody\n");
    assert_eq!(line, Some(4));
    assert!(reason.contains("`when` is empty"), "{reason}");

    let (line, reason) = invalid("---\nname: a\ndescription: d\nwhen: 42\n---\nbody\n");
    assert_eq!(line, Some(4));
    assert!(
        reason.contains("keywords, a sentence, or a list"),
        "{reason}"
    );

    let (line, reason) = invalid("---\nname: a\ndescription: d\ntools: [read file]\n---\nbody\n");
    assert_eq!(line, Some(4));
    assert!(reason.contains("not a tool name"), "{reason}");

    let (_, reason) = invalid("---\nname: a\ndescription: d\ntools: [grep, grep]\n---\nbody\n");
    assert!(reason.contains("lists `grep` twice"), "{reason}");

    let (line, reason) = invalid("---\nname: a\ndescription: d\n---\n\n  \n");
    assert_eq!(line, Some(4), "the closing `---`");
    assert!(reason.contains("no instructions"), "{reason}");

    let (line, reason) = invalid("---\nname: a\ndescription: [unclosed\n---\nbody\n");
    assert!(
        line.is_some_and(|l| (3..=4).contains(&l)),
        "{line:?}: {reason}"
    );
}

#[test]
fn when_matches_keywords_case_insensitively_on_whole_words() {
    let s = parse(RELEASE_NOTES).expect("valid");
    assert!(s.applies_to("Write the RELEASE NOTES for 1.2"));
    assert!(s.applies_to("update the Changelog"));
    assert!(s.applies_to("draft release-notes, please"));
    assert!(s.applies_to("We are releasing 2.0: write the release note"));
    assert!(!s.applies_to("fix the failing test"));
    assert!(
        !s.applies_to("release the lock before returning"),
        "one word of the phrase is not the phrase"
    );
    assert!(
        !s.applies_to("take notes on the release"),
        "the phrase's words in order"
    );

    let one = parse("---\nname: t\ndescription: d\nwhen: test\n---\nbody").expect("valid");
    assert!(one.applies_to("run the tests"));
    assert!(one.applies_to("Testing the parser"));
    assert!(
        !one.applies_to("use the latest version"),
        "no match inside a word"
    );
}

#[test]
fn a_sentence_matches_any_of_its_content_words() {
    let s = parse(
        "---\nname: t\ndescription: d\nwhen: Use when the user asks to profile or benchmark Rust code\n---\nbody",
    )
    .expect("valid");
    assert!(s.applies_to("benchmark the parser"));
    assert!(s.applies_to("why is this so slow? profile it"));
    assert!(
        !s.applies_to("the user asks to use it"),
        "framing words alone do not match"
    );
    assert!(!s.applies_to("write docs"));
}

#[test]
fn a_skill_without_when_always_applies() {
    let s = parse("---\nname: a\ndescription: d\n---\nbody").expect("valid");
    assert!(s.applies_to("anything at all"));
    assert!(s.applies_to(""));
}

#[test]
fn required_tools_must_all_be_available() {
    let s = parse(RELEASE_NOTES).expect("valid");
    let tools = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    s.check_required_tools(&tools(&["grep", "read_file", "fetch"]))
        .expect("all there");
    let err = s
        .check_required_tools(&tools(&["grep", "fetch"]))
        .expect_err("read_file missing");
    assert_eq!(err.skill, "release-notes");
    assert_eq!(err.missing, ["read_file"]);
    let message = err.to_string();
    assert!(
        message.contains("needs a tool the agent does not have: `read_file`"),
        "{message}"
    );
    assert!(message.contains("`grep`, `fetch`"), "{message}");
    let err = s.check_required_tools(&[]).expect_err("none");
    assert_eq!(err.missing, ["read_file", "grep"]);
    assert!(err.to_string().contains("tools are: none"), "{err}");
    let no_tools = parse("---\nname: a\ndescription: d\n---\nbody").expect("valid");
    no_tools.check_required_tools(&[]).expect("needs nothing");
}

#[test]
fn skills_are_discovered_at_the_top_and_one_level_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        &root.join("SKILL.md"),
        &RELEASE_NOTES.replace("release-notes", "top"),
    );
    write(
        &root.join("b/SKILL.md"),
        &RELEASE_NOTES.replace("release-notes", "bravo"),
    );
    write(
        &root.join("a/SKILL.md"),
        &RELEASE_NOTES.replace("release-notes", "alpha"),
    );
    write(&root.join("a/deeper/SKILL.md"), "not looked at");
    write(&root.join("c/README.md"), "not a skill");
    let skills = discover_skills(root).expect("discover");
    let names: Vec<&str> = skills.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["alpha", "bravo", "top"]);
    assert_eq!(skills[0].path, root.join("a/SKILL.md"));
}

#[test]
fn discovery_is_strict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // A directory without skills.
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let err = discover_skills(&empty).expect_err("no skills");
    assert!(matches!(err, SkillError::NoSkills { .. }), "{err}");
    // A missing directory.
    let err = discover_skills(&root.join("missing")).expect_err("missing");
    assert!(matches!(err, SkillError::Io { .. }), "{err}");
    // One broken skill stops discovery, naming its file and line.
    let skills = root.join("skills");
    write(&skills.join("good/SKILL.md"), RELEASE_NOTES);
    write(&skills.join("bad/SKILL.md"), "---\nname: bad\n---\nbody\n");
    let message = discover_skills(&skills).expect_err("bad").to_string();
    assert!(
        message.contains(&format!("{}:", skills.join("bad/SKILL.md").display())),
        "{message}"
    );
    // Two skills with one name, in one directory or across directories.
    std::fs::remove_dir_all(skills.join("bad")).expect("rm");
    write(&skills.join("copy/SKILL.md"), RELEASE_NOTES);
    let err = discover_skills(&skills).expect_err("duplicate");
    assert!(
        matches!(err, SkillError::Duplicate { ref name, .. } if name == "release-notes"),
        "{err}"
    );
    std::fs::remove_dir_all(skills.join("copy")).expect("rm");
    let other = root.join("other");
    write(&other.join("SKILL.md"), RELEASE_NOTES);
    let err = discover_all(&[skills.clone(), other.clone()]).expect_err("duplicate");
    assert!(
        err.to_string()
            .contains("two skills are named `release-notes`"),
        "{err}"
    );
    write(
        &other.join("SKILL.md"),
        &RELEASE_NOTES.replace("release-notes", "other"),
    );
    let all = discover_all(&[skills, other]).expect("distinct");
    assert_eq!(all.len(), 2);
}

#[test]
fn oversized_and_non_utf8_files_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big: PathBuf = dir.path().join("big/SKILL.md");
    write(&big, &format!("{RELEASE_NOTES}{}", "x".repeat(300 << 10)));
    let message = Skill::load(&big).expect_err("too big").to_string();
    assert!(message.contains("over the limit"), "{message}");
    let binary = dir.path().join("bin/SKILL.md");
    std::fs::create_dir_all(binary.parent().expect("parent")).expect("mkdir");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).expect("write");
    let message = Skill::load(&binary).expect_err("binary").to_string();
    assert!(message.contains("not UTF-8"), "{message}");
}
