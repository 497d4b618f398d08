//! Sending a signal to the process a person picked in the live view (kill(1), htop's `k`,
//! k9s's kill). It goes to that process or to none: the pid is opened as a pidfd
//! (pidfd_open(2)), then its start time is checked against the one the snapshot showed, and
//! the signal is sent through the pidfd (pidfd_send_signal(2)). A pid the kernel handed to
//! another process since is refused; a process that exits meanwhile gets nothing (ESRCH).
//! Only through the host's own /proc: a recorded tree's pids name nothing here.

use super::pid_alloc;
use super::proc::parse_stat;
use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
use std::path::Path;

/// The signals the live view offers, in the order it lists them (signal(7)).
pub const SIGNALS: &[(&str, i32)] = &[
    ("TERM", libc_consts::SIGTERM),
    ("KILL", libc_consts::SIGKILL),
    ("HUP", libc_consts::SIGHUP),
    ("INT", libc_consts::SIGINT),
    ("QUIT", libc_consts::SIGQUIT),
    ("STOP", libc_consts::SIGSTOP),
    ("CONT", libc_consts::SIGCONT),
    ("USR1", libc_consts::SIGUSR1),
    ("USR2", libc_consts::SIGUSR2),
];

/// The numbers, from nix's names of them (so no libc dependency is needed here).
mod libc_consts {
    use nix::sys::signal::Signal as S;
    pub const SIGTERM: i32 = S::SIGTERM as i32;
    pub const SIGKILL: i32 = S::SIGKILL as i32;
    pub const SIGHUP: i32 = S::SIGHUP as i32;
    pub const SIGINT: i32 = S::SIGINT as i32;
    pub const SIGQUIT: i32 = S::SIGQUIT as i32;
    pub const SIGSTOP: i32 = S::SIGSTOP as i32;
    pub const SIGCONT: i32 = S::SIGCONT as i32;
    pub const SIGUSR1: i32 = S::SIGUSR1 as i32;
    pub const SIGUSR2: i32 = S::SIGUSR2 as i32;
}

/// Why a signal was not sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignalError {
    #[error("{0} is not this host's own /proc (a recorded tree): signals are off")]
    NotOwnProc(String),
    #[error("signal {0} is not one ocitop sends")]
    Unknown(i32),
    #[error("pid {0} is gone")]
    Gone(u32),
    #[error("pid {pid} is another process now (started at tick {now}, not {expected})")]
    Reused { pid: u32, expected: u64, now: u64 },
    #[error("signal to pid {pid}: {error}")]
    Kernel { pid: u32, error: String },
}

/// Sends `signal` to `pid` if it is still the process that started at `start_ticks`.
pub fn send(proc_root: &Path, pid: u32, start_ticks: u64, signal: i32) -> Result<(), SignalError> {
    if !pid_alloc::is_own(proc_root) {
        return Err(SignalError::NotOwnProc(proc_root.display().to_string()));
    }
    let sig = Signal::from_named_raw(signal).ok_or(SignalError::Unknown(signal))?;
    let raw = i32::try_from(pid).map_err(|_| SignalError::Gone(pid))?;
    let target = Pid::from_raw(raw).ok_or(SignalError::Gone(pid))?;
    let pidfd = pidfd_open(target, PidfdFlags::empty()).map_err(|e| match e {
        rustix::io::Errno::SRCH => SignalError::Gone(pid),
        e => SignalError::Kernel {
            pid,
            error: e.to_string(),
        },
    })?;
    // The pidfd holds this process from here on; its stat says whether it is the one shown.
    let stat = std::fs::read(proc_root.join(pid.to_string()).join("stat"))
        .ok()
        .and_then(|b| parse_stat(&b))
        .ok_or(SignalError::Gone(pid))?;
    if stat.start_ticks != start_ticks {
        return Err(SignalError::Reused {
            pid,
            expected: start_ticks,
            now: stat.start_ticks,
        });
    }
    pidfd_send_signal(&pidfd, sig).map_err(|e| match e {
        rustix::io::Errno::SRCH => SignalError::Gone(pid),
        e => SignalError::Kernel {
            pid,
            error: e.to_string(),
        },
    })
}

/// The name of a signal ocitop offers ("TERM"), for messages.
pub fn name(signal: i32) -> String {
    SIGNALS
        .iter()
        .find(|(_, n)| *n == signal)
        .map_or_else(|| signal.to_string(), |(name, _)| (*name).to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn the_process_shown_gets_it_and_a_reused_pid_does_not() {
        let proc_root = Path::new("/proc");
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id();
        let start = parse_stat(&std::fs::read(format!("/proc/{pid}/stat")).unwrap())
            .unwrap()
            .start_ticks;
        // Another start time: as if the pid named a newer process.
        assert_eq!(
            send(proc_root, pid, start + 1, libc_consts::SIGTERM),
            Err(SignalError::Reused {
                pid,
                expected: start + 1,
                now: start
            })
        );
        assert!(child.try_wait().unwrap().is_none(), "not signalled");
        send(proc_root, pid, start, libc_consts::SIGTERM).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc_consts::SIGTERM));
        // Reaped: gone.
        assert_eq!(
            send(proc_root, pid, start, libc_consts::SIGTERM),
            Err(SignalError::Gone(pid))
        );
    }

    #[test]
    fn a_recorded_tree_sends_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let e = send(tmp.path(), 1, 0, libc_consts::SIGKILL).unwrap_err();
        assert!(matches!(e, SignalError::NotOwnProc(_)), "{e}");
        assert_eq!(name(libc_consts::SIGKILL), "KILL");
    }
}
