//! Processes: the fork chain that builds a container (runtime.md "Lifecycle" step 2) and the
//! helpers to watch processes without polling loops (pidfds).
//!
//! `ocirun create` (the parent) forks **stage-1**, places it in the cgroup, and lets it join
//! and create namespaces ([`stage1`]); stage-1 forks the **init** (pid 1 of a new pid
//! namespace, since unshare(CLONE_NEWPID) only applies to children) and exits. The init
//! ([`init`]) sets the container up, reports `Created`, and blocks opening the exec fifo until
//! `ocirun start` opens its read end; then it becomes the user process ([`exec`]).

pub mod channel;
pub mod console;
pub mod exec;
pub mod init;
pub mod join;
pub mod stage1;

use oci_spec::runtime::Spec;
use std::os::fd::{FromRawFd, OwnedFd};
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

/// pidfd_open(2): an fd that becomes readable when `pid` exits. None if it is already gone.
pub fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; a non-negative result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd was just returned by pidfd_open.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// pidfd_send_signal(2): signals exactly the process `pidfd` refers to, never a later process
/// that reused its pid.
pub fn pidfd_send_signal(
    pidfd: &OwnedFd,
    signal: nix::sys::signal::Signal,
) -> Result<(), nix::errno::Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on an fd we own; a null siginfo means "as kill(2) would send".
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(())
    }
}

/// Waits up to `timeout` until at least one process of `procs` (pid, pidfd) exits, and drops
/// every one that has (its pidfd is readable: pidfd_open(2), a zombie or reaped). Returns how
/// many were dropped: 0 when the time passed with none exiting, or on a poll failure.
pub fn wait_some_exit(procs: &mut Vec<(i32, OwnedFd)>, timeout: std::time::Duration) -> usize {
    use std::os::fd::AsRawFd;
    let mut fds: Vec<libc::pollfd> = procs
        .iter()
        .map(|(_, fd)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: fds is a valid array of pollfd for the call's duration. EINTR counts as a
    // timeout: the caller decides whether to wait again.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
    if r <= 0 {
        return 0;
    }
    let before = procs.len();
    let mut ready = fds.iter().map(|f| f.revents != 0);
    procs.retain(|_| !ready.next().unwrap_or(false));
    before - procs.len()
}

/// "exited with status 3" / "killed by signal SIGKILL".
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("killed by signal {}", signal_name(sig)),
        _ => "ended".to_string(),
    }
}

pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| sig.to_string())
}

/// The shell convention runc follows for `run`: the exit status, or 128+N for signal N.
pub fn exit_code(status: nix::sys::wait::WaitStatus) -> Option<i32> {
    use nix::sys::wait::WaitStatus;
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Resets every catchable signal to its default action and unblocks all: the user process
/// must not inherit ocirun's dispositions (Rust ignores SIGPIPE) or its blocked mask.
pub fn reset_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator() {
        if sig == Signal::SIGKILL || sig == Signal::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL has no handler code to be unsafe.
        let _ = unsafe { sigaction(sig, &default) };
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );
}

/// The course of the first child of a fork chain (stage-1 of `create`, the first child of
/// `exec`): drop our copy of the parent's lock, reset signals, die with the parent (so a
/// `create` or `exec` that dies mid-way leaves nothing half-made), then `setup`, which forks.
/// The grandchild goes on with `grandchild`; the first child reports the grandchild's pid, or
/// the setup error, over the channel and exits. Never returns.
pub fn first_child(
    lock_fd: Option<std::os::fd::RawFd>,
    chan: channel::Channel,
    setup: impl FnOnce(&channel::Channel) -> Result<nix::unistd::ForkResult, String>,
    grandchild: impl FnOnce(channel::Channel) -> std::convert::Infallible,
) -> ! {
    use channel::Msg;
    use nix::unistd::ForkResult;
    if let Some(fd) = lock_fd {
        // SAFETY: our copy of the parent's lock fd; nothing else in this process uses it.
        unsafe { libc::close(fd) };
    }
    reset_signals();
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // Before any namespace of the container is joined (crate::sealed_exe).
    let code = match crate::sealed_exe::make_non_dumpable().and_then(|()| setup(&chan)) {
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
