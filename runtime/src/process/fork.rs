//! Every fork of the two chains, and the course both first children share.
//!
//! Each stage is named in `ps`/`top`/ocitop by its comm, as runc names its own
//! (`runc:[1:CHILD]`): a process seen half-way tells at a glance which chain and stage it is
//! (15 bytes at most: the kernel's TASK_COMM_LEN).

use super::channel::{Channel, Msg};
use nix::unistd::ForkResult;

/// The stages of the chains, by their comm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// create's stage-1: joins and unshares namespaces, forks the init.
    CreateChild,
    /// create's init: pid 1 of the container until it execs the user program.
    Init,
    /// exec's first child: joins the container's namespaces, forks the process.
    ExecJoin,
    /// exec's process, until it execs.
    Exec,
}

impl Stage {
    pub fn comm(self) -> &'static std::ffi::CStr {
        match self {
            Stage::CreateChild => c"ocirun[1:CHILD]",
            Stage::Init => c"ocirun[2:INIT]",
            Stage::ExecJoin => c"ocirun[1:JOIN]",
            Stage::Exec => c"ocirun[2:EXEC]",
        }
    }
}

/// fork(2); the child takes the stage's name. ocirun is single-threaded, so the child may run
/// anything after the fork.
pub fn fork(stage: Stage) -> Result<ForkResult, String> {
    // SAFETY: ocirun is single-threaded, so the child may run arbitrary code after fork.
    let forked = unsafe { nix::unistd::fork() }
        .map_err(|e| format!("fork: {}", crate::errno_text_raw(e as i32)))?;
    if forked.is_child() {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, stage.comm().as_ptr(), 0, 0, 0) };
    }
    Ok(forked)
}

/// The course of the first child of a fork chain (stage-1 of `create`, the first child of
/// `exec`): drop our copy of the parent's lock, reset signals, die with the parent (so a
/// `create` or `exec` that dies mid-way leaves nothing half-made), turn non-dumpable before
/// any namespace of the container is joined ([`crate::sealed_exe`]), then `setup`, which
/// forks `grandchild` as the given stage. The first child reports the grandchild's pid, or the
/// setup error, over the channel and exits. Never returns.
pub fn first_child(
    lock_fd: Option<std::os::fd::RawFd>,
    chan: Channel,
    grandchild_stage: Stage,
    setup: impl FnOnce(&Channel) -> Result<(), String>,
    grandchild: impl FnOnce(Channel) -> std::convert::Infallible,
) -> ! {
    if let Some(fd) = lock_fd {
        // SAFETY: our copy of the parent's lock fd; nothing else in this process uses it.
        unsafe { libc::close(fd) };
    }
    super::reset_signals();
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let forked = crate::sealed_exe::make_non_dumpable()
        .and_then(|()| setup(&chan))
        .and_then(|()| fork(grandchild_stage));
    let code = match forked {
        Ok(ForkResult::Child) => match grandchild(chan) {},
        Ok(ForkResult::Parent { child }) => match chan.send(&Msg::InitPid(child.as_raw())) {
            Ok(()) => 0,
            Err(_) => 1,
        },
        Err(msg) => {
            let _ = chan.send(&Msg::Error(msg));
            1
        }
    };
    exit_child(code)
}

/// Ends a forked child without running the parent's atexit handlers or destructors.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it never returns.
    unsafe { libc::_exit(code) }
}
