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

use crate::error::{GrantError, SecretGrantProblem};
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
    /// Requests to these destinations (scheme, host and port) carry it;
    /// `[]` means none: a secret is never sent to every granted host.
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

    /// Whether a request with `scheme` (`http` or `https`) to `host:port`
    /// carries this secret: only if it is one of the destinations the
    /// secret was granted for, scheme included.
    pub fn applies_to(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.hosts.iter().any(|h| h.matches(scheme, host, port))
    }
}

/// Parses the destination of a secret, `[SCHEME://]HOST[:PORT]`: the scheme
/// defaults to `https` and the port to the scheme's, so `api.example.com`
/// is `https://api.example.com:443`; `*://` is refused (a secret goes over
/// one scheme). `spec` names the grant in the error.
pub fn secret_destination(name: &str, host: &str) -> Result<HostPattern, GrantError> {
    let entry = format!("{name}@{host}");
    match warden_policy::rules::secret_host(&entry) {
        Some(Ok(rule)) => Ok(HostPattern::from_rule(rule)),
        Some(Err(error)) => Err(GrantError::InvalidSecret {
            spec: entry,
            problem: error.into(),
        }),
        None => Err(GrantError::InvalidSecret {
            spec: entry,
            problem: SecretGrantProblem::NoHost {
                name: name.to_string(),
            },
        }),
    }
}

/// Loads secret values from `path`, a TOML file of `NAME = "value"` lines
/// that must be readable by its owner only (mode 0600).
pub fn load_secrets_file(path: &Path) -> Result<BTreeMap<String, SecretValue>, GrantError> {
    let invalid = |problem| GrantError::InvalidSecret {
        spec: path.display().to_string(),
        problem,
    };
    let unreadable = |e: std::io::Error| {
        invalid(SecretGrantProblem::FileUnreadable {
            error: e.to_string(),
        })
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(unreadable)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(invalid(SecretGrantProblem::FileExposed {
                mode: mode & 0o777,
            }));
        }
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    let table: BTreeMap<String, String> = toml::from_str(&text).map_err(|e| {
        invalid(SecretGrantProblem::FileNotToml {
            error: e.message().to_string(),
        })
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| (k, SecretValue::new(v)))
        .collect())
}

/// Parses a `--secret NAME@[SCHEME://]HOST[:PORT]` flag, taking the value
/// from `lookup` (the environment, then the secrets file). The host is
/// required: a secret goes only to the destination it was granted for (see
/// [`secret_destination`]).
pub fn parse_secret(
    spec: &str,
    lookup: impl Fn(&str) -> Option<SecretValue>,
) -> Result<SecretGrant, GrantError> {
    let invalid = |problem| GrantError::InvalidSecret {
        spec: spec.to_string(),
        problem,
    };
    let (name, host) = match spec.split_once('@') {
        Some((n, h)) => (n, Some(h)),
        None => (spec, None),
    };
    // The one name rule of the policy, as for env vars.
    if !warden_policy::request::is_var_name(name) {
        return Err(invalid(SecretGrantProblem::BadName {
            name: name.to_string(),
        }));
    }
    let value = lookup(name).ok_or_else(|| {
        invalid(SecretGrantProblem::NoValue {
            name: name.to_string(),
        })
    })?;
    let hosts = match host {
        Some(h) => vec![secret_destination(name, h)?],
        None => {
            return Err(invalid(SecretGrantProblem::NoHost {
                name: name.to_string(),
            }));
        }
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

/// What a response must not carry back to a guest: the values of the
/// secrets granted to it and their common encodings, so that a server that
/// echoes request headers (or encodes them) cannot hand an injected value
/// to the guest that asked for it.
///
/// Found: the value as is, reversed, in hex (any case), in base64 (standard
/// and URL-safe alphabets, at any byte offset, padded or not), percent-
/// encoded (reserved characters, or every byte; any case), and as a JSON
/// string. Matching ignores ASCII case. Not found: anything else (a value
/// XORed, compressed, encrypted, split across responses or spelled out
/// character by character); see docs/security.md.
#[derive(Debug, Clone)]
pub struct Reflection {
    patterns: aho_corasick::AhoCorasick,
    longest: usize,
}

/// Base64 fragments shorter than this are not looked for: too short to
/// tell a secret from chance.
const MIN_ENCODED_LEN: usize = 8;

impl Reflection {
    /// The patterns of `secrets`' values, or `None` when there are none.
    pub fn new(secrets: &[SecretGrant]) -> Option<Reflection> {
        let mut patterns: Vec<Vec<u8>> = secrets
            .iter()
            .map(|s| s.value.expose())
            .filter(|v| !v.is_empty())
            .flat_map(encodings)
            .collect();
        patterns.sort();
        patterns.dedup();
        let longest = patterns.iter().map(Vec::len).max()?;
        let patterns = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok()?;
        Some(Reflection { patterns, longest })
    }

    /// Whether `bytes` contain a secret or an encoding of one.
    pub fn found_in(&self, bytes: &[u8]) -> bool {
        self.patterns.is_match(bytes)
    }

    /// `bytes` with every secret and encoding of one replaced by
    /// `[REDACTED]`.
    pub fn scrub(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        self.patterns
            .replace_all_with_bytes(bytes, &mut out, |_, _, dst| {
                dst.extend_from_slice(REDACTED.as_bytes());
                true
            });
        out
    }

    /// A scrubber for one response body, fed chunk by chunk.
    pub fn stream(self: &Arc<Self>) -> StreamScrub {
        StreamScrub {
            reflection: self.clone(),
            pending: Vec::new(),
        }
    }
}

/// What replaces a secret in a response.
pub const REDACTED: &str = "[REDACTED]";

/// Scrubs a body that arrives in chunks: a secret split across two chunks
/// is still found, because the last bytes of each chunk that could start
/// one are held back until the next chunk (or the end) arrives.
#[derive(Debug)]
pub struct StreamScrub {
    reflection: Arc<Reflection>,
    pending: Vec<u8>,
}

impl StreamScrub {
    /// Takes the next chunk; returns what can be passed on now, scrubbed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        // A match starting before `safe` lies wholly in `pending`: one
        // starting at `safe` or later may go on in the next chunk.
        let safe = self
            .pending
            .len()
            .saturating_sub(self.reflection.longest - 1);
        let mut out = Vec::with_capacity(self.pending.len());
        let mut done = 0;
        for m in self.reflection.patterns.find_iter(&self.pending) {
            if m.start() >= safe {
                break;
            }
            out.extend_from_slice(&self.pending[done..m.start()]);
            out.extend_from_slice(REDACTED.as_bytes());
            done = m.end();
        }
        let keep_from = done.max(safe);
        out.extend_from_slice(&self.pending[done..keep_from]);
        self.pending.drain(..keep_from);
        out
    }

    /// The end of the body: whatever was held back, scrubbed.
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.pending);
        self.reflection.scrub(&rest)
    }

    /// Whether bytes are held back.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The patterns it scrubs.
    pub fn reflection(&self) -> &Reflection {
        &self.reflection
    }
}

/// The forms of `value` a response is searched for (see [`Reflection`]).
fn encodings(value: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let bytes = value.as_bytes();
    let mut out = vec![bytes.to_vec()];
    out.push(bytes.iter().rev().copied().collect());
    out.push(hex::encode(bytes).into_bytes());
    // Base64 of any text containing the value, at each of the three byte
    // offsets it can start at: the characters that depend on the value
    // alone (not on its neighbours).
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for offset in 0..3usize {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(bytes);
            let encoded = engine.encode(&shifted);
            let first = (8 * offset).div_ceil(6);
            let last = 8 * (offset + bytes.len()) / 6;
            if last > first && last - first >= MIN_ENCODED_LEN {
                out.push(encoded.as_bytes()[first..last].to_vec());
            }
        }
    }
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    let mut reserved = String::new();
    let mut every = String::new();
    for &b in bytes {
        if unreserved(b) {
            reserved.push(char::from(b));
        } else {
            reserved.push_str(&format!("%{b:02X}"));
        }
        every.push_str(&format!("%{b:02X}"));
    }
    out.push(reserved.into_bytes());
    out.push(every.into_bytes());
    if let Ok(json) = serde_json::to_string(value) {
        let inner = &json[1..json.len() - 1];
        out.push(inner.as_bytes().to_vec());
        out.push(inner.replace('/', "\\/").into_bytes());
    }
    out.retain(|p| !p.is_empty());
    out
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
    }

    #[test]
    fn a_secret_goes_only_to_its_scheme_host_and_port() {
        let v = || Some(SecretValue::new("v"));
        let g = parse_secret("API_KEY@api.example.com", |_| v()).expect("valid");
        assert!(g.applies_to("https", "api.example.com", 443));
        assert!(!g.applies_to("http", "api.example.com", 443));
        assert!(!g.applies_to("http", "api.example.com", 80));
        assert!(!g.applies_to("https", "api.example.com", 8443));
        assert!(!g.applies_to("https", "evil.example.com", 443));
        let g = parse_secret("K@http://127.0.0.1:8080", |_| v()).expect("valid");
        assert!(g.applies_to("http", "127.0.0.1", 8080));
        assert!(!g.applies_to("https", "127.0.0.1", 8080));
        let err = parse_secret("K", |_| v()).expect_err("no host");
        assert!(
            err.to_string().contains("e.g. `K@https://api.example.com`"),
            "{err}"
        );
        let err = parse_secret("K@*://h:1", |_| v()).expect_err("any scheme");
        assert!(err.to_string().contains("one scheme"), "{err}");
        // Granted for no host, it goes nowhere.
        let nowhere = SecretGrant {
            hosts: Vec::new(),
            ..g
        };
        assert!(!nowhere.applies_to("http", "127.0.0.1", 8080));
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
        let g = parse_secret("K@h", |_| Some(SecretValue::new("s3cr3t"))).expect("valid");
        let r = Redactor::new(&[g]);
        assert_eq!(
            r.redact("a s3cr3t and s3cr3t"),
            "a [REDACTED] and [REDACTED]"
        );
    }

    fn reflection(value: &str) -> Arc<Reflection> {
        let g = parse_secret("K@h", |_| Some(SecretValue::new(value))).expect("valid");
        Arc::new(Reflection::new(&[g]).expect("patterns"))
    }

    #[test]
    fn a_secret_is_found_in_every_common_encoding_at_any_offset() {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let value = "sk-live/4f9c+2b?x=1";
        let r = reflection(value);
        let mut forms = vec![
            value.to_string(),
            value.chars().rev().collect(),
            hex::encode(value),
            hex::encode_upper(value),
            value
                .replace('/', "%2F")
                .replace('+', "%2B")
                .replace('?', "%3F")
                .replace('=', "%3D"),
        ];
        for prefix in ["", "a", "ab", "Bearer ", "Authorization: Bearer "] {
            let text = format!("{prefix}{value}, then more");
            forms.push(STANDARD.encode(&text));
            forms.push(URL_SAFE.encode(&text));
        }
        forms.push(serde_json::to_string(value).expect("json"));
        let every: String = value.bytes().map(|b| format!("%{b:02x}")).collect();
        forms.push(every);
        for form in forms {
            let text = format!("echo: {form} end");
            assert!(r.found_in(text.as_bytes()), "not found: {form}");
            let scrubbed = String::from_utf8(r.scrub(text.as_bytes())).expect("utf-8");
            assert!(scrubbed.contains(REDACTED), "{scrubbed}");
            assert!(!r.found_in(scrubbed.as_bytes()), "left: {scrubbed}");
        }
        assert!(!r.found_in(b"nothing to see, sk-live but not the rest"));
    }

    #[test]
    fn a_secret_split_across_chunks_is_still_scrubbed() {
        let value = "s3cr3t-value-0123456789";
        let r = reflection(value);
        let body = format!("head {value} middle {} tail", hex::encode(value));
        for size in [1, 2, 3, 5, 7, 16, 64] {
            let mut stream = r.stream();
            let mut out = Vec::new();
            for chunk in body.as_bytes().chunks(size) {
                out.extend(stream.push(chunk));
            }
            out.extend(stream.finish());
            let out = String::from_utf8(out).expect("utf-8");
            assert_eq!(
                out, "head [REDACTED] middle [REDACTED] tail",
                "chunks of {size}"
            );
        }
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
        assert!(
            matches!(
                &err,
                GrantError::InvalidSecret {
                    problem: SecretGrantProblem::FileExposed { mode: 0o644 },
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("mode 644"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let secrets = load_secrets_file(&path).expect("private");
        assert_eq!(secrets.get("API_KEY").map(SecretValue::expose), Some("v"));
    }
}
