//! `process.terminal` (config.md "Process"): a pseudoterminal pair allocated inside the
//! container (after /dev/pts is mounted), the slave made the controlling terminal and the
//! standard streams, and the master sent to the caller over `--console-socket` with
//! SCM_RIGHTS, as runc does (containerd, conmon and podman receive it there).

use oci_spec::runtime::Process;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// Allocates the pair, sends the master over `socket`, makes the slave the controlling
/// terminal and stdio; returns the slave, for /dev/console.
///
/// Nothing is reached through a path the container could have replaced (the class of
/// CVE-2025-52565, where /dev/pts/$n or /dev/console was swapped for a symlink): the master
/// is the container's own devpts `ptmx`, opened with no symlink on the way and checked to be
/// on a devpts; the slave comes from the master itself (TIOCGPTPEER), never from its name.
pub fn setup(process: &Process, socket: Option<&OwnedFd>) -> Result<OwnedFd, String> {
    let socket = socket.ok_or("process.terminal is set but there is no console socket")?;
    let master = open_ptmx()?;
    let ioctl_fail = |what: &str| {
        let e = std::io::Error::last_os_error();
        format!("{what}: {}", crate::errno_text(&e))
    };
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int that lives across the call (unlockpt(3)).
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } < 0 {
        return Err(ioctl_fail("unlock pty"));
    }
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int that lives across the call (ptsname(3)).
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut number) } < 0 {
        return Err(ioctl_fail("pty number"));
    }
    let slave_name = format!("/dev/pts/{number}");
    if let Some(size) = process.console_size() {
        // Checked at create (spec.rs); `exec --process` is not, so clamp rather than wrap.
        let clamp = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        let ws = libc::winsize {
            ws_row: clamp(size.height()),
            ws_col: clamp(size.width()),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize struct that lives across the call.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    // SAFETY: TIOCGPTPEER (Linux 4.13) takes open flags and returns a new fd on the slave.
    let fd = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(ioctl_fail(&format!("open {slave_name}")));
    }
    // SAFETY: the kernel just returned this fd to us.
    let slave = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    send_fd(socket, &master, &slave_name)?;
    drop(master);
    nix::unistd::setsid().map_err(|e| format!("setsid: {}", crate::errno_text_raw(e as i32)))?;
    // SAFETY: TIOCSCTTY takes an int argument; the slave fd is open.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err(ioctl_fail("set controlling terminal"));
    }
    for target in 0..=2 {
        // SAFETY: dup2 onto the stdio numbers; both fds are valid.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(ioctl_fail(&format!("dup terminal to fd {target}")));
        }
    }
    Ok(slave)
}

/// `/dev/pts/ptmx` of the container (we are in its mount namespace, with its root as "/"),
/// resolved without following any symlink and checked to be a devpts multiplexer.
fn open_ptmx() -> Result<OwnedFd, String> {
    use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
    const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
    let path = "/dev/pts/ptmx";
    let fail = |e: nix::errno::Errno| format!("open {path}: {}", crate::errno_text_raw(e as i32));
    let how = OpenHow::new()
        .flags(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let master = openat2(nix::fcntl::AT_FDCWD, path, how).map_err(fail)?;
    let fs = nix::sys::statfs::fstatfs(&master).map_err(fail)?;
    if fs.filesystem_type().0 as i64 != DEVPTS_SUPER_MAGIC {
        return Err(format!("{path} is not on a devpts (mount one at /dev/pts)"));
    }
    Ok(master)
}

/// Sends `fd` with SCM_RIGHTS; the payload is the terminal's name, as runc sends it.
pub fn send_fd(socket: &OwnedFd, fd: &impl AsRawFd, name: &str) -> Result<(), String> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let fds = [fd.as_raw_fd()];
    let iov = [std::io::IoSlice::new(name.as_bytes())];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None).map_err(|e| {
        format!(
            "send terminal over console socket: {}",
            crate::errno_text_raw(e as i32)
        )
    })?;
    Ok(())
}

/// Receives one fd sent with SCM_RIGHTS (used by `run` in the foreground).
pub fn recv_fd(socket: BorrowedFd<'_>) -> Result<OwnedFd, String> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::FromRawFd;
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("receive terminal: {}", crate::errno_text_raw(e as i32)))?;
    for cmsg in msg.cmsgs().map_err(|e| format!("receive terminal: {e}"))? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd in our table for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err("receive terminal: no fd in the message".into())
}

/// Copies what is available from `from` to `to` (one read). None at EOF or on error.
pub fn copy_once(from: i32, to: i32) -> Option<usize> {
    let mut buf = [0u8; 8192];
    // SAFETY: reading into a local buffer of the given size.
    let n = unsafe { libc::read(from, buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return None;
    }
    let mut done = 0usize;
    while done < n as usize {
        // SAFETY: writing the initialized part of the buffer.
        let w = unsafe { libc::write(to, buf[done..].as_ptr().cast(), n as usize - done) };
        if w <= 0 {
            return None;
        }
        done += w as usize;
    }
    Some(done)
}

/// Gives the terminal the size of our own stdin terminal (SIGWINCH in `run`).
pub fn copy_winsize(master: &OwnedFd) {
    let mut ws: libc::winsize = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ read/write one winsize struct that outlives the calls.
    unsafe {
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Puts our stdin terminal in raw mode for the time `run` proxies a container terminal, and
/// restores it on drop. Does nothing when stdin is not a terminal.
pub struct RawStdin(Option<nix::sys::termios::Termios>);

impl RawStdin {
    pub fn enter() -> Self {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(&stdin) else {
            return RawStdin(None);
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &raw);
        RawStdin(Some(saved))
    }
}

impl Drop for RawStdin {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                saved,
            );
        }
    }
}
