//! runtime.md "Delete": undo what create made (lifecycle step 12: processes, cgroup, state)
//! then run poststop hooks (step 13, failures are warnings). Only a `stopped` container can be
//! deleted, unless `--force` (runc) which kills it first.

use super::Error;
use crate::state::{Container, StateError, Status};
use std::path::Path;

pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), Error> {
    crate::id::validate(id)?;
    let container = match Container::load_locked(root, id) {
        Ok(c) => c,
        // runc: `delete --force` of an unknown id succeeds (after removing a half-made dir).
        Err(StateError::NotFound(_)) if force => {
            let _ = std::fs::remove_dir_all(root.join(id));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let status = container.status();
    if status != Status::Stopped && !force {
        return Err(Error::WrongState {
            op: "delete",
            id: id.to_string(),
            status,
        });
    }
    destroy(&container)
}

/// Kills whatever is left in the container, removes its cgroup and state, runs poststop.
pub(crate) fn destroy(container: &Container) -> Result<(), Error> {
    let cgroup = crate::cgroups::manager(
        container.state.cgroups_path.as_deref(),
        &container.state.id,
        container.state.systemd_cgroup,
    );
    let pids = super::container_pids(container);
    if !pids.is_empty() {
        if container.state.status == Status::Paused {
            // Frozen processes only die once thawed.
            for pid in &pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if let Err(e) = super::pause::set_frozen(container, false) {
                crate::logging::warn(&e.to_string());
            }
        }
        super::kill_and_wait(&pids, cgroup.as_deref().ok());
    }
    super::unmount_shared(container);
    cgroup?.remove()?;
    crate::logging::debug(&format!("container {} cgroup removed", container.state.id));
    container.remove_dir()?;
    run_poststop(container);
    Ok(())
}

/// config.md "Poststop": runtime namespace, after the container is deleted; a failure is a
/// warning and the remaining hooks still run (runtime.md "Lifecycle" step 13).
pub(crate) fn run_poststop(container: &Container) {
    let Some(hooks) = container
        .state
        .hooks
        .as_ref()
        .and_then(|h| h.poststop().as_ref())
    else {
        return;
    };
    let state = match serde_json::to_string(&container.public(Status::Stopped)) {
        Ok(s) => s,
        Err(e) => return crate::logging::warn(&e.to_string()),
    };
    for hook in hooks {
        if let Err(e) = crate::hooks::run_one("poststop", hook, state.as_bytes()) {
            crate::logging::warn(&e.to_string());
        }
    }
}
