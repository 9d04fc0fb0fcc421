//! Error types of the agent data layer. Each message says what failed, where
//! (file, line, field) and what to do about it.

use std::path::PathBuf;

use warden_core::error::location;

/// `:L` when the line is known.
fn line_suffix(line: &Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

/// A component reference that is not `namespace:name@range`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid component reference `{text}`: {reason}")]
pub struct ComponentRefError {
    /// The reference as written.
    pub text: String,
    /// Why it is invalid and what to write instead.
    pub reason: String,
}

/// An `agent.toml` that is not valid, or cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Bad syntax, an unknown or missing field, or a bad value.
    #[error("invalid {origin}{}: {reason}", location(line, column))]
    Invalid {
        /// The file (`agent.toml`, or its path).
        origin: String,
        /// The 1-based line of the problem, when known.
        line: Option<usize>,
        /// The 1-based column of the problem, when known.
        column: Option<usize>,
        /// What is wrong and what to write instead, naming the field.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A session id that is not of the form warden generates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid session id `{id}`: {reason}; a session id looks like `20250314-093012-7kq2mz` \
     (UTC date and time, then 6 random letters and digits)"
)]
pub struct IdError {
    /// The id as given (truncated to 80 characters).
    pub id: String,
    /// Why it is invalid.
    pub reason: String,
}

/// A session that cannot be created, read, written or removed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The id is not a valid session id (this is also what a path smuggled
    /// into an id, like `../x`, gets).
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// No session file with that id.
    #[error("no session `{id}` in {}", dir.display())]
    NotFound {
        /// The id.
        id: String,
        /// The sessions directory.
        dir: PathBuf,
    },
    /// A file or directory could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A session file that is truncated, not JSON, or not a session.
    #[error(
        "session file {} is unreadable: {reason}; it was left untouched: move it aside or delete it",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A session written by a newer warden.
    #[error(
        "session file {} has format {found}, but this warden reads format {supported} only; \
         use the warden that wrote it, or upgrade",
        path.display()
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The format it declares.
        found: u32,
        /// The format this build reads.
        supported: u32,
    },
    /// The session could not be encoded (it holds something JSON cannot).
    #[error("cannot encode session `{id}` as JSON: {reason}")]
    Encode {
        /// The session.
        id: String,
        /// Why.
        reason: String,
    },
}

impl SessionError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> SessionError {
        SessionError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A compaction that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactionError {
    /// The session changed since the plan was made.
    #[error(
        "the compaction plan starts at message {planned}, but the session's active history now \
         starts at message {actual}; make a new plan"
    )]
    StalePlan {
        /// Where the plan's summarised range starts.
        planned: usize,
        /// Where the active history's uncompacted part starts now.
        actual: usize,
    },
    /// The cut would split a tool call from its result, or is out of range.
    #[error("cannot compact up to message {index}: {reason}")]
    InvalidCut {
        /// The index in `messages` of the first message kept verbatim.
        index: usize,
        /// Why.
        reason: String,
    },
    /// An empty summary would silently drop the history.
    #[error("the summary is empty; summarise the planned messages before applying the compaction")]
    EmptySummary,
}

/// A `SKILL.md` that is not valid, or a skill directory that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    /// A problem in one file, at a line when known.
    #[error("{}{}: {reason}", path.display(), line_suffix(line))]
    Invalid {
        /// The `SKILL.md` file.
        path: PathBuf,
        /// The 1-based line of the problem, when known.
        line: Option<usize>,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Two skills with the same name.
    #[error(
        "two skills are named `{name}`: {} and {}; rename one (the `name` field) or remove it",
        first.display(), second.display()
    )]
    Duplicate {
        /// The name.
        name: String,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// A skill directory without any skill.
    #[error(
        "{} holds no skill: expected {}/SKILL.md or {}/<skill>/SKILL.md",
        dir.display(), dir.display(), dir.display()
    )]
    NoSkills {
        /// The directory.
        dir: PathBuf,
    },
}

/// A skill that needs tools the agent does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "skill `{skill}` needs {} the agent does not have: {}; the agent's tools are: {}. Add a tool \
     component that provides {} to `tools` in agent.toml, or remove the skill",
    if missing.len() == 1 { "a tool" } else { "tools" },
    quoted(missing),
    if available.is_empty() { "none".to_string() } else { quoted(available) },
    if missing.len() == 1 { "it" } else { "them" }
)]
pub struct MissingTools {
    /// The skill.
    pub skill: String,
    /// The tools it needs and the agent lacks, in the skill's order.
    pub missing: Vec<String>,
    /// The tools the agent has.
    pub available: Vec<String>,
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
