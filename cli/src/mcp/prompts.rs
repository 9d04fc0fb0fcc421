//! Skills as MCP prompts and resources.
//!
//! Each skill of the components served with `--skill` is:
//! - a prompt of the skill's name (`prompts/list`, `prompts/get`), whose one
//!   user message is the skill's instructions; every `{{name}}` in the
//!   instructions is a required prompt argument, replaced by its value;
//! - a resource `skill://NAME` (`resources/list`, `resources/read`): the
//!   instructions as markdown, placeholders left as written; the template
//!   `skill://{name}` names them all (`resources/templates/list`);
//! - completable: `completion/complete` offers the skill names for the
//!   template's `name`, and nothing for a prompt argument (its values are the
//!   user's own).
//!
//! Skills are listed once at start (the skill interface says they must not
//! depend on input or state), so nothing here runs a component.

use std::collections::HashMap;

use rmcp::ErrorData;
use rmcp::model::{
    CompleteRequestParams, CompleteResult, CompletionInfo, GetPromptResult, Prompt, PromptArgument,
    PromptMessage, ReadResourceResult, Reference, Resource, ResourceContents, ResourceTemplate,
    Role,
};
use serde_json::Value;
use warden::bindings::SkillSpec;

/// The URI scheme of skill resources.
pub const SCHEME: &str = "skill://";

/// The template naming every skill resource.
pub const TEMPLATE: &str = "skill://{name}";

/// The most arguments one skill prompt may take.
const MAX_ARGUMENTS: usize = 32;

/// The longest argument name, in bytes.
const MAX_ARGUMENT_NAME: usize = 64;

/// One served skill.
struct Served {
    /// The component it came from (for descriptions).
    component: String,
    /// The skill as the component listed it.
    spec: SkillSpec,
    /// Its `{{name}}` placeholders, in order of first use.
    arguments: Vec<String>,
}

/// The skills `warden mcp` serves.
#[derive(Default)]
pub struct Skills {
    skills: Vec<Served>,
    by_name: HashMap<String, usize>,
}

/// Why a set of skills cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SkillsError {
    /// Two components both provide a skill of this name.
    #[error("two served skill components both provide the skill `{0}`; serve only one of them")]
    Duplicate(String),
}

impl Skills {
    /// Adds the skills of `component`.
    pub fn add(&mut self, component: &str, specs: Vec<SkillSpec>) -> Result<(), SkillsError> {
        for spec in specs {
            if self.by_name.contains_key(&spec.name) {
                return Err(SkillsError::Duplicate(spec.name));
            }
            self.by_name.insert(spec.name.clone(), self.skills.len());
            self.skills.push(Served {
                component: component.to_string(),
                arguments: placeholders(&spec.instructions),
                spec,
            });
        }
        Ok(())
    }

    /// Whether any skill is served (prompts and resources are offered only then).
    pub fn is_empty(&self) -> bool {
        self.skills.is_empty()
    }

    /// The number of skills served.
    pub fn len(&self) -> usize {
        self.skills.len()
    }

    fn get(&self, name: &str) -> Option<&Served> {
        self.by_name.get(name).and_then(|&i| self.skills.get(i))
    }

    /// `prompts/list`: one prompt per skill.
    pub fn prompts(&self) -> Vec<Prompt> {
        self.skills
            .iter()
            .map(|s| {
                let arguments = s
                    .arguments
                    .iter()
                    .map(|a| {
                        PromptArgument::new(a.clone())
                            .with_description(format!("Replaces {{{{{a}}}}} in the skill"))
                            .with_required(true)
                    })
                    .collect::<Vec<_>>();
                Prompt::new(
                    s.spec.name.clone(),
                    Some(description(s)),
                    (!arguments.is_empty()).then_some(arguments),
                )
            })
            .collect()
    }

    /// `prompts/get`: the skill's instructions with its arguments filled in.
    pub fn prompt(
        &self,
        name: &str,
        arguments: Option<&serde_json::Map<String, Value>>,
    ) -> Result<GetPromptResult, ErrorData> {
        let skill = self.get(name).ok_or_else(|| {
            ErrorData::invalid_params(
                format!(
                    "unknown prompt `{name}`: prompts/list names the prompts this server provides"
                ),
                None,
            )
        })?;
        let mut values: HashMap<&str, String> = HashMap::new();
        for wanted in &skill.arguments {
            let value = match arguments.and_then(|a| a.get(wanted)) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => {
                    return Err(ErrorData::invalid_params(
                        format!("prompt `{name}` needs the argument `{wanted}`"),
                        None,
                    ));
                }
            };
            values.insert(wanted.as_str(), value);
        }
        let text = substitute(&skill.spec.instructions, &values);
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(description(skill)),
        )
    }

    /// `resources/list`: one `skill://NAME` resource per skill.
    pub fn resources(&self) -> Vec<Resource> {
        self.skills
            .iter()
            .map(|s| {
                Resource::new(format!("{SCHEME}{}", s.spec.name), s.spec.name.clone())
                    .with_description(description(s))
                    .with_mime_type("text/markdown")
                    .with_size(s.spec.instructions.len() as u64)
            })
            .collect()
    }

    /// `resources/templates/list`: `skill://{name}`.
    pub fn templates(&self) -> Vec<ResourceTemplate> {
        vec![
            ResourceTemplate::new(TEMPLATE, "skill")
                .with_description("A served skill's instructions, by skill name")
                .with_mime_type("text/markdown"),
        ]
    }

    /// `resources/read`: a skill's instructions.
    pub fn read(&self, uri: &str) -> Result<ReadResourceResult, ErrorData> {
        let skill = uri
            .strip_prefix(SCHEME)
            .and_then(|name| self.get(name))
            .ok_or_else(|| {
                ErrorData::resource_not_found(
                    format!(
                        "no resource `{uri}`: this server's resources are its skills, \
                         skill://NAME (resources/list names them)"
                    ),
                    None,
                )
            })?;
        let contents = ResourceContents::TextResourceContents {
            uri: uri.to_string(),
            mime_type: Some("text/markdown".into()),
            text: skill.spec.instructions.clone(),
            meta: None,
        };
        Ok(ReadResourceResult::new(vec![contents]))
    }

    /// `completion/complete`: skill names for the template's `name`; no
    /// suggestions for prompt arguments (an unknown prompt is an error).
    pub fn complete(&self, request: &CompleteRequestParams) -> Result<CompleteResult, ErrorData> {
        let values = match &request.r#ref {
            Reference::Prompt(p) => {
                let skill = self.get(&p.name).ok_or_else(|| {
                    ErrorData::invalid_params(format!("unknown prompt `{}`", p.name), None)
                })?;
                if !skill.arguments.contains(&request.argument.name) {
                    return Err(ErrorData::invalid_params(
                        format!(
                            "prompt `{}` has no argument `{}`",
                            p.name, request.argument.name
                        ),
                        None,
                    ));
                }
                Vec::new()
            }
            Reference::Resource(r) if r.uri == TEMPLATE && request.argument.name == "name" => self
                .skills
                .iter()
                .map(|s| &s.spec.name)
                .filter(|n| n.starts_with(&request.argument.value))
                .cloned()
                .collect(),
            _ => {
                return Err(ErrorData::invalid_params(
                    format!(
                        "no completions for the argument `{}`: this server completes prompt \
                         arguments and the `name` of {TEMPLATE}",
                        request.argument.name
                    ),
                    None,
                ));
            }
        };
        let total = values.len();
        let shown: Vec<String> = values
            .into_iter()
            .take(CompletionInfo::MAX_VALUES)
            .collect();
        let has_more = total > shown.len();
        let info = CompletionInfo::with_pagination(shown, u32::try_from(total).ok(), has_more)
            .map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }
}

/// A prompt's or resource's description: the skill's, and where it is from.
fn description(skill: &Served) -> String {
    format!(
        "{} (skill from `{}`; use when: {})",
        skill.spec.description, skill.component, skill.spec.when_to_use
    )
}

/// The `{{name}}` placeholders of `text` whose names are
/// `[A-Za-z0-9_-]{1,64}`, each once, in order of first use; at most
/// [`MAX_ARGUMENTS`]. Anything else between braces is text.
fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = &after[..end];
        if is_argument_name(name) && !found.iter().any(|f| f == name) {
            if found.len() == MAX_ARGUMENTS {
                break;
            }
            found.push(name.to_string());
        }
        rest = &after[end + 2..];
    }
    found
}

fn is_argument_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ARGUMENT_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `text` with each `{{name}}` of `values` replaced, in one pass: a value
/// that itself contains `{{other}}` is not expanded again.
fn substitute(text: &str, values: &HashMap<&str, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        match values.get(&after[..end]) {
            Some(value) => {
                out.push_str(&rest[..start]);
                out.push_str(value);
            }
            None => out.push_str(&rest[..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{ArgumentInfo, ContentBlock, ResourceTemplateReference};

    fn skill(name: &str, instructions: &str) -> SkillSpec {
        SkillSpec {
            name: name.into(),
            description: "d".into(),
            when_to_use: "w".into(),
            required_tools: vec![],
            instructions: instructions.into(),
        }
    }

    fn served() -> Skills {
        let mut skills = Skills::default();
        skills
            .add(
                "c",
                vec![
                    skill("plain", "Just do it."),
                    skill(
                        "args",
                        "Fix {{file}} in {{lang}}; {{file}} again; {{not a name}}",
                    ),
                ],
            )
            .expect("distinct names");
        skills
    }

    fn text_of(result: &GetPromptResult) -> String {
        match &result.messages[0].content {
            ContentBlock::Text(t) => t.text.clone(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn placeholders_become_required_arguments_once_each() {
        let prompts = served().prompts();
        assert!(prompts[0].arguments.is_none());
        let names: Vec<_> = prompts[1]
            .arguments
            .as_ref()
            .expect("arguments")
            .iter()
            .map(|a| (a.name.as_str(), a.required))
            .collect();
        assert_eq!(names, [("file", Some(true)), ("lang", Some(true))]);
    }

    #[test]
    fn arguments_are_substituted_once_and_not_reexpanded() {
        let skills = served();
        let args = serde_json::json!({ "file": "{{lang}}", "lang": "rust" });
        let got = skills
            .prompt("args", args.as_object())
            .expect("all arguments given");
        assert_eq!(
            text_of(&got),
            "Fix {{lang}} in rust; {{lang}} again; {{not a name}}"
        );
    }

    #[test]
    fn a_missing_argument_or_unknown_prompt_is_an_invalid_params_error() {
        let skills = served();
        let err = skills
            .prompt("args", serde_json::json!({ "file": "x" }).as_object())
            .expect_err("lang missing");
        assert!(err.message.contains("`lang`"), "{}", err.message);
        assert!(skills.prompt("nope", None).is_err());
    }

    #[test]
    fn resources_read_by_uri_and_nothing_outside_the_scheme() {
        let skills = served();
        assert_eq!(skills.resources().len(), 2);
        let read = skills.read("skill://plain").expect("served");
        match &read.contents[0] {
            ResourceContents::TextResourceContents { text, .. } => assert_eq!(text, "Just do it."),
            other => panic!("not text: {other:?}"),
        }
        for uri in ["skill://", "skill://other", "file:///etc/passwd", "plain"] {
            assert!(skills.read(uri).is_err(), "{uri}");
        }
    }

    #[test]
    fn completion_offers_skill_names_for_the_template() {
        let skills = served();
        let by_template = CompleteRequestParams::new(
            Reference::Resource(ResourceTemplateReference::new(TEMPLATE)),
            ArgumentInfo::new("name", "pl"),
        );
        let got = skills.complete(&by_template).expect("template");
        assert_eq!(got.completion.values, ["plain"]);
        let prompt_arg = CompleteRequestParams::new(
            Reference::for_prompt("args"),
            ArgumentInfo::new("file", "x"),
        );
        assert!(
            skills
                .complete(&prompt_arg)
                .expect("known argument")
                .completion
                .values
                .is_empty()
        );
        let unknown = CompleteRequestParams::new(
            Reference::for_prompt("args"),
            ArgumentInfo::new("nope", "x"),
        );
        assert!(skills.complete(&unknown).is_err());
    }

    #[test]
    fn two_skills_of_one_name_are_refused() {
        let mut skills = served();
        assert!(skills.add("d", vec![skill("plain", "again")]).is_err());
    }
}
