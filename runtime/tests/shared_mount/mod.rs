//! A shared mount made by a test in its own (the host's) mount namespace, as kubelet's pod
//! volumes are: the source of a bind whose mounts are to propagate both ways (config-linux.md
//! "Rootfs Mount Propagation"; Kubernetes' `mountPropagation: Bidirectional`, which containerd
//! refuses unless the host path is on a shared mount).
#![allow(dead_code, clippy::unwrap_used)] // tests: a failed unwrap fails the test

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::{Path, PathBuf};

/// `path` (made if missing) bound onto itself and made shared; on drop lazily unmounted with
/// everything mounted under it (MNT_DETACH takes the whole subtree), however the test ended.
pub struct SharedMount(PathBuf);

impl SharedMount {
    pub fn new(path: &Path) -> SharedMount {
        std::fs::create_dir_all(path).unwrap();
        mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .unwrap();
        let guard = SharedMount(path.to_owned());
        mount(
            None::<&str>,
            path,
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .unwrap();
        guard
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SharedMount {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
    }
}

/// True when `path` is a mount point in this process's mount namespace.
pub fn is_mount_point(path: &Path) -> bool {
    let want = path.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(&*want))
}
