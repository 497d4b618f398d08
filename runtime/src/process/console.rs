//! `process.terminal` (config.md "Process"): a pseudoterminal pair allocated inside the
//! container (after /dev/pts is mounted), the slave made the controlling terminal and the
//! standard streams, and the master sent to the caller over `--console-socket` with
//! SCM_RIGHTS, as runc does (containerd, conmon and podman receive it there).

use oci_spec::runtime::Process;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// Returns the path of the slave, for /dev/console.
pub fn setup(process: &Process, socket: Option<&OwnedFd>) -> Result<std::path::PathBuf, String> {
    let socket = socket.ok_or("process.terminal is set but there is no console socket")?;
    let fail =
        |what: &str, e: nix::errno::Errno| format!("{what}: {}", crate::errno_text_raw(e as i32));
    use nix::fcntl::OFlag;
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| fail("open /dev/ptmx", e))?;
    nix::pty::grantpt(&master).map_err(|e| fail("grantpt", e))?;
    nix::pty::unlockpt(&master).map_err(|e| fail("unlockpt", e))?;
    let slave_name = nix::pty::ptsname_r(&master).map_err(|e| fail("ptsname", e))?;
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
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags_noctty()
        .open(&slave_name)
        .map_err(|e| format!("open {slave_name}: {}", crate::errno_text(&e)))?;
    send_fd(socket, &master, &slave_name)?;
    drop(master);
    nix::unistd::setsid().map_err(|e| fail("setsid", e))?;
    // SAFETY: TIOCSCTTY takes an int argument; the slave fd is open.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "set controlling terminal: {}",
            crate::errno_text(&e)
        ));
    }
    for target in 0..=2 {
        // SAFETY: dup2 onto the stdio numbers; both fds are valid.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!(
                "dup terminal to fd {target}: {}",
                crate::errno_text(&e)
            ));
        }
    }
    Ok(slave_name.into())
}

trait NoCtty {
    fn custom_flags_noctty(&mut self) -> &mut Self;
}

impl NoCtty for std::fs::OpenOptions {
    fn custom_flags_noctty(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
    }
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
