//! runtime.md "Kill": send a signal to the container process — or, with runc's `--all`, to
//! every process of its cgroup. Only `created`, `running` or `paused` containers can be
//! signalled, except with `--all`: a stopped container's cgroup can still hold processes its
//! init left behind (it shares a pid namespace, so they outlive it), and containerd's shim
//! runs `kill --all` after the init of such a container exits to end them, as runc allows.

use super::Error;
use crate::state::{Container, Status};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::path::Path;

pub fn kill(root: &Path, id: &str, signal: Signal, all: bool) -> Result<(), Error> {
    crate::id::validate(id)?;
    let container = Container::load_locked(root, id)?;
    // Pin the init before judging it: once the pidfd is open, a status that still finds the
    // saved start time proves the fd is that process, so a signal through it cannot reach
    // another process that reused the pid after the check.
    let init = crate::process::pidfd_open(container.state.pid);
    let status = container.status();
    let signallable = match status {
        Status::Created | Status::Running | Status::Paused => true,
        Status::Stopped => all,
        Status::Creating => false,
    };
    if !signallable {
        return Err(Error::NotRunning {
            id: id.to_string(),
            status,
        });
    }
    if !all {
        let init = init.ok_or_else(|| Error::NotRunning {
            id: id.to_string(),
            status: Status::Stopped,
        })?;
        return match crate::process::pidfd_send_signal(&init, signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(failed(id, container.state.pid, signal, e)),
        };
    }
    for pid in super::container_pids(&container) {
        match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => return Err(failed(id, pid, signal, e)),
        }
    }
    Ok(())
}

fn failed(id: &str, pid: i32, signal: Signal, e: nix::errno::Errno) -> Error {
    Error::Failed(format!(
        "kill container {id} (pid {pid}) with {}: {}",
        signal.as_str(),
        crate::errno_text_raw(e as i32)
    ))
}
