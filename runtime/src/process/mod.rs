//! Processes: the two fork chains, each in one folder with both its sides, and the helpers to
//! watch processes without polling loops (pidfds).
//!
//! - [`create`]: `ocirun create` (the parent, [`create::parent`]) forks **stage-1**, places it
//!   in the cgroup, and lets it join and create namespaces ([`create::stage1`]); stage-1 forks
//!   the **init** (pid 1 of a new pid namespace, since unshare(CLONE_NEWPID) only applies to
//!   children) and exits. The init ([`create::init`]) sets the container up, reports
//!   `Created`, and blocks opening the exec fifo until `ocirun start` opens its read end.
//! - [`exec`]: `ocirun exec` ([`exec::parent`]) forks a first child that joins the container's
//!   namespaces and forks the process itself ([`exec::child`]).
//!
//! Both end in [`user_process`]: the final execve of the config's `process`. Every fork goes
//! through [`fork`], which names each stage in `ps` (`ocirun[1:CHILD]`, `ocirun[2:INIT]`, ...).
//! The messages of both chains, with a picture of each sequence, are in [`channel`].

pub mod attributes;
pub mod channel;
pub mod console;
pub mod create;
pub mod exec;
pub mod fork;
pub mod user_process;

use std::os::fd::{FromRawFd, OwnedFd};

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
