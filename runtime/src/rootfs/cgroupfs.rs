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
        let name = hierarchy
            .mount_point
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(hierarchy.name()));
        let sub = destination.join(name);
        let sub_fd = ctx.root.resolve_or_create(&sub, Create::Dir)?;
        mount_hierarchy(ctx, &sub, &sub_fd, hierarchy, opts)?;
    }
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        let top = reopen(ctx.root, destination)?;
        remount_bind(&top, destination, opts)?;
    }
    Ok(())
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
