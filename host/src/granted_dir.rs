//! Opening a granted directory for one call without following a symbolic
//! link out of the grant.
//!
//! A [`DirGrant`](crate::grant::DirGrant)'s host path is canonical when the
//! grant is made (symbolic links resolved then). Between that moment and a
//! call, the directory, or any directory above it, could be replaced by a
//! symbolic link to somewhere else; opening the path as it is then would
//! hand the guest whatever the link points to. So each call's preopen is
//! the directory opened with `openat2(RESOLVE_NO_SYMLINKS)`: the kernel
//! refuses the open if any component of the path is a symbolic link, in one
//! system call and with no window between a check and the open. That very
//! descriptor becomes the guest's preopen (`crate::guard::fs`), so nothing
//! names the path again. (This replaced a `canonicalize` per call, which cost
//! a `readlink` per path component, and then a reopen through
//! `/proc/self/fd/N`.)
//!
//! Where `openat2` is not available (Linux before 5.6, a seccomp filter
//! that refuses it, another system), the path is canonicalised and must be
//! unchanged: a symbolic link on the way is still refused, with a short
//! window between the check and the open.

use std::io;
use std::path::Path;

/// Why a granted directory was not opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PinError {
    /// A component of the path is now a symbolic link (the directory or
    /// one above it was replaced after the grant was made).
    #[error("a symbolic link is now in its path (it was replaced after it was granted)")]
    Symlink,
    /// The directory cannot be opened.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// How a directory is opened: only to name it (`O_PATH` where the system
/// has it, as wasmtime-wasi's own preopens are), and only a directory.
#[cfg(target_os = "linux")]
fn dir_flags() -> rustix::fs::OFlags {
    use rustix::fs::OFlags;
    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC
}

#[cfg(not(target_os = "linux"))]
fn dir_flags() -> rustix::fs::OFlags {
    use rustix::fs::OFlags;
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// Opens granted directory `host` (canonical when granted) for one call,
/// refusing a path that now goes through a symbolic link. The descriptor
/// is what the guest's preopen uses.
pub(crate) fn pin(host: &Path) -> Result<std::fs::File, PinError> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, Mode, ResolveFlags, openat2};
        match openat2(
            CWD,
            host,
            dir_flags(),
            Mode::empty(),
            ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => return Ok(std::fs::File::from(fd)),
            Err(rustix::io::Errno::LOOP) => return Err(PinError::Symlink),
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {}
            Err(e) => return Err(PinError::Io(e.into())),
        }
    }
    let canonical = host.canonicalize()?;
    if canonical != host {
        return Err(PinError::Symlink);
    }
    let fd = rustix::fs::open(&canonical, dir_flags(), rustix::fs::Mode::empty())
        .map_err(io::Error::from)?;
    Ok(std::fs::File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_directory_is_opened_and_named_by_its_descriptor() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().canonicalize().expect("canonical");
        std::fs::write(dir.join("f"), "x").expect("write");
        let pinned = pin(&dir).expect("a real directory opens");
        let f = rustix::fs::openat(
            &pinned,
            "f",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .expect("open through the pinned descriptor");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(f), &mut text).expect("read");
        assert_eq!(text, "x");
    }

    #[test]
    fn a_directory_replaced_by_a_symlink_is_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().canonicalize().expect("canonical");
        let granted = root.join("granted");
        let elsewhere = root.join("elsewhere");
        std::fs::create_dir(&granted).expect("mkdir");
        std::fs::create_dir(&elsewhere).expect("mkdir");
        // The granted directory itself becomes a link.
        std::fs::remove_dir(&granted).expect("rmdir");
        std::os::unix::fs::symlink(&elsewhere, &granted).expect("symlink");
        assert!(matches!(pin(&granted), Err(PinError::Symlink)));
    }

    #[test]
    fn a_parent_replaced_by_a_symlink_is_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("parent/granted")).expect("mkdir");
        std::fs::create_dir_all(root.join("other/granted")).expect("mkdir");
        std::fs::rename(root.join("parent"), root.join("moved")).expect("rename");
        std::os::unix::fs::symlink(root.join("other"), root.join("parent")).expect("symlink");
        assert!(matches!(
            pin(&root.join("parent/granted")),
            Err(PinError::Symlink)
        ));
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let tmp = tempfile::tempdir().expect("tmp");
        assert!(matches!(
            pin(&tmp.path().join("missing")),
            Err(PinError::Io(_))
        ));
    }
}
