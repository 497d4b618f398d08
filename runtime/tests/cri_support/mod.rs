//! Helpers for the CRI tests (`tests/cri.rs`): a private containerd with its CRI plugin
//! configured from the README's snippet, images made from the fixtures rootfs and imported
//! with no registry, a blocking CRI gRPC client, and the websocket half of streaming exec.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap fails

pub mod client;
pub mod containerd;
pub mod image;
pub mod stream;

use std::path::{Path, PathBuf};

/// `path` bound onto itself and made a shared mount in the host's mount namespace (kubelet's
/// pod volumes are on shared mounts; containerd refuses Bidirectional propagation otherwise).
/// Unmounted on drop, with everything mounted under it.
pub struct SharedMount(PathBuf);

impl SharedMount {
    pub fn new(path: &Path) -> SharedMount {
        use nix::mount::{mount, MsFlags};
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
        crate::peers_support::unmount_under(&self.0);
    }
}

/// Mounts a tmpfs at `path` (made if missing) on the host.
pub fn mount_tmpfs(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        path,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=1m"),
    )
    .unwrap();
}

/// True when `path` is a mount point in the host's (this process's) mount namespace.
pub fn is_host_mount_point(path: &Path) -> bool {
    let want = path.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(&*want))
}
