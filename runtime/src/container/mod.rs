//! The operations of runtime.md "Operations" (and runc's extras), one per module. Each takes
//! the state root and an id, validates before it changes anything, and fails with a one-line
//! error naming the id and, for a wrong state, the state.

pub mod create;
pub mod delete;
pub mod exec;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod start;
pub mod state;
pub mod update;

use crate::state::Status;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Id(#[from] crate::id::InvalidId),
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Namespace(#[from] crate::namespaces::NamespaceError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    #[error(transparent)]
    Channel(#[from] crate::process::channel::ChannelError),
    #[error(transparent)]
    Chain(#[from] crate::process::channel::ChainError),
    /// runtime.md: an operation in a state that does not allow it changes nothing.
    #[error("cannot {op} container {id}: container is {status}")]
    WrongState {
        op: &'static str,
        id: String,
        status: Status,
    },
    /// `kill` of a container that is not created or running. The wording contains runc's
    /// "container not running", which containerd's shim and podman match to treat the kill
    /// as a no-op on an exited process.
    #[error("cannot kill container {id}: container not running (status {status})")]
    NotRunning { id: String, status: Status },
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub(crate) fn os(what: impl std::fmt::Display, e: &std::io::Error) -> Self {
        Error::Failed(format!("{what}: {}", crate::errno_text(e)))
    }
}

/// The host's pids in the container's cgroup, the init first when it is alive (deduplicated).
/// An init that has exited but not yet left the cgroup is listed with the cgroup's pids.
pub(crate) fn container_pids(c: &crate::state::Container) -> Vec<i32> {
    let mut pids = Vec::new();
    if c.init_alive() {
        pids.push(c.state.pid);
    }
    if let Ok(mgr) = crate::cgroups::manager(
        c.state.cgroups_path.as_deref(),
        &c.state.id,
        c.state.systemd_cgroup,
    ) {
        for pid in mgr.pids().unwrap_or_default() {
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// A container that shares a mount namespace: unmounts what create mounted there (once its
/// processes are gone). A failure is a warning: delete still removes the rest.
pub(crate) fn unmount_shared(c: &crate::state::Container) {
    if let Some(shared) = &c.state.shared_mounts {
        if let Err(e) = crate::rootfs::shared_ns::unmount_added_in_namespace(shared) {
            crate::logging::warn(&e);
        }
    }
}

/// How long [`kill_and_wait`] waits for the processes it killed.
const KILL_WAIT: Duration = Duration::from_secs(10);
/// The longest [`kill_and_wait`] sleeps on pidfds before it looks for processes that exited
/// without their pidfd becoming readable.
const STALL_CHECK: Duration = Duration::from_millis(100);

/// SIGKILLs `pids` and waits until each has exited, so that `cgroup` (the container's, when
/// there is one) can be removed. Their pidfds wake the wait as they die; only when none did
/// for a while does it look for processes that have exited (see
/// [`crate::state::ProcStat::has_exited`]) and left `cgroup`, whose pidfds may not become
/// readable until some process outside the container reaps another: nothing of them is left
/// to wait for.
pub(crate) fn kill_and_wait(pids: &[i32], cgroup: Option<&dyn crate::cgroups::CgroupManager>) {
    let mut procs: Vec<_> = pids
        .iter()
        .filter_map(|p| Some((*p, crate::process::pidfd_open(*p)?)))
        .collect();
    for pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let deadline = Instant::now() + KILL_WAIT;
    let mut nap = Duration::from_millis(10);
    while !procs.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            crate::logging::warn(&format!(
                "some container processes did not die within {}s of SIGKILL",
                KILL_WAIT.as_secs()
            ));
            return;
        }
        if crate::process::wait_some_exit(&mut procs, nap.min(left)) > 0 {
            continue;
        }
        let listed = cgroup.and_then(|c| c.pids().ok()).unwrap_or_default();
        procs.retain(|(pid, _)| {
            let exited = crate::state::ProcStat::read(*pid).is_none_or(|s| s.has_exited());
            !exited || listed.contains(pid)
        });
        nap = (nap * 2).min(STALL_CHECK);
    }
}
