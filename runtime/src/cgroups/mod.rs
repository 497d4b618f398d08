//! Cgroups: placing the container in `linux.cgroupsPath` (config-linux.md "Control groups",
//! "Cgroups Path"), on cgroup v1, v2 and hybrid hosts, and removing it on delete.
//!
//! `detect` finds the hierarchies, `path` maps `cgroupsPath` into each, `manager` places
//! processes with the file operations of `fs`; `v1`/`v2` hold what differs between versions
//! `resources` turns `linux.resources` into the interface files to write where the host keeps
//! each controller, or refuses a field by its JSON path (nothing is dropped), `devices` the
//! device rules (v1 `devices.allow`/`deny` lines; on v2 `bpf` compiles them to an eBPF
//! program attached to the cgroup); `stats` reads the usage runc's `events` reports and
//! `oom` waits for the container's OOM kills.

mod bpf;
pub mod detect;
pub mod devices;
mod fs;
pub mod manager;
pub mod oom;
pub mod path;
pub mod resources;
pub mod stats;
mod v1;
mod v2;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

pub use detect::{Hierarchies, Mode, ProcessCgroups};
pub use manager::FsManager;
pub use path::CgroupsPath;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {}: {}", path.display(), lower(source))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cgroup {}: write \"{value}\": {}", path.display(), lower(source))]
    Write {
        path: PathBuf,
        value: String,
        source: std::io::Error,
    },
    /// A `linux.resources` field the host cannot apply, or that the kernel refused.
    #[error("linux.resources.{field}: {reason}")]
    Resource { field: String, reason: String },
    #[error("linux.cgroupsPath \"{}\": {reason}", path.display())]
    InvalidPath { path: PathBuf, reason: String },
    #[error("cgroup {}: not empty ({count} process(es) already in it)", path.display())]
    NotEmpty { path: PathBuf, count: usize },
    #[error("cgroup {}: is frozen", path.display())]
    Frozen { path: PathBuf },
    #[error("no cgroup filesystem is mounted (looked in /proc/self/mountinfo)")]
    NoHierarchy,
    #[error("systemd cgroup driver is not supported: {reason}")]
    SystemdUnsupported { reason: String },
    #[error("{0}")]
    Other(String),
}

/// `ENOENT: no such file or directory`, like the rootfs errors; the plain text otherwise.
fn lower(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let errno = nix::errno::Errno::from_raw(code);
            format!("{errno:?}: {}", errno.desc().to_lowercase())
        }
        None => e.to_string().to_lowercase(),
    }
}

/// The container's cgroup, wherever the host keeps it.
pub trait CgroupManager {
    /// Creates the cgroup (every v1 hierarchy and/or the v2 one) and moves `pid` into it.
    /// Fails, leaving nothing behind, if the cgroup already holds other processes or is
    /// frozen (config-linux.md "Control groups"). For `create`.
    fn apply(&self, pid: i32) -> Result<(), CgroupError> {
        self.apply_resources(pid, None)
    }
    /// [`CgroupManager::apply`] that also writes `resources` (config-linux.md "Control
    /// groups": the runtime MUST apply them) before the process is moved in, so the limits
    /// and device rules hold from its first instruction; every field is checked first, so a
    /// refusal (naming the field) writes nothing. The pids limit waits for
    /// [`CgroupManager::apply_pids_limit`]. Nothing is left behind on failure.
    fn apply_resources(
        &self,
        pid: i32,
        resources: Option<&LinuxResources>,
    ) -> Result<(), CgroupError>;
    /// Writes the pids limit of `resources` once the container's init is the only process
    /// in the cgroup: `create`'s own stage-1 (which forks the init from inside the cgroup)
    /// must not count against it, or a valid limit of 0 or 1 (config-linux.md "PIDs") could
    /// not create the container.
    fn apply_pids_limit(&self, resources: Option<&LinuxResources>) -> Result<(), CgroupError>;
    /// Writes `resources` to the existing cgroup (runc's `update`), every field checked
    /// before the first write.
    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    /// Moves `pid` into the existing cgroup, without checks. For `exec`.
    fn join(&self, pid: i32) -> Result<(), CgroupError>;
    /// Every pid in the container's cgroup and below (for `kill --all` and `delete --force`),
    /// sorted, from every hierarchy.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Removes the container's cgroup (and cgroups below it) in every hierarchy, then the
    /// parents this manager created or adopted, deepest first, where they are empty. Missing
    /// is not an error; EBUSY is retried for about a second while processes exit.
    fn remove(&self) -> Result<(), CgroupError>;
    /// The container's cgroup directory in each hierarchy (for state and inspection).
    fn paths(&self) -> Vec<PathBuf>;
    /// The directories above the container's own that this manager created, shallowest
    /// first: `create` records them in the state so that `delete` can remove them.
    fn created_parents(&self) -> Vec<PathBuf>;
    /// Takes `parents` (as recorded by `create`) as made by this manager, so that
    /// [`CgroupManager::remove`] deletes them when empty. A path that is not strictly between
    /// a hierarchy's mount point and the container's directory is ignored.
    fn adopt_parents(&self, parents: &[PathBuf]);
    /// The usage of the container's cgroup, from wherever each controller is (runc's
    /// `events --stats` data).
    fn stats(&self) -> Result<stats::Stats, CgroupError>;
    /// A watch on the container's OOM kills (runc's `oom` events).
    fn oom_watch(&self) -> Result<oom::OomWatch, CgroupError>;
}

/// Picks the manager for this host (v1, v2 or hybrid, found from /proc/self/mountinfo) for the
/// config's `linux.cgroupsPath` (default `/ocirun/<container_id>` when absent; a relative path
/// is below the caller's own cgroup: see [`path`]). `systemd` is runc's `--systemd-cgroup`,
/// which is refused: there is no systemd to talk to.
pub fn manager(
    cgroups_path: Option<&Path>,
    container_id: &str,
    systemd: bool,
) -> Result<Box<dyn CgroupManager>, CgroupError> {
    if systemd {
        return Err(CgroupError::SystemdUnsupported {
            reason: format!(
                "use the cgroupfs driver (drop --systemd-cgroup) for cgroupsPath \"{}\"",
                cgroups_path.unwrap_or(Path::new("")).display()
            ),
        });
    }
    let path = CgroupsPath::parse(cgroups_path, container_id)?;
    let hierarchies = Hierarchies::detect()?;
    let own = match path {
        CgroupsPath::Relative(_) => ProcessCgroups::of_self()?,
        CgroupsPath::Absolute(_) => ProcessCgroups::default(),
    };
    Ok(Box::new(FsManager::new(&hierarchies, &own, &path)?))
}

/// Refuses, naming the field, what this host cannot apply of `resources` (a controller that
/// is not mounted, a field with no equivalent on the version holding its controller, an
/// out-of-range value): for `create` to call before it makes anything. What only the
/// container's cgroup can tell (a missing interface file) is checked when it is applied.
pub fn check_resources(resources: Option<&LinuxResources>) -> Result<(), CgroupError> {
    let Some(r) = resources else {
        return Ok(());
    };
    let hierarchies = Hierarchies::detect()?;
    resources::plan(r, &hierarchies.controllers(), None).map(drop)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_the_errno() {
        let err = CgroupError::Io {
            path: PathBuf::from("/sys/fs/cgroup/x"),
            source: std::io::Error::from_raw_os_error(libc::EBUSY),
        };
        assert_eq!(
            err.to_string(),
            "cgroup /sys/fs/cgroup/x: EBUSY: device or resource busy"
        );
    }

    #[test]
    fn systemd_is_refused() {
        let err = manager(Some(Path::new("system.slice:ocirun:c1")), "c1", true)
            .err()
            .unwrap();
        assert!(err
            .to_string()
            .starts_with("systemd cgroup driver is not supported: "));
    }
}
