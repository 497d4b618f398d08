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

/// The host's pids in the container's cgroup, the init first (deduplicated).
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
        if let Ok(more) = mgr.pids() {
            pids.extend(more.into_iter().filter(|p| *p != c.state.pid));
        }
    }
    pids
}

/// SIGKILLs `pids` and waits (pidfds, no polling loop) until they are gone.
pub(crate) fn kill_and_wait(pids: &[i32]) {
    let pidfds: Vec<_> = pids
        .iter()
        .filter_map(|p| crate::process::pidfd_open(*p))
        .collect();
    for pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    if !crate::process::wait_pidfds(&pidfds, std::time::Duration::from_secs(10)) {
        crate::logging::warn("some container processes did not die within 10s of SIGKILL");
    }
}
