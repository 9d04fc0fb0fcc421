//! One OCI registry, spoken to through `oci-client`, with every read
//! bounded and verified, behind a blocking interface (the rest of the
//! registry crate is synchronous).
//!
//! Each [`Remote`] owns a single-threaded tokio runtime and drives it from
//! a scoped helper thread, so it works the same whether or not the caller
//! is itself inside a tokio runtime (the CLI is), and pooled connections
//! live as long as the `Remote`.

use std::future::Future;
use std::sync::Once;
use std::time::Duration;

use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::error::{OciError, redact};
use super::layout::{
    Blob, DOCKER_MANIFEST_MEDIA_TYPE, MAX_MANIFEST_BYTES, OCI_MANIFEST_MEDIA_TYPE,
};
use crate::digest::Digest;

/// Environment: the user name for every registry (with
/// [`ENV_PASSWORD`]); overrides the Docker config.
pub const ENV_USERNAME: &str = "WARDEN_REGISTRY_USERNAME";
/// Environment: the password for every registry.
pub const ENV_PASSWORD: &str = "WARDEN_REGISTRY_PASSWORD";
/// Environment: a bearer token for every registry.
pub const ENV_TOKEN: &str = "WARDEN_REGISTRY_TOKEN";

/// Tags asked for per page of the tag list.
const TAGS_PER_PAGE: usize = 1000;
/// The most tags read from one repository.
pub const MAX_TAGS: usize = 10_000;

/// Credentials for one registry. `Debug` never shows a secret.
#[derive(Clone)]
pub struct Credentials {
    auth: RegistryAuth,
    /// Where they came from, for messages (`environment`, `Docker config`,
    /// `none`).
    origin: &'static str,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.auth {
            RegistryAuth::Anonymous => "anonymous",
            RegistryAuth::Basic(..) => "basic",
            RegistryAuth::Bearer(_) => "bearer",
        };
        write!(f, "Credentials({kind}, from {})", self.origin)
    }
}

impl Credentials {
    /// Anonymous access.
    pub fn anonymous() -> Credentials {
        Credentials {
            auth: RegistryAuth::Anonymous,
            origin: "none",
        }
    }

    /// The credentials for `registry` (`host[:port]`): the `WARDEN_REGISTRY_*`
    /// environment variables if set, else the Docker config
    /// (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, including
    /// its credential helpers), else anonymous.
    pub fn for_registry(registry: &str) -> Result<Credentials, OciError> {
        let env = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        let config_err = |reason: String| OciError::Registry {
            registry: registry.to_string(),
            operation: "reading credentials".into(),
            reason,
        };
        match (env(ENV_USERNAME), env(ENV_PASSWORD), env(ENV_TOKEN)) {
            (Some(user), Some(password), _) => {
                return Ok(Credentials {
                    auth: RegistryAuth::Basic(user, password),
                    origin: "environment",
                });
            }
            (Some(_), None, _) => {
                return Err(config_err(format!(
                    "{ENV_USERNAME} is set but {ENV_PASSWORD} is not"
                )));
            }
            (None, Some(_), _) => {
                return Err(config_err(format!(
                    "{ENV_PASSWORD} is set but {ENV_USERNAME} is not"
                )));
            }
            (None, None, Some(token)) => {
                return Ok(Credentials {
                    auth: RegistryAuth::Bearer(token),
                    origin: "environment",
                });
            }
            (None, None, None) => {}
        }
        use docker_credential::{CredentialRetrievalError as E, DockerCredential};
        for server in [registry.to_string(), format!("https://{registry}")] {
            match docker_credential::get_credential(&server) {
                Ok(DockerCredential::UsernamePassword(user, password)) => {
                    return Ok(Credentials {
                        auth: RegistryAuth::Basic(user, password),
                        origin: "Docker config",
                    });
                }
                Ok(DockerCredential::IdentityToken(token)) => {
                    return Ok(Credentials {
                        auth: RegistryAuth::Bearer(token),
                        origin: "Docker config",
                    });
                }
                Err(E::ConfigNotFound | E::ConfigReadError | E::NoCredentialConfigured) => {}
                // The message of these errors never includes a secret.
                Err(e) => {
                    return Err(config_err(format!(
                        "the Docker config's entry for `{server}` cannot be used: {e}"
                    )));
                }
            }
        }
        Ok(Credentials::anonymous())
    }

    /// The secrets, to scrub from any text kept.
    fn secrets(&self) -> Vec<&str> {
        match &self.auth {
            RegistryAuth::Anonymous => Vec::new(),
            RegistryAuth::Basic(_, password) => vec![password.as_str()],
            RegistryAuth::Bearer(token) => vec![token.as_str()],
        }
    }
}

/// A connection to one registry.
pub struct Remote {
    registry: String,
    client: Client,
    credentials: Credentials,
    /// Taken only by `Drop`.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime
        // (the CLI's): shut it down without waiting instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("registry", &self.registry)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// Installs rustls' ring provider as the process default, once (reqwest
/// is built without a provider of its own).
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider is already installed: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Remote {
    /// A connection to `registry` (`host[:port]`), over plain HTTP only if
    /// `insecure`.
    pub fn new(
        registry: &str,
        insecure: bool,
        credentials: Credentials,
    ) -> Result<Remote, OciError> {
        install_crypto_provider();
        let fail = |reason: String| OciError::Registry {
            registry: registry.to_string(),
            operation: "setting up the client".into(),
            reason,
        };
        let config = ClientConfig {
            protocol: if insecure {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            // An image index is refused, never resolved to a platform.
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            use_monolithic_push: true,
            max_concurrent_upload: 4,
            max_concurrent_download: 4,
            user_agent: concat!("warden/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).map_err(|e| fail(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot start the I/O runtime: {e}")))?;
        Ok(Remote {
            registry: registry.to_string(),
            client,
            credentials,
            runtime: Some(runtime),
        })
    }

    /// The registry, `host[:port]`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// A reference to `repository:tag` on this registry.
    pub fn tag_ref(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(
            self.registry.clone(),
            repository.to_string(),
            tag.to_string(),
        )
    }

    /// A reference to `repository@digest` on this registry.
    pub fn digest_ref(&self, repository: &str, digest: &Digest) -> Reference {
        Reference::with_digest(
            self.registry.clone(),
            repository.to_string(),
            digest.to_string(),
        )
    }

    /// Runs `future` to completion on this remote's runtime, from a helper
    /// thread (so a caller inside another runtime does not block it).
    fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the runtime lives until the remote is dropped");
        std::thread::scope(
            |scope| match scope.spawn(|| runtime.block_on(future)).join() {
                Ok(output) => output,
                Err(panic) => std::panic::resume_unwind(panic),
            },
        )
    }

    /// An error of `operation`, with any credential scrubbed from it.
    fn error(&self, operation: String, e: &OciDistributionError) -> OciError {
        OciError::Registry {
            registry: self.registry.clone(),
            operation,
            reason: redact(&error_chain(e), &self.credentials.secrets()),
        }
    }

    /// Every tag of `repository` (empty if the repository does not exist),
    /// at most [`MAX_TAGS`].
    pub fn list_tags(&self, repository: &str) -> Result<Vec<String>, OciError> {
        let reference = self.tag_ref(repository, "latest");
        let operation = || format!("listing the tags of {repository}");
        self.run(async {
            let mut tags: Vec<String> = Vec::new();
            loop {
                let last = tags.last().cloned();
                let page = match self
                    .client
                    .list_tags(
                        &reference,
                        &self.credentials.auth,
                        Some(TAGS_PER_PAGE),
                        last.as_deref(),
                    )
                    .await
                {
                    Ok(page) => page,
                    Err(e) if is_not_found(&e) => return Ok(Vec::new()),
                    Err(e) => return Err(self.error(operation(), &e)),
                };
                let count = page.tags.len();
                tags.extend(page.tags);
                if tags.len() > MAX_TAGS {
                    return Err(OciError::TooLarge {
                        reference: format!("{}/{repository}", self.registry),
                        what: "tag list (in tags)".into(),
                        size: tags.len() as u64,
                        limit: MAX_TAGS as u64,
                    });
                }
                // A page shorter than asked for is the last; so is one
                // that does not move past the previous page.
                if count < TAGS_PER_PAGE || tags.last() == last.as_ref() {
                    break;
                }
            }
            Ok(tags)
        })
    }

    /// The manifest `reference` names: its bytes (at most
    /// [`MAX_MANIFEST_BYTES`]) and their digest, checked against the
    /// reference's digest when it has one. `Ok(None)` if there is none.
    pub fn pull_manifest(
        &self,
        reference: &Reference,
    ) -> Result<Option<(Vec<u8>, Digest)>, OciError> {
        let shown = reference.whole();
        let result = self.run(self.client.pull_manifest_raw(
            reference,
            &self.credentials.auth,
            &[OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE],
        ));
        let bytes = match result {
            Ok((bytes, _)) => bytes,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(OciDistributionError::DigestError(e)) => {
                return Err(OciError::Refused {
                    reference: shown,
                    reason: format!(
                        "the registry served a manifest that does not match its digest ({e})"
                    ),
                });
            }
            Err(e) => return Err(self.error(format!("fetching the manifest {shown}"), &e)),
        };
        // `oci-client` reads the whole body; refuse an oversized one all
        // the same, before it is parsed.
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(OciError::TooLarge {
                reference: shown,
                what: "manifest".into(),
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let actual = Digest::of(&bytes);
        if let Some(expected) = reference.digest() {
            let expected: Digest = expected.parse().map_err(|_| OciError::InvalidReference {
                reference: shown.clone(),
                reason: "only sha256 digests are supported".into(),
            })?;
            if expected != actual {
                return Err(OciError::DigestMismatch {
                    reference: shown,
                    what: "manifest".into(),
                    expected,
                    actual,
                });
            }
        }
        Ok(Some((bytes.to_vec(), actual)))
    }

    /// The bytes of `blob` in `reference`'s repository, refused if the
    /// registry announces or sends more than `blob.size` bytes (reading
    /// stops there), sends fewer, or sends bytes with another digest.
    pub fn pull_blob(
        &self,
        reference: &Reference,
        blob: &Blob,
        what: &str,
    ) -> Result<Vec<u8>, OciError> {
        let shown = reference.whole();
        // Only the digest, size and media type: never the manifest's
        // `urls`, which would send the download elsewhere.
        let descriptor = OciDescriptor {
            media_type: blob.media_type.clone(),
            digest: blob.digest.to_string(),
            size: i64::try_from(blob.size).unwrap_or(i64::MAX),
            ..OciDescriptor::default()
        };
        let too_large = |size: u64| OciError::TooLarge {
            reference: shown.clone(),
            what: what.to_string(),
            size,
            limit: blob.size,
        };
        self.run(async {
            let mut stream = match self.client.pull_blob_stream(reference, &descriptor).await {
                Ok(stream) => stream,
                Err(e) => {
                    return Err(self.error(format!("fetching the {what} of {shown}"), &e));
                }
            };
            if let Some(announced) = stream.content_length
                && announced > blob.size
            {
                return Err(too_large(announced));
            }
            let capacity = usize::try_from(blob.size).unwrap_or(0);
            let mut bytes = Vec::with_capacity(capacity);
            let mut failure = None;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => {
                        if (bytes.len() + chunk.len()) as u64 > blob.size {
                            return Err(too_large((bytes.len() + chunk.len()) as u64));
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            if (bytes.len() as u64) < blob.size {
                let detail = failure
                    .map(|e| format!(" ({})", redact(&e.to_string(), &self.credentials.secrets())))
                    .unwrap_or_default();
                return Err(OciError::Truncated {
                    reference: shown.clone(),
                    what: what.to_string(),
                    expected: blob.size,
                    actual: bytes.len() as u64,
                    detail,
                });
            }
            let actual = Digest::of(&bytes);
            if actual != blob.digest {
                return Err(OciError::DigestMismatch {
                    reference: shown.clone(),
                    what: what.to_string(),
                    expected: blob.digest,
                    actual,
                });
            }
            if let Some(e) = failure {
                return Err(OciError::Registry {
                    registry: self.registry.clone(),
                    operation: format!("fetching the {what} of {shown}"),
                    reason: redact(&e.to_string(), &self.credentials.secrets()),
                });
            }
            Ok(bytes)
        })
    }

    /// Uploads `bytes` as a blob of `reference`'s repository, unless the
    /// registry already has it.
    pub fn push_blob(&self, reference: &Reference, bytes: &[u8]) -> Result<(), OciError> {
        let digest = Digest::of(bytes).to_string();
        let shown = reference.whole();
        self.run(async {
            let exists = self
                .client
                .blob_exists(reference, &digest)
                .await
                .unwrap_or(false);
            if !exists {
                self.client
                    .push_blob(reference, bytes.to_vec(), &digest)
                    .await
                    .map_err(|e| self.error(format!("uploading {digest} to {shown}"), &e))?;
            }
            Ok(())
        })
    }

    /// Uploads `manifest` (an OCI image manifest) as `reference`.
    pub fn push_manifest(&self, reference: &Reference, manifest: &[u8]) -> Result<(), OciError> {
        let shown = reference.whole();
        self.run(async {
            // Authenticates for pushing first (the manifest PUT alone may
            // not trigger the token exchange).
            self.client
                .store_auth_if_needed(reference.resolve_registry(), &self.credentials.auth)
                .await;
            self.client
                .push_manifest_raw(
                    reference,
                    manifest.to_vec(),
                    http::HeaderValue::from_static(OCI_MANIFEST_MEDIA_TYPE),
                )
                .await
                .map(|_| ())
                .map_err(|e| self.error(format!("uploading the manifest {shown}"), &e))
        })
    }

    /// Authenticates for pushing to `reference`'s repository.
    pub fn auth_push(&self, reference: &Reference) -> Result<(), OciError> {
        self.run(async {
            self.client
                .auth(
                    reference,
                    &self.credentials.auth,
                    oci_client::RegistryOperation::Push,
                )
                .await
                .map(|_| ())
                .map_err(|e| {
                    self.error(format!("authenticating to push {}", reference.whole()), &e)
                })
        })
    }
}

/// Whether the registry said the repository, tag or manifest does not exist.
fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::NameUnknown | OciErrorCode::ManifestUnknown | OciErrorCode::NotFound
            )
        }),
        OciDistributionError::ServerError { code: 404, .. } => true,
        _ => false,
    }
}

/// An error and its causes, one line.
fn error_chain(e: &OciDistributionError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
