//! Error types of the registry. Each message says what failed and why.

pub use warden_audit::AuditError;
use warden_core::error::location;
pub use warden_core::error::{DigestError, KeyError, NameError};
pub use warden_policy::PolicyError;

/// The trust store could not be read or refused a key.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The publisher key is not trusted for any namespace.
    #[error(
        "`{package}` is signed by {key}, which is not trusted for namespace `{namespace}`; \
         if you trust this publisher, run `warden trust add {namespace} {key}`"
    )]
    Untrusted {
        /// The package.
        package: String,
        /// The signing key.
        key: String,
        /// The package's namespace.
        namespace: String,
    },
    /// The key is trusted, but for other namespaces.
    #[error(
        "`{package}` is signed by {key}, which is trusted only for {} — not for `{namespace}`",
        trusted_for.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    )]
    WrongNamespace {
        /// The package.
        package: String,
        /// The signing key.
        key: String,
        /// The package's namespace.
        namespace: String,
        /// Where the key is trusted.
        trusted_for: Vec<String>,
    },
    /// Not a valid namespace.
    #[error("invalid namespace `{namespace}`: {reason}")]
    InvalidNamespace {
        /// The namespace as given.
        namespace: String,
        /// Why.
        reason: String,
    },
    /// The trust file could not be read or written.
    #[error("cannot access the trust store {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The trust file is not valid TOML of the expected shape.
    #[error("the trust store {} is malformed: {reason}", path.display())]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A package source (a registry folder, a package file) could not list or
/// serve a package.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file of the source could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of the source could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The index is not valid JSON of the expected shape.
    #[error("the package index {} is malformed: {reason}", path.display())]
    MalformedIndex {
        /// The index file.
        path: std::path::PathBuf,
        /// What is wrong (with line and column when known).
        reason: String,
    },
    /// The index has a format version this build does not understand.
    #[error(
        "the package index {} has format version {found}, but this warden reads only version 1; \
         upgrade warden to use this registry",
        path.display()
    )]
    UnsupportedIndexVersion {
        /// The index file.
        path: std::path::PathBuf,
        /// The version it declares.
        found: u64,
    },
    /// An index entry names a file outside the registry folder.
    #[error(
        "the index entry for `{package}` names the file `{file}`, which is not a plain file name \
         inside the registry folder: {reason}"
    )]
    UnsafeFileName {
        /// The package, as `name@version`.
        package: String,
        /// The file name as given.
        file: String,
        /// Why it is refused.
        reason: String,
    },
    /// The same package version is listed twice.
    #[error("the package index lists `{package}` more than once")]
    DuplicateEntry {
        /// The package, as `name@version`.
        package: String,
    },
    /// The package file is not a regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: std::path::PathBuf,
    },
    /// The package file exceeds the size limit.
    #[error(
        "{} is too large: at least {size} bytes, but the limit is {max_bytes} bytes",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: std::path::PathBuf,
        /// Its size (or a lower bound, if it grew while being read).
        size: u64,
        /// The limit.
        max_bytes: u64,
    },
    /// The package file's size differs from the index.
    #[error("{} has {actual} bytes, but the index says {expected}", path.display())]
    SizeMismatch {
        /// The file.
        path: std::path::PathBuf,
        /// The size in the index.
        expected: u64,
        /// The size on disk.
        actual: u64,
    },
    /// The package file's bytes are not the ones the index names.
    #[error(
        "{} does not match its index entry: expected digest {expected}, but the file has {actual}; \
         the file was changed or corrupted after it was indexed",
        path.display()
    )]
    DigestMismatch {
        /// The file.
        path: std::path::PathBuf,
        /// The digest in the index.
        expected: crate::digest::Digest,
        /// The digest of the bytes read.
        actual: crate::digest::Digest,
    },
    /// The source was asked for a package it does not serve.
    #[error("{origin} does not provide `{package}` ({digest})")]
    UnknownEntry {
        /// The package, as `name@version`.
        package: String,
        /// The digest asked for.
        digest: crate::digest::Digest,
        /// The source (its `describe()`).
        origin: String,
    },
    /// An OCI registry source failed, or served something refused.
    #[error(transparent)]
    Oci(Box<crate::oci::OciError>),
}

/// Formats versions for a message: ascending, at most the 12 highest.
fn version_list(versions: &[semver::Version]) -> String {
    if versions.is_empty() {
        return "none".to_string();
    }
    let mut sorted: Vec<&semver::Version> = versions.iter().collect();
    sorted.sort();
    sorted.dedup();
    let skip = sorted.len().saturating_sub(12);
    let shown: Vec<String> = sorted[skip..].iter().map(|v| v.to_string()).collect();
    if skip > 0 {
        format!("{} (and {skip} lower)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// A hint when only pre-releases would have matched.
fn prerelease_hint(versions: &[semver::Version]) -> &'static str {
    if versions.iter().any(|v| !v.pre.is_empty()) {
        " (a pre-release is picked only by a requirement that names one, e.g. `=2.0.0-beta.1`)"
    } else {
        ""
    }
}

/// Formats `(requirement, requested by)` pairs for a message.
fn requirement_list(reqs: &[(semver::VersionReq, String)]) -> String {
    reqs.iter()
        .map(|(req, by)| format!("`{req}` (required by {by})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Dependency resolution found no consistent set of versions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No source has the package at all.
    #[error("no package `{name}` in {searched}, required by {}", requested_by.join(", "))]
    NotFound {
        /// The package.
        name: crate::name::PackageName,
        /// Who asked for it.
        requested_by: Vec<String>,
        /// Where it was looked for.
        searched: String,
    },
    /// No version satisfies one requirement on its own.
    #[error(
        "no version of `{name}` matches `{req}` (required by {requested_by}); available: {}{}",
        version_list(available),
        prerelease_hint(available)
    )]
    NoMatch {
        /// The package.
        name: crate::name::PackageName,
        /// The requirement.
        req: semver::VersionReq,
        /// Who asked for it.
        requested_by: String,
        /// The versions the sources have, ascending.
        available: Box<[semver::Version]>,
    },
    /// Two requirements on one package admit no common version.
    #[error(
        "conflicting requirements on `{name}`: `{}` (required by {}) and `{}` (required by {})",
        first.0, first.1, second.0, second.1
    )]
    Conflict {
        /// The package.
        name: crate::name::PackageName,
        /// One requirement and who asked for it (boxed, like `second`,
        /// to keep the error small).
        first: Box<(semver::VersionReq, String)>,
        /// Another, incompatible with `first`, and who asked for it.
        second: Box<(semver::VersionReq, String)>,
    },
    /// Every two requirements on a package are compatible, but not all
    /// of them together.
    #[error(
        "no version of `{name}` satisfies all of {} at once; available: {}",
        requirement_list(requirements),
        version_list(available)
    )]
    Unsatisfiable {
        /// The package.
        name: crate::name::PackageName,
        /// The requirements and who asked for each.
        requirements: Vec<(semver::VersionReq, String)>,
        /// The versions the sources have, ascending.
        available: Box<[semver::Version]>,
    },
    /// The lockfile pins a version whose bytes have changed since.
    #[error(
        "`{name}@{version}` is locked to {locked}, but the sources now offer {found} for that \
         version: the package was changed after it was locked; if the change is expected, remove \
         `{name}` from warden.lock and resolve again"
    )]
    LockMismatch {
        /// The package.
        name: crate::name::PackageName,
        /// The locked version.
        version: semver::Version,
        /// The digest in the lockfile (boxed, like `found`, to keep the
        /// error small).
        locked: Box<crate::digest::Digest>,
        /// The digest the sources have.
        found: Box<crate::digest::Digest>,
    },
    /// The sources offer one version with different contents.
    #[error(
        "the sources offer `{name}@{version}` with different contents ({}); refusing to guess \
         which is genuine",
        digests.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        /// The package.
        name: crate::name::PackageName,
        /// The version.
        version: semver::Version,
        /// The digests on offer.
        digests: Vec<crate::digest::Digest>,
    },
    /// Resolution did not settle within its step budget.
    #[error(
        "gave up resolving after {steps} steps: the choice for `{name}` kept changing ({repicks} \
         times), so these requirements likely admit no solution this resolver can find; pin the \
         versions involved explicitly"
    )]
    TooComplex {
        /// Steps taken.
        steps: usize,
        /// The package re-picked most often.
        name: crate::name::PackageName,
        /// How often it was re-picked.
        repicks: usize,
    },
}

/// `warden.lock` could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    /// The lockfile exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The lockfile could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The lockfile is not valid TOML of the expected shape.
    #[error("{}:{line}: malformed lockfile: {reason}", path.display())]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// The 1-based line of the problem.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The lockfile has a format version this build does not understand.
    #[error(
        "{} has lockfile format version {found}, but this warden reads only version 1; upgrade \
         warden, or delete the lockfile to resolve afresh",
        path.display()
    )]
    UnsupportedVersion {
        /// The file.
        path: std::path::PathBuf,
        /// The version it declares.
        found: i64,
    },
}

/// A `warden.toml` that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Bad syntax, an unknown or missing field, a bad value, or fields
    /// that contradict each other.
    #[error("invalid warden.toml{}: {reason}", location(line, column))]
    Invalid {
        /// The 1-based line of the problem, when known.
        line: Option<usize>,
        /// The 1-based column of the problem, when known.
        column: Option<usize>,
        /// What is wrong, naming the field.
        reason: String,
    },
}

/// A package signature that is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `signature.json` is not a valid signature file.
    #[error("signature.json is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The component is not the one that was signed.
    #[error(
        "signature check failed for {package}: component.wasm is not the signed component \
         (signed {signed}, found {found}); it was changed after signing"
    )]
    ComponentChanged {
        /// `name@version`.
        package: String,
        /// The digest the signature file records.
        signed: crate::digest::Digest,
        /// The digest of the component in the package.
        found: crate::digest::Digest,
    },
    /// The manifest is not the one that was signed.
    #[error(
        "signature check failed for {package}: warden.toml is not the signed manifest \
         (signed {signed}, found {found}); it was changed after signing"
    )]
    ManifestChanged {
        /// `name@version`.
        package: String,
        /// The digest the signature file records.
        signed: crate::digest::Digest,
        /// The digest of the manifest in the package.
        found: crate::digest::Digest,
    },
    /// The signature bytes do not verify under the named key.
    #[error(
        "signature check failed for {package}: the signature is not a valid signature by {key} \
         over this package; signature.json was changed, or made with a different key than the \
         one it names"
    )]
    Invalid {
        /// `name@version`.
        package: String,
        /// The key the signature file names.
        key: String,
    },
}

/// A component whose real imports or exports do not match its manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// A core WebAssembly module, not a component.
    #[error(
        "component.wasm of {package} is a core WebAssembly module, not a component; build it \
         for the wasm32-wasip2 target (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule {
        /// `name@version`.
        package: String,
    },
    /// Not WebAssembly, or a component that cannot be decoded.
    #[error("component.wasm of {package} is not a valid WebAssembly component: {reason}")]
    Undecodable {
        /// `name@version`.
        package: String,
        /// The decoder's error.
        reason: String,
    },
    /// An import warden does not provide.
    #[error(
        "{package} imports `{import}`, which warden does not provide: a component may import \
         only WASI (`wasi:*`) and `warden:plugin` interfaces ({allowed})"
    )]
    ForeignImport {
        /// `name@version`.
        package: String,
        /// The import.
        import: String,
        /// The warden interfaces it may import.
        allowed: String,
    },
    /// A `warden:plugin` interface of another version than the world's.
    #[error(
        "{package} uses `{interface}`, but its manifest declares `{world}`; rebuild it against \
         the same version of warden:plugin"
    )]
    WitVersion {
        /// `name@version`.
        package: String,
        /// The interface.
        interface: String,
        /// The manifest's world.
        world: String,
    },
    /// The broker, imported by a component that is not a planner.
    #[error(
        "{package} imports `{import}`, which only planners may import, but its manifest says \
         kind = \"{kind}\""
    )]
    BrokerNotAllowed {
        /// `name@version`.
        package: String,
        /// The import.
        import: String,
        /// The manifest's kind.
        kind: String,
    },
    /// A network import without any host in the manifest.
    #[error(
        "{package} imports `{import}` ({what}), but its manifest declares no network hosts; \
         add the hosts it connects to under [capabilities] `hosts`, e.g. \
         hosts = [\"api.example.com:443\"]"
    )]
    UndeclaredNetwork {
        /// `name@version`.
        package: String,
        /// The import.
        import: String,
        /// What the import does.
        what: String,
    },
    /// The component does not export its kind's interface.
    #[error(
        "{package} is a {kind} but does not export `{expected}` (it exports: {found}); build it \
         against the `{kind}` world"
    )]
    MissingExport {
        /// `name@version`.
        package: String,
        /// The manifest's kind.
        kind: String,
        /// The interface it must export.
        expected: String,
        /// What it does export.
        found: String,
    },
}

/// A package that cannot be built or read.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The whole archive is over the limit.
    #[error("the package is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An entry's header claims more bytes than allowed (checked before reading it).
    #[error("package entry `{name}` claims {size} bytes, over the limit of {limit} bytes for it")]
    EntryTooLarge {
        /// The entry.
        name: String,
        /// The size its header claims.
        size: u64,
        /// The limit for this entry.
        limit: u64,
    },
    /// More entries than allowed.
    #[error("the package has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// An entry whose path could escape (absolute, `..`) or is not UTF-8.
    #[error("package entry `{path}` is refused: {reason}")]
    UnsafePath {
        /// The path as stored (lossily decoded).
        path: String,
        /// Why.
        reason: String,
    },
    /// An entry that is not a regular file.
    #[error("package entry `{path}` is a {kind}; a package holds only regular files")]
    NotRegular {
        /// The entry.
        path: String,
        /// What it is (symbolic link, hard link, directory, ...).
        kind: String,
    },
    /// An entry that is not part of the format.
    #[error(
        "package entry `{path}` is not part of a warden package (expected exactly warden.toml, \
         component.wasm and signature.json)"
    )]
    UnknownEntry {
        /// The entry.
        path: String,
    },
    /// The same entry twice.
    #[error("package entry `{path}` appears twice")]
    DuplicateEntry {
        /// The entry.
        path: String,
    },
    /// A required entry is missing.
    #[error("the package has no `{path}`")]
    MissingEntry {
        /// The entry.
        path: String,
    },
    /// No `signature.json`.
    #[error(
        "the package is unsigned (it has no signature.json); warden accepts only packages \
         signed by their publisher"
    )]
    Unsigned,
    /// The bytes are not a tar archive, or one this reader refuses.
    #[error("the package is not a valid package archive: {reason}")]
    Archive {
        /// What is wrong.
        reason: String,
    },
    /// The manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The signature is malformed or does not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The component's imports or exports do not match its manifest.
    #[error(transparent)]
    Capability(#[from] CapabilityError),
}

/// The local registry refused a change or found itself damaged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the registry could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of the registry is damaged.
    #[error("{} is corrupt: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Stored bytes no longer match their digest.
    #[error(
        "{what} has changed on disk (expected {expected}, found {actual}); it will not be run. Reinstall it"
    )]
    DigestMismatch {
        /// What was checked.
        what: String,
        /// The recorded digest.
        expected: crate::digest::Digest,
        /// The digest of the bytes found.
        actual: crate::digest::Digest,
    },
    /// The package itself was refused.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The publisher is not trusted for the package's namespace.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The change was made but could not be recorded in the audit log.
    #[error("the audit log could not record the change: {0}")]
    Audit(#[from] AuditError),
    /// A policy file was refused or could not be changed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A lower version than the installed one.
    #[error("refusing to downgrade `{name}` from {installed} to {offered}")]
    Downgrade {
        /// The package.
        name: String,
        /// The installed version.
        installed: String,
        /// The version offered.
        offered: String,
    },
    /// The same version with different contents.
    #[error(
        "`{name}@{version}` is already installed with different contents; a published version must never change"
    )]
    VersionReused {
        /// The package.
        name: String,
        /// The version.
        version: String,
    },
    /// A name that differs from an installed one only by case or separators.
    #[error(
        "refusing `{name}`: it differs from the installed `{installed}` only by case or separators"
    )]
    Confusable {
        /// The name offered.
        name: String,
        /// The installed name it resembles.
        installed: String,
    },
    /// No grant was given and none is recorded.
    #[error("`{package}` was not granted its capabilities")]
    NoGrant {
        /// The package.
        package: String,
    },
    /// The package asks for more than was granted.
    #[error(
        "`{package}` asks for more than was granted: {}",
        extra.join("; ")
    )]
    NeedsGrant {
        /// The package.
        package: String,
        /// Each capability beyond the grant.
        extra: Vec<String>,
    },
    /// Nothing by that name is installed.
    #[error("`{name}` is not installed (see `warden list`)")]
    NotInstalled {
        /// The name.
        name: String,
    },
    /// An installed package was refused when loaded to run (boxed: it
    /// carries keys and digests).
    #[error(transparent)]
    Load(Box<LoadError>),
}

impl From<LoadError> for StoreError {
    fn from(e: LoadError) -> StoreError {
        StoreError::Load(Box::new(e))
    }
}

/// An installed package refused at load ([`crate::store::Registry::load`]):
/// its signed package file does not agree with its `index.json` entry, no
/// longer verifies, or its signer is not trusted any more. `package` is
/// always the entry that was asked for, as `name@version`.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The package file the index points at cannot be read.
    #[error("refusing to load `{package}`: its package file {} cannot be read: {source}; reinstall it", path.display())]
    Unreadable {
        /// The package asked for.
        package: String,
        /// The package file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The package file's bytes do not hash to the digest it is stored
    /// under (and the index records).
    #[error(
        "refusing to load `{package}`: its package file has changed on disk (expected {expected}, \
         found {actual}); reinstall it"
    )]
    PackageFileChanged {
        /// The package asked for.
        package: String,
        /// The digest the index records.
        expected: crate::digest::Digest,
        /// The digest of the bytes found.
        actual: crate::digest::Digest,
    },
    /// The package file no longer verifies (archive, manifest, signature or
    /// capabilities).
    #[error("refusing to load `{package}`: its package file does not verify: {source}")]
    Invalid {
        /// The package asked for.
        package: String,
        /// Why it does not verify.
        source: crate::error::PackageError,
    },
    /// The signed manifest names another package or version than the index
    /// entry: the entry points at someone else's package.
    #[error(
        "refusing to load `{package}`: the index entry points at a package signed as `{signed}`, \
         not `{package}`; index.json has been tampered with"
    )]
    NameMismatch {
        /// The package asked for (the index entry's name and version).
        package: String,
        /// The name and version the package file is signed as.
        signed: String,
    },
    /// The index records another kind than the signed manifest.
    #[error(
        "refusing to load `{package}`: the index says it is a {indexed}, its signed manifest a \
         {signed}; index.json has been tampered with"
    )]
    KindMismatch {
        /// The package asked for.
        package: String,
        /// The kind the index records.
        indexed: String,
        /// The kind in the signed manifest.
        signed: String,
    },
    /// The index records other component bytes than the signature covers.
    #[error(
        "refusing to load `{package}`: the index records component {indexed}, but its signature \
         covers component {signed}; index.json has been tampered with"
    )]
    ComponentMismatch {
        /// The package asked for.
        package: String,
        /// The component digest the index records.
        indexed: crate::digest::Digest,
        /// The component digest in the signed statement.
        signed: crate::digest::Digest,
    },
    /// The index records another publisher than the key that signed.
    #[error(
        "refusing to load `{package}`: the index says it was signed by {indexed}, but it is \
         signed by {signed}; index.json has been tampered with"
    )]
    PublisherMismatch {
        /// The package asked for.
        package: String,
        /// The publisher the index records.
        indexed: crate::keys::PublicKey,
        /// The key that made the signature.
        signed: crate::keys::PublicKey,
    },
    /// The key that signed the package is not trusted (any more) for its
    /// namespace in the trust store as it is now.
    #[error(
        "refusing to load `{package}`: it is signed by {key}, which is not trusted for namespace \
         `{namespace}` any more{}",
        if trusted_for.is_empty() {
            String::new()
        } else {
            format!(
                " (it is trusted only for {})",
                trusted_for.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            )
        }
    )]
    Untrusted {
        /// The package asked for.
        package: String,
        /// The key that signed it.
        key: crate::keys::PublicKey,
        /// The package's namespace.
        namespace: String,
        /// Other namespaces the key is still trusted for.
        trusted_for: Vec<String>,
    },
}

impl LoadError {
    /// The package (`name@version`) that was refused.
    pub fn package(&self) -> &str {
        match self {
            LoadError::Unreadable { package, .. }
            | LoadError::PackageFileChanged { package, .. }
            | LoadError::Invalid { package, .. }
            | LoadError::NameMismatch { package, .. }
            | LoadError::KindMismatch { package, .. }
            | LoadError::ComponentMismatch { package, .. }
            | LoadError::PublisherMismatch { package, .. }
            | LoadError::Untrusted { package, .. } => package,
        }
    }
}

impl StoreError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
