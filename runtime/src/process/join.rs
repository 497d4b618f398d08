//! The fork chain of `exec`: a new process in a running container. The first child waits to
//! be placed in the container's cgroup, joins the init's namespaces (user first), forks (the
//! pid and time namespaces only apply to children) and reports the grandchild's pid; the
//! grandchild sets up its terminal and becomes the process (config.md "Process").
//!
//! Failures before execve travel over the sync channel; a successful execve closes the
//! grandchild's close-on-exec end, which the parent reads as EOF.

use super::channel::{Channel, Msg};
use crate::namespaces;
use nix::unistd::ForkResult;
use oci_spec::runtime::{LinuxNamespaceType, Process};
use std::os::fd::OwnedFd;

/// What the exec children need, prepared before fork.
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
    pub preserve_fds: i32,
    pub lock_fd: Option<std::os::fd::RawFd>,
}

/// Runs in the forked first child; never returns.
pub fn run(ctx: &JoinContext, chan: Channel) -> ! {
    super::first_child(
        ctx.lock_fd,
        chan,
        |chan| join(ctx, chan),
        |chan| become_process(ctx, chan),
    )
}

fn join(ctx: &JoinContext, chan: &Channel) -> Result<ForkResult, String> {
    chan.expect(Msg::CgroupReady).map_err(|e| e.to_string())?;
    for (typ, fd) in &ctx.namespaces {
        namespaces::join(*typ, fd).map_err(|e| e.to_string())?;
    }
    // SAFETY: ocirun is single-threaded, so the child may run arbitrary code after fork.
    unsafe { nix::unistd::fork() }.map_err(|e| format!("fork: {}", crate::errno_text_raw(e as i32)))
}

/// The grandchild: in every namespace of the container; becomes the process.
fn become_process(ctx: &JoinContext, chan: Channel) -> ! {
    let result = (|| {
        let pid = chan.expect_proceed().map_err(|e| e.to_string())?;
        if ctx.process.terminal() == Some(true) {
            super::console::setup(ctx.process, ctx.console_socket.as_ref())?;
        }
        super::exec::apply_oom_score_adj(ctx.process)?;
        super::exec::apply_rlimits(ctx.process)?;
        super::exec::keep_only_preserved_fds(ctx.preserve_fds)?;
        let seccomp = ctx.seccomp.as_ref().map(|filter| super::exec::Seccomp {
            filter,
            agent: ctx.seccomp_agent.as_ref(),
            pid,
        });
        super::exec::become_user_process(ctx.process, ctx.capabilities.as_ref(), seccomp.as_ref())
    })();
    let msg = match result {
        Ok(never) => match never {},
        Err(msg) => msg,
    };
    let _ = chan.send(&Msg::Error(msg));
    super::exit_child(127)
}
