//! Preparing the rootfs mount and switching into it: rootfs propagation
//! (config-linux.md "Rootfs Mount Propagation"), the bind of the rootfs onto itself that
//! pivot_root(2) needs, pivot_root itself (or `--no-pivot`: move-mount + chroot).

use std::path::{Path, PathBuf};

use nix::mount::{umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, chroot, fchdir, pivot_root};

use super::mount::mount;
use super::RootfsError;

/// `linux.rootfsPropagation` values (and their recursive spellings, which runc accepts).
pub fn parse_propagation(value: &str) -> Result<MsFlags, RootfsError> {
    let flag = match value {
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        other => {
            return Err(RootfsError::InvalidConfig {
                field: "linux.rootfsPropagation",
                reason: format!("\"{other}\" is not one of shared, slave, private, unbindable"),
            })
        }
    };
    Ok(flag)
}

/// Sets the propagation of the new mount namespace's copy of the host's tree before anything
/// is mounted, then binds the rootfs onto itself so it is a mount point (pivot_root(2):
/// "new_root must be a mount point").
///
/// By default every mount becomes a slave: events still come in from the host, none go out.
/// A private or unbindable request makes it private. A shared request leaves the host's peer
/// groups in place, as runc does: an `rbind,rshared` mount of a shared host directory must join
/// the host's peer group for a mount made inside to reach the host (Kubernetes'
/// `mountPropagation: Bidirectional`); made a slave first, the bind would land in a peer group
/// that only receives. The rootfs itself still gets a new peer group of its own
/// ([`apply_root_propagation`], config-linux.md "Rootfs Mount Propagation": "this does not mean
/// that it's shared with the host"): the mount it sits on is made private, so its bind is a
/// private copy, and nothing mounted under it propagates out.
pub fn prepare_root(rootfs: &Path, requested: Option<MsFlags>) -> Result<(), RootfsError> {
    let host_side = match requested {
        Some(f) if f.intersects(MsFlags::MS_PRIVATE | MsFlags::MS_UNBINDABLE) => {
            MsFlags::MS_PRIVATE | MsFlags::MS_REC
        }
        Some(f) if f.contains(MsFlags::MS_SHARED) => f,
        _ => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    mount(None::<&str>, Path::new("/"), None, host_side, None).map_err(RootfsError::sys(
        "set propagation of the host mounts at",
        "/",
    ))?;
    // The mount the rootfs is on (the rootfs itself when it is a mount point, as containerd's
    // overlay is) must not be shared, or the bind below would propagate to the host and
    // pivot_root would refuse (pivot_root(2): EINVAL if the parent mount of new_root is shared).
    if let Some(parent) = mount_point_of(rootfs) {
        mount(None::<&str>, &parent, None, MsFlags::MS_PRIVATE, None)
            .map_err(RootfsError::sys("make private", &parent))?;
    }
    mount(
        Some(rootfs),
        rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .map_err(RootfsError::sys("bind mount rootfs onto itself at", rootfs))
}

/// [`prepare_root`] in a mount namespace the container shares ([`super::shared_ns`]): the
/// propagation of the namespace's mounts stays as it is; the rootfs is bound onto itself (its
/// own mount, so that `root.readonly` remounts only it) and that bind, the runtime's own, is
/// made private so nothing mounted under it propagates to other namespaces.
pub fn prepare_shared_root(rootfs: &Path) -> Result<(), RootfsError> {
    mount(
        Some(rootfs),
        rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .map_err(RootfsError::sys("bind mount rootfs onto itself at", rootfs))?;
    mount(
        None::<&str>,
        rootfs,
        None,
        MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        None,
    )
    .map_err(RootfsError::sys("make private", rootfs))
}

/// Enters `rootfs` with chroot(2) only: in a shared mount namespace (see
/// [`prepare_shared_root`]).
pub fn chroot_into(rootfs: &Path) -> Result<(), RootfsError> {
    chdir(rootfs).map_err(RootfsError::sys("chdir", rootfs))?;
    chroot(".").map_err(RootfsError::sys("chroot", rootfs))?;
    chdir("/").map_err(RootfsError::sys("chdir", "/"))
}

/// Makes `rootfs` the root: pivot_root(".", ".") stacks the old root under the new one, which
/// is then detached (after making it a slave so the unmount does not reach the host), as in
/// pivot_root(2) "EXAMPLES"/runc. With `no_pivot`, moves the rootfs mount onto / and chroots.
pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    if no_pivot {
        return move_and_chroot(rootfs);
    }
    let open_dir = |path: &Path| {
        nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(RootfsError::sys("open", path))
    };
    let old_root = open_dir(Path::new("/"))?;
    let new_root = open_dir(rootfs)?;
    fchdir(&new_root).map_err(RootfsError::sys("chdir", rootfs))?;
    pivot_root(".", ".").map_err(RootfsError::sys("pivot_root", rootfs))?;
    // The old root is now stacked on top of the new one; only an fd still names it ("." would
    // be the new root, and making that rslave would undo the container's own propagation).
    fchdir(&old_root).map_err(RootfsError::sys("chdir to old root", "/"))?;
    mount(
        None::<&str>,
        Path::new("."),
        None,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None,
    )
    .map_err(RootfsError::sys("make old root rslave at", "/"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(RootfsError::sys("unmount old root", "/"))?;
    chdir("/").map_err(RootfsError::sys("chdir", "/"))
}

/// `--no-pivot`: the old root stays in the mount namespace under the chroot. Like runc, first
/// detach the host's full proc and sysfs mounts from it: the kernel decides whether a new proc or
/// sysfs may be mounted (in a user namespace) by looking for a fully visible one in the
/// namespace, and the host's would count though the container cannot see it.
fn move_and_chroot(rootfs: &Path) -> Result<(), RootfsError> {
    // An unmount, and the move below, propagate to the peers of the mount they happen on. With a
    // shared rootfs propagation the mounts outside the rootfs may still be the host's peers
    // ([`prepare_root`]), and the host's own /proc and /sys would go and its / be covered:
    // each such mount is made a slave first, only that mount, so that the rootfs's shared
    // volumes keep their peers.
    let make_slave = |path: &Path| {
        mount(None::<&str>, path, None, MsFlags::MS_SLAVE, None)
            .map_err(RootfsError::sys("make slave", path))
    };
    make_slave(Path::new("/"))?;
    for mount_point in host_proc_and_sysfs(rootfs) {
        if let Some(parent) = mount_point.parent().and_then(mount_point_of) {
            make_slave(&parent)?;
        }
        // Its own submounts too, which go with it.
        let _ = mount(
            None::<&str>,
            &mount_point,
            None,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None,
        );
        match umount2(&mount_point, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) => {}
            // Not allowed to unmount (locked in a user namespace): cover it instead.
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::EPERM) => {
                mount(
                    Some("tmpfs"),
                    &mount_point,
                    Some("tmpfs"),
                    MsFlags::empty(),
                    None,
                )
                .map_err(RootfsError::sys("cover host mount", &mount_point))?;
            }
            Err(errno) => return Err(RootfsError::sys("unmount host mount", &mount_point)(errno)),
        }
    }
    chdir(rootfs).map_err(RootfsError::sys("chdir", rootfs))?;
    mount(Some(rootfs), Path::new("/"), None, MsFlags::MS_MOVE, None)
        .map_err(RootfsError::sys("move mount onto / from", rootfs))?;
    chroot(".").map_err(RootfsError::sys("chroot", rootfs))?;
    chdir("/").map_err(RootfsError::sys("chdir", "/"))
}

/// Applies `linux.rootfsPropagation` to the new / (after the switch, so a `shared` request
/// makes a new peer group instead of sharing with the host).
pub fn apply_root_propagation(flags: MsFlags) -> Result<(), RootfsError> {
    mount(None::<&str>, Path::new("/"), None, flags, None)
        .map_err(RootfsError::sys("set rootfs propagation of", "/"))
}

/// Mount points of whole (root "/") proc and sysfs mounts outside `rootfs`, deepest first.
fn host_proc_and_sysfs(rootfs: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = text
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut l = left.split(' ').skip(3);
            let root = l.next()?;
            let mount_point = crate::cgroups::detect::unescape(l.next()?);
            let fstype = right.split(' ').next()?;
            let whole = root == "/" && matches!(fstype, "proc" | "sysfs");
            (whole && !mount_point.starts_with(rootfs)).then_some(mount_point)
        })
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    found.dedup();
    found
}

/// The mount point (from /proc/self/mountinfo) of the mount `path` is on: the longest mount
/// point that is a prefix of `path`.
fn mount_point_of(path: &Path) -> Option<PathBuf> {
    let path = path.canonicalize().ok()?;
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(crate::cgroups::detect::unescape)
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.as_os_str().len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn propagation_values() {
        assert_eq!(parse_propagation("slave").unwrap(), MsFlags::MS_SLAVE);
        assert_eq!(
            parse_propagation("rprivate").unwrap(),
            MsFlags::MS_PRIVATE | MsFlags::MS_REC
        );
        let err = parse_propagation("bogus").unwrap_err().to_string();
        assert!(
            err.contains("linux.rootfsPropagation") && err.contains("bogus"),
            "{err}"
        );
    }
}
