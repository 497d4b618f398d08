//! A `"type": "cgroup"` mount (usually /sys/fs/cgroup): cgroup2 on a unified host; on a v1 or
//! hybrid host a tmpfs holding one directory per hierarchy, as runc does.
//!
//! Without a cgroup namespace each hierarchy directory is a bind of the container's own cgroup
//! (so the container sees its cgroup, not the host's tree); with one, a fresh mount of the
//! hierarchy (the kernel shows the namespace root). Either way the container's init must
//! already be in its cgroup when this runs.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::mount::{mount, remount_bind, reopen, MountContext};
use super::options::MountOptions;
use super::paths::{fd_path, Create};
use super::RootfsError;
use crate::cgroups::detect::{Hierarchies, Hierarchy, Mode, ProcessCgroups, Version};

/// Mounts the cgroup filesystem(s) on `destination` (already resolved to `dest`).
pub fn mount_cgroup(
    ctx: &MountContext<'_>,
    destination: &Path,
    dest: &OwnedFd,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let invalid = |reason: String| RootfsError::InvalidMount {
        destination: destination.to_owned(),
        reason,
    };
    if !opts.data.is_empty() {
        return Err(invalid(format!(
            "unknown option \"{}\" for a cgroup mount",
            opts.data.join(",")
        )));
    }
    let hierarchies = Hierarchies::detect().map_err(|e| invalid(e.to_string()))?;
    match hierarchies.mode() {
        None => Err(invalid("the host has no cgroup filesystem mounted".into())),
        Some(Mode::Unified) => {
            let Some(unified) = &hierarchies.unified else {
                return Err(invalid("the host has no cgroup2 mount".into()));
            };
            mount_hierarchy(ctx, destination, dest, unified, opts)
        }
        Some(Mode::Legacy | Mode::Hybrid) => mount_v1(ctx, destination, dest, &hierarchies, opts),
    }
}

/// v1/hybrid: a tmpfs with a directory per hierarchy, read-only last if asked.
fn mount_v1(
    ctx: &MountContext<'_>,
    destination: &Path,
    dest: &OwnedFd,
    hierarchies: &Hierarchies,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let tmpfs_flags = (opts.flags & !MsFlags::MS_RDONLY)
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC;
    mount(
        Some("tmpfs"),
        &fd_path(dest.as_fd()),
        Some("tmpfs"),
        tmpfs_flags,
        Some("mode=755"),
    )
    .map_err(RootfsError::sys("mount tmpfs for cgroups on", destination))?;
    for hierarchy in hierarchies.all() {
        let name = dir_name(hierarchy);
        let sub = destination.join(&name);
        let sub_fd = ctx.root.resolve_or_create(&sub, Create::Dir)?;
        mount_hierarchy(ctx, &sub, &sub_fd, hierarchy, opts)?;
        for link in comount_links(hierarchy, &name) {
            let top = reopen(ctx.root, destination)?;
            match nix::unistd::symlinkat(name.as_os_str(), top.as_fd(), link.as_str()) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(errno) => {
                    return Err(RootfsError::sys("symlink", destination.join(&link))(errno))
                }
            }
        }
    }
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        let top = reopen(ctx.root, destination)?;
        remount_bind(&top, destination, opts)?;
    }
    Ok(())
}

/// The directory a hierarchy gets under the cgroup tmpfs: the host's name for it.
fn dir_name(hierarchy: &Hierarchy) -> PathBuf {
    hierarchy
        .mount_point
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(hierarchy.name()))
}

/// Co-mounted controllers (`cpu,cpuacct`) also answer to each name, as on the host and in
/// runc: a symlink per controller whose name differs from the directory's.
fn comount_links(hierarchy: &Hierarchy, dir: &Path) -> Vec<String> {
    let Version::V1 { controllers } = &hierarchy.version else {
        return Vec::new();
    };
    if controllers.len() < 2 {
        return Vec::new();
    }
    controllers
        .iter()
        .filter(|c| !c.starts_with("name=") && Path::new(c.as_str()) != dir)
        .cloned()
        .collect()
}

/// One hierarchy on `destination`: its own mount in a cgroup namespace, else a bind of the
/// caller's cgroup directory.
fn mount_hierarchy(
    ctx: &MountContext<'_>,
    destination: &Path,
    dest: &OwnedFd,
    hierarchy: &Hierarchy,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let (fstype, data) = match &hierarchy.version {
        Version::V2 => ("cgroup2", None),
        Version::V1 { controllers } => ("cgroup", Some(controllers.join(","))),
    };
    if ctx.cgroup_ns {
        match mount(
            Some("cgroup"),
            &fd_path(dest.as_fd()),
            Some(fstype),
            opts.flags,
            data.as_deref(),
        ) {
            Ok(()) => return Ok(()),
            // A user namespace may not mount v1 hierarchies: fall back to the bind.
            Err(Errno::EPERM) => {}
            Err(errno) => {
                return Err(RootfsError::Syscall {
                    op: format!("mount {fstype} on"),
                    path: destination.to_owned(),
                    errno,
                })
            }
        }
    }
    let own = ProcessCgroups::of_self().map_err(|e| RootfsError::InvalidMount {
        destination: destination.to_owned(),
        reason: e.to_string(),
    })?;
    let source = own
        .dir_in(hierarchy)
        .unwrap_or_else(|| hierarchy.mount_point.clone());
    mount(
        Some(&source),
        &fd_path(dest.as_fd()),
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .map_err(|errno| RootfsError::Syscall {
        op: format!("bind mount {} on", source.display()),
        path: destination.to_owned(),
        errno,
    })?;
    if opts.bind_needs_remount() {
        let mounted = reopen(ctx.root, destination)?;
        remount_bind(&mounted, destination, opts)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn v1(mount_point: &str, controllers: &[&str]) -> Hierarchy {
        Hierarchy {
            version: Version::V1 {
                controllers: controllers.iter().map(|c| c.to_string()).collect(),
            },
            mount_point: PathBuf::from(mount_point),
            mount_root: PathBuf::from("/"),
        }
    }

    #[test]
    fn comounted_controllers_get_links() {
        let h = v1("/sys/fs/cgroup/cpu,cpuacct", &["cpu", "cpuacct"]);
        let dir = dir_name(&h);
        assert_eq!(dir, PathBuf::from("cpu,cpuacct"));
        assert_eq!(comount_links(&h, &dir), ["cpu", "cpuacct"]);
        let single = v1("/sys/fs/cgroup/memory", &["memory"]);
        assert!(comount_links(&single, &dir_name(&single)).is_empty());
        let named = v1("/sys/fs/cgroup/systemd", &["name=systemd"]);
        assert!(comount_links(&named, &dir_name(&named)).is_empty());
        // Mounted under one controller's name: only the other gets a link.
        let h = v1("/sys/fs/cgroup/net_cls", &["net_cls", "net_prio"]);
        assert_eq!(comount_links(&h, &dir_name(&h)), ["net_prio"]);
    }
}
