//! runtime.md "Kill": send a signal to the container process — or, with runc's `--all`, to
//! every process of its cgroup. Only `created` or `running` containers can be signalled.

use super::Error;
use crate::state::{Container, Status};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::path::Path;

pub fn kill(root: &Path, id: &str, signal: Signal, all: bool) -> Result<(), Error> {
    crate::id::validate(id)?;
    let container = Container::load_locked(root, id)?;
    let status = container.status();
    if !matches!(status, Status::Created | Status::Running | Status::Paused) {
        return Err(Error::NotRunning {
            id: id.to_string(),
            status,
        });
    }
    let pids = if all {
        super::container_pids(&container)
    } else {
        vec![container.state.pid]
    };
    for pid in pids {
        match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => {
                return Err(Error::Failed(format!(
                    "kill container {id} (pid {pid}) with {}: {}",
                    signal.as_str(),
                    crate::errno_text_raw(e as i32)
                )))
            }
        }
    }
    Ok(())
}
