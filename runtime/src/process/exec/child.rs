//! The children of `exec`'s chain. The first child waits to be placed in the container's
//! cgroup, joins the init's namespaces (user first), forks (the pid and time namespaces only
//! apply to children) and reports the grandchild's pid; the grandchild sets up its terminal
//! and becomes the process (config.md "Process").
//!
//! Failures before execve travel over the sync channel; a successful execve closes the
//! grandchild's close-on-exec end, which the parent reads as EOF.

use super::JoinContext;
use crate::namespaces;
use crate::process::channel::{Channel, Msg};
use crate::process::fork::{exit_child, first_child, Stage};
use crate::process::user_process;

/// Runs in the forked first child; never returns.
pub fn run(ctx: &JoinContext, chan: Channel) -> ! {
    first_child(
        ctx.lock_fd,
        chan,
        Stage::Exec,
        |chan| join(ctx, chan),
        |chan| become_process(ctx, chan),
    )
}

fn join(ctx: &JoinContext, chan: &Channel) -> Result<(), String> {
    chan.expect(Msg::CgroupReady).map_err(|e| e.to_string())?;
    // config.md "execCPUAffinity": `final` after the transition to the container's cgroup
    // (whose cpuset the kernel applied to us on the way in).
    if let Some(list) = &ctx.final_affinity {
        crate::process::attributes::set_cpu_affinity(0, list, "process.execCPUAffinity.final")?;
    }
    for (typ, fd) in &ctx.namespaces {
        namespaces::join(*typ, fd).map_err(|e| e.to_string())?;
    }
    if let Some(root) = &ctx.root {
        nix::unistd::fchdir(root)
            .and_then(|()| nix::unistd::chroot("."))
            .and_then(|()| nix::unistd::chdir("/"))
            .map_err(|e| {
                format!(
                    "enter the container's root: {}",
                    crate::errno_text_raw(e as i32)
                )
            })?;
    }
    Ok(())
}

/// The grandchild: in every namespace of the container; becomes the process.
fn become_process(ctx: &JoinContext, chan: Channel) -> ! {
    let result = (|| {
        let pid = chan.expect_proceed().map_err(|e| e.to_string())?;
        if ctx.process.terminal() == Some(true) {
            crate::process::console::setup(ctx.process, ctx.console_socket.as_ref())?;
        }
        user_process::apply_oom_score_adj(ctx.process)?;
        user_process::apply_rlimits(ctx.process)?;
        user_process::keep_only_preserved_fds(ctx.preserve_fds)?;
        let seccomp = ctx.seccomp.as_ref().map(|filter| user_process::Seccomp {
            filter,
            agent: ctx.seccomp_agent.as_ref(),
            pid,
        });
        user_process::become_user_process(
            ctx.process,
            &ctx.attributes,
            ctx.capabilities.as_ref(),
            seccomp.as_ref(),
        )
    })();
    let msg = match result {
        Ok(never) => match never {},
        Err(msg) => msg,
    };
    let _ = chan.send(&Msg::Error(msg));
    exit_child(127)
}
