//! runc's `pause` and `resume`: freeze and thaw every process of the container through the
//! cgroup freezer (v1 `freezer.state`, else v2 `cgroup.freeze`). A paused container reports
//! runc's extra status `paused` (runtime.md "State": additional values for new states).

use super::Error;
use crate::state::{Container, Status};
use std::path::{Path, PathBuf};

pub fn pause(root: &Path, id: &str) -> Result<(), Error> {
    change(root, id, true)
}

pub fn resume(root: &Path, id: &str) -> Result<(), Error> {
    change(root, id, false)
}

fn change(root: &Path, id: &str, freeze: bool) -> Result<(), Error> {
    crate::id::validate(id)?;
    let mut container = Container::load_locked(root, id)?;
    let status = container.status();
    let (op, wanted) = if freeze {
        ("pause", Status::Running)
    } else {
        ("resume", Status::Paused)
    };
    if status != wanted {
        return Err(Error::WrongState {
            op,
            id: id.to_string(),
            status,
        });
    }
    set_frozen(&container, freeze)?;
    // Resumed: back to what it was, `created` while the exec fifo waits, else `running`.
    container.state.status = if freeze {
        Status::Paused
    } else if container.fifo_path().exists() {
        Status::Created
    } else {
        Status::Running
    };
    container.save()?;
    Ok(())
}

/// The freezer interface of the container's cgroup.
enum Freezer {
    /// cgroup v1 `freezer.state` (FROZEN / THAWED, FREEZING in between).
    V1(PathBuf),
    /// cgroup v2 directory: `cgroup.freeze` to ask, `cgroup.events` `frozen` to confirm.
    V2(PathBuf),
}

impl Freezer {
    /// The v1 freezer if the host has one (hybrid hosts), else the v2 cgroup.
    fn find(paths: &[PathBuf]) -> Option<Self> {
        if let Some(dir) = paths.iter().find(|p| p.join("freezer.state").exists()) {
            return Some(Freezer::V1(dir.join("freezer.state")));
        }
        paths
            .iter()
            .find(|p| p.join("cgroup.freeze").exists())
            .map(|dir| Freezer::V2(dir.clone()))
    }

    fn request(&self, freeze: bool) -> std::io::Result<()> {
        match self {
            Freezer::V1(file) => std::fs::write(file, if freeze { "FROZEN" } else { "THAWED" }),
            Freezer::V2(dir) => {
                std::fs::write(dir.join("cgroup.freeze"), if freeze { "1" } else { "0" })
            }
        }
    }

    fn reached(&self, freeze: bool) -> bool {
        match self {
            Freezer::V1(file) => std::fs::read_to_string(file)
                .is_ok_and(|s| s.trim() == if freeze { "FROZEN" } else { "THAWED" }),
            Freezer::V2(dir) => std::fs::read_to_string(dir.join("cgroup.events")).is_ok_and(|e| {
                e.lines()
                    .any(|l| l == if freeze { "frozen 1" } else { "frozen 0" })
            }),
        }
    }
}

/// Writes the freezer of the container's cgroup and waits (bounded) until the kernel reports
/// the new state: freezing is asynchronous and cgroup v1 has no fd to wait on.
pub(crate) fn set_frozen(container: &Container, freeze: bool) -> Result<(), Error> {
    let id = &container.state.id;
    let cgroup = crate::cgroups::manager(
        container.state.cgroups_path.as_deref(),
        id,
        container.state.systemd_cgroup,
    )?;
    let freezer = Freezer::find(&cgroup.paths())
        .ok_or_else(|| Error::Failed(format!("container {id}: no freezer in its cgroups")))?;
    let fail = |e: std::io::Error| Error::os(format!("freeze container {id}"), &e);
    freezer.request(freeze).map_err(fail)?;
    for _ in 0..1000 {
        if freezer.reached(freeze) {
            return Ok(());
        }
        // Re-asserting FROZEN moves a FREEZING v1 cgroup on.
        let _ = freezer.request(freeze);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err(Error::Failed(format!(
        "container {id}: the freezer did not settle within 1s"
    )))
}
