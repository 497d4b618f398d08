//! The last touches, made after the switch into the new root: masked paths
//! (config-linux.md "Masked Paths"), read-only paths (config-linux.md "Readonly Paths") and a
//! read-only root (config.md "Root" `readonly`).
//!
//! After pivot_root "/" is the container's root, so plain paths cannot leave it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;

use super::idmap;
use super::mount::{locked_flags, mount};
use super::paths::Root;
use super::RootfsError;

/// Hides `path`: a directory under an empty read-only tmpfs, anything else under /dev/null
/// (so reads return nothing), as runc does. A path that does not exist is skipped.
///
/// A file is covered by binding the container's /dev/null by fd onto the masked path by fd:
/// /dev/null is opened without following a symlink and must be the 1:3 character device, so
/// a /dev/null swapped for a symlink to a procfs file (the class of CVE-2025-31133) cannot
/// put a writable view of that file in place of the mask.
pub fn mask(path: &Path) -> Result<(), RootfsError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let result = if meta.is_dir() {
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            Some("size=0,mode=755"),
        )
    } else {
        return mask_file(path);
    };
    match result {
        // Gone since the check (a process or a mount raced): nothing left to hide.
        Err(Errno::ENOENT) => Ok(()),
        other => other.map_err(RootfsError::sys("mask", path)),
    }
}

fn mask_file(path: &Path) -> Result<(), RootfsError> {
    let root = Root::open(Path::new("/"))?;
    let target = match root.resolve(path) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(()),
        Err(errno) => return Err(RootfsError::sys("mask", path)(errno)),
    };
    let null = dev_null(&root)?;
    let tree = idmap::clone_tree_of(null.as_fd())
        .map_err(RootfsError::sys("clone /dev/null for", path))?;
    idmap::attach(&tree, target.as_fd()).map_err(RootfsError::sys("mask", path))
}

/// The container's /dev/null, reached without symlinks and checked to be the null device.
fn dev_null(root: &Root) -> Result<OwnedFd, RootfsError> {
    let shown = Path::new("/dev/null");
    let dev = root
        .resolve_dir_no_symlinks(Path::new("/dev"))
        .map_err(RootfsError::sys("open", "/dev"))?;
    let fd = nix::fcntl::openat(
        dev.as_fd(),
        "null",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(RootfsError::sys("open", shown))?;
    let st = nix::sys::stat::fstat(&fd).map_err(RootfsError::sys("stat", shown))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != nix::sys::stat::makedev(1, 3) {
        return Err(RootfsError::InvalidDevice {
            path: shown.to_owned(),
            reason: "is not the null device (1:3): refusing to mask with it".into(),
        });
    }
    Ok(fd)
}

/// Makes `path` read-only: bound onto itself (so it is its own mount), then remounted
/// read-only keeping nosuid/nodev/noexec (locked in a user namespace). Missing is skipped.
pub fn make_readonly(path: &Path) -> Result<(), RootfsError> {
    match mount(
        Some(path),
        path,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    ) {
        Err(Errno::ENOENT) => return Ok(()),
        other => other.map_err(RootfsError::sys("bind mount read-only path", path))?,
    }
    remount_readonly(path)
}

/// Remounts the mount at `path` read-only, keeping its other per-mount flags.
pub fn remount_readonly(path: &Path) -> Result<(), RootfsError> {
    // O_PATH: a FIFO or device here must not be opened for real.
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(RootfsError::sys("open", path))?;
    let keep = locked_flags(std::os::fd::AsFd::as_fd(&fd));
    mount(
        None::<&str>,
        path,
        None,
        keep | MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None,
    )
    .map_err(RootfsError::sys("remount read-only", path))
}
