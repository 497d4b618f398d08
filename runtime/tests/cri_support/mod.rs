//! Helpers for the CRI tests (`tests/cri.rs`): a private containerd with its CRI plugin
//! configured from the README's snippet, images made from the fixtures rootfs and imported
//! with no registry, a blocking CRI gRPC client, and the websocket half of streaming exec.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap fails

pub mod client;
pub mod containerd;
pub mod image;
pub mod stream;

use std::path::Path;

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
