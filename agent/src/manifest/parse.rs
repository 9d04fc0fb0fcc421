//! Parsing and checking `agent.toml`: the raw shape as written, then each
//! field checked with its location, so every error says where it is and what
//! to write instead.

use serde::Deserialize;
use toml::Spanned;
use warden_core::error::line_column;
use warden_registry::units::{BareNumber, parse_duration_ms};

use super::{
    AgentManifest, ContextGrants, Delegation, Fallback, Limits, MAX_CONCURRENT_EXECUTORS,
    ModelConfig, SessionsConfig, SkillSource,
};
use crate::component_ref::ComponentRef;
use crate::error::ManifestError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: Spanned<String>,
    description: Option<Spanned<String>>,
    planner: ComponentRef,
    provider: ComponentRef,
    #[serde(default)]
    tools: Vec<Spanned<ComponentRef>>,
    #[serde(default)]
    skills: Vec<Spanned<SkillSource>>,
    #[serde(default)]
    servers: std::collections::BTreeMap<String, super::ServerTable>,
    #[serde(default)]
    model: RawModel,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    delegation: RawDelegation,
    #[serde(default)]
    sessions: RawSessions,
    fallback: Option<Spanned<RawFallback>>,
    #[serde(default)]
    context: RawContext,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawContext {
    #[serde(default)]
    read: Vec<Spanned<String>>,
    #[serde(default)]
    write: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    keep: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFallback {
    provider: Option<ComponentRef>,
    endpoint: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    api_key_secret: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawModel {
    endpoint: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    api_key_secret: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_turns: Option<Spanned<u32>>,
    max_tool_calls: Option<u32>,
    token_budget: Option<Spanned<u64>>,
    wall_clock: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDelegation {
    max_concurrent: Option<Spanned<u32>>,
    executor_max_turns: Option<Spanned<u32>>,
}

/// Why `api_key` is refused, whatever its value.
const API_KEY_REFUSED: &str = "`api_key` is refused: agent.toml never holds a key. Name the \
     secret instead, e.g. api_key_secret = \"OPENAI_API_KEY\" in [model]; the host injects its \
     value into the provider's requests, and neither the provider nor the session ever sees it";

/// The dotted name of the key assigned on 1-based `line` (`limits.max_turns`),
/// for errors toml reports without it. Only the key is taken from the line,
/// never the value (which could be a secret pasted by mistake).
fn field_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim();
    let bare = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !bare(key) {
        return None;
    }
    let table = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        let name = l.strip_prefix('[')?.split(']').next()?.trim();
        (!l.starts_with("[[") && bare(name)).then_some(name)
    });
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// What to write for a required field that is missing.
fn missing_field_hint(message: &str) -> Option<&'static str> {
    let field = message.strip_prefix("missing field `")?.split('`').next()?;
    Some(match field {
        "name" => "add name = \"my-agent\" (lowercase letters, digits and `-`)",
        "planner" => "add planner = \"warden:planner@^0.1\"",
        "provider" => "add provider = \"warden:openai-provider@^0.1\"",
        _ => return None,
    })
}

/// Parses and checks `text`, naming it `origin` in errors.
pub(super) fn parse(text: &str, origin: &str) -> Result<AgentManifest, ManifestError> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_column(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        let message = e.message().trim_end();
        if message.starts_with("unknown field `api_key`") {
            return ManifestError::Invalid {
                origin: origin.to_string(),
                line,
                column,
                reason: API_KEY_REFUSED.to_string(),
            };
        }
        let reason = match (
            missing_field_hint(message),
            line.and_then(|l| field_at(text, l)),
        ) {
            (Some(hint), _) => format!("{message}: {hint}"),
            (None, Some(field)) if !message.contains(&format!("`{field}`")) => {
                format!("`{field}`: {message}")
            }
            _ => message.to_string(),
        };
        ManifestError::Invalid {
            origin: origin.to_string(),
            line,
            column,
            reason,
        }
    })?;
    let at = |span: std::ops::Range<usize>, reason: String| {
        let (line, column) = line_column(text, span.start);
        ManifestError::Invalid {
            origin: origin.to_string(),
            line: Some(line),
            column: Some(column),
            reason,
        }
    };

    let name_span = raw.name.span();
    let name = raw.name.into_inner();
    check_agent_name(&name).map_err(|reason| at(name_span, reason.to_string()))?;

    let description = match raw.description {
        Some(d) if d.get_ref().trim().is_empty() => {
            return Err(at(
                d.span(),
                "`description` is empty: say in one line what the agent is for, or leave it out"
                    .into(),
            ));
        }
        d => d.map(Spanned::into_inner),
    };

    let mut tools: Vec<ComponentRef> = Vec::new();
    for tool in raw.tools {
        let span = tool.span();
        let tool = tool.into_inner();
        if let Some(first) = tools.iter().find(|t| t.name == tool.name) {
            return Err(at(
                span,
                format!(
                    "`tools` lists `{}` twice (`{first}` and `{tool}`); keep one",
                    tool.name
                ),
            ));
        }
        tools.push(tool);
    }

    let mut skills: Vec<SkillSource> = Vec::new();
    for skill in raw.skills {
        let span = skill.span();
        let skill = skill.into_inner();
        let duplicate = skills.iter().any(|s| match (s, &skill) {
            (SkillSource::Dir(a), SkillSource::Dir(b)) => a == b,
            (SkillSource::Component(a), SkillSource::Component(b)) => a.name == b.name,
            _ => false,
        });
        if duplicate {
            return Err(at(
                span,
                format!("`skills` lists `{skill}` twice; keep one"),
            ));
        }
        skills.push(skill);
    }

    let model = check_model(raw.model, &at)?;
    let limits = check_limits(raw.limits, &at)?;
    let delegation = check_delegation(raw.delegation, &limits, &at)?;
    let sessions = match raw.sessions.keep {
        Some(k) => {
            let ms = parse_duration_ms(k.get_ref(), BareNumber::Refuse)
                .map_err(|e| at(k.span(), format!("`sessions.keep`: {e}")))?;
            if ms == 0 {
                return Err(at(
                    k.span(),
                    "`sessions.keep` must be longer than 0, e.g. keep = \"30d\"".into(),
                ));
            }
            SessionsConfig { keep_ms: Some(ms) }
        }
        None => SessionsConfig::default(),
    };
    let fallback = match raw.fallback {
        Some(f) => {
            let span = f.span();
            let f = f.into_inner();
            if f.endpoint.is_none() {
                return Err(at(
                    span,
                    "`[fallback]` needs an `endpoint`, e.g. endpoint = \"http://127.0.0.1:8080/v1\""
                        .into(),
                ));
            }
            let model = check_model(
                RawModel {
                    endpoint: f.endpoint,
                    name: f.name,
                    api_key_secret: f.api_key_secret,
                },
                &at,
            )?;
            Some(Fallback {
                provider: f.provider,
                model,
            })
        }
        None => None,
    };

    let mut context = ContextGrants::default();
    for (field, list, out) in [
        ("read", raw.context.read, &mut context.read),
        ("write", raw.context.write, &mut context.write),
    ] {
        for ns in list {
            let name = ns.get_ref();
            if name != "*" && crate::context_store::check_namespace(name).is_err() {
                return Err(at(
                    ns.span(),
                    format!(
                        "`context.{field}`: `{name}` is not a namespace: use 1-64 lowercase \
                         letters, digits and `-` (or \"*\" for any), e.g. \"workspace\""
                    ),
                ));
            }
            out.push(ns.into_inner());
        }
    }

    Ok(AgentManifest {
        name,
        description,
        planner: raw.planner,
        provider: raw.provider,
        tools,
        skills,
        servers: raw.servers,
        model,
        limits,
        delegation,
        sessions,
        fallback,
        context,
    })
}

/// A manifest field whose value is refused (the manifest error adds where).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum FieldError {
    #[error(
        "`name` `{name}` must be 1-64 lowercase letters, digits and single `-`, starting \
         with a letter, e.g. name = \"code-reviewer\""
    )]
    AgentName { name: String },
    #[error(
        "`model.api_key_secret` must be the NAME of a secret (letters, digits and `_`, e.g. \
         \"OPENAI_API_KEY\"), never the key itself"
    )]
    SecretName,
    #[error("`model.endpoint` `{url}` is not a URL; {ENDPOINT_EXAMPLE}")]
    NotAUrl { url: String },
    #[error(
        "`model.endpoint` `{url}` holds credentials; remove them and name the secret in \
         `api_key_secret` instead"
    )]
    Credentials { url: String },
    #[error("`model.endpoint` `{url}` has no host; {ENDPOINT_EXAMPLE}")]
    NoHost { url: String },
    #[error(
        "`model.endpoint` `{url}` is plain http to a remote host, which would expose the \
         prompts and the key; use https://{rest}"
    )]
    RemoteHttp { url: String, rest: String },
    #[error("`model.endpoint` `{url}` has scheme `{scheme}`; use https:// ({ENDPOINT_EXAMPLE})")]
    Scheme { url: String, scheme: String },
}

/// How a `model.endpoint` is written, for messages.
const ENDPOINT_EXAMPLE: &str =
    "e.g. endpoint = \"https://api.openai.com/v1\" or \"http://localhost:8080/v1\"";

/// Checks an agent name: like a package name's parts.
fn check_agent_name(name: &str) -> Result<(), FieldError> {
    if warden_registry::name::valid_part(name) {
        Ok(())
    } else {
        Err(FieldError::AgentName {
            name: name.to_string(),
        })
    }
}

type At<'a> = dyn Fn(std::ops::Range<usize>, String) -> ManifestError + 'a;

fn check_model(raw: RawModel, at: &At<'_>) -> Result<ModelConfig, ManifestError> {
    let endpoint = match raw.endpoint {
        Some(e) => {
            check_endpoint(e.get_ref()).map_err(|reason| at(e.span(), reason.to_string()))?;
            Some(e.into_inner())
        }
        None => None,
    };
    let name = match raw.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            return Err(at(
                n.span(),
                "`model.name` is empty: name the model (e.g. name = \"gpt-4o-mini\"), or leave \
                 it out to use the provider's default"
                    .into(),
            ));
        }
        n => n.map(Spanned::into_inner),
    };
    let api_key_secret = match raw.api_key_secret {
        Some(s) => {
            check_secret_name(s.get_ref()).map_err(|reason| at(s.span(), reason.to_string()))?;
            Some(s.into_inner())
        }
        None => None,
    };
    Ok(ModelConfig {
        endpoint,
        name,
        api_key_secret,
    })
}

/// A secret name, as the host's `--secret NAME` takes it.
fn check_secret_name(name: &str) -> Result<(), FieldError> {
    if warden_policy::request::is_var_name(name) {
        Ok(())
    } else {
        Err(FieldError::SecretName)
    }
}

/// An endpoint URL: `https://host[:port][/path]`, or `http://` to a
/// loopback host; no credentials in it.
fn check_endpoint(url: &str) -> Result<(), FieldError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| FieldError::NotAUrl {
        url: url.to_string(),
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(FieldError::Credentials {
            url: url.to_string(),
        });
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(FieldError::NoHost {
            url: url.to_string(),
        });
    }
    match scheme {
        "https" => Ok(()),
        "http" if matches!(host, "localhost" | "::1") || host.starts_with("127.") => Ok(()),
        "http" => Err(FieldError::RemoteHttp {
            url: url.to_string(),
            rest: rest.to_string(),
        }),
        other => Err(FieldError::Scheme {
            url: url.to_string(),
            scheme: other.to_string(),
        }),
    }
}

fn check_limits(raw: RawLimits, at: &At<'_>) -> Result<Limits, ManifestError> {
    let default = Limits::default();
    let max_turns = match raw.max_turns {
        Some(t) if *t.get_ref() == 0 => {
            return Err(at(
                t.span(),
                "`limits.max_turns` must be at least 1 (every answer takes a model turn)".into(),
            ));
        }
        Some(t) => t.into_inner(),
        None => default.max_turns,
    };
    let token_budget = match raw.token_budget {
        Some(t) if *t.get_ref() == 0 => {
            return Err(at(
                t.span(),
                "`limits.token_budget` must be at least 1, e.g. token_budget = 200000".into(),
            ));
        }
        Some(t) => t.into_inner(),
        None => default.token_budget,
    };
    let wall_clock_ms = match raw.wall_clock {
        Some(w) => {
            let ms = parse_duration_ms(w.get_ref(), BareNumber::Refuse)
                .map_err(|e| at(w.span(), format!("`limits.wall_clock`: {e}")))?;
            if ms == 0 {
                return Err(at(
                    w.span(),
                    "`limits.wall_clock` must be longer than 0, e.g. wall_clock = \"10m\"".into(),
                ));
            }
            ms
        }
        None => default.wall_clock_ms,
    };
    Ok(Limits {
        max_turns,
        max_tool_calls: raw.max_tool_calls.unwrap_or(default.max_tool_calls),
        token_budget,
        wall_clock_ms,
    })
}

fn check_delegation(
    raw: RawDelegation,
    limits: &Limits,
    at: &At<'_>,
) -> Result<Delegation, ManifestError> {
    let default = Delegation::default();
    let max_concurrent = match raw.max_concurrent {
        Some(m) if *m.get_ref() > MAX_CONCURRENT_EXECUTORS => {
            return Err(at(
                m.span(),
                format!(
                    "`delegation.max_concurrent` is {}, above the maximum of \
                     {MAX_CONCURRENT_EXECUTORS}; write a smaller number (0 disables delegation)",
                    m.get_ref()
                ),
            ));
        }
        Some(m) => m.into_inner(),
        None => default.max_concurrent,
    };
    let executor_max_turns = match raw.executor_max_turns {
        Some(t) if *t.get_ref() == 0 => {
            return Err(at(
                t.span(),
                "`delegation.executor_max_turns` must be at least 1".into(),
            ));
        }
        Some(t) if *t.get_ref() > limits.max_turns => {
            return Err(at(
                t.span(),
                format!(
                    "`delegation.executor_max_turns` is {}, above `limits.max_turns` ({}); an \
                     executor never gets more turns than its caller: write at most {}",
                    t.get_ref(),
                    limits.max_turns,
                    limits.max_turns
                ),
            ));
        }
        Some(t) => t.into_inner(),
        None => default.executor_max_turns.min(limits.max_turns),
    };
    Ok(Delegation {
        max_concurrent,
        executor_max_turns,
    })
}
