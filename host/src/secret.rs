//! Secrets: values a component may use but never sees.
//!
//! A secret granted to a component for some hosts is injected by the host
//! into the component's outbound HTTP requests to those hosts (as a header,
//! `Authorization: Bearer …` by default); the guest only ever knows its name.
//! Values come from the environment or from a secrets file readable only by
//! its owner, and are redacted from everything the host reports about a
//! call: output, logs and errors.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::GrantError;
use crate::grant::HostPattern;

/// A secret value. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Arc<str>);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<Arc<str>>) -> SecretValue {
        SecretValue(value.into())
    }

    /// The value, for the one place that injects it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue([REDACTED])")
    }
}

/// A secret granted to a component for some hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretGrant {
    /// The secret's name (what the guest and the user see).
    pub name: String,
    /// Its value.
    pub value: SecretValue,
    /// Requests to these hosts carry it; `[]` means every granted host.
    pub hosts: Vec<HostPattern>,
    /// The header it is sent in (lowercase), default `authorization`.
    pub header: String,
    /// The header value, with `{}` replaced by the secret, default `Bearer {}`.
    pub format: String,
}

impl SecretGrant {
    /// The header value to send.
    pub fn header_value(&self) -> String {
        self.format.replace("{}", self.value.expose())
    }

    /// Whether requests to `host:port` carry this secret.
    pub fn applies_to(&self, host: &str, port: u16) -> bool {
        self.hosts.is_empty() || self.hosts.iter().any(|h| h.allows(host, port))
    }
}

/// Loads secret values from `path`, a TOML file of `NAME = "value"` lines
/// that must be readable by its owner only (mode 0600).
pub fn load_secrets_file(path: &Path) -> Result<BTreeMap<String, SecretValue>, GrantError> {
    let invalid = |reason: String| GrantError::InvalidSecret {
        spec: path.display().to_string(),
        reason,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| invalid(format!("cannot read the secrets file: {e}")))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(invalid(format!(
                "the secrets file is readable by others (mode {:o}); run `chmod 600 {}`",
                mode & 0o777,
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("cannot read the secrets file: {e}")))?;
    let table: BTreeMap<String, String> = toml::from_str(&text).map_err(|e| {
        invalid(format!(
            "not a TOML table of NAME = \"value\": {}",
            e.message()
        ))
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| (k, SecretValue::new(v)))
        .collect())
}

/// Parses a `--secret NAME[@HOST[:PORT]]` flag, taking the value from
/// `lookup` (the environment, then the secrets file).
pub fn parse_secret(
    spec: &str,
    lookup: impl Fn(&str) -> Option<SecretValue>,
) -> Result<SecretGrant, GrantError> {
    let invalid = |reason: String| GrantError::InvalidSecret {
        spec: spec.to_string(),
        reason,
    };
    let (name, host) = match spec.split_once('@') {
        Some((n, h)) => (n, Some(h)),
        None => (spec, None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid("a secret name is letters, digits and `_`".into()));
    }
    let value = lookup(name).ok_or_else(|| {
        invalid(format!(
            "no value for `{name}`: set the environment variable {name}, or add it to the secrets file"
        ))
    })?;
    let hosts = match host {
        Some(h) => vec![HostPattern::parse(h)?],
        None => Vec::new(),
    };
    Ok(SecretGrant {
        name: name.to_string(),
        value,
        hosts,
        header: "authorization".into(),
        format: "Bearer {}".into(),
    })
}

/// Replaces secret values in text the host reports.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<SecretValue>,
}

impl Redactor {
    /// A redactor for the values of `secrets`.
    pub fn new(secrets: &[SecretGrant]) -> Redactor {
        Redactor {
            values: secrets
                .iter()
                .map(|s| s.value.clone())
                .filter(|v| !v.expose().is_empty())
                .collect(),
        }
    }

    /// `text` with every secret value replaced by `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.expose()) {
                out = out.replace(v.expose(), "[REDACTED]");
            }
        }
        out
    }

    /// Whether there is anything to redact.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let v = SecretValue::new("hunter2");
        assert!(!format!("{v:?}").contains("hunter2"));
        let g = parse_secret("API_KEY@api.example.com", |_| Some(v.clone())).expect("valid");
        assert!(!format!("{g:?}").contains("hunter2"));
        assert_eq!(g.header_value(), "Bearer hunter2");
        assert!(g.applies_to("api.example.com", 443));
        assert!(!g.applies_to("evil.example.com", 443));
    }

    #[test]
    fn a_secret_without_a_value_is_refused_with_where_to_put_it() {
        let err = parse_secret("MISSING", |_| None).expect_err("no value");
        assert!(
            err.to_string().contains("environment variable MISSING"),
            "{err}"
        );
    }

    #[test]
    fn redaction_replaces_every_occurrence() {
        let g = parse_secret("K", |_| Some(SecretValue::new("s3cr3t"))).expect("valid");
        let r = Redactor::new(&[g]);
        assert_eq!(
            r.redact("a s3cr3t and s3cr3t"),
            "a [REDACTED] and [REDACTED]"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_secrets_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.toml");
        std::fs::write(&path, "API_KEY = \"v\"\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = load_secrets_file(&path).expect_err("too open");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let secrets = load_secrets_file(&path).expect("private");
        assert_eq!(secrets.get("API_KEY").map(SecretValue::expose), Some("v"));
    }
}
