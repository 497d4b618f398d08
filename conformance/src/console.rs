//! The console socket of runc's command line (`create --console-socket PATH`): when
//! `process.terminal` is true the runtime allocates a pseudoterminal (config.md "Process") and
//! sends its master over this unix socket (SCM_RIGHTS, unix(7)); the runner copies what the
//! container writes to it into a file, where the observe step reads the probe's report.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A listening console socket and the file the terminal's output goes to.
pub struct Console {
    pub socket: PathBuf,
    pub output: PathBuf,
}

impl Console {
    /// Listens on `socket`; a thread waits (up to `timeout`) for the runtime to connect and
    /// send the master, then copies the terminal to `output` until the container closes it.
    pub fn listen(socket: &Path, output: &Path, timeout: Duration) -> std::io::Result<Console> {
        let listener = UnixListener::bind(socket)?;
        listener.set_nonblocking(true)?;
        File::create(output)?;
        let out = output.to_path_buf();
        std::thread::spawn(move || {
            let started = Instant::now();
            let stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if started.elapsed() >= timeout {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => return,
                }
            };
            let _ = stream.set_nonblocking(false);
            let Some(master) = receive_fd(&stream) else {
                return;
            };
            let mut master = File::from(master);
            let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&out) else {
                return;
            };
            let mut buf = [0u8; 4096];
            // EIO once every slave is closed: the container is gone.
            while let Ok(n @ 1..) = master.read(&mut buf) {
                if file.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        });
        Ok(Console {
            socket: socket.to_path_buf(),
            output: output.to_path_buf(),
        })
    }
}

/// Receives one file descriptor sent with SCM_RIGHTS on a connected unix stream.
fn receive_fd(stream: &std::os::unix::net::UnixStream) -> Option<OwnedFd> {
    use std::os::fd::AsRawFd;
    let mut data = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // Room for one control message carrying one int (CMSG_SPACE is not const in libc).
    let mut control = [0u64; 8];
    // SAFETY: an all-zero msghdr is valid; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: recvmsg on our socket with the buffers described by msg.
    let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return None;
    }
    // SAFETY: walking the control messages the kernel wrote into `control`, as cmsg(3) says.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null()
            || (*cmsg).cmsg_level != libc::SOL_SOCKET
            || (*cmsg).cmsg_type != libc::SCM_RIGHTS
        {
            return None;
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
        (fd >= 0).then(|| OwnedFd::from_raw_fd(fd))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    /// Sends `fd` with SCM_RIGHTS, as a runtime does with the pty master.
    fn send_fd(stream: &UnixStream, fd: i32) {
        let mut byte = [0u8; 1];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut control = [0u64; 8];
        // SAFETY: test code building a valid msghdr with one SCM_RIGHTS message.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) as usize;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), fd);
            assert!(libc::sendmsg(stream.as_raw_fd(), &msg, 0) >= 0);
        }
    }

    #[test]
    fn the_console_copies_what_is_written_to_the_received_fd() {
        let dir = std::env::temp_dir().join(format!("ocikit-console-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let console = Console::listen(
            &dir.join("c.sock"),
            &dir.join("c.tty"),
            Duration::from_secs(5),
        )
        .unwrap();
        // A pipe stands in for the pty: the runner reads the end it receives.
        let (reader, mut writer) = std::io::pipe().unwrap();
        let stream = UnixStream::connect(&console.socket).unwrap();
        send_fd(&stream, reader.as_raw_fd());
        drop(reader);
        writer.write_all(b"{\"version\":1}\r\n").unwrap();
        drop(writer);
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&console.output).unwrap();
            if text == "{\"version\":1}\r\n" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "copied: {text:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
