//! The file form shared by `grants.toml` and org policies: an optional
//! `version = 1`, an optional `description`, an optional `[audit]` table
//! (org policies only) and `[[rule]]` tables (see [`super::rules`]).
//! Errors name the file, the line and the rule number.

use serde::Deserialize;
use warden_core::error::line_column;

use super::context::{ContextCeiling, RawContext};
use super::residency::{RawLabel, RawResidency, Residency};
use super::retention::{RawSessions, SessionCeiling};
use super::rules::{Rule, quote};
use crate::error::PolicyError;

/// A parsed policy document: its rules, each with the byte offset where it
/// starts (for messages).
pub(crate) struct Document {
    pub(crate) description: Option<String>,
    /// `[audit] sync = "every-record"`: every audit record synced before
    /// its call is answered.
    pub(crate) audit_every_record: Option<bool>,
    /// `require-confinement = true`: subprocess tool sources may only run
    /// confined by the kernel (org policies only).
    pub(crate) require_confinement: Option<bool>,
    /// `[remote-servers]`: the remote MCP servers that may be used (org
    /// policies only).
    pub(crate) remote_servers: Option<crate::RemoteServers>,
    pub(crate) rules: Vec<(Rule, usize)>,
    /// The `[[label]]` and `[[residency]]` tables.
    pub(crate) residency: Residency,
    /// The `[sessions]` table, if there is one.
    pub(crate) sessions: Option<SessionCeiling>,
    /// The `[context]` table, if there is one.
    pub(crate) context: Option<ContextCeiling>,
}

/// Parses a policy document (`grants.toml` or an org policy); `origin`
/// names it in errors.
pub(crate) fn parse_document(text: &str, origin: &str) -> Result<Document, PolicyError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        version: Option<u32>,
        description: Option<String>,
        audit: Option<Audit>,
        #[serde(rename = "require-confinement")]
        require_confinement: Option<bool>,
        #[serde(rename = "remote-servers")]
        remote_servers: Option<crate::RemoteServers>,
        #[serde(default)]
        rule: Vec<toml::Spanned<Rule>>,
        #[serde(default)]
        label: Vec<RawLabel>,
        #[serde(default)]
        residency: Vec<RawResidency>,
        sessions: Option<RawSessions>,
        context: Option<RawContext>,
    }
    /// `[audit]`: how records must reach the disk.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Audit {
        sync: AuditSync,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum AuditSync {
        Batched,
        EveryRecord,
    }
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| line_column(text, s.start))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        PolicyError::Invalid {
            origin: origin.to_string(),
            line,
            column,
            reason: e.message().trim_end().to_string(),
        }
    })?;
    if let Some(v) = raw.version.filter(|v| *v != 1) {
        return Err(PolicyError::Invalid {
            origin: origin.to_string(),
            line: None,
            column: None,
            reason: format!(
                "format version {v} is not supported (this warden reads version 1); upgrade warden"
            ),
        });
    }
    let invalid = |reason: String| PolicyError::Invalid {
        origin: origin.to_string(),
        line: None,
        column: None,
        reason,
    };
    let layer = if origin.starts_with("org policy") {
        "the org policy"
    } else {
        origin
    };
    let residency = Residency::from_raw(raw.label, raw.residency, layer).map_err(invalid)?;
    let sessions = raw
        .sessions
        .map(SessionCeiling::from_raw)
        .transpose()
        .map_err(invalid)?;
    let context = raw
        .context
        .map(ContextCeiling::from_raw)
        .transpose()
        .map_err(invalid)?;
    Ok(Document {
        residency,
        sessions,
        context,
        description: raw.description,
        audit_every_record: raw.audit.map(|a| matches!(a.sync, AuditSync::EveryRecord)),
        require_confinement: raw.require_confinement,
        remote_servers: raw.remote_servers,
        rules: raw
            .rule
            .into_iter()
            .map(|r| {
                let at = r.span().start;
                (r.into_inner(), at)
            })
            .collect(),
    })
}

/// An error about rule `index` (0-based) of a document, at its line.
pub(crate) fn rule_error(
    text: &str,
    origin: &str,
    index: usize,
    at: usize,
    reason: String,
) -> PolicyError {
    let (line, column) = line_column(text, at);
    PolicyError::Invalid {
        origin: origin.to_string(),
        line: Some(line),
        column: Some(column),
        reason: format!("rule {}: {reason}", index + 1),
    }
}

/// Writes rules (and residency tables) as a document.
pub(crate) fn write_document(
    header: &str,
    description: Option<&str>,
    rules: &[Rule],
    residency: &Residency,
) -> String {
    let mut out = String::from(header);
    out += "version = 1\n";
    if let Some(d) = description {
        out += &format!("description = {}\n", quote(d));
    }
    for rule in rules {
        out += "\n";
        out += &rule.to_toml();
    }
    out += &residency.to_toml();
    out
}
