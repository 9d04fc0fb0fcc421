//! The Landlock ruleset of a confined subprocess: the kernel, not warden,
//! refuses what the grant does not allow.
//!
//! Built in the parent (where opening the granted paths may fail with an
//! error warden can report) and enforced in the child just before `exec`.

use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope,
};

use super::{ConfineError, Confinement, FsAccess, NetConfinement};

/// The newest Landlock ABI the kernel supports, found by asking for each
/// ABI's whole filesystem access set as a hard requirement, newest first
/// (the `landlock` crate keeps its own kernel query private).
pub(super) fn kernel_abi() -> Option<u8> {
    const ABIS: [(ABI, u8); 7] = [
        (ABI::V7, 7),
        (ABI::V6, 6),
        (ABI::V5, 5),
        (ABI::V4, 4),
        (ABI::V3, 3),
        (ABI::V2, 2),
        (ABI::V1, 1),
    ];
    ABIS.iter()
        .find(|(abi, _)| {
            let probe = Ruleset::default()
                .set_compatibility(CompatLevel::HardRequirement)
                .handle_access(AccessFs::from_all(*abi))
                .and_then(|r| {
                    if *abi >= ABI::V4 {
                        r.handle_access(AccessNet::from_all(*abi))
                    } else {
                        Ok(r)
                    }
                })
                .and_then(|r| {
                    if *abi >= ABI::V6 {
                        r.scope(Scope::from_all(*abi))
                    } else {
                        Ok(r)
                    }
                })
                .and_then(Ruleset::create);
            probe.is_ok()
        })
        .map(|(_, n)| *n)
}

fn abi_of(level: u8) -> ABI {
    match level {
        7.. => ABI::V7,
        6 => ABI::V6,
        5 => ABI::V5,
        4 => ABI::V4,
        3 => ABI::V3,
        2 => ABI::V2,
        _ => ABI::V1,
    }
}

/// The ruleset for `plan` on a kernel with Landlock ABI `level`: every
/// filesystem access the ABI knows is handled (so refused unless a rule
/// allows it), each path of `plan` gets its access, TCP bind and connect
/// are limited to the plan's ports (ABI 4+), and abstract unix sockets and
/// signals to processes outside the sandbox are refused (ABI 6+).
pub(super) fn ruleset(plan: &Confinement, level: u8) -> Result<RulesetCreated, ConfineError> {
    let abi = abi_of(level);
    let err = |e: landlock::RulesetError| ConfineError::Landlock {
        reason: e.to_string(),
    };
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))
        .map_err(err)?;
    if level >= 4 {
        // Binding is always refused; connecting only when the grant names
        // ports (Landlock cannot say "any port").
        let net = match plan.net {
            NetConfinement::AnyPort => AccessNet::BindTcp.into(),
            _ => AccessNet::from_all(abi),
        };
        ruleset = ruleset.handle_access(net).map_err(err)?;
    }
    if level >= 6 {
        ruleset = ruleset.scope(Scope::from_all(abi)).map_err(err)?;
    }
    let mut created = ruleset.create().map_err(err)?;
    for (path, access) in &plan.paths {
        let Some(fd) = open(path)? else { continue };
        let mut allowed = match access {
            FsAccess::ReadOnly => AccessFs::from_read(abi),
            FsAccess::ReadWrite => AccessFs::from_all(abi),
        };
        if !path.is_dir() {
            allowed &= AccessFs::from_file(abi);
        }
        created = created
            .add_rule(PathBeneath::new(fd, allowed))
            .map_err(err)?;
    }
    if level >= 4 {
        match &plan.net {
            NetConfinement::None | NetConfinement::AnyPort => {}
            NetConfinement::Ports(ports) => {
                for port in ports {
                    created = created
                        .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
                        .map_err(err)?;
                }
            }
        }
    }
    Ok(created)
}

/// Opens `path` for a rule; a system path that does not exist on this
/// machine is skipped (`None`), a granted one is an error.
fn open(path: &Path) -> Result<Option<PathFd>, ConfineError> {
    match PathFd::new(path) {
        Ok(fd) => Ok(Some(fd)),
        Err(_) if !path.exists() => Ok(None),
        Err(e) => Err(ConfineError::Path {
            path: PathBuf::from(path),
            reason: e.to_string(),
        }),
    }
}
