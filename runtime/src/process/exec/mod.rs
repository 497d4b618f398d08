//! `exec`'s fork chain: a new process in a created or running container, in all of its
//! namespaces and its cgroup. [`parent`] is the side in `ocirun exec`, [`child`] the first
//! child and the process; the messages are pictured in [`crate::process::channel`].

pub mod child;
pub mod parent;

use oci_spec::runtime::{LinuxNamespaceType, Process};
use std::os::fd::OwnedFd;

/// What the exec children need, prepared by the parent before fork.
#[derive(Debug)]
pub struct JoinContext<'a> {
    pub process: &'a Process,
    /// The init's namespaces that differ from ours, opened, user first.
    pub namespaces: Vec<(LinuxNamespaceType, OwnedFd)>,
    pub console_socket: Option<OwnedFd>,
    pub capabilities: Option<crate::capabilities::Masks>,
    pub seccomp: Option<crate::seccomp::Filter>,
    /// Where a notifying filter's listener goes (`linux.seccomp.listenerPath`, connected).
    pub seccomp_agent: Option<crate::seccomp::notify::Agent>,
    /// Scheduler, I/O priority, personality and memory policy of the process.
    pub attributes: crate::process::attributes::Attributes,
    /// `execCPUAffinity.final`: set once in the container's cgroup, before the fork.
    pub final_affinity: Option<String>,
    /// The container has no mount namespace of its own: its init's root (an O_PATH fd on
    /// /proc/PID/root), which the process chroots into after joining the namespaces.
    pub root: Option<OwnedFd>,
    pub preserve_fds: i32,
    pub lock_fd: Option<std::os::fd::RawFd>,
}
