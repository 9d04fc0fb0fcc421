//! Markdown skills: a `SKILL.md` file with YAML front matter between `---`
//! lines, and instructions in markdown below it.
//!
//! ```markdown
//! ---
//! name: release-notes
//! description: Writes release notes from the git history
//! when: release notes, changelog          # or a sentence, or a list
//! tools: [read_file, grep]                # tools the skill needs
//! ---
//! # Writing release notes
//!
//! 1. List the merged changes since the last tag …
//! ```
//!
//! | Field | Required | Meaning |
//! |---|---|---|
//! | `name` | yes | 1-64 lowercase letters, digits and single `-`, unique among the agent's skills |
//! | `description` | yes | one line on what the skill does (at most 1024 characters) |
//! | `when` | no | when it applies: keywords, a sentence, or a list; without it the skill always applies |
//! | `tools` | no | names of the tools it needs; an agent without them cannot use it |
//!
//! Unknown fields are refused, and every error names the file and line.
//! Skills are found in a directory as `<dir>/SKILL.md` and
//! `<dir>/*/SKILL.md` ([`discover_skills`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::error::{MissingTools, SkillError};

/// The file name of a markdown skill.
pub const SKILL_FILE: &str = "SKILL.md";

/// The largest `SKILL.md` read (its instructions go into the model's context).
pub const MAX_SKILL_BYTES: u64 = 256 << 10;

/// Most characters in a `description`.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// A parsed and validated markdown skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    /// Its unique name.
    pub name: String,
    /// One line on what it does.
    pub description: String,
    /// When it applies, as written (a list is joined with `, `); `None`:
    /// always.
    pub when: Option<String>,
    /// Names of the tools it needs.
    pub tools: Vec<String>,
    /// The instructions: the markdown after the front matter, trimmed.
    pub instructions: String,
    /// The `SKILL.md` it was read from.
    pub path: PathBuf,
}

/// The front matter. Parsed with `serde_yaml_ng` rather than by hand: YAML
/// quoting, lists written either way (`[a, b]` or `- a` lines) and
/// multi-line strings are easy to get subtly wrong.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: String,
    description: String,
    #[serde(default)]
    when: Option<When>,
    #[serde(default)]
    tools: Vec<String>,
}

/// `when` as a string or a list of strings.
struct When(String);

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = When;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("keywords, a sentence, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<When, E> {
                Ok(When(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<When, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(When(items.join(", ")))
            }
        }
        d.deserialize_any(V)
    }
}

/// What to write for a required field that is missing.
fn missing_field_hint(message: &str) -> Option<&'static str> {
    let field = message.split("missing field `").nth(1)?.split('`').next()?;
    Some(match field {
        "name" => "add e.g. `name: release-notes` to the front matter",
        "description" => "add e.g. `description: Writes release notes` to the front matter",
        _ => return None,
    })
}

impl Skill {
    /// Reads and validates the `SKILL.md` at `path`.
    pub fn load(path: &Path) -> Result<Skill, SkillError> {
        let io = |source| SkillError::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_SKILL_BYTES {
            return Err(SkillError::Invalid {
                path: path.to_path_buf(),
                line: None,
                reason: format!(
                    "it is {size} bytes, over the limit of {MAX_SKILL_BYTES}; a skill's \
                     instructions go into the model's context, so keep them short"
                ),
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|e| SkillError::Invalid {
            path: path.to_path_buf(),
            line: None,
            reason: format!("it is not UTF-8 text ({e})"),
        })?;
        Skill::parse(&text, path)
    }

    /// Parses and validates `SKILL.md` text; `path` is named in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Skill, SkillError> {
        let invalid = |line: Option<usize>, reason: String| SkillError::Invalid {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
        if lines.first().map(|l| l.trim_end()) != Some("---") {
            return Err(invalid(
                Some(1),
                "a SKILL.md starts with front matter: a `---` line, `name:` and `description:` \
                 lines, then another `---` line, then the instructions"
                    .into(),
            ));
        }
        let close = lines
            .iter()
            .skip(1)
            .position(|l| l.trim_end() == "---")
            .map(|i| i + 1)
            .ok_or_else(|| {
                invalid(
                    Some(1),
                    "the front matter opened here is never closed: add a `---` line after it"
                        .into(),
                )
            })?;
        // A leading empty line stands for the opening `---`, so the YAML
        // parser's line numbers are the file's.
        let yaml = format!("\n{}", lines[1..close].join("\n"));
        let front: FrontMatter = serde_yaml_ng::from_str(&yaml).map_err(|e| {
            let line = e.location().map(|l| l.line());
            let mut message = e.to_string();
            if let Some(loc) = e.location() {
                let mark = format!(" at line {} column {}", loc.line(), loc.column());
                message = message.replacen(&mark, "", 1);
            }
            if let Some(hint) = missing_field_hint(&message) {
                message = format!("{message}: {hint}");
            }
            // A missing field is reported at the front matter's start.
            invalid(line.or(Some(1)), message)
        })?;
        let line_of = |key: &str| -> Option<usize> {
            lines[1..close]
                .iter()
                .position(|l| {
                    l.strip_prefix(key)
                        .is_some_and(|rest| rest.trim_start().starts_with(':'))
                })
                .map(|i| i + 2)
        };

        check_skill_name(&front.name).map_err(|r| invalid(line_of("name"), r.to_string()))?;
        let description = front.description.trim().to_string();
        if description.is_empty() {
            return Err(invalid(
                line_of("description"),
                "`description` is empty: say in one line what the skill does".into(),
            ));
        }
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(invalid(
                line_of("description"),
                format!(
                    "`description` is longer than {MAX_DESCRIPTION_CHARS} characters: keep it \
                     to one line and put details in the instructions"
                ),
            ));
        }
        let when = match front.when {
            Some(When(w)) if w.trim().is_empty() => {
                return Err(invalid(
                    line_of("when"),
                    "`when` is empty: write keywords (`when: release notes, changelog`) or a \
                     sentence, or leave it out so the skill always applies"
                        .into(),
                ));
            }
            w => w.map(|When(w)| w.trim().to_string()),
        };
        let mut tools: Vec<String> = Vec::new();
        for tool in front.tools {
            if tool.is_empty() || tool.chars().any(char::is_whitespace) {
                return Err(invalid(
                    line_of("tools"),
                    format!(
                        "`tools` entry `{tool}` is not a tool name: write the names the tools \
                         are called by, e.g. tools: [read_file, grep]"
                    ),
                ));
            }
            if tools.contains(&tool) {
                return Err(invalid(
                    line_of("tools"),
                    format!("`tools` lists `{tool}` twice; keep one"),
                ));
            }
            tools.push(tool);
        }
        let instructions = lines[close + 1..].join("\n").trim().to_string();
        if instructions.is_empty() {
            return Err(invalid(
                Some(close + 1),
                "the skill has no instructions: write them in markdown after the closing `---`"
                    .into(),
            ));
        }
        Ok(Skill {
            name: front.name,
            description,
            when,
            tools,
            instructions,
            path: path.to_path_buf(),
        })
    }

    /// Whether the skill applies to `task`: a cheap prefilter that errs
    /// toward yes (the planner sees `when` itself and makes the final call).
    ///
    /// A skill without `when` always applies. Otherwise `when` is split at
    /// commas, semicolons and line breaks into phrases; common words (`the`,
    /// `when`, `user`, `asks`, …) are dropped, and words are compared
    /// case-insensitively after folding common suffixes (`-s`, `-es`, `-ed`,
    /// `-ing`, a final `-e`), so `release` matches `releases` and `releasing`
    /// but `test` does not match `latest`. A phrase of up to three words
    /// matches when its words appear in the task in that order, next to
    /// each other (common words aside); a longer phrase is read as a
    /// sentence and matches when any of its words appears. The skill
    /// applies when any phrase matches.
    pub fn applies_to(&self, task: &str) -> bool {
        let Some(when) = &self.when else {
            return true;
        };
        let task_words = content_words(task);
        when.split([',', ';', '\n'])
            .map(content_words)
            .filter(|p| !p.is_empty())
            .any(|phrase| {
                if phrase.len() <= 3 {
                    task_words
                        .windows(phrase.len())
                        .any(|window| window == phrase.as_slice())
                } else {
                    phrase.iter().any(|w| task_words.contains(w))
                }
            })
    }

    /// Checks that every tool the skill needs is in `available` (the tool
    /// names the agent provides), so the host can refuse the skill
    /// otherwise.
    pub fn check_required_tools(&self, available: &[String]) -> Result<(), MissingTools> {
        let missing: Vec<String> = self
            .tools
            .iter()
            .filter(|t| !available.contains(t))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(MissingTools {
                skill: self.name.clone(),
                missing,
                available: available.to_vec(),
            })
        }
    }
}

/// A skill `name` that breaks the name rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`name` `{name}` must be 1-64 lowercase letters, digits and single `-`, starting \
     with a letter, e.g. `name: release-notes`"
)]
struct SkillNameError {
    name: String,
}

fn check_skill_name(name: &str) -> Result<(), SkillNameError> {
    if warden_registry::name::valid_part(name) {
        Ok(())
    } else {
        Err(SkillNameError {
            name: name.to_string(),
        })
    }
}

/// Words that say how a `when` is phrased rather than what it is about.
const COMMON_WORDS: &[&str] = &[
    "a",
    "about",
    "an",
    "and",
    "any",
    "anything",
    "apply",
    "applies",
    "are",
    "as",
    "ask",
    "asked",
    "asks",
    "at",
    "be",
    "by",
    "can",
    "could",
    "do",
    "does",
    "for",
    "from",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "like",
    "me",
    "my",
    "need",
    "needs",
    "of",
    "on",
    "or",
    "our",
    "should",
    "skill",
    "so",
    "some",
    "something",
    "such",
    "task",
    "tasks",
    "that",
    "the",
    "them",
    "these",
    "they",
    "this",
    "those",
    "to",
    "use",
    "used",
    "user",
    "users",
    "using",
    "want",
    "wants",
    "we",
    "what",
    "when",
    "whenever",
    "which",
    "while",
    "who",
    "with",
    "would",
    "you",
    "your",
];

/// The words of `text` that are not [`COMMON_WORDS`], lowercased and with
/// common suffixes folded.
fn content_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !COMMON_WORDS.contains(&w.as_str()))
        .map(|w| fold_suffixes(&w))
        .collect()
}

/// `releases`, `released`, `releasing`, `release` → `releas`: `-ing` or
/// `-ed`, else `-s` (not `-ss`) then `-e`, each only if 3 letters remain.
fn fold_suffixes(word: &str) -> String {
    let long_enough = |stem: &str| stem.chars().count() >= 3;
    for suffix in ["ing", "ed"] {
        if let Some(stem) = word.strip_suffix(suffix).filter(|s| long_enough(s)) {
            return stem.to_string();
        }
    }
    let mut w = word;
    if !w.ends_with("ss")
        && let Some(stem) = w.strip_suffix('s').filter(|s| long_enough(s))
    {
        w = stem;
    }
    if let Some(stem) = w.strip_suffix('e').filter(|s| long_enough(s)) {
        w = stem;
    }
    w.to_string()
}

/// The skills in `dir`: `dir/SKILL.md` and `dir/*/SKILL.md`, sorted by
/// name. Every file must be valid, names must be unique, and a directory
/// without any skill is an error (it is most likely the wrong directory).
pub fn discover_skills(dir: &Path) -> Result<Vec<Skill>, SkillError> {
    let io = |path: &Path, source| SkillError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    let top = dir.join(SKILL_FILE);
    if top.is_file() {
        files.push(top);
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .map(|entry| entry.map(|e| e.path()).map_err(|e| io(dir, e)))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    files.extend(
        subdirs
            .into_iter()
            .map(|d| d.join(SKILL_FILE))
            .filter(|f| f.is_file()),
    );
    if files.is_empty() {
        return Err(SkillError::NoSkills {
            dir: dir.to_path_buf(),
        });
    }
    let skills = files
        .iter()
        .map(|f| Skill::load(f))
        .collect::<Result<Vec<_>, _>>()?;
    unique_by_name(skills)
}

/// The skills of every directory in `dirs` ([`discover_skills`]), sorted by
/// name; a name used in two directories is an error.
pub fn discover_all(dirs: &[PathBuf]) -> Result<Vec<Skill>, SkillError> {
    let mut all = Vec::new();
    for dir in dirs {
        all.extend(discover_skills(dir)?);
    }
    unique_by_name(all)
}

fn unique_by_name(mut skills: Vec<Skill>) -> Result<Vec<Skill>, SkillError> {
    skills.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    if let Some(pair) = skills.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(SkillError::Duplicate {
            name: pair[0].name.clone(),
            first: pair[0].path.clone(),
            second: pair[1].path.clone(),
        });
    }
    Ok(skills)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_fold_to_one_stem() {
        for w in ["release", "releases", "released", "releasing"] {
            assert_eq!(fold_suffixes(w), "releas", "{w}");
        }
        assert_eq!(fold_suffixes("notes"), fold_suffixes("note"));
        assert_eq!(fold_suffixes("tests"), "test");
        assert_eq!(fold_suffixes("class"), "class");
        assert_eq!(fold_suffixes("bus"), "bus");
        assert_ne!(fold_suffixes("latest"), fold_suffixes("test"));
    }
}
