//! `wasi:filesystem` `open-at` and `symlink-at`, guarded.
//!
//! - **Special files are never opened.** `open(2)` on a FIFO with no writer
//!   blocks the host thread that runs it, beyond the call's wall clock and
//!   out of reach of its deadline; a few hundred such calls would leave
//!   every blocking thread stuck. Before opening, the path is `stat`ed
//!   (following symlinks exactly as the open will, inside the grant) and
//!   FIFOs, sockets and character or block devices are refused. A guest
//!   cannot create such files itself; the window between the check and the
//!   open matters only if another host process swaps a regular file for a
//!   FIFO inside the granted directory at that instant (docs/security.md).
//!   The usual open, an existing file for reading, takes a shorter path
//!   with no such window (`fs_read_open.rs`): the path is named with
//!   `O_PATH` (which opens nothing), its type checked, and only then
//!   opened, non-blocking.
//! - **Descriptors are capped** per call at [`MAX_DESCRIPTORS`](super::MAX_DESCRIPTORS)
//!   open at once, so one call cannot exhaust the host's file descriptors.
//! - **No symbolic link is created.** A link planted inside a read-write
//!   grant can point anywhere (`pw -> /etc/passwd`); warden never follows it
//!   out of the grant, but the user, their editor, git or a later tool with
//!   another grant might. Components may read links that exist; creating
//!   one is refused.
//! - **What is used is noted** in the call's usage (`crate::usage`): the
//!   granted directory each open, listing, creation, rename or removal
//!   went through, and whether it wrote.

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::FsResult;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self, Descriptor, DescriptorFlags, DescriptorType, ErrorCode, HostDescriptor, OpenFlags,
    PathFlags,
};

use super::fs_read_open::{ReadOpen, open_for_reading};
use super::sockets::check_descriptor_cap;
use crate::bindings::{Capability, Denial};
use crate::sandbox::{FILES_ON_CALLING_THREAD, SandboxState};

const INTERFACE: &str = "wasi:filesystem/types@0.2.12";
const PREOPENS: &str = "wasi:filesystem/preopens@0.2.12";

fn lower<T>(state: &mut SandboxState, r: FsResult<T>) -> wasmtime::Result<Result<T, ErrorCode>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) => {
            let mut view = state.filesystem();
            types::Host::convert_error_code(&mut view, e).map(Err)
        }
    }
}

/// What kind of special file `t` is, if it is one. (wasmtime-wasi reports
/// FIFOs and sockets as `unknown`.)
fn special_kind(t: DescriptorType) -> Option<&'static str> {
    match t {
        DescriptorType::Directory | DescriptorType::RegularFile | DescriptorType::SymbolicLink => {
            None
        }
        DescriptorType::Fifo => Some("a special file (a FIFO)"),
        DescriptorType::Socket => Some("a special file (a socket)"),
        DescriptorType::CharacterDevice => Some("a special file (a character device)"),
        DescriptorType::BlockDevice => Some("a special file (a block device)"),
        DescriptorType::Unknown => {
            Some("a special file (a FIFO, a socket or another non-regular file)")
        }
    }
}

/// Refuses to open `path`, a special file of type `t`, noting the denial.
fn refuse_special<T>(
    state: &mut SandboxState,
    path: &str,
    t: DescriptorType,
) -> Result<T, ErrorCode> {
    let kind = special_kind(t).unwrap_or("a special file");
    state.denials.push(Denial {
        capability: Capability::Filesystem,
        target: path.to_string(),
        reason: format!(
            "`{path}` is {kind}; components may open only regular files and directories"
        ),
    });
    Err(ErrorCode::Access)
}

/// Whether an `open-at` with these flags can change what is in the
/// directory (create, truncate, write, mutate).
fn opens_for_writing(oflags: OpenFlags, flags: DescriptorFlags) -> bool {
    oflags.intersects(OpenFlags::CREATE | OpenFlags::TRUNCATE)
        || flags.intersects(DescriptorFlags::WRITE | DescriptorFlags::MUTATE_DIRECTORY)
}

/// Notes in the call's usage which granted directory each preopened
/// descriptor is (so later opens through it can be attributed to it).
fn add_preopens(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(PREOPENS)?;
    inst.func_wrap("get-directories", |mut store, (): ()| {
        let state = store.data_mut();
        let mut dirs = Vec::with_capacity(state.preopens.len());
        for (dir, guest) in state.preopens.clone() {
            let fd = state.table().push(Descriptor::Dir(dir))?;
            state.usage.preopened(fd.rep(), &guest);
            dirs.push((fd, guest));
        }
        Ok((dirs,))
    })?;
    Ok(())
}

/// The descriptor methods that list or change a directory, noted in the
/// call's usage (a read for a listing, a write for the rest).
fn add_usage_tracking(
    inst: &mut wasmtime::component::LinkerInstance<'_, SandboxState>,
) -> wasmtime::Result<()> {
    inst.func_wrap_async(
        "[method]descriptor.read-directory",
        |mut store, (fd,): (Resource<Descriptor>,)| {
            Box::new(async move {
                let state = store.data_mut();
                let rep = fd.rep();
                let r = {
                    let mut view = state.filesystem();
                    HostDescriptor::read_directory(&mut view, fd).await
                };
                if r.is_ok() {
                    state.usage.touched(rep, None, false);
                }
                Ok((lower(state, r)?,))
            })
        },
    )?;
    macro_rules! mutating {
        ($name:literal, $method:ident) => {
            inst.func_wrap_async(
                $name,
                |mut store, (fd, path): (Resource<Descriptor>, String)| {
                    Box::new(async move {
                        let state = store.data_mut();
                        let rep = fd.rep();
                        let r = {
                            let mut view = state.filesystem();
                            HostDescriptor::$method(&mut view, fd, path).await
                        };
                        if r.is_ok() {
                            state.usage.touched(rep, None, true);
                        }
                        Ok((lower(state, r)?,))
                    })
                },
            )?;
        };
    }
    mutating!(
        "[method]descriptor.create-directory-at",
        create_directory_at
    );
    mutating!("[method]descriptor.unlink-file-at", unlink_file_at);
    mutating!(
        "[method]descriptor.remove-directory-at",
        remove_directory_at
    );
    inst.func_wrap_async(
        "[method]descriptor.rename-at",
        |mut store,
         (fd, old, new_fd, new): (Resource<Descriptor>, String, Resource<Descriptor>, String)| {
            Box::new(async move {
                let state = store.data_mut();
                let (rep, new_rep) = (fd.rep(), new_fd.rep());
                let r = {
                    let mut view = state.filesystem();
                    HostDescriptor::rename_at(&mut view, fd, old, new_fd, new).await
                };
                if r.is_ok() {
                    state.usage.touched(rep, None, true);
                    state.usage.touched(new_rep, None, true);
                }
                Ok((lower(state, r)?,))
            })
        },
    )?;
    Ok(())
}

pub(crate) fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    add_preopens(linker)?;
    let mut inst = linker.instance(INTERFACE)?;
    inst.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store,
         (fd, path_flags, path, oflags, flags): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            Box::new(async move {
                let state = store.data_mut();
                check_descriptor_cap(state)?;
                let rep = fd.rep();
                let quick = match state.table().get(&fd) {
                    Ok(Descriptor::Dir(parent)) => open_for_reading(
                        parent,
                        &path,
                        path_flags,
                        oflags,
                        flags,
                        FILES_ON_CALLING_THREAD,
                    ),
                    _ => ReadOpen::General,
                };
                match quick {
                    ReadOpen::Opened(file) => {
                        let opened = state.table().push(file)?;
                        state.usage.touched(rep, Some(opened.rep()), false);
                        return Ok((Ok(opened),));
                    }
                    ReadOpen::Special(t) => return Ok((refuse_special(state, &path, t),)),
                    ReadOpen::General => {}
                }
                let stat = {
                    let mut view = state.filesystem();
                    HostDescriptor::stat_at(
                        &mut view,
                        Resource::new_borrow(rep),
                        path_flags,
                        path.clone(),
                    )
                    .await
                };
                if let Ok(stat) = stat
                    && special_kind(stat.type_).is_some()
                {
                    return Ok((refuse_special(state, &path, stat.type_),));
                }
                let opened = {
                    let mut view = state.filesystem();
                    HostDescriptor::open_at(
                        &mut view,
                        Resource::new_borrow(rep),
                        path_flags,
                        path,
                        oflags,
                        flags,
                    )
                    .await
                };
                if let Ok(fd) = &opened {
                    state
                        .usage
                        .touched(rep, Some(fd.rep()), opens_for_writing(oflags, flags));
                }
                Ok((lower(state, opened)?,))
            })
        },
    )?;
    add_usage_tracking(&mut inst)?;
    inst.func_wrap_async(
        "[method]descriptor.symlink-at",
        |mut store, (_fd, target, link): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                store.data_mut().denials.push(Denial {
                    capability: Capability::Filesystem,
                    target: link.clone(),
                    reason: format!(
                        "creating the symbolic link `{link}` -> `{target}` is refused: \
                         components may not create symbolic links (a link inside a granted \
                         directory could point outside it)"
                    ),
                });
                Ok((Err::<(), _>(ErrorCode::NotPermitted),))
            })
        },
    )?;
    Ok(())
}
