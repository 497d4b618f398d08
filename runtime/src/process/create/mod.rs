//! `create`'s fork chain: [`parent`] is the side in `ocirun create`, [`stage1`] its first
//! child, [`init`] the container's init; the messages are pictured in
//! [`crate::process::channel`].

pub mod init;
pub mod parent;
pub mod stage1;

use oci_spec::runtime::Spec;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// Everything the children need, prepared by the parent before fork (the children only
/// read it: after fork they own a copy).
#[derive(Debug)]
pub struct Context<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub rootfs: PathBuf,
    pub bundle: PathBuf,
    pub namespaces: crate::namespaces::Plan,
    pub rootfs_options: crate::rootfs::RootfsOptions,
    /// An O_PATH fd on the exec fifo, reopened for writing through /proc/self/fd by the init
    /// (the host path is out of reach after pivot_root).
    pub fifo: OwnedFd,
    /// The connected `--console-socket`, when `process.terminal`.
    pub console_socket: Option<OwnedFd>,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// `--preserve-fds`: fds 3..3+N pass to the user process.
    pub preserve_fds: i32,
    /// Whether any of prestart/createRuntime/createContainer exist (else the init skips the
    /// hook round trip).
    pub create_hooks: bool,
    /// `linux.seccomp`, compiled.
    pub seccomp: Option<crate::seccomp::Filter>,
    /// Where a notifying filter's listener goes (`linux.seccomp.listenerPath`, connected).
    pub seccomp_agent: Option<crate::seccomp::notify::Agent>,
    /// `process.capabilities` as masks (None: leave capabilities as they are).
    pub capabilities: Option<crate::capabilities::Masks>,
    /// The parent's lock on the state directory, closed first thing in stage-1.
    pub lock_fd: Option<std::os::fd::RawFd>,
}
