//! Cgroups: placing the container in `linux.cgroupsPath` (config-linux.md "Control groups",
//! "Cgroups Path"), on cgroup v1, v2 and hybrid hosts, and removing it on delete.
//!
//! `detect` finds the hierarchies, `path` maps `cgroupsPath` into each, `manager` places
//! processes with the file operations of `fs`; `v1`/`v2` hold what differs between versions
//! (and will hold the `linux.resources` writers). Resources are not applied yet:
//! [`ignored_resources`] says what a config asked for, for the caller to warn about.

pub mod detect;
mod fs;
pub mod manager;
pub mod path;
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
    fn apply(&self, pid: i32) -> Result<(), CgroupError>;
    /// Moves `pid` into the existing cgroup, without checks. For `exec`.
    fn join(&self, pid: i32) -> Result<(), CgroupError>;
    /// Every pid in the container's cgroup and below (for `kill --all` and `delete --force`),
    /// sorted, from every hierarchy.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Removes the container's cgroup (and cgroups below it) in every hierarchy, plus parents
    /// this same manager created. Missing is not an error; EBUSY is retried for about a
    /// second while processes exit.
    fn remove(&self) -> Result<(), CgroupError>;
    /// The container's cgroup directory in each hierarchy (for state and inspection).
    fn paths(&self) -> Vec<PathBuf>;
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

/// The `linux.resources` fields set in the config, which ocirun does not apply yet: a one-line
/// warning for the caller to log (docker and podman always send some, e.g. device rules), or
/// `None` when there is nothing to say.
pub fn ignored_resources(resources: Option<&LinuxResources>) -> Option<String> {
    let r = resources?;
    let fields: Vec<&str> = [
        (
            "devices",
            r.devices().as_ref().is_some_and(|d| !d.is_empty()),
        ),
        ("memory", r.memory().is_some()),
        ("cpu", r.cpu().is_some()),
        ("pids", r.pids().is_some()),
        ("blockIO", r.block_io().is_some()),
        (
            "hugepageLimits",
            r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()),
        ),
        ("network", r.network().is_some()),
        ("rdma", r.rdma().as_ref().is_some_and(|h| !h.is_empty())),
        (
            "unified",
            r.unified().as_ref().is_some_and(|h| !h.is_empty()),
        ),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    (!fields.is_empty()).then(|| {
        format!(
            "linux.resources is not applied by ocirun yet; ignored: {}",
            fields.join(", ")
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxPidsBuilder, LinuxResourcesBuilder};

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

    #[test]
    fn ignored_resources_names_fields() {
        assert_eq!(ignored_resources(None), None);
        let empty = LinuxResourcesBuilder::default().build().unwrap();
        assert_eq!(ignored_resources(Some(&empty)), None);
        let r = LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(10).build().unwrap())
            .build()
            .unwrap();
        assert_eq!(
            ignored_resources(Some(&r)).unwrap(),
            "linux.resources is not applied by ocirun yet; ignored: pids"
        );
    }
}
