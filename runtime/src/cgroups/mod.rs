//! Cgroups: placing the container in `linux.cgroupsPath` (config-linux.md "Control groups"),
//! on cgroup v1, v2 and hybrid hosts, and removing it on delete.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// The container's cgroup, wherever the host keeps it.
pub trait CgroupManager {
    /// Creates the cgroup (every v1 hierarchy or the v2 one) and moves `pid` into it.
    fn apply(&self, pid: i32) -> Result<(), CgroupError>;
    /// Every pid in the container's cgroup (for `kill --all` and `delete --force`).
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Removes the cgroup (and empty parents it created). Missing is not an error.
    fn remove(&self) -> Result<(), CgroupError>;
}

/// Picks the manager for this host (v1, v2 or hybrid, found from /proc/self/mountinfo) for the
/// config's `linux.cgroupsPath` (a default path built from `container_id` when absent).
/// `systemd` is runc's `--systemd-cgroup` (`slice:prefix:name` paths).
pub fn manager(
    cgroups_path: Option<&std::path::Path>,
    container_id: &str,
    systemd: bool,
) -> Result<Box<dyn CgroupManager>, CgroupError> {
    let _ = (cgroups_path, container_id, systemd);
    Err(CgroupError::Other("cgroups not implemented yet".into()))
}
