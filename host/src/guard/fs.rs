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
//! - **Descriptors are capped** per call at [`MAX_DESCRIPTORS`](super::MAX_DESCRIPTORS)
//!   open at once, so one call cannot exhaust the host's file descriptors.
//! - **No symbolic link is created.** A link planted inside a read-write
//!   grant can point anywhere (`pw -> /etc/passwd`); warden never follows it
//!   out of the grant, but the user, their editor, git or a later tool with
//!   another grant might. Components may read links that exist; creating
//!   one is refused.

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::FsResult;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self, Descriptor, DescriptorFlags, DescriptorType, ErrorCode, HostDescriptor, OpenFlags,
    PathFlags,
};

use super::sockets::check_descriptor_cap;
use crate::bindings::{Capability, Denial};
use crate::sandbox::SandboxState;

const INTERFACE: &str = "wasi:filesystem/types@0.2.12";

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
        DescriptorType::Fifo => Some("a FIFO (named pipe)"),
        DescriptorType::Socket => Some("a socket"),
        DescriptorType::CharacterDevice => Some("a character device"),
        DescriptorType::BlockDevice => Some("a block device"),
        DescriptorType::Unknown => {
            Some("a special file (a FIFO, a socket or another non-regular file)")
        }
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
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
                    && let Some(kind) = special_kind(stat.type_)
                {
                    state.denials.push(Denial {
                        capability: Capability::Filesystem,
                        target: path.clone(),
                        reason: format!(
                            "`{path}` is {kind}; components may open only regular files and \
                             directories"
                        ),
                    });
                    return Ok((Err(ErrorCode::Access),));
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
                Ok((lower(state, opened)?,))
            })
        },
    )?;
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
