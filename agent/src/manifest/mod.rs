//! The agent manifest, `agent.toml`: which planner, model provider, tools and
//! skills an agent is made of, how to reach its model, and what it may spend.
//!
//! The full file, with every field (this exact text is [`EXAMPLE`], and a
//! test parses it):
//!
#![doc = concat!("```toml\n", include_str!("agent.example.toml"), "```")]
//!
//! Required: `name`, `planner` and `provider`. Everything else is optional:
//!
//! | Field | Default |
//! |---|---|
//! | `description` | none |
//! | `tools`, `skills` | none (an agent without tools can only answer from the model) |
//! | `[model]` `endpoint`, `name` | the provider's own defaults |
//! | `[model]` `api_key_secret` | none (a local model needs no key) |
//! | `[limits]` | [`Limits::default`]: 30 turns, 100 tool calls, 200,000 tokens, `"10m"` |
//! | `[delegation]` | [`Delegation::default`]: 2 executors at once, 10 turns each (at most `max_turns`) |
//! | `[sessions]` `keep` | none: sessions are kept until removed (an org policy may cap it) |
//! | `[fallback]` | none: a turn the data-residency policy keeps from `[model]` is refused |
//! | `[context]` `read`, `write` | none: the planner may not use the shared context |
//!
//! [`AgentManifest::parse`] refuses unknown fields and says which field is
//! wrong, where (line and column), and what to write instead.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};
use warden_registry::Digest;
use warden_registry::units::format_duration;

use crate::component_ref::ComponentRef;
use crate::error::ManifestError;

mod parse;

/// The documented example `agent.toml`, with every field.
pub const EXAMPLE: &str = include_str!("agent.example.toml");

/// Most executors one agent may run at once.
pub const MAX_CONCURRENT_EXECUTORS: u32 = 64;

/// A parsed and validated `agent.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentManifest {
    /// The agent's name: lowercase letters, digits and single `-`, starting
    /// with a letter, at most 64 characters.
    pub name: String,
    /// One line on what the agent is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The planner component (world `planner`): the agent loop.
    pub planner: ComponentRef,
    /// The model-provider component (world `model-provider`).
    pub provider: ComponentRef,
    /// Tool components, in the order written; no package twice.
    pub tools: Vec<ComponentRef>,
    /// Skill directories and skill components, in the order written.
    pub skills: Vec<SkillSource>,
    /// MCP servers whose tools the agent may use, by name: each a
    /// `[servers.NAME]` table in the shape of warden's `servers.toml`
    /// (`command = [...]` or `url = "..."`, `allow`, `deny`, `cwd`),
    /// checked by the host when the agent runs. Their tools reach the
    /// planner as `NAME__TOOL`, under the grant of `server:NAME`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub servers: std::collections::BTreeMap<String, ServerTable>,
    /// How the provider reaches its model.
    #[serde(skip_serializing_if = "ModelConfig::is_empty")]
    pub model: ModelConfig,
    /// What one run may spend.
    pub limits: Limits,
    /// How the agent hands sub-tasks to executor agents.
    pub delegation: Delegation,
    /// How long the workspace's sessions are kept.
    #[serde(skip_serializing_if = "SessionsConfig::is_default")]
    pub sessions: SessionsConfig,
    /// Where model turns go that the data-residency policy keeps from the
    /// `[model]` endpoint (e.g. a local model for restricted data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// What the planner may read and write of the workspace's shared
    /// context (default: nothing). The org policy's `[context]` caps it.
    #[serde(skip_serializing_if = "ContextGrants::is_empty")]
    pub context: ContextGrants,
}

/// The `[context]` table: the shared-context namespaces the agent's planner
/// may read and write (`"*"`: any). Writing implies reading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContextGrants {
    /// Namespaces it may read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Namespaces it may write.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
}

impl ContextGrants {
    /// Whether it grants nothing.
    pub fn is_empty(&self) -> bool {
        self.read.is_empty() && self.write.is_empty()
    }
}

/// One `[servers.NAME]` table of `agent.toml`, as written (the host
/// checks it against the shape of `servers.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServerTable(pub toml::Table);

// A server declaration holds strings and lists of strings; a float (the
// only value without a total equality) is refused by the host's check.
impl Eq for ServerTable {}

/// The `[sessions]` table: retention of the workspace's sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SessionsConfig {
    /// How long a session is kept after it last changed, in milliseconds
    /// (`None`: until removed; written `keep = "30d"`). Older sessions are
    /// removed at the start of every run and by `warden sessions prune`;
    /// an org policy may set a shorter ceiling.
    #[serde(
        rename = "keep",
        serialize_with = "ser_age",
        skip_serializing_if = "Option::is_none"
    )]
    pub keep_ms: Option<u64>,
}

impl SessionsConfig {
    fn is_default(&self) -> bool {
        *self == SessionsConfig::default()
    }
}

/// The `[fallback]` table: a second model for turns the data-residency
/// policy does not let go to `[model]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fallback {
    /// The provider component (default: the agent's `provider`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<ComponentRef>,
    /// How it reaches its model (`endpoint` is required).
    #[serde(flatten)]
    pub model: ModelConfig,
}

/// Where skills come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkillSource {
    /// A directory of markdown skills (`<dir>/SKILL.md`, `<dir>/*/SKILL.md`),
    /// as written: relative paths are relative to the directory holding
    /// `agent.toml` (see [`SkillSource::resolve_dir`]).
    Dir(PathBuf),
    /// A skill component from the registry (world `skill`).
    Component(ComponentRef),
}

/// A `skills` entry that is neither a directory nor a skill component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkillSourceError {
    /// Neither a path nor `namespace:name@range`.
    #[error(
        "`skills` entry `{text}` is neither a directory nor a skill component: write \
         `./{text}` for a directory next to agent.toml, or `namespace:name@range` for a \
         skill component"
    )]
    Neither {
        /// The entry as written.
        text: String,
    },
    /// Looks like a component reference but is not a valid one.
    #[error("{error} (a `skills` entry without `/` is a skill component)")]
    Component {
        /// What is wrong with the reference.
        error: crate::error::ComponentRefError,
    },
}

impl SkillSource {
    /// Reads a `skills` entry: anything containing `/` (or `\`), or `.` and
    /// `..`, is a directory; anything else must be `namespace:name@range`.
    pub fn parse(text: &str) -> Result<SkillSource, SkillSourceError> {
        if text.contains('/') || text.contains('\\') || text == "." || text == ".." {
            return Ok(SkillSource::Dir(PathBuf::from(text)));
        }
        if !text.contains(':') {
            return Err(SkillSourceError::Neither {
                text: text.to_string(),
            });
        }
        text.parse()
            .map(SkillSource::Component)
            .map_err(|error| SkillSourceError::Component { error })
    }

    /// For a directory, its path relative to `base` (the directory holding
    /// `agent.toml`); `None` for a component.
    pub fn resolve_dir(&self, base: &Path) -> Option<PathBuf> {
        match self {
            SkillSource::Dir(d) => Some(base.join(d)),
            SkillSource::Component(_) => None,
        }
    }
}

impl std::fmt::Display for SkillSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkillSource::Dir(d) => write!(f, "{}", d.display()),
            SkillSource::Component(c) => write!(f, "{c}"),
        }
    }
}

impl Serialize for SkillSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SkillSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SkillSource::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The `[model]` table: how the provider reaches its model. Never holds a
/// key: only the name of a secret the host injects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelConfig {
    /// The API's base URL (`https://…`; plain `http://` only to localhost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The model to ask for (`gpt-4o-mini`, `llama3.1:8b`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The name of the secret holding the API key (`OPENAI_API_KEY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<String>,
}

impl ModelConfig {
    /// Whether nothing is set (the provider's defaults apply).
    pub fn is_empty(&self) -> bool {
        self.endpoint.is_none() && self.name.is_none() && self.api_key_secret.is_none()
    }
}

/// The `[limits]` table: what one run may spend. The planner sees what is
/// left; the host enforces it regardless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Model completions (default 30; at least 1).
    pub max_turns: u32,
    /// Tool calls (default 100; 0 forbids tool calls).
    pub max_tool_calls: u32,
    /// Prompt plus completion tokens (default 200,000; at least 1).
    pub token_budget: u64,
    /// Wall-clock time of the whole run, in milliseconds (default 10
    /// minutes; written `wall_clock = "10m"`).
    #[serde(rename = "wall_clock", serialize_with = "ser_duration")]
    pub wall_clock_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_turns: 30,
            max_tool_calls: 100,
            token_budget: 200_000,
            wall_clock_ms: 10 * 60 * 1000,
        }
    }
}

/// The `[delegation]` table: sub-tasks handed to executor agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delegation {
    /// Executors running at once (default 2; 0 disables delegation; at most
    /// [`MAX_CONCURRENT_EXECUTORS`]).
    pub max_concurrent: u32,
    /// Turns an executor gets when the planner does not say (default 10, or
    /// `limits.max_turns` if lower; never above it).
    pub executor_max_turns: u32,
}

impl Default for Delegation {
    fn default() -> Delegation {
        Delegation {
            max_concurrent: 2,
            executor_max_turns: 10,
        }
    }
}

fn ser_age<S: Serializer>(ms: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&warden_registry::units::format_age(ms.unwrap_or_default()))
}

fn ser_duration<S: Serializer>(ms: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*ms))
}

/// The agent warden runs when none is configured: the first-party planner,
/// the OpenAI-compatible provider (key in the secret `OPENAI_API_KEY`), the
/// `fs`, `grep`, `http-fetch` and `edit` tools, and the default limits.
pub fn default_agent() -> AgentManifest {
    let first_party = |name: &str| ComponentRef {
        name: name
            .parse()
            .expect("first-party names are valid package names"),
        req: semver::VersionReq::parse("^0.1").expect("`^0.1` is a valid range"),
    };
    AgentManifest {
        name: "default".into(),
        description: Some("warden's first-party agent: files, search, edits and web fetch".into()),
        planner: first_party("warden:planner"),
        provider: first_party("warden:openai-provider"),
        tools: vec![
            first_party("warden:fs"),
            first_party("warden:grep"),
            first_party("warden:http-fetch"),
            first_party("warden:edit"),
        ],
        skills: Vec::new(),
        servers: std::collections::BTreeMap::new(),
        model: ModelConfig {
            endpoint: None,
            name: None,
            api_key_secret: Some("OPENAI_API_KEY".into()),
        },
        limits: Limits::default(),
        delegation: Delegation::default(),
        sessions: SessionsConfig::default(),
        fallback: None,
        context: ContextGrants::default(),
    }
}

impl AgentManifest {
    /// Parses and validates `agent.toml` text.
    pub fn parse(text: &str) -> Result<AgentManifest, ManifestError> {
        Self::parse_named(text, "agent.toml")
    }

    /// Reads and parses the `agent.toml` at `path`; errors name the file.
    pub fn load(path: &Path) -> Result<AgentManifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_named(&text, &path.display().to_string())
    }

    /// Parses `text`, naming it `origin` in errors.
    pub fn parse_named(text: &str, origin: &str) -> Result<AgentManifest, ManifestError> {
        parse::parse(text, origin)
    }

    /// The manifest as `agent.toml` text, without comments; [`AgentManifest::parse`]
    /// reads it back to an equal manifest.
    pub fn to_toml(&self) -> String {
        // Every value is a string, a table, an array of strings or an
        // integer that fits TOML's i64 (parsing enforces it for the budget).
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# cannot serialize agent manifest: {e}\n"))
    }

    /// The digest of [`AgentManifest::to_toml`]: equal for manifests that
    /// differ only in comments, formatting or the spelling of defaults.
    /// Sessions record it.
    pub fn digest(&self) -> Digest {
        Digest::of(self.to_toml().as_bytes())
    }

    /// The directories of markdown skills, resolved against `base` (the
    /// directory holding `agent.toml`).
    pub fn skill_dirs(&self, base: &Path) -> Vec<PathBuf> {
        self.skills
            .iter()
            .filter_map(|s| s.resolve_dir(base))
            .collect()
    }

    /// The skill components.
    pub fn skill_components(&self) -> Vec<&ComponentRef> {
        self.skills
            .iter()
            .filter_map(|s| match s {
                SkillSource::Component(c) => Some(c),
                SkillSource::Dir(_) => None,
            })
            .collect()
    }
}
