//! The *confine* step for subprocess tool sources (stdio MCP servers and
//! native commands): the counterpart of the wasm sandbox for code warden
//! cannot run in a store.
//!
//! A [`Confinement`] is built from a [`Grant`] and nothing else, like a
//! store. The subprocess:
//!
//! - runs the program itself, never through a shell (arguments are passed
//!   as they are, one argv entry each);
//! - sees only the environment variables the grant gives (the rest of
//!   warden's environment is scrubbed, `PATH` included);
//! - starts in a granted directory (a source with no granted directory
//!   does not start: nothing runs without a grant naming it);
//! - is the leader of its own process group, which is killed (`SIGKILL`)
//!   when the call times out, when the source is dropped and when warden
//!   exits the call;
//! - has rlimits: processes (`RLIMIT_NPROC`), file size (`RLIMIT_FSIZE`),
//!   CPU seconds (`RLIMIT_CPU`), no core dumps;
//! - has `no_new_privs` set (a setuid binary gains nothing);
//! - on Linux with Landlock, is confined by the kernel to the granted
//!   directories (read-only or read-write as granted) plus the read-only
//!   system paths a program needs to start ([`SYSTEM_READ_ONLY`]); with
//!   ABI 4+ binding TCP ports is refused and connecting is limited to the
//!   granted hosts' ports; with ABI 6+ abstract unix sockets and signals
//!   to processes outside the sandbox are refused.
//!
//! What is **not** confined (see docs/security.md, "Subprocess tool
//! sources"): without Landlock (kernels before 5.13, or Landlock not
//! enabled) the filesystem and network are not confined at all — only the
//! environment, working directory, process group, rlimits and
//! `no_new_privs` apply; [`Requirement::Required`] refuses to start then.
//! Landlock never confines UDP, connections by host name (only ports), or
//! reading metadata (`stat`) outside the granted paths. `RLIMIT_NPROC`
//! counts every process of the user and is ignored for root. Memory is not
//! limited (`RLIMIT_AS` breaks JIT runtimes such as node).

mod landlock;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::net::unix::pipe;

use crate::grant::{DirMode, Grant};

/// Read-only paths every confined program may read (and execute): the
/// system's programs and libraries and the few files of `/etc` the C
/// library, TLS and git read at start. Nothing else of `/etc`, no `/home`,
/// no `/proc`, no `/tmp`.
pub const SYSTEM_READ_ONLY: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/bin",
    "/sbin",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/gitconfig",
    "/dev/urandom",
    "/dev/random",
];

/// Device files every confined program may read and write.
const DEVICES_READ_WRITE: &[&str] = &["/dev/null", "/dev/zero", "/dev/tty"];

/// How a path may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsAccess {
    /// Read, list and execute.
    ReadOnly,
    /// Also create, write and remove.
    ReadWrite,
}

/// What TCP the subprocess may use (Landlock ABI 4+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetConfinement {
    /// No TCP connections and no bound ports.
    None,
    /// Connections to these ports only; no bound ports.
    Ports(Vec<u16>),
    /// Connections to any port (a grant for a host on every port); no
    /// bound ports.
    AnyPort,
}

/// Process limits of a confined subprocess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessLimits {
    /// Processes (and threads) the subprocess may have besides those the
    /// user already runs (`RLIMIT_NPROC` is per user).
    pub processes: u64,
    /// The largest file it may write, in bytes.
    pub file_size: u64,
    /// CPU seconds.
    pub cpu_seconds: u64,
}

impl Default for ProcessLimits {
    fn default() -> ProcessLimits {
        ProcessLimits {
            processes: 256,
            file_size: 1 << 30,
            cpu_seconds: 600,
        }
    }
}

/// Whether a subprocess may start without the kernel's confinement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Requirement {
    /// Start it, confined as far as the kernel allows (the rest is still
    /// applied: environment, directory, process group, rlimits).
    #[default]
    BestEffort,
    /// Refuse to start it unless Landlock confines its filesystem.
    Required,
}

/// What the running kernel enforces for a confined subprocess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KernelSupport {
    /// The Landlock ABI (`None`: no Landlock).
    pub landlock_abi: Option<u8>,
    /// The filesystem is confined to the granted paths.
    pub filesystem: bool,
    /// TCP bind/connect are confined to the granted ports.
    pub tcp: bool,
    /// Abstract unix sockets and signals outside the sandbox are refused.
    pub scoped: bool,
}

impl KernelSupport {
    /// What this kernel supports (asked once per process).
    pub fn detect() -> KernelSupport {
        static SUPPORT: std::sync::OnceLock<KernelSupport> = std::sync::OnceLock::new();
        *SUPPORT.get_or_init(|| {
            let abi = detect_abi();
            KernelSupport {
                landlock_abi: abi,
                filesystem: abi.is_some(),
                tcp: abi.is_some_and(|a| a >= 4),
                scoped: abi.is_some_and(|a| a >= 6),
            }
        })
    }
}

#[cfg(target_os = "linux")]
fn detect_abi() -> Option<u8> {
    landlock::kernel_abi()
}

#[cfg(not(target_os = "linux"))]
fn detect_abi() -> Option<u8> {
    None
}

/// Why a subprocess was not started.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// Nothing is granted to run it in.
    #[error(
        "`{source_name}` has no granted directory to run in; a subprocess starts only in a \
         directory its grant names"
    )]
    NoDirectory {
        /// The tool source.
        source_name: String,
    },
    /// The working directory asked for is outside every granted one.
    #[error("the working directory {} of `{source_name}` is outside its granted directories", cwd.display())]
    CwdOutsideGrant {
        /// The tool source.
        source_name: String,
        /// The directory.
        cwd: PathBuf,
    },
    /// The program was not found.
    #[error("cannot find the program `{program}`: {reason}")]
    Program {
        /// As declared.
        program: String,
        /// Why.
        reason: String,
    },
    /// Confinement is required and the kernel cannot provide it.
    #[error(
        "`{source_name}` may only run confined, and this kernel has no Landlock (the policy \
         requires confinement)"
    )]
    Unconfinable {
        /// The tool source.
        source_name: String,
    },
    /// A granted path cannot be opened for its rule.
    #[error("cannot confine to {}: {reason}", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The Landlock ruleset cannot be built.
    #[error("cannot build the Landlock ruleset: {reason}")]
    Landlock {
        /// Why.
        reason: String,
    },
    /// The process cannot be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Everything a confined subprocess gets, derived from its [`Grant`].
#[derive(Debug, Clone)]
pub struct Confinement {
    /// The tool source, for messages.
    pub source_name: String,
    /// The program, as an absolute path.
    pub program: PathBuf,
    /// The name it is started as (`argv[0]`): as given, so a multi-call
    /// program reached through a symlink (rustup's `cargo` proxy) sees the
    /// name it was called by, not its resolved path.
    pub arg0: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where it starts (inside a granted directory).
    pub cwd: PathBuf,
    /// Its whole environment.
    pub env: Vec<(String, String)>,
    /// Paths it may use, with how: the granted directories, the system's
    /// read-only paths and the program itself.
    pub paths: Vec<(PathBuf, FsAccess)>,
    /// What TCP it may use.
    pub net: NetConfinement,
    /// Its rlimits.
    pub limits: ProcessLimits,
}

impl Confinement {
    /// The confinement of `program ARGS…` under `grant`. The program is
    /// found on `search_path` when it has no `/`; `cwd` (default: the
    /// first granted directory) must be inside a granted directory.
    pub fn from_grant(
        source_name: &str,
        program: &str,
        args: &[String],
        cwd: Option<&Path>,
        grant: &Grant,
        search_path: Option<&std::ffi::OsStr>,
    ) -> Result<Confinement, ConfineError> {
        let first = grant
            .dirs
            .first()
            .ok_or_else(|| ConfineError::NoDirectory {
                source_name: source_name.to_string(),
            })?;
        let cwd = match cwd {
            None => first.host.clone(),
            Some(c) => {
                let joined = first.host.join(c);
                let canonical =
                    joined
                        .canonicalize()
                        .map_err(|_| ConfineError::CwdOutsideGrant {
                            source_name: source_name.to_string(),
                            cwd: joined.clone(),
                        })?;
                if !grant.dirs.iter().any(|d| canonical.starts_with(&d.host)) {
                    return Err(ConfineError::CwdOutsideGrant {
                        source_name: source_name.to_string(),
                        cwd: canonical,
                    });
                }
                canonical
            }
        };
        let program_path = find_program(program, search_path)?;
        let mut paths: Vec<(PathBuf, FsAccess)> = grant
            .dirs
            .iter()
            .map(|d| {
                let access = match d.mode {
                    DirMode::ReadOnly => FsAccess::ReadOnly,
                    DirMode::ReadWrite => FsAccess::ReadWrite,
                };
                (d.host.clone(), access)
            })
            .collect();
        paths.extend(
            SYSTEM_READ_ONLY
                .iter()
                .map(|p| (PathBuf::from(p), FsAccess::ReadOnly)),
        );
        paths.extend(
            DEVICES_READ_WRITE
                .iter()
                .map(|p| (PathBuf::from(p), FsAccess::ReadWrite)),
        );
        paths.push((program_path.clone(), FsAccess::ReadOnly));
        let net = net_confinement(grant);
        let limits = ProcessLimits {
            cpu_seconds: grant.limits.timeout.as_secs().saturating_add(1).max(1),
            ..ProcessLimits::default()
        };
        Ok(Confinement {
            source_name: source_name.to_string(),
            program: program_path,
            arg0: program.to_string(),
            args: args.to_vec(),
            cwd,
            env: grant.env.clone(),
            paths,
            net,
            limits,
        })
    }

    /// Starts the subprocess, confined, with stdin, stdout and stderr piped.
    pub fn spawn(&self, requirement: Requirement) -> Result<ConfinedChild, ConfineError> {
        let support = KernelSupport::detect();
        if requirement == Requirement::Required && !support.filesystem {
            return Err(ConfineError::Unconfinable {
                source_name: self.source_name.clone(),
            });
        }
        let mut command = std::process::Command::new(&self.program);
        command
            .arg0(&self.arg0)
            .args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let nproc = self
            .limits
            .processes
            .saturating_add(user_process_count().unwrap_or(0));
        let limits = ProcessLimits {
            processes: nproc,
            ..self.limits
        };
        #[cfg(target_os = "linux")]
        let ruleset = match support.landlock_abi {
            Some(level) => Some(landlock::ruleset(self, level)?),
            None => None,
        };
        #[cfg(not(target_os = "linux"))]
        let ruleset: Option<()> = None;
        pre_exec::install(&mut command, limits, ruleset);
        let spawn_error = |source| ConfineError::Spawn {
            program: self.program.display().to_string(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        let pid = child.id();
        // The pipes, registered with tokio's reactor (non-blocking).
        let stdin = child
            .stdin
            .take()
            .map(|p| pipe::Sender::from_owned_fd(p.into()));
        let stdout = child
            .stdout
            .take()
            .map(|p| pipe::Receiver::from_owned_fd(p.into()));
        let stderr = child
            .stderr
            .take()
            .map(|p| pipe::Receiver::from_owned_fd(p.into()));
        let mut confined = ConfinedChild {
            child,
            pid,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        confined.stdin = stdin.transpose().map_err(spawn_error)?;
        confined.stdout = stdout.transpose().map_err(spawn_error)?;
        confined.stderr = stderr.transpose().map_err(spawn_error)?;
        Ok(confined)
    }
}

/// The ports of the grant's hosts, as Landlock can confine them.
fn net_confinement(grant: &Grant) -> NetConfinement {
    if grant.hosts.is_empty() {
        return NetConfinement::None;
    }
    let mut ports = Vec::new();
    for host in &grant.hosts {
        match host.rule().port {
            Some(p) => ports.push(p),
            None => return NetConfinement::AnyPort,
        }
    }
    ports.sort_unstable();
    ports.dedup();
    NetConfinement::Ports(ports)
}

/// `program` as an absolute, canonical path: as given when it has a `/`,
/// else the first match on `search_path` (warden's own `PATH` when none is
/// given; the subprocess itself gets no `PATH` unless granted).
fn find_program(
    program: &str,
    search_path: Option<&std::ffi::OsStr>,
) -> Result<PathBuf, ConfineError> {
    let not_found = |reason: &str| ConfineError::Program {
        program: program.to_string(),
        reason: reason.to_string(),
    };
    if program.contains('/') {
        return Path::new(program)
            .canonicalize()
            .map_err(|e| not_found(&e.to_string()));
    }
    let path = search_path
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .and_then(|p| p.canonicalize().ok())
        .ok_or_else(|| not_found("not on PATH"))
}

/// How many processes this user runs now (`RLIMIT_NPROC` counts them all).
fn user_process_count() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata("/proc/self").ok()?.uid();
    let count = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == me))
        .count();
    Some(count as u64)
}

/// A running confined subprocess. Dropping it kills its process group
/// (and reaps the leader).
#[derive(Debug)]
pub struct ConfinedChild {
    child: std::process::Child,
    pid: u32,
    /// Its stdin, until taken.
    pub stdin: Option<pipe::Sender>,
    /// Its stdout, until taken.
    pub stdout: Option<pipe::Receiver>,
    /// Its stderr, until taken.
    pub stderr: Option<pipe::Receiver>,
}

impl ConfinedChild {
    /// The process (and process group) id.
    pub fn id(&self) -> Option<u32> {
        Some(self.pid)
    }

    /// Waits for the process to exit (polling; the pipes are read
    /// separately).
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Kills the whole process group.
    pub fn kill_group(&self) {
        if let Some(pid) = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for ConfinedChild {
    fn drop(&mut self) {
        self.kill_group();
        // SIGKILL cannot be caught: the leader is gone at once; reap it.
        let _ = self.child.wait();
    }
}

/// What a command printed and how it ended, bounded tail-first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finished {
    /// The exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
    /// The end of its stdout.
    pub stdout: String,
    /// The end of its stderr.
    pub stderr: String,
    /// Bytes of stdout and stderr dropped from the front.
    pub truncated_bytes: u64,
}

/// Why a confined run did not finish.
#[derive(Debug)]
pub enum RunFailure {
    /// It did not start.
    Confine(ConfineError),
    /// It ran past `limit` and its process group was killed.
    Timeout,
}

/// Runs `confinement` to completion with stdin closed: at most `timeout`
/// (then its process group is killed), keeping the last `max_output`
/// bytes of stdout and of stderr.
pub async fn run(
    confinement: &Confinement,
    requirement: Requirement,
    timeout: Duration,
    max_output: u64,
) -> Result<Finished, RunFailure> {
    let mut child = confinement
        .spawn(requirement)
        .map_err(RunFailure::Confine)?;
    drop(child.stdin.take());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let max = usize::try_from(max_output).unwrap_or(usize::MAX);
    let work = async {
        let (out, err) = tokio::join!(tail(stdout, max), tail(stderr, max));
        let status = child.wait().await;
        (out, err, status)
    };
    let Ok((out, err, status)) = tokio::time::timeout(timeout, work).await else {
        child.kill_group();
        return Err(RunFailure::Timeout);
    };
    // The leader is gone; whatever it left running in its group goes too.
    child.kill_group();
    Ok(Finished {
        exit_code: status.ok().and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&out.0).into_owned(),
        stderr: String::from_utf8_lossy(&err.0).into_owned(),
        truncated_bytes: out.1 + err.1,
    })
}

/// Reads `reader` to its end, keeping the last `max` bytes; returns them
/// and how many were dropped.
pub async fn tail<R: tokio::io::AsyncRead + Unpin>(
    reader: Option<R>,
    max: usize,
) -> (Vec<u8>, u64) {
    use tokio::io::AsyncReadExt;
    let Some(mut reader) = reader else {
        return (Vec::new(), 0);
    };
    let mut kept = std::collections::VecDeque::with_capacity(max.min(64 * 1024));
    let mut dropped = 0u64;
    let mut buf = [0u8; 8192];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        kept.extend(&buf[..n]);
        if kept.len() > max {
            let extra = kept.len() - max;
            kept.drain(..extra);
            dropped += extra as u64;
        }
    }
    (kept.into_iter().collect(), dropped)
}

/// The code that runs in the child between `fork` and `exec`.
#[allow(unsafe_code)]
mod pre_exec {
    use super::CommandExt;
    use super::ProcessLimits;
    use rustix::process::{Resource, Rlimit, setrlimit};

    #[cfg(target_os = "linux")]
    type Ruleset = ::landlock::RulesetCreated;
    #[cfg(not(target_os = "linux"))]
    type Ruleset = ();

    /// Arms rlimits, `no_new_privs` and the Landlock ruleset for the
    /// child, in that order.
    pub(super) fn install(
        command: &mut std::process::Command,
        limits: ProcessLimits,
        ruleset: Option<Ruleset>,
    ) {
        let mut ruleset = ruleset;
        let hook = move || -> std::io::Result<()> {
            let set = |resource, value: u64| {
                setrlimit(
                    resource,
                    Rlimit {
                        current: Some(value),
                        maximum: Some(value),
                    },
                )
            };
            set(Resource::Nproc, limits.processes)?;
            set(Resource::Fsize, limits.file_size)?;
            set(Resource::Cpu, limits.cpu_seconds)?;
            set(Resource::Core, 0)?;
            rustix::thread::set_no_new_privs(true)?;
            #[cfg(target_os = "linux")]
            if let Some(ruleset) = ruleset.take() {
                ruleset
                    .restrict_self()
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
            }
            #[cfg(not(target_os = "linux"))]
            let _ = ruleset.take();
            Ok(())
        };
        // SAFETY: the hook runs in the forked child before `exec`. It only
        // makes system calls (setrlimit, prctl, landlock_restrict_self) on
        // values prepared in the parent; the ruleset's error path formats a
        // message, which allocates, but only when the child is about to
        // fail its `exec` anyway.
        unsafe {
            command.pre_exec(hook);
        }
    }
}
