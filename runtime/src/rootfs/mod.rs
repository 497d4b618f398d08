//! The container's root filesystem: mounts, devices, pivot_root (config.md "Root", "Mounts";
//! config-linux.md "Devices", "Rootfs Mount Propagation", "Masked Paths", "Readonly Paths").
//!
//! Everything here runs inside the container's init, in its new mount namespace, before the
//! user process is executed.

use std::path::{Path, PathBuf};

/// What the rootfs setup needs from the command line.
#[derive(Debug, Clone, Default)]
pub struct RootfsOptions {
    /// `--no-pivot`: move-mount the rootfs onto / and chroot instead of pivot_root(2).
    pub no_pivot: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("mount {destination}: {source}")]
    Mount {
        destination: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Prepares the new root in the (already unshared) mount namespace and switches into it:
/// rootfs propagation, bind of the rootfs onto itself, `mounts` in order, default devices and
/// symlinks, `linux.devices`, pivot_root (or move + chroot), masked and readonly paths, and
/// finally `root.readonly`. `rootfs` is the absolute host path of `root.path`.
pub fn setup(
    spec: &oci_spec::runtime::Spec,
    rootfs: &Path,
    opts: &RootfsOptions,
) -> Result<(), RootfsError> {
    let _ = (spec, rootfs, opts);
    Err(RootfsError::Other(
        "rootfs setup not implemented yet".into(),
    ))
}
