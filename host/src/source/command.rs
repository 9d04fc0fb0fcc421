//! Native commands as tools: a manifest declares the tool's name,
//! description and parameters, and how each parameter maps to argv. The
//! program runs confined ([`crate::confine`]), never through a shell.
//!
//! ```toml
//! name = "git_log"
//! description = "Show recent commits…"
//! program = "git"
//! args = ["log", "--oneline", "--max-count", "{count}"]
//! network = false          # the default: no TCP at all
//! cwd = "."                # inside the first granted directory (default)
//!
//! [params.count]
//! type = "integer"         # string | integer | boolean | array (of strings)
//! required = true
//! minimum = 1
//! maximum = 200
//! ```
//!
//! In `args`, `{NAME}` is replaced by the parameter's value as one argv
//! entry (an array gives one entry per item; an absent optional parameter
//! gives none), and `{NAME?TEXT}` by `TEXT` when the boolean parameter is
//! true. A value starting with `-` is refused unless a literal `--` comes
//! before it, so no value can become an option.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Deserialize;
use warden_core::Digest;

use crate::bindings::{Capability, Denial, ToolError, ToolSpec};
use crate::call::CallReport;
use crate::confine::{ConfineError, Confinement, RunFailure};
use crate::error::CallError;
use crate::grant::Grant;

/// The command tools warden ships: `(file name, manifest)`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("git_status", include_str!("commands/git_status.toml")),
    ("git_diff", include_str!("commands/git_diff.toml")),
    ("git_log", include_str!("commands/git_log.toml")),
    ("run_tests", include_str!("commands/run_tests.toml")),
];

/// A command tool's manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandManifest {
    /// The tool's name: `[a-z][a-z0-9_]{0,63}`.
    pub name: String,
    /// What it does, for a model.
    pub description: String,
    /// The program: a name found on warden's `PATH`, or a path.
    pub program: String,
    /// The argv template (see the module docs).
    #[serde(default)]
    pub args: Vec<String>,
    /// The parameters, by name.
    #[serde(default)]
    pub params: BTreeMap<String, Param>,
    /// The working directory, relative to the first granted directory.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Whether it may use the network its grant allows (default: none at
    /// all, whatever is granted).
    #[serde(default)]
    pub network: bool,
}

/// One parameter of a command tool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// `string`, `integer`, `boolean` or `array` (of strings).
    #[serde(rename = "type")]
    pub kind: ParamKind,
    /// What it means.
    #[serde(default)]
    pub description: String,
    /// Whether it must be given.
    #[serde(default)]
    pub required: bool,
    /// The smallest integer allowed.
    #[serde(default)]
    pub minimum: Option<i64>,
    /// The largest integer allowed.
    #[serde(default)]
    pub maximum: Option<i64>,
}

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// A string: one argv entry.
    String,
    /// An integer: one argv entry.
    Integer,
    /// A boolean: for `{NAME?TEXT}`.
    Boolean,
    /// A list of strings: one argv entry each.
    Array,
}

/// Why a command manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum CommandManifestError {
    /// Not valid TOML of the manifest's shape.
    #[error("invalid command manifest: {reason}")]
    Parse {
        /// Why.
        reason: String,
    },
    /// Something in it is inconsistent.
    #[error("invalid command manifest `{name}`: {reason}")]
    Invalid {
        /// The tool's name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// A command tool, ready to be called.
#[derive(Debug)]
pub struct CommandTool {
    manifest: CommandManifest,
    subject: String,
    digest: Digest,
}

impl CommandTool {
    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> Result<CommandTool, CommandManifestError> {
        let manifest: CommandManifest =
            toml::from_str(text).map_err(|e| CommandManifestError::Parse {
                reason: e.to_string(),
            })?;
        let invalid = |reason: String| CommandManifestError::Invalid {
            name: manifest.name.clone(),
            reason,
        };
        let valid_name = manifest.name.len() <= 64
            && manifest.name.starts_with(|c: char| c.is_ascii_lowercase())
            && manifest
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(invalid(
                "the name must be 1-64 lowercase letters, digits and `_`, starting with a letter"
                    .into(),
            ));
        }
        if manifest.program.is_empty() {
            return Err(invalid("the program is empty".into()));
        }
        for arg in &manifest.args {
            if let Some((param, flag)) = placeholder(arg) {
                let Some(p) = manifest.params.get(param) else {
                    return Err(invalid(format!("`{arg}` names no parameter")));
                };
                if flag.is_some() != (p.kind == ParamKind::Boolean) {
                    return Err(invalid(format!(
                        "`{arg}`: a boolean parameter is written `{{{param}?TEXT}}`, any other \
                         `{{{param}}}`"
                    )));
                }
            }
        }
        let subject = format!("command:{}", manifest.name.replace('_', "-"));
        if subject.parse::<warden_core::name::PackageName>().is_err() {
            return Err(invalid("the name does not make a valid policy name".into()));
        }
        Ok(CommandTool {
            digest: Digest::of(text.as_bytes()),
            manifest,
            subject,
        })
    }

    /// The built-in command tool called `name`, if there is one.
    pub fn builtin(name: &str) -> Option<CommandTool> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, text)| CommandTool::parse(text).ok())
    }

    /// Its manifest.
    pub fn manifest(&self) -> &CommandManifest {
        &self.manifest
    }

    /// The name policy knows it by: `command:NAME` (`_` as `-`).
    pub fn subject_name(&self) -> &str {
        &self.subject
    }

    /// The digest of its manifest.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The program and argv template.
    pub fn origin(&self) -> String {
        let mut words = vec![self.manifest.program.clone()];
        words.extend(self.manifest.args.iter().cloned());
        words.join(" ")
    }

    /// The tool's spec, with the JSON schema of its parameters.
    pub fn spec(&self) -> ToolSpec {
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for (name, p) in &self.manifest.params {
            let mut schema = serde_json::json!({ "description": p.description });
            let kind = match p.kind {
                ParamKind::String => "string",
                ParamKind::Integer => "integer",
                ParamKind::Boolean => "boolean",
                ParamKind::Array => {
                    schema["items"] = serde_json::json!({ "type": "string" });
                    "array"
                }
            };
            schema["type"] = kind.into();
            if let Some(min) = p.minimum {
                schema["minimum"] = min.into();
            }
            if let Some(max) = p.maximum {
                schema["maximum"] = max.into();
            }
            properties.insert(name.clone(), schema);
            if p.required {
                required.push(name.clone());
            }
        }
        let schema = serde_json::json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        });
        ToolSpec {
            name: self.manifest.name.clone(),
            description: self.manifest.description.clone(),
            input_schema: schema.to_string(),
        }
    }

    /// The argv for `input` (checked against the parameters).
    pub fn argv(&self, input: &serde_json::Value) -> Result<Vec<String>, String> {
        let object = input.as_object().ok_or("the input must be a JSON object")?;
        for key in object.keys() {
            if !self.manifest.params.contains_key(key) {
                return Err(format!("unknown parameter `{key}`"));
            }
        }
        for (name, p) in &self.manifest.params {
            if p.required && !object.contains_key(name) {
                return Err(format!("missing parameter `{name}`"));
            }
        }
        let mut argv = Vec::new();
        let mut after_dashes = false;
        for arg in &self.manifest.args {
            let Some((name, flag)) = placeholder(arg) else {
                after_dashes |= arg == "--";
                argv.push(arg.clone());
                continue;
            };
            let Some(value) = object.get(name) else {
                continue;
            };
            let p = &self.manifest.params[name];
            let values: Vec<String> = match (p.kind, value) {
                (ParamKind::Boolean, serde_json::Value::Bool(b)) => {
                    if *b {
                        argv.push(flag.unwrap_or_default().to_string());
                    }
                    continue;
                }
                (ParamKind::String, serde_json::Value::String(s)) => vec![s.clone()],
                (ParamKind::Integer, serde_json::Value::Number(n)) => {
                    let n = n
                        .as_i64()
                        .ok_or_else(|| format!("`{name}` must be an integer"))?;
                    if p.minimum.is_some_and(|m| n < m) || p.maximum.is_some_and(|m| n > m) {
                        return Err(format!(
                            "`{name}` must be between {} and {}",
                            p.minimum.map_or("-inf".into(), |m| m.to_string()),
                            p.maximum.map_or("inf".into(), |m| m.to_string())
                        ));
                    }
                    vec![n.to_string()]
                }
                (ParamKind::Array, serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| format!("`{name}` must be a list of strings"))
                    })
                    .collect::<Result<_, _>>()?,
                (kind, _) => return Err(format!("`{name}` must be of type {kind:?}")),
            };
            for v in values {
                if v.contains('\0') {
                    return Err(format!("`{name}` contains a NUL byte"));
                }
                if v.starts_with('-') && !after_dashes {
                    return Err(format!(
                        "`{name}` may not start with `-` (it would be read as an option)"
                    ));
                }
                argv.push(v);
            }
        }
        Ok(argv)
    }

    /// Runs the command for one call (the record step is the caller's:
    /// [`crate::Runtime::call_source`]).
    pub(crate) async fn call(
        &self,
        tool: &str,
        input: &str,
        grant: &Grant,
    ) -> Result<CallReport, CallError> {
        let component = self.subject.clone();
        if tool != self.manifest.name {
            return Err(CallError::Tool {
                component,
                tool: tool.to_string(),
                error: ToolError::UnknownTool(format!(
                    "`{}` provides only `{}`",
                    self.subject, self.manifest.name
                )),
            });
        }
        let invalid = |m: String| CallError::Tool {
            component: self.subject.clone(),
            tool: tool.to_string(),
            error: ToolError::InvalidInput(m),
        };
        let input: serde_json::Value =
            serde_json::from_str(input).map_err(|e| invalid(e.to_string()))?;
        let argv = self.argv(&input).map_err(invalid)?;
        let mut grant = grant.clone();
        if !self.manifest.network {
            grant.hosts.clear();
        }
        let confinement = Confinement::from_grant(
            &self.subject,
            &self.manifest.program,
            &argv,
            self.manifest.cwd.as_deref(),
            &grant,
            None,
        )
        .map_err(|e| confine_error(&self.subject, e))?;
        let started = Instant::now();
        let finished = crate::confine::run(
            &confinement,
            grant.confinement,
            grant.limits.timeout,
            grant.limits.max_output_bytes / 2,
        )
        .await
        .map_err(|e| match e {
            RunFailure::Confine(e) => confine_error(&self.subject, e),
            RunFailure::Timeout => crate::call::timeout(&self.subject, &grant),
        })?;
        let output = serde_json::to_value(&finished).map_err(|e| CallError::InvalidOutput {
            component: self.subject.clone(),
            reason: e.to_string(),
        })?;
        Ok(CallReport::of_subprocess(output, started.elapsed()))
    }
}

/// A subprocess that did not start, as the caller is told: refusals of
/// the grant are denials, the rest failures to start.
pub(crate) fn confine_error(source: &str, e: ConfineError) -> CallError {
    let denied = |target: String| CallError::Denied {
        component: source.to_string(),
        denial: Denial {
            capability: Capability::Filesystem,
            target,
            reason: e.to_string(),
        },
    };
    match &e {
        ConfineError::NoDirectory { .. } | ConfineError::Unconfinable { .. } => {
            denied(source.to_string())
        }
        ConfineError::CwdOutsideGrant { cwd, .. } => denied(cwd.display().to_string()),
        _ => CallError::Instantiate {
            component: source.to_string(),
            reason: e.to_string(),
        },
    }
}

/// `{NAME}` → `(NAME, None)`, `{NAME?TEXT}` → `(NAME, Some(TEXT))`.
fn placeholder(arg: &str) -> Option<(&str, Option<&str>)> {
    let inner = arg.strip_prefix('{')?.strip_suffix('}')?;
    Some(match inner.split_once('?') {
        Some((name, text)) => (name, Some(text)),
        None => (inner, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str) -> CommandTool {
        CommandTool::builtin(name).expect("a built-in command")
    }

    #[test]
    fn every_builtin_manifest_parses() {
        for (name, text) in BUILTIN {
            let t = CommandTool::parse(text).expect(name);
            assert_eq!(&t.manifest.name, name);
        }
    }

    #[test]
    fn arguments_map_to_argv_entries_without_a_shell() {
        let diff = tool("git_diff");
        let argv = diff
            .argv(&serde_json::json!({"staged": true, "paths": ["a b; rm -rf /", "$(x)"]}))
            .expect("valid input");
        assert_eq!(
            argv[argv.len() - 4..],
            ["--staged", "--", "a b; rm -rf /", "$(x)"]
        );
        let argv = diff.argv(&serde_json::json!({})).expect("valid input");
        assert!(!argv.contains(&"--staged".to_string()));
    }

    #[test]
    fn hostile_inputs_are_refused() {
        let log = tool("git_log");
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"count": 0}),
            serde_json::json!({"count": "5"}),
            serde_json::json!({"count": 5, "extra": 1}),
            serde_json::json!([]),
        ] {
            assert!(log.argv(&bad).is_err(), "{bad}");
        }
        let text = r#"
            name = "t"
            description = "d"
            program = "echo"
            args = ["{word}"]
            [params.word]
            type = "string"
        "#;
        let t = CommandTool::parse(text).expect("valid manifest");
        let err = t
            .argv(&serde_json::json!({"word": "--output=/etc/passwd"}))
            .expect_err("an option");
        assert!(err.contains("may not start with `-`"), "{err}");
    }

    #[test]
    fn bad_manifests_say_why() {
        let err = CommandTool::parse(
            "name = \"x\"\ndescription = \"\"\nprogram = \"p\"\nargs = [\"{nope}\"]",
        )
        .expect_err("no such parameter");
        assert!(err.to_string().contains("names no parameter"), "{err}");
        let err = CommandTool::parse("name = \"Bad Name\"\ndescription = \"\"\nprogram = \"p\"")
            .expect_err("bad name");
        assert!(err.to_string().contains("lowercase"), "{err}");
    }
}
