//! The last touches, made after the switch into the new root: masked paths
//! (config-linux.md "Masked Paths"), read-only paths (config-linux.md "Readonly Paths") and a
//! read-only root (config.md "Root" `readonly`).
//!
//! After pivot_root "/" is the container's root, so plain paths cannot leave it.

use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::mount::{locked_flags, mount};
use super::RootfsError;

/// Hides `path`: a directory under an empty read-only tmpfs, anything else under /dev/null
/// (so reads return nothing), as runc does. A path that does not exist is skipped.
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
        mount(Some("/dev/null"), path, None, MsFlags::MS_BIND, None)
    };
    match result {
        // Gone since the check (a process or a mount raced): nothing left to hide.
        Err(Errno::ENOENT) => Ok(()),
        other => other.map_err(RootfsError::sys("mask", path)),
    }
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
