//! Which mounts may land in /proc. A config (or an image symlink) that mounts over
//! /proc/sys/kernel/core_pattern, /proc/self/attr/... or puts a non-proc filesystem at /proc
//! would let the container talk to the host kernel in ways /proc's own checks prevent
//! (runc's CVE-2019-16884 and CVE-2019-19921 hardening). Like runc: only procfs binds may cover
//! /proc itself, and below /proc only the files lxcfs emulates may be mounted over. Checked on
//! the resolved destination, so a symlink cannot route a mount into /proc unseen.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, PROC_SUPER_MAGIC};

use super::paths::{real_path, Root};
use super::RootfsError;

/// Files below /proc that lxcfs (and similar) mount over to virtualise them.
const ALLOWED_BELOW_PROC: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// Where `dest` (an fd resolved inside `root`) is, seen from inside the container.
pub fn container_path(root: &Root, dest: &OwnedFd) -> Option<PathBuf> {
    let real = real_path(dest.as_fd())?;
    let below = real.strip_prefix(root.path()).ok()?;
    Some(Path::new("/").join(below))
}

/// Refuses a mount of `fstype` (or a bind of `bind_source`) onto `dest` when that is in /proc
/// and not allowed there. `proc` and `sysfs` mounts are not checked here (they are the
/// filesystems /proc and /sys are meant to hold).
pub fn check(
    root: &Root,
    destination: &Path,
    dest: &OwnedFd,
    bind_source: Option<&Path>,
) -> Result<(), RootfsError> {
    let Some(inside) = container_path(root, dest) else {
        return Ok(());
    };
    let Ok(below) = inside.strip_prefix("/proc") else {
        return Ok(());
    };
    let refuse = |reason: String| {
        Err(RootfsError::InvalidMount {
            destination: destination.to_owned(),
            reason,
        })
    };
    if below.as_os_str().is_empty() {
        return match bind_source {
            Some(source) if !is_procfs(source) => refuse(format!(
                "{} is not procfs and cannot be bind-mounted on /proc",
                source.display()
            )),
            _ => Ok(()),
        };
    }
    if ALLOWED_BELOW_PROC.iter().any(|p| Path::new(p) == inside) {
        return Ok(());
    }
    refuse(format!(
        "{} is inside /proc, where only procfs and lxcfs-style files may be mounted",
        inside.display()
    ))
}

fn is_procfs(path: &Path) -> bool {
    statfs(path).is_ok_and(|st| st.filesystem_type() == PROC_SUPER_MAGIC)
}

/// proc and sysfs go on a directory, never through a file or a symlink left by the image.
pub fn require_directory(
    destination: &Path,
    dest: &OwnedFd,
    fstype: &str,
) -> Result<(), RootfsError> {
    let is_dir = nix::sys::stat::fstat(dest.as_fd())
        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
    if is_dir {
        Ok(())
    } else {
        Err(RootfsError::InvalidMount {
            destination: destination.to_owned(),
            reason: format!("{fstype} must be mounted on a directory"),
        })
    }
}
