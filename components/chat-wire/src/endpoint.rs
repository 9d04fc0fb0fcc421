//! Where completions are sent: the chat-completions URL derived from the
//! configured base URL (`WARDEN_MODEL_ENDPOINT`).

use url::{Position, Url};

use crate::types::{Capability, Denial, ModelError};

/// The environment variable holding the endpoint's base URL.
pub const ENDPOINT_VAR: &str = "WARDEN_MODEL_ENDPOINT";
/// The environment variable holding the default model name.
pub const MODEL_VAR: &str = "WARDEN_MODEL";
/// The environment variable holding the model's context window in tokens (optional).
pub const CONTEXT_WINDOW_VAR: &str = "WARDEN_MODEL_CONTEXT_WINDOW";

/// The chat-completions URL of an OpenAI-compatible backend, split the way
/// `wasi:http` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The full URL, e.g. `http://127.0.0.1:8080/v1/chat/completions`.
    pub url: String,
    /// Whether the scheme is `https`.
    pub https: bool,
    /// `host[:port]` as it appears in the URL.
    pub authority: String,
    /// The path and query, e.g. `/v1/chat/completions`.
    pub path_with_query: String,
    /// The host name or address.
    pub host: String,
    /// `host:port` (port explicit or the scheme's default), as grants and denials name it.
    pub target: String,
}

impl Endpoint {
    /// Derives the chat-completions URL from the configured base URL:
    /// `http://127.0.0.1:8080/v1` becomes `…/v1/chat/completions`; a URL that
    /// already ends in `/chat/completions` is used as is; a URL without a path
    /// (`http://127.0.0.1:11434`) gets the conventional `/v1` first. A query
    /// (e.g. `?api-version=…`) is kept.
    pub fn from_base(base: &str) -> Result<Endpoint, ModelError> {
        let base = base.trim();
        if base.is_empty() {
            return Err(ModelError::InvalidRequest(format!(
                "{ENDPOINT_VAR} is empty; set it to the base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1"
            )));
        }
        let mut url = Url::parse(base).map_err(|e| {
            ModelError::InvalidRequest(format!(
                "{ENDPOINT_VAR} (`{}`) is not a valid URL: {e}; expected e.g. http://127.0.0.1:8080/v1",
                redact(base)
            ))
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            // Never echo the credentials themselves.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            return Err(ModelError::InvalidRequest(format!(
                "{ENDPOINT_VAR} (`{url}`) contains credentials; remove them: the host injects the Authorization header for a granted secret (--secret NAME@HOST)"
            )));
        }
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(ModelError::InvalidRequest(format!(
                    "{ENDPOINT_VAR} (`{url}`) has the scheme `{other}`; only http and https are supported"
                )));
            }
        };
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.to_string(),
            _ => {
                return Err(ModelError::InvalidRequest(format!(
                    "{ENDPOINT_VAR} (`{url}`) has no host"
                )));
            }
        };
        url.set_fragment(None);
        let path = url.path().trim_end_matches('/').to_string();
        let path = if path.ends_with("/chat/completions") {
            path
        } else if path.is_empty() {
            "/v1/chat/completions".to_string()
        } else {
            format!("{path}/chat/completions")
        };
        url.set_path(&path);

        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        Ok(Endpoint {
            authority: url[Position::BeforeHost..Position::AfterPort].to_string(),
            path_with_query: url[Position::BeforePath..Position::AfterQuery].to_string(),
            target: format!("{host}:{port}"),
            host,
            https,
            url: url.to_string(),
        })
    }

    /// The endpoint from the value of [`ENDPOINT_VAR`], `None` when unset:
    /// a missing variable is reported as an environment denial naming it.
    pub fn from_env_value(value: Option<&str>) -> Result<Endpoint, ModelError> {
        match value {
            Some(v) => Endpoint::from_base(v),
            None => Err(ModelError::Denied(Denial {
                capability: Capability::Environment,
                target: ENDPOINT_VAR.to_string(),
                reason: format!(
                    "{ENDPOINT_VAR} is not set for the model provider; grant it the base URL of an OpenAI-compatible API, e.g. --env {ENDPOINT_VAR}=http://127.0.0.1:8080/v1"
                ),
            })),
        }
    }
}

/// `text` with anything between `://` and `@` hidden, for messages about an
/// unparsable URL that might still carry credentials.
fn redact(text: &str) -> String {
    if let Some(scheme_end) = text.find("://") {
        let rest = &text[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{}://…@{}", &text[..scheme_end], &rest[at + 1..]);
        }
    }
    text.to_string()
}

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(base: &str) -> Endpoint {
        match Endpoint::from_base(base) {
            Ok(e) => e,
            Err(e) => panic!("{base}: {e}"),
        }
    }

    fn err(base: &str) -> String {
        match Endpoint::from_base(base) {
            Ok(e) => panic!("{base} was accepted as {e:?}"),
            Err(ModelError::InvalidRequest(m)) => m,
            Err(other) => panic!("{base}: unexpected {other:?}"),
        }
    }

    #[test]
    fn base_urls_get_the_chat_completions_path() {
        let e = ok("http://127.0.0.1:8080/v1");
        assert_eq!(e.url, "http://127.0.0.1:8080/v1/chat/completions");
        assert_eq!(e.authority, "127.0.0.1:8080");
        assert_eq!(e.path_with_query, "/v1/chat/completions");
        assert_eq!(e.target, "127.0.0.1:8080");
        assert!(!e.https);

        assert_eq!(
            ok("http://localhost:11434/v1/").url,
            "http://localhost:11434/v1/chat/completions"
        );
        assert_eq!(
            ok("http://localhost:11434").url,
            "http://localhost:11434/v1/chat/completions"
        );
        let full = ok("https://api.example.com/openai/v1/chat/completions");
        assert_eq!(full.path_with_query, "/openai/v1/chat/completions");
        assert_eq!(full.target, "api.example.com:443");
        assert!(full.https);
        let query = ok("https://x.example/deploy?api-version=2024-10-21");
        assert_eq!(
            query.path_with_query,
            "/deploy/chat/completions?api-version=2024-10-21"
        );
    }

    #[test]
    fn bad_endpoints_name_the_variable() {
        assert!(err("").contains(ENDPOINT_VAR));
        assert!(err("not a url").contains(ENDPOINT_VAR));
        assert!(err("ftp://host/v1").contains("scheme `ftp`"));
        let creds = err("https://user:hunter2@api.example.com/v1");
        assert!(creds.contains("credentials"), "{creds}");
        assert!(!creds.contains("hunter2"), "leaked a password: {creds}");
    }

    #[test]
    fn a_missing_variable_is_an_environment_denial() {
        match Endpoint::from_env_value(None) {
            Err(ModelError::Denied(d)) => {
                assert_eq!(d.capability, Capability::Environment);
                assert_eq!(d.target, ENDPOINT_VAR);
                assert!(d.reason.contains("--env"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn redaction_hides_userinfo() {
        assert_eq!(redact("http://a:b@host/x"), "http://…@host/x");
        assert_eq!(redact("http://host/x@y"), "http://host/x@y");
    }
}
