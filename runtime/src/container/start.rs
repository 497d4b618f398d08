//! runtime.md "Start": release the init waiting on the exec fifo so it runs the user program
//! (lifecycle steps 6–9). Only a `created` container can be started.
//!
//! No polling: the fifo and a pidfd of the init are polled together. The init writes `0` when
//! released, then either execs (its close-on-exec write end closes: EOF) or writes why it
//! could not and exits.

use super::Error;
use crate::state::{Container, Status};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub fn start(root: &Path, id: &str) -> Result<(), Error> {
    crate::id::validate(id)?;
    let mut container = Container::load_locked(root, id)?;
    let status = container.status();
    if status != Status::Created {
        return Err(Error::WrongState {
            op: "start",
            id: id.to_string(),
            status,
        });
    }
    release(&container)?;
    crate::logging::debug(&format!("container {id} started"));
    // The saved status stays true for readers of the state dir (ocitop, scripts): `running`
    // from here; only the kernel can say `stopped`, and every reader checks the init.
    container.state.status = Status::Running;
    container.save()?;
    // config.md "Poststart": after the user program is executed, before start returns. A
    // failure stops the container (runtime.md "Lifecycle" step 9).
    if let Some(poststart) = container
        .state
        .hooks
        .as_ref()
        .and_then(|h| h.poststart().as_ref())
    {
        let state = serde_json::to_string(&container.public(Status::Running))
            .map_err(|e| Error::Failed(e.to_string()))?;
        if let Err(e) = crate::hooks::run("poststart", poststart, state.as_bytes()) {
            super::kill_and_wait(&[container.state.pid], None);
            return Err(e.into());
        }
    }
    Ok(())
}

/// Opens the fifo's read end and waits until the init has exec'd the user program.
fn release(container: &Container) -> Result<(), Error> {
    let path = container.fifo_path();
    let id = &container.state.id;
    let pidfd = crate::process::pidfd_open(container.state.pid)
        .ok_or_else(|| Error::Failed(format!("container {id}: init process is gone")))?;
    let mut fifo = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| Error::os(format!("open {}", path.display()), &e))?;
    let mut said = Vec::new();
    let mut released = false;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: fifo.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds for the call's duration.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::os("poll exec fifo", &e));
        }
        if fds[0].revents != 0 {
            let mut buf = [0u8; 4096];
            match fifo.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    said.extend_from_slice(&buf[..n]);
                    if !released {
                        released = true;
                        // The container is no longer `created` from here on.
                        let _ = std::fs::remove_file(&path);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(Error::os("read exec fifo", &e)),
            }
        } else if fds[1].revents != 0 {
            // The init died without ever opening the fifo.
            return Err(Error::Failed(format!(
                "container {id}: init process exited before it was started"
            )));
        }
    }
    match said.split_first() {
        Some((b'0', [])) => Ok(()),
        Some((b'0', why)) => Err(Error::Failed(String::from_utf8_lossy(why).into_owned())),
        _ => Err(Error::Failed(format!(
            "container {id}: init process exited before it was started"
        ))),
    }
}
