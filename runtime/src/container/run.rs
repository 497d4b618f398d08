//! runc's `run`: create + start, and unless `--detach`, wait for the container process,
//! forwarding signals to it, then delete the container and exit with its status (128+N when
//! killed by signal N).
//!
//! ocirun becomes a child subreaper so that the init, whose parent (stage-1) exits during
//! create, is reparented to it and can be waited for. Signals are blocked before the first
//! fork and read from a signalfd, so none is lost between create and the wait (the children
//! reset their mask).

use super::create::{self, Options};
use super::Error;
use crate::state::Container;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// Signals passed on to the container process: as runc, every signal that can reach ocirun
/// from outside, but SIGCHLD (the wait itself) and SIGURG (noise). The synchronous ones
/// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) are about ocirun itself and
/// must never be blocked; SIGKILL and SIGSTOP cannot be.
const FORWARDED: [Signal; 20] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGWINCH,
    Signal::SIGTSTP,
    Signal::SIGCONT,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGIO,
    Signal::SIGPWR,
    Signal::SIGSTKFLT,
];

/// Returns the exit code `ocirun run` exits with.
pub fn run(root: &Path, id: &str, opts: &Options, detach: bool) -> Result<i32, Error> {
    if detach {
        create::create(root, id, opts, None)?;
        crate::logging::flush_warnings();
        if let Err(e) = super::start::start(root, id) {
            cleanup(root, id);
            return Err(e);
        }
        return Ok(0);
    }
    let mask = forwarded_mask();
    prepare_foreground(&mask)?;
    // Foreground with a terminal and no socket: receive the terminal ourselves.
    let (console_ours, console_theirs) = if opts.console_socket.is_none() {
        let (a, b) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| Error::os("console socket pair", &e))?;
        (Some(OwnedFd::from(a)), Some(OwnedFd::from(b)))
    } else {
        (None, None)
    };
    let created = create::create(root, id, opts, console_theirs)?;
    crate::logging::flush_warnings();
    let terminal = match (created.terminal, &console_ours) {
        (true, Some(sock)) => match crate::process::console::recv_fd(sock.as_fd()) {
            Ok(master) => Some(master),
            Err(e) => {
                cleanup(root, id);
                return Err(Error::Failed(e));
            }
        },
        _ => None,
    };
    drop(console_ours);
    if let Err(e) = super::start::start(root, id) {
        cleanup(root, id);
        return Err(e);
    }
    let code = foreground(&mask, created.pid, terminal);
    cleanup(root, id);
    code
}

/// The signals `run` and `exec` block before forking and then read from a signalfd.
pub(crate) fn forwarded_mask() -> SigSet {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    FORWARDED.iter().for_each(|s| mask.add(*s));
    mask
}

/// Blocks the forwarded signals and makes this process a child subreaper, before the forks
/// of `run` or `exec`.
pub(crate) fn prepare_foreground(mask: &SigSet) -> Result<(), Error> {
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(mask), None).map_err(|e| {
        Error::Failed(format!(
            "block signals: {}",
            crate::errno_text_raw(e as i32)
        ))
    })?;
    become_subreaper()
}

/// prctl(2) PR_SET_CHILD_SUBREAPER: the processes whose parent (stage-1, or exec's first
/// child) exits are reparented to us, so that we can wait for them.
pub(crate) fn become_subreaper() -> Result<(), Error> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| {
        Error::Failed(format!(
            "become subreaper: {}",
            crate::errno_text_raw(e as i32)
        ))
    })
}

/// Waits for `pid` (reparented to us), forwarding signals and proxying its terminal; the
/// exit code is its status or 128+signal.
pub(crate) fn foreground(mask: &SigSet, pid: i32, terminal: Option<OwnedFd>) -> Result<i32, Error> {
    let sfd = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC)
        .map_err(|e| Error::Failed(format!("signalfd: {}", crate::errno_text_raw(e as i32))))?;
    match terminal {
        Some(master) => {
            let _raw = crate::process::console::RawStdin::enter();
            wait_with_terminal(&sfd, pid, &master)
        }
        None => wait_for(&sfd, pid, None),
    }
}

/// Deletes the container after its process ended (or a failed start), as runc's `run` does.
fn cleanup(root: &Path, id: &str) {
    match Container::load_locked(root, id) {
        Ok(c) => {
            if let Err(e) = super::delete::destroy(&c) {
                crate::logging::warn(&format!("delete container {id}: {e}"));
            }
        }
        Err(e) => crate::logging::warn(&format!("delete container {id}: {e}")),
    }
}

/// Handles one signal; returns the exit code once the init has been reaped.
fn on_signal(sig: i32, init: i32, master: Option<&OwnedFd>) -> Option<i32> {
    if sig == Signal::SIGCHLD as i32 {
        return reap(init);
    }
    if sig == Signal::SIGWINCH as i32 {
        if let Some(m) = master {
            crate::process::console::copy_winsize(m);
            return None;
        }
    }
    if let Ok(s) = Signal::try_from(sig) {
        let _ = nix::sys::signal::kill(Pid::from_raw(init), s);
    }
    None
}

/// Reaps every exited child (orphans of the container land here too); the init's status is
/// the result.
fn reap(init: i32) -> Option<i32> {
    let mut code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return code,
            Ok(status) => {
                if status.pid() == Some(Pid::from_raw(init)) {
                    code = crate::process::exit_code(status);
                }
            }
        }
    }
}

fn wait_for(sfd: &SignalFd, init: i32, master: Option<&OwnedFd>) -> Result<i32, Error> {
    // The init may already have exited before the signalfd existed: SIGCHLD is pending then.
    loop {
        match sfd.read_signal() {
            Ok(Some(info)) => {
                if let Some(code) = on_signal(info.ssi_signo as i32, init, master) {
                    return Ok(code);
                }
            }
            Ok(None) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                return Err(Error::Failed(format!(
                    "read signals: {}",
                    crate::errno_text_raw(e as i32)
                )))
            }
        }
    }
}

/// Like [`wait_for`], also copying stdin to the terminal and the terminal to stdout.
fn wait_with_terminal(sfd: &SignalFd, init: i32, master: &OwnedFd) -> Result<i32, Error> {
    use crate::process::console::copy_once;
    crate::process::console::copy_winsize(master);
    let mut stdin_open = true;
    // Once no process holds the terminal open, the master reads EIO yet polls as readable
    // (POLLHUP) for ever: stop watching it, or this loop spins until the process exits.
    let mut master_open = true;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: sfd.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if master_open { master.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: three valid pollfds for the call's duration.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) };
        if r < 0 {
            continue; // EINTR
        }
        if fds[1].revents != 0 && copy_once(master.as_raw_fd(), 1).is_none() {
            master_open = false;
        }
        if fds[2].revents != 0 && copy_once(0, master.as_raw_fd()).is_none() {
            stdin_open = false;
        }
        if fds[0].revents != 0 {
            if let Ok(Some(info)) = sfd.read_signal() {
                if let Some(code) = on_signal(info.ssi_signo as i32, init, Some(master)) {
                    // Flush what the process wrote last.
                    while readable(master.as_raw_fd())
                        && copy_once(master.as_raw_fd(), 1).is_some_and(|n| n > 0)
                    {
                    }
                    return Ok(code);
                }
            }
        }
    }
}

fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    unsafe { libc::poll(&mut p, 1, 0) > 0 && p.revents & libc::POLLIN != 0 }
}
