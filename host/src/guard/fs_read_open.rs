//! The usual `open-at` — an existing file, opened for reading, symbolic
//! links followed inside the grant — checked and opened with five system
//! calls, and with no window in which a FIFO could block the host.
//!
//! The guard's rule (`guard::fs`) is that special files are never opened.
//! The general path keeps it by `stat`ing the path through the grant
//! before wasmtime-wasi opens it; each step goes through cap-std, and a
//! FIFO swapped in between the two would still be opened (and block). This
//! path, for the open a file read makes:
//!
//! 1. opens the path with `O_PATH` through the parent directory's own
//!    descriptor, confined by the kernel (`openat2` with
//!    `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, as cap-std does): an
//!    `O_PATH` open reaches no driver and never blocks;
//! 2. reads its type from that descriptor; anything but a regular file
//!    goes no further (a special file is refused by the caller; a
//!    directory takes the general path);
//! 3. opens the same path for reading, confined the same way, with
//!    `O_NONBLOCK` so that even a FIFO put there since step 1 cannot block
//!    the open, and checks the type of what it opened once more.
//!
//! Anything unusual (an error at any step, a kernel without `openat2`, a
//! directory) falls back to the general path, which then produces the
//! answer and its error exactly as before. The descriptor handed to the
//! guest is wasmtime-wasi's own `File`, with the parent's permissions and
//! the read-only open mode wasmtime-wasi gives such an open. `O_NONBLOCK`
//! has no effect on a regular file.

use wasmtime_wasi::filesystem::{Descriptor, Dir, File};
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, DescriptorType, OpenFlags, PathFlags,
};

/// What [`open_for_reading`] did.
pub(super) enum ReadOpen {
    /// The file, opened for reading: the guest's new descriptor.
    Opened(Descriptor),
    /// The path names a special file (of this type); nothing was opened.
    Special(DescriptorType),
    /// Not an open this path handles, or something unusual happened: take
    /// the general path.
    General,
}

/// Opens `path` under `parent` for reading if the call is the usual read
/// open (module docs); `allow_blocking` is the store's setting for file
/// operations on the calling thread.
pub(super) fn open_for_reading(
    parent: &Dir,
    path: &str,
    path_flags: PathFlags,
    oflags: OpenFlags,
    flags: DescriptorFlags,
    allow_blocking: bool,
) -> ReadOpen {
    let usual = path_flags.contains(PathFlags::SYMLINK_FOLLOW)
        && oflags == OpenFlags::empty()
        && DescriptorFlags::READ.contains(flags);
    if !usual {
        return ReadOpen::General;
    }
    imp::open(parent, path, allow_blocking)
}

#[cfg(target_os = "linux")]
mod imp {
    use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, fstat, openat2};
    use wasmtime_wasi::OpenMode;

    use super::*;

    /// The kernel confines the resolution as cap-std does.
    const CONFINED: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

    pub(super) fn open(parent: &Dir, path: &str, allow_blocking: bool) -> ReadOpen {
        // 1. Named, not opened.
        let Ok(named) = openat2(
            &*parent.dir,
            path,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            CONFINED,
        ) else {
            return ReadOpen::General;
        };
        // 2. Only a regular file goes on.
        match kind(&named) {
            Some(FileType::RegularFile) => {}
            Some(other) => return special(other),
            None => return ReadOpen::General,
        }
        drop(named);
        // 3. Opened for reading; a FIFO swapped in since cannot block.
        let Ok(opened) = openat2(
            &*parent.dir,
            path,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::empty(),
            CONFINED,
        ) else {
            return ReadOpen::General;
        };
        match kind(&opened) {
            Some(FileType::RegularFile) => ReadOpen::Opened(Descriptor::File(File::new(
                std::fs::File::from(opened),
                parent.perms,
                OpenMode::READ,
                allow_blocking,
            ))),
            Some(other) => special(other),
            None => ReadOpen::General,
        }
    }

    fn kind(fd: &rustix::fd::OwnedFd) -> Option<FileType> {
        fstat(fd).ok().map(|s| FileType::from_raw_mode(s.st_mode))
    }

    /// A special file is refused; a directory or anything else takes the
    /// general path.
    fn special(t: FileType) -> ReadOpen {
        match t {
            FileType::Fifo => ReadOpen::Special(DescriptorType::Fifo),
            FileType::Socket => ReadOpen::Special(DescriptorType::Socket),
            FileType::CharacterDevice => ReadOpen::Special(DescriptorType::CharacterDevice),
            FileType::BlockDevice => ReadOpen::Special(DescriptorType::BlockDevice),
            _ => ReadOpen::General,
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub(super) fn open(_parent: &Dir, _path: &str, _allow_blocking: bool) -> ReadOpen {
        ReadOpen::General
    }
}

#[cfg(all(test, target_os = "linux"))]
#[allow(clippy::panic)]
mod tests {
    use std::io::Read;

    use wasmtime_wasi::{FsPerms, OpenMode};

    use super::*;

    fn grant(dir: &std::path::Path) -> Dir {
        let pinned = std::fs::File::open(dir).expect("open the directory");
        Dir::new(pinned, FsPerms::ReadOnly, OpenMode::READ, true)
    }

    fn read_open(dir: &Dir, path: &str) -> ReadOpen {
        open_for_reading(
            dir,
            path,
            PathFlags::SYMLINK_FOLLOW,
            OpenFlags::empty(),
            DescriptorFlags::READ,
            true,
        )
    }

    #[test]
    fn a_regular_file_is_opened_for_reading_with_the_grants_permissions() {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(tmp.path().join("sub")).expect("mkdir");
        std::fs::write(tmp.path().join("sub/f.txt"), "inside").expect("write");
        std::os::unix::fs::symlink("sub/f.txt", tmp.path().join("link")).expect("symlink");
        let dir = grant(tmp.path());
        for path in ["sub/f.txt", "link"] {
            let ReadOpen::Opened(Descriptor::File(file)) = read_open(&dir, path) else {
                panic!("{path}: not opened as a file");
            };
            assert_eq!(file.perms, FsPerms::ReadOnly);
            assert_eq!(file.open_mode, OpenMode::READ);
            let mut text = String::new();
            (&*file.file).read_to_string(&mut text).expect("read");
            assert_eq!(text, "inside", "{path}");
        }
    }

    #[test]
    fn a_fifo_is_refused_without_being_opened() {
        let tmp = tempfile::tempdir().expect("tmp");
        let fifo = tmp.path().join("fifo");
        let mode = rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR;
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, mode).expect("mkfifo");
        // Opening a FIFO with no writer would block this thread forever;
        // the test returning at all shows it was never opened.
        assert!(matches!(
            read_open(&grant(tmp.path()), "fifo"),
            ReadOpen::Special(DescriptorType::Fifo)
        ));
    }

    #[test]
    fn anything_else_takes_the_general_path() {
        let tmp = tempfile::tempdir().expect("tmp");
        let outside = tempfile::tempdir().expect("outside");
        std::fs::write(outside.path().join("secret"), "no").expect("write");
        std::fs::write(tmp.path().join("f.txt"), "x").expect("write");
        std::fs::create_dir(tmp.path().join("sub")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path().join("secret"), tmp.path().join("out"))
            .expect("symlink");
        let dir = grant(tmp.path());
        let general = |r: ReadOpen| matches!(r, ReadOpen::General);
        // Out of the grant (a link, `..`, an absolute path), missing, a
        // directory: the general path decides, with its own errors.
        for path in ["out", "../x", "/etc/hostname", "missing", "sub", ""] {
            assert!(general(read_open(&dir, path)), "{path}");
        }
        // Not the usual read open.
        let f = "f.txt";
        let with = |pf, of, fl| general(open_for_reading(&dir, f, pf, of, fl, true));
        let (follow, none, read) = (
            PathFlags::SYMLINK_FOLLOW,
            OpenFlags::empty(),
            DescriptorFlags::READ,
        );
        assert!(with(PathFlags::empty(), none, read), "no-follow");
        assert!(with(follow, OpenFlags::CREATE, read), "create");
        assert!(with(follow, OpenFlags::TRUNCATE, read), "truncate");
        assert!(with(follow, OpenFlags::DIRECTORY, read), "directory");
        assert!(with(follow, none, read | DescriptorFlags::WRITE), "write");
        assert!(
            with(follow, none, DescriptorFlags::MUTATE_DIRECTORY),
            "mutate"
        );
        assert!(
            with(follow, none, read | DescriptorFlags::DATA_INTEGRITY_SYNC),
            "sync"
        );
        assert!(!with(follow, none, read), "the usual open itself");
    }
}
