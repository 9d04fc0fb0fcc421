//! How warden's filesystem tools (`fs`, `grep`) resolve a path the model gave
//! them against the directories the component was granted.
//!
//! A component sees its grant as WASI *preopened directories*, each with a
//! guest path (e.g. `/repo`) and a mode: read-write when the preopen allows
//! mutating the directory, read-only otherwise. The rules, which the tools
//! also state in their descriptions so the model can follow them:
//!
//! 1. A relative path is relative to the **first** granted directory.
//! 2. `.` and `..` are resolved lexically (without touching the filesystem);
//!    `..` never goes above `/`.
//! 3. The resulting path must be inside a granted directory (the directory
//!    itself or anything below it); otherwise the access is denied and the
//!    error lists the granted directories with their modes.
//! 4. When grants are nested, the innermost (longest) one decides the mode,
//!    exactly as WASI's own path lookup does.
//! 5. A write needs that grant to be read-write.
//!
//! Symlinks are not resolved here: WASI itself refuses to follow a symlink out
//! of a grant, and the tools report that refusal as a denial too.
//!
//! The rules are pure functions over a list of [`Grant`]s, so they are tested
//! on the host; the `wasi` module (only on WASI targets) reads the actual
//! grant and converts errors to [`warden_sdk::ToolError`]s.

use std::fmt;

/// One granted (preopened) directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The directory's guest path, normalised and absolute (e.g. `/repo`).
    pub path: String,
    /// Whether the grant allows creating, changing and removing files.
    pub writable: bool,
}

impl Grant {
    /// A grant of `guest_path` (as the preopen names it: `/repo`, `repo/`,
    /// `.`, ...), normalised to an absolute path.
    pub fn new(guest_path: &str, writable: bool) -> Grant {
        Grant {
            path: normalize(guest_path, "/"),
            writable,
        }
    }

    /// `"read-write"` or `"read-only"`.
    pub fn mode(&self) -> &'static str {
        if self.writable {
            "read-write"
        } else {
            "read-only"
        }
    }

    /// Whether `path` (normalised, absolute) is this directory or below it.
    pub fn contains(&self, path: &str) -> bool {
        if self.path == "/" {
            return path.starts_with('/');
        }
        match path.strip_prefix(self.path.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

/// What the caller wants to do with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read a file or list a directory.
    Read,
    /// Create, change or remove something.
    Write,
}

/// A path that passed the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The normalised absolute guest path, ready for `std::fs`.
    pub path: String,
    /// Index into the grant list of the grant that contains it (the innermost).
    pub grant: usize,
}

impl Resolved {
    /// The path relative to its grant's directory (`grant` is that
    /// directory's normalised path, as in [`Grant::path`]): what to open
    /// through the grant's own descriptor. The directory itself is `.`.
    pub fn relative_to<'a>(&'a self, grant: &str) -> &'a str {
        let rest = self.path.strip_prefix(grant).unwrap_or(&self.path);
        match rest.trim_start_matches('/') {
            "" => ".",
            rest => rest,
        }
    }
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The path is empty.
    Empty,
    /// The path contains a NUL byte.
    Nul,
    /// The component was granted no directory at all.
    NoGrants,
    /// The normalised path is outside every granted directory.
    Outside {
        /// The normalised path.
        resolved: String,
        /// The grants, as [`describe`] lists them.
        granted: String,
    },
    /// A write inside a read-only grant.
    ReadOnly {
        /// The normalised path.
        resolved: String,
        /// The guest path of the read-only grant that contains it.
        grant: String,
    },
}

impl PathError {
    /// Whether this is a refused capability (as opposed to unusable input).
    pub fn is_denial(&self) -> bool {
        !matches!(self, PathError::Empty | PathError::Nul)
    }

    /// The error as a sentence a person (or model) can act on, naming the path
    /// as it was `given`.
    pub fn message(&self, given: &str) -> String {
        match self {
            PathError::Empty => {
                "the path is empty; give a file or directory path (\".\" is the first granted directory)".to_string()
            }
            PathError::Nul => format!("the path {given:?} contains a NUL byte"),
            PathError::NoGrants => {
                "no directory was granted to this tool, so it cannot access any file; ask the user to grant one".to_string()
            }
            PathError::Outside { resolved, granted } => {
                let shown = if resolved == given {
                    format!("`{given}`")
                } else {
                    format!("`{given}` (resolved to `{resolved}`)")
                };
                format!(
                    "{shown} is outside the granted directories ({granted}); use a path inside one of them, or ask the user to grant the directory"
                )
            }
            PathError::ReadOnly { resolved, grant } => format!(
                "`{resolved}` is inside `{grant}`, which is granted read-only; write somewhere granted read-write, or ask the user for a read-write grant of `{grant}`"
            ),
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Outside { resolved, .. } | PathError::ReadOnly { resolved, .. } => {
                f.write_str(&self.message(resolved))
            }
            _ => f.write_str(&self.message("")),
        }
    }
}

impl std::error::Error for PathError {}

/// Lists the grants for a message: `/repo read-only, /out read-write`, or
/// `none` when there is no grant.
pub fn describe(grants: &[Grant]) -> String {
    if grants.is_empty() {
        return "none".to_string();
    }
    grants
        .iter()
        .map(|g| format!("{} {}", g.path, g.mode()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Normalises `path` lexically: a relative path is taken relative to `base`
/// (itself absolute, or taken relative to `/`), empty and `.` components are
/// dropped, `..` removes the previous component (and stays at `/`), and the
/// result is absolute without a trailing slash (except `/` itself).
pub fn normalize(path: &str, base: &str) -> String {
    if is_normal(path) {
        return path.to_string();
    }
    let components: Box<dyn Iterator<Item = &str>> = if path.starts_with('/') {
        Box::new(path.split('/'))
    } else {
        Box::new(base.split('/').chain(path.split('/')))
    };
    let mut parts: Vec<&str> = Vec::new();
    for component in components {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut normalized = String::with_capacity(path.len() + base.len() + 1);
    for part in parts {
        normalized.push('/');
        normalized.push_str(part);
    }
    normalized
}

/// Whether `path` is already what [`normalize`] makes of it: `/`, or
/// absolute with no empty, `.` or `..` component and no trailing slash.
fn is_normal(path: &str) -> bool {
    match path.strip_prefix('/') {
        Some("") => true,
        Some(rest) => rest
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".."),
        None => false,
    }
}

/// Applies the rules: resolves `given` against `grants` for `access`.
pub fn resolve(given: &str, grants: &[Grant], access: Access) -> Result<Resolved, PathError> {
    if given.is_empty() {
        return Err(PathError::Empty);
    }
    if given.contains('\0') {
        return Err(PathError::Nul);
    }
    let first = grants.first().ok_or(PathError::NoGrants)?;
    let resolved = normalize(given, &first.path);
    // The innermost grant wins; among identical paths the later one, as in
    // WASI's (wasi-libc's) own preopen lookup.
    let mut best: Option<usize> = None;
    for (i, grant) in grants.iter().enumerate() {
        if grant.contains(&resolved) {
            let better = match best {
                None => true,
                Some(b) => grant.path.len() >= grants[b].path.len(),
            };
            if better {
                best = Some(i);
            }
        }
    }
    let Some(index) = best else {
        return Err(PathError::Outside {
            resolved,
            granted: describe(grants),
        });
    };
    if access == Access::Write && !grants[index].writable {
        return Err(PathError::ReadOnly {
            resolved,
            grant: grants[index].path.clone(),
        });
    }
    Ok(Resolved {
        path: resolved,
        grant: index,
    })
}

/// The grant as the running component sees it, and errors as `ToolError`s.
#[cfg(target_os = "wasi")]
pub mod wasi_grant {
    use super::{Access, Grant, PathError, describe, resolve};
    use warden_sdk::ToolError;
    use wasi::filesystem::preopens::get_directories;
    use wasi::filesystem::types::{Descriptor, DescriptorFlags, ErrorCode, OpenFlags, PathFlags};

    /// Reads the component's preopened directories, in the host's order.
    /// A preopen whose flags cannot be read counts as read-only.
    pub fn granted() -> Vec<Grant> {
        Preopens::get().grants()
    }

    /// The component's preopened directories, each with the guest path it
    /// is granted as; read once per call and used to open files through the
    /// grant's own descriptor, without the C library's path lookup.
    pub struct Preopens(Vec<(Descriptor, String)>);

    /// A file opened for reading through [`Preopens::open_file`].
    pub struct OpenedFile {
        /// The normalised guest path that was opened.
        pub path: String,
        /// Its descriptor.
        pub file: Descriptor,
    }

    impl Preopens {
        /// Reads the preopened directories, in the host's order.
        pub fn get() -> Preopens {
            Preopens(get_directories())
        }

        /// The grants with their modes (one host call per directory).
        pub fn grants(&self) -> Vec<Grant> {
            self.0
                .iter()
                .map(|(descriptor, guest_path)| {
                    let writable = descriptor
                        .get_flags()
                        .map(|flags| flags.contains(DescriptorFlags::MUTATE_DIRECTORY))
                        .unwrap_or(false);
                    Grant::new(guest_path, writable)
                })
                .collect()
        }

        /// Resolves `given` for reading (the rules of the crate docs) and
        /// opens it through its grant's descriptor, following symlinks only
        /// inside the grant as WASI does. (A directory opens too: reading
        /// it fails, and its `stat` says what it is.) Reading needs no
        /// mode, so the modes are read only to describe the grants in an
        /// error.
        pub fn open_file(&self, given: &str) -> Result<OpenedFile, ToolError> {
            let paths: Vec<Grant> = self
                .0
                .iter()
                .map(|(_, guest_path)| Grant::new(guest_path, false))
                .collect();
            let resolved = match resolve(given, &paths, Access::Read) {
                Ok(resolved) => resolved,
                // The same refusal, described with the grants' modes.
                Err(e) => {
                    return Err(match resolve(given, &self.grants(), Access::Read) {
                        Err(described) => path_error(given, &described),
                        Ok(_) => path_error(given, &e),
                    });
                }
            };
            let (dir, grant) = (&self.0[resolved.grant].0, &paths[resolved.grant].path);
            let io = |code: ErrorCode| io_error(&resolved.path, &io_from(code), &self.grants());
            let file = dir
                .open_at(
                    PathFlags::SYMLINK_FOLLOW,
                    resolved.relative_to(grant),
                    OpenFlags::empty(),
                    DescriptorFlags::READ,
                )
                .map_err(io)?;
            Ok(OpenedFile {
                path: resolved.path,
                file,
            })
        }
    }

    /// `code` as the `std::io::Error` the C library would have made of it,
    /// for [`io_error`].
    pub fn io_from(code: ErrorCode) -> std::io::Error {
        use std::io::ErrorKind as Kind;
        let kind = match code {
            ErrorCode::Access | ErrorCode::NotPermitted => Kind::PermissionDenied,
            ErrorCode::ReadOnly => Kind::ReadOnlyFilesystem,
            ErrorCode::NoEntry => Kind::NotFound,
            ErrorCode::IsDirectory => Kind::IsADirectory,
            ErrorCode::NotDirectory => Kind::NotADirectory,
            ErrorCode::Exist => Kind::AlreadyExists,
            ErrorCode::Interrupted => Kind::Interrupted,
            ErrorCode::InsufficientSpace => Kind::StorageFull,
            ErrorCode::FileTooLarge => Kind::FileTooLarge,
            ErrorCode::WouldBlock => Kind::WouldBlock,
            _ => return std::io::Error::other(code.name()),
        };
        std::io::Error::from(kind)
    }

    /// Converts a [`PathError`] for the path as `given` into a tool error:
    /// `denied` (capability filesystem) for a refused capability,
    /// `invalid-input` for an unusable path.
    pub fn path_error(given: &str, err: &PathError) -> ToolError {
        if err.is_denial() {
            ToolError::denied_fs(given, err.message(given))
        } else {
            ToolError::InvalidInput(err.message(given))
        }
    }

    /// Resolves `given` against the component's grant; see the crate docs.
    pub fn resolve_path(
        given: &str,
        grants: &[Grant],
        access: Access,
    ) -> Result<String, ToolError> {
        resolve(given, grants, access)
            .map(|r| r.path)
            .map_err(|e| path_error(given, &e))
    }

    /// Maps an I/O error on `resource` to a tool error like
    /// [`ToolError::from_io`], with messages that say what to do: a permission
    /// error (how WASI refuses an access its grant does not cover, such as
    /// following a symlink out of a granted directory) is `denied` with a
    /// reason that lists the grants; a missing file is `not-found`; a
    /// directory where a file was expected (or the reverse) is
    /// `invalid-input`; anything else is `failed`.
    pub fn io_error(resource: &str, err: &std::io::Error, grants: &[Grant]) -> ToolError {
        match err.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                ToolError::denied_fs(
                    resource,
                    format!(
                        "the sandbox refused access to `{resource}` ({err}): it leads outside the granted directories ({}), for example through a symlink, or the grant's mode does not allow it; use a path inside a grant, or ask the user to grant the directory",
                        describe(grants)
                    ),
                )
            }
            std::io::ErrorKind::NotFound => ToolError::NotFound(format!(
                "`{resource}` does not exist; check the path (list_dir shows what a directory contains)"
            )),
            std::io::ErrorKind::IsADirectory => ToolError::InvalidInput(format!(
                "`{resource}` is a directory; give the path of a file"
            )),
            std::io::ErrorKind::NotADirectory => ToolError::InvalidInput(format!(
                "a component of `{resource}` is a file, not a directory; check the path"
            )),
            _ => ToolError::from_io(resource, err),
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn grants() -> Vec<Grant> {
        vec![
            Grant::new("/repo", false),
            Grant::new("/out/", true),
            Grant::new("/repo/docs", true),
        ]
    }

    fn ok(given: &str, access: Access) -> (String, usize) {
        match resolve(given, &grants(), access) {
            Ok(r) => (r.path, r.grant),
            Err(e) => panic!("{given}: unexpected error {e:?}"),
        }
    }

    fn err(given: &str, access: Access) -> PathError {
        match resolve(given, &grants(), access) {
            Ok(r) => panic!("{given}: unexpectedly resolved to {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize("a/b", "/repo"), "/repo/a/b");
        assert_eq!(normalize("./a/./b/", "/repo"), "/repo/a/b");
        assert_eq!(normalize("a//b", "/repo"), "/repo/a/b");
        assert_eq!(normalize("a/../b", "/repo"), "/repo/b");
        assert_eq!(normalize("../x", "/repo"), "/x");
        assert_eq!(normalize("/../../etc", "/repo"), "/etc");
        assert_eq!(normalize("/", "/repo"), "/");
        assert_eq!(normalize(".", "/repo"), "/repo");
        assert_eq!(normalize("", "/repo"), "/repo");
        assert_eq!(normalize("/a/b/..", "/repo"), "/a");
        // Already normal: as it is.
        assert_eq!(normalize("/repo/src/main.rs", "/x"), "/repo/src/main.rs");
        assert_eq!(normalize("/repo/.hidden/..x", "/x"), "/repo/.hidden/..x");
        assert_eq!(normalize("/repo/", "/x"), "/repo");
        assert_eq!(normalize("/repo/./a", "/x"), "/repo/a");
        // A relative base is taken relative to `/`.
        assert_eq!(normalize("x", "repo"), "/repo/x");
    }

    #[test]
    fn grant_paths_are_normalised() {
        assert_eq!(Grant::new("/repo/", false).path, "/repo");
        assert_eq!(Grant::new("repo", false).path, "/repo");
        assert_eq!(Grant::new("./repo", false).path, "/repo");
        assert_eq!(Grant::new(".", false).path, "/");
        assert_eq!(Grant::new("", false).path, "/");
    }

    #[test]
    fn a_resolved_path_is_opened_relative_to_its_grant() {
        let relative = |given: &str, grants: &[Grant]| {
            let resolved = resolve(given, grants, Access::Read).unwrap_or_else(|e| panic!("{e:?}"));
            resolved
                .relative_to(&grants[resolved.grant].path)
                .to_string()
        };
        assert_eq!(relative("/repo/src/main.rs", &grants()), "src/main.rs");
        assert_eq!(relative("src/../Cargo.toml", &grants()), "Cargo.toml");
        assert_eq!(relative("/repo", &grants()), ".");
        assert_eq!(relative("/repo/docs/a.md", &grants()), "a.md");
        // A grant of the root: everything below it, without a leading `/`.
        let root = [Grant::new("/", false)];
        assert_eq!(relative("/etc/hosts", &root), "etc/hosts");
        assert_eq!(relative("/", &root), ".");
    }

    #[test]
    fn relative_paths_are_relative_to_the_first_grant() {
        assert_eq!(
            ok("src/main.rs", Access::Read),
            ("/repo/src/main.rs".into(), 0)
        );
        assert_eq!(ok(".", Access::Read), ("/repo".into(), 0));
        assert_eq!(
            ok("./src/../Cargo.toml", Access::Read),
            ("/repo/Cargo.toml".into(), 0)
        );
    }

    #[test]
    fn trailing_slashes_are_ignored() {
        assert_eq!(ok("/repo/", Access::Read), ("/repo".into(), 0));
        assert_eq!(ok("src/", Access::Read), ("/repo/src".into(), 0));
        assert_eq!(ok("/out//", Access::Write), ("/out".into(), 1));
    }

    #[test]
    fn dotdot_cannot_escape() {
        let e = err("../etc/passwd", Access::Read);
        assert_eq!(
            e,
            PathError::Outside {
                resolved: "/etc/passwd".into(),
                granted: "/repo read-only, /out read-write, /repo/docs read-write".into(),
            }
        );
        assert!(e.is_denial());
        let msg = e.message("../etc/passwd");
        assert!(
            msg.contains("`../etc/passwd` (resolved to `/etc/passwd`)"),
            "{msg}"
        );
        assert!(msg.contains("/repo read-only"), "{msg}");
        assert!(msg.contains("ask the user to grant"), "{msg}");
        assert!(!msg.contains("--"), "no CLI flags in a denial: {msg}");
        // Escaping and coming back in is fine: the rules are lexical.
        assert_eq!(ok("../repo/a", Access::Read), ("/repo/a".into(), 0));
        assert_eq!(ok("/repo/../out/x", Access::Write), ("/out/x".into(), 1));
        // Many `..` stop at `/`, which is not granted.
        assert!(matches!(
            err("../../../../", Access::Read),
            PathError::Outside { .. }
        ));
    }

    #[test]
    fn absolute_paths_outside_are_denied() {
        let e = err("/etc/passwd", Access::Read);
        assert!(matches!(&e, PathError::Outside { resolved, .. } if resolved == "/etc/passwd"));
        assert_eq!(
            e.message("/etc/passwd"),
            "`/etc/passwd` is outside the granted directories (/repo read-only, /out read-write, /repo/docs read-write); use a path inside one of them, or ask the user to grant the directory"
        );
        // A shared prefix is not containment.
        assert!(matches!(
            err("/repository/x", Access::Read),
            PathError::Outside { .. }
        ));
        assert!(matches!(
            err("/outside", Access::Read),
            PathError::Outside { .. }
        ));
    }

    #[test]
    fn read_only_grants_refuse_writes() {
        assert_eq!(ok("/repo/src/lib.rs", Access::Read).1, 0);
        let e = err("/repo/src/lib.rs", Access::Write);
        assert_eq!(
            e,
            PathError::ReadOnly {
                resolved: "/repo/src/lib.rs".into(),
                grant: "/repo".into(),
            }
        );
        let msg = e.message("/repo/src/lib.rs");
        assert!(msg.contains("granted read-only"), "{msg}");
        // Relative paths into the read-only first grant too.
        assert!(matches!(
            err("notes.txt", Access::Write),
            PathError::ReadOnly { .. }
        ));
        assert_eq!(
            ok("/out/report.md", Access::Write),
            ("/out/report.md".into(), 1)
        );
    }

    #[test]
    fn nested_grants_use_the_innermost() {
        // /repo/docs is read-write inside the read-only /repo.
        assert_eq!(
            ok("/repo/docs/a.md", Access::Write),
            ("/repo/docs/a.md".into(), 2)
        );
        assert_eq!(
            ok("docs/a.md", Access::Write),
            ("/repo/docs/a.md".into(), 2)
        );
        assert_eq!(ok("/repo/docs", Access::Read), ("/repo/docs".into(), 2));
        // A sibling with the same prefix is still the outer grant.
        assert!(matches!(
            err("/repo/docsx/a.md", Access::Write),
            PathError::ReadOnly { .. }
        ));
        // The reverse nesting: a read-only grant inside a read-write one.
        let g = vec![Grant::new("/w", true), Grant::new("/w/ro", false)];
        assert!(resolve("/w/a", &g, Access::Write).is_ok());
        assert!(matches!(
            resolve("/w/ro/a", &g, Access::Write),
            Err(PathError::ReadOnly { grant, .. }) if grant == "/w/ro"
        ));
        assert!(matches!(
            resolve("ro/../ro/a", &g, Access::Write),
            Err(PathError::ReadOnly { .. })
        ));
    }

    #[test]
    fn root_grant_contains_everything() {
        let g = vec![Grant::new(".", true)];
        assert_eq!(
            resolve("a/b", &g, Access::Write),
            Ok(Resolved {
                path: "/a/b".into(),
                grant: 0
            })
        );
        assert!(resolve("/etc/passwd", &g, Access::Read).is_ok());
        assert!(resolve("../..", &g, Access::Read).is_ok());
    }

    #[test]
    fn no_grants_empty_and_nul() {
        assert_eq!(
            resolve("/repo", &[], Access::Read),
            Err(PathError::NoGrants)
        );
        assert!(PathError::NoGrants.is_denial());
        assert!(
            PathError::NoGrants
                .message("x")
                .contains("no directory was granted")
        );
        assert_eq!(resolve("", &grants(), Access::Read), Err(PathError::Empty));
        assert!(!PathError::Empty.is_denial());
        assert_eq!(
            resolve("a\0b", &grants(), Access::Read),
            Err(PathError::Nul)
        );
        assert!(!PathError::Nul.is_denial());
    }

    #[test]
    fn describe_lists_modes() {
        assert_eq!(describe(&[]), "none");
        assert_eq!(describe(&grants()[..1]), "/repo read-only");
    }
}
