//! runc's `exec`: run another process in a created or running container — in all of its
//! namespaces and its cgroup — described by a `process` JSON (config.md "Process") or by the
//! container's own process with the command line's overrides. Used by `ctr task exec`,
//! `docker exec` and `podman exec`.
//!
//! ocirun is a child subreaper (with `--detach` too): the process, whose parent (the first
//! child) exits once it forked it, is reparented to ocirun, which waits for it, or passes it
//! on to its own reaper (containerd's shim, conmon) when it exits. Every failure after the
//! fork kills and waits for the processes of the chain (runtime.md "Errors").

use super::run::{become_subreaper, foreground, forwarded_mask, prepare_foreground};
use super::Error;
use crate::process::exec::parent::Chain;
use crate::process::exec::JoinContext;
use crate::state::{Container, Status};
use oci_spec::runtime::{LinuxNamespaceType, Process};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// runc's exec flags.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--process`: a JSON file with the whole process.
    pub process_file: Option<PathBuf>,
    /// The command and its arguments (when there is no `--process`).
    pub args: Vec<String>,
    /// `--env KEY=VALUE`, added to (or replacing in) the template's environment.
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// `--user uid[:gid]`.
    pub user: Option<(u32, Option<u32>)>,
    pub additional_gids: Vec<u32>,
    pub tty: bool,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: i32,
}

/// Returns the exit code (0 with `--detach`).
pub fn exec(root: &Path, id: &str, opts: &Options) -> Result<i32, Error> {
    crate::id::validate(id)?;
    let container = Container::load(root, id)?;
    let status = container.status();
    if !matches!(status, Status::Created | Status::Running) {
        return Err(Error::WrongState {
            op: "exec in",
            id: id.to_string(),
            status,
        });
    }
    let process = build_process(&container, opts)?;
    let namespaces = init_namespaces(container.state.pid)?;
    let terminal = process.terminal() == Some(true);
    let mask = forwarded_mask();
    let foreground_tty = terminal && !opts.detach && opts.console_socket.is_none();
    let (ours, console) = match (terminal, &opts.console_socket) {
        (false, _) => (None, None),
        (true, Some(path)) => {
            let stream = std::os::unix::net::UnixStream::connect(path)
                .map_err(|e| Error::os(format!("connect console socket {}", path.display()), &e))?;
            (None, Some(OwnedFd::from(stream)))
        }
        (true, None) if foreground_tty => {
            let (a, b) = std::os::unix::net::UnixStream::pair()
                .map_err(|e| Error::os("console socket pair", &e))?;
            (Some(OwnedFd::from(a)), Some(OwnedFd::from(b)))
        }
        (true, None) => {
            return Err(Error::Failed(
                "--tty with --detach needs --console-socket".into(),
            ))
        }
    };
    if opts.detach {
        become_subreaper()?;
    } else {
        prepare_foreground(&mask)?;
    }
    let seccomp = match &container.state.seccomp {
        Some(profile) => Some(
            crate::seccomp::compile(profile)
                .map_err(|e| Error::Failed(format!("{}: {e}", crate::spec::CONFIG_FILE)))?,
        ),
        None => None,
    };
    // runc sends the agent the state of the container the process joins, for exec too.
    let seccomp_agent = match (&container.state.seccomp, &seccomp) {
        (Some(profile), Some(filter)) => {
            let state = serde_json::to_value(container.public(status))
                .map_err(|e| Error::Failed(e.to_string()))?;
            crate::seccomp::notify::agent_for(profile, filter, state).map_err(Error::Failed)?
        }
        _ => None,
    };
    let ctx = JoinContext {
        process: &process,
        namespaces,
        console_socket: console,
        capabilities: process
            .capabilities()
            .as_ref()
            .map(|c| crate::capabilities::Masks::from_spec(c, |w| crate::logging::warn(&w))),
        seccomp,
        seccomp_agent,
        attributes: crate::process::attributes::Attributes {
            personality: container.state.personality.clone(),
            memory_policy: container.state.memory_policy.clone(),
            ..crate::process::attributes::Attributes::of(&process, None)
        },
        final_affinity: crate::process::attributes::affinity_lists(
            process.exec_cpu_affinity().as_ref(),
        )
        .1,
        root: match &container.state.shared_mounts {
            Some(_) => Some(init_root(container.state.pid)?),
            None => None,
        },
        preserve_fds: opts.preserve_fds,
        lock_fd: None,
    };
    let pid = spawn(&container, &ctx)?;
    crate::logging::flush_warnings();
    drop(ctx);
    let master = match started(pid, opts, ours.as_ref()) {
        Ok(master) => master,
        Err(e) => {
            // As runc: a process ocirun cannot report or attach to does not run on.
            Chain {
                first: None,
                process: Some(pid),
            }
            .abort();
            return Err(e);
        }
    };
    if opts.detach {
        return Ok(0);
    }
    foreground(&mask, pid, master)
}

/// What follows a successful spawn: the pid file, and the terminal's master when ocirun
/// proxies it (a foreground `--tty` without `--console-socket`).
fn started(pid: i32, opts: &Options, ours: Option<&OwnedFd>) -> Result<Option<OwnedFd>, Error> {
    if let Some(path) = &opts.pid_file {
        super::create::write_pid_file(path, pid)?;
    }
    match ours {
        Some(sock) => crate::process::console::recv_fd(sock.as_fd())
            .map(Some)
            .map_err(Error::Failed),
        None => Ok(None),
    }
}

/// Forks the joining chain ([`crate::process::exec::parent`]), placing it in the
/// container's cgroup, and waits until the process has exec'd.
fn spawn(container: &Container, ctx: &JoinContext) -> Result<i32, Error> {
    let cgroup = crate::cgroups::manager(
        container.state.cgroups_path.as_deref(),
        &container.state.id,
        container.state.systemd_cgroup,
    )?;
    crate::process::exec::parent::spawn(ctx, &mut ExecHost(cgroup))
}

/// What `exec` does for its chain in the runtime's namespaces.
struct ExecHost(Box<dyn crate::cgroups::CgroupManager>);

impl crate::process::exec::parent::Host for ExecHost {
    type Error = Error;
    fn place(&mut self, first: i32) -> Result<(), Error> {
        Ok(self.0.join(first)?)
    }
}

/// The process to run: `--process` as is, or the container's process with the overrides.
fn build_process(container: &Container, opts: &Options) -> Result<Process, Error> {
    let mut process = match &opts.process_file {
        Some(path) => read_process(path)?,
        None => {
            let mut p = container.state.process.clone().unwrap_or_default();
            if opts.args.is_empty() {
                return Err(Error::Failed("exec needs a command or --process".into()));
            }
            p.set_args(Some(opts.args.clone()));
            p.set_terminal(Some(opts.tty));
            p
        }
    };
    if opts.tty {
        process.set_terminal(Some(true));
    }
    if !opts.env.is_empty() {
        let mut env = process.env().clone().unwrap_or_default();
        for item in &opts.env {
            let key = item.split('=').next().unwrap_or_default();
            env.retain(|e| e.split('=').next() != Some(key));
            env.push(item.clone());
        }
        process.set_env(Some(env));
    }
    if let Some(cwd) = &opts.cwd {
        process.set_cwd(cwd.clone());
    }
    if let Some((uid, gid)) = opts.user {
        let mut user = process.user().clone();
        user.set_uid(uid);
        if let Some(gid) = gid {
            user.set_gid(gid);
        }
        process.set_user(user);
    }
    if !opts.additional_gids.is_empty() {
        let mut user = process.user().clone();
        user.set_additional_gids(Some(opts.additional_gids.clone()));
        process.set_user(user);
    }
    if process.args().as_ref().is_none_or(Vec::is_empty) {
        return Err(Error::Failed(
            "process.args: at least one entry is required".into(),
        ));
    }
    if !process.cwd().is_absolute() {
        return Err(Error::Failed(format!(
            "process.cwd: {} is not an absolute path",
            process.cwd().display()
        )));
    }
    crate::process::attributes::check(Some(&process), None)
        .map_err(|(field, why)| Error::Failed(format!("{field}: {why}")))?;
    Ok(process)
}

/// `--process FILE`: parsed with the JSON path in errors, like config.json.
fn read_process(path: &Path) -> Result<Process, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::os(path.display(), &e))?;
    let mut value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Failed(format!("{}: {e}", path.display())))?;
    crate::spec::scheduler_flags_as_oci_spec_reads_them(&mut value);
    serde_path_to_error::deserialize(&value)
        .map_err(|e| Error::Failed(format!("{}: {}: {}", path.display(), e.path(), e.inner())))
}

/// The init's root directory, for a container entered by chroot (no mount namespace of its
/// own): the process joins it as the init did.
fn init_root(pid: i32) -> Result<OwnedFd, Error> {
    let path = format!("/proc/{pid}/root");
    nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::Failed(format!("open {path}: {}", crate::errno_text_raw(e as i32))))
}

/// The init's namespaces that differ from ours, opened now (user first).
fn init_namespaces(pid: i32) -> Result<Vec<(LinuxNamespaceType, OwnedFd)>, Error> {
    use std::os::unix::fs::MetadataExt;
    use LinuxNamespaceType as T;
    let mut out = Vec::new();
    for typ in [
        T::User,
        T::Ipc,
        T::Uts,
        T::Network,
        T::Pid,
        T::Cgroup,
        T::Time,
        T::Mount,
    ] {
        let name = crate::namespaces::proc_name(typ);
        let theirs = format!("/proc/{pid}/ns/{name}");
        let (Ok(a), Ok(b)) = (
            std::fs::metadata(&theirs),
            std::fs::metadata(format!("/proc/self/ns/{name}")),
        ) else {
            continue;
        };
        if a.ino() != b.ino() || a.dev() != b.dev() {
            let file = std::fs::File::open(&theirs).map_err(|e| Error::os(&theirs, &e))?;
            out.push((typ, OwnedFd::from(file)));
        }
    }
    Ok(out)
}
