//! The sync channel between the parent (`ocirun create`, `ocirun exec`) and its children: a
//! SOCK_SEQPACKET socketpair carrying one JSON message per packet, so that the children can
//! tell the parent exactly what failed ("mount proc on /proc: permission denied") and the
//! parent can pace them (cgroup placement, id maps, hooks). A closed peer reads as EOF.
//!
//! `create` ([`crate::process::create`]); the init's end is close-on-exec, and after
//! `Created` the init blocks on the exec fifo until `start`:
//!
//! ```text
//!  parent                      stage-1 [1:CHILD]              init [2:INIT]
//!    │ fork ───────────────────► │
//!    │ place in cgroup           │
//!    │ ── CgroupReady ─────────► │ setns (user first), unshare user
//!    │ ◄──────── UserNsCreated ──│   (only with a new user namespace)
//!    │ write uid_map/gid_map     │
//!    │ ── MappingsWritten ─────► │ unshare the rest, time offsets
//!    │                           │ fork ──────────────────────────► │
//!    │ ◄─────────── InitPid(n) ──│ exits                            │
//!    │ reap stage-1, read stat   │                                  │
//!    │ ── Proceed(n) ────────────┼────────────────────────────────► │ hostname, sysctl
//!    │ ◄──────────────────────────────────────────── SharedMounts ──│ (no new mount ns only)
//!    │ record them               │                                  │ mounts
//!    │ ◄────────────────────────────────────────── RunCreateHooks ──│ (only with hooks)
//!    │ prestart, createRuntime   │                                  │
//!    │ ── HooksDone(state) ──────┼────────────────────────────────► │ createContainer, pivot,
//!    │ ◄───────────────────────────────────────────────── Created ──│ console, masks, ...
//!    │ save state, pid file      │                                  │ open exec.fifo (blocks)
//! ```
//!
//! `exec` ([`crate::process::exec`]); the process's end is close-on-exec, so EOF means it
//! ran its program:
//!
//! ```text
//!  parent                      first child [1:JOIN]            process [2:EXEC]
//!    │ fork ───────────────────► │
//!    │ initial CPU affinity, place in cgroup
//!    │ ── CgroupReady ─────────► │ final CPU affinity, setns (user first)
//!    │                           │ fork ──────────────────────────► │
//!    │ ◄─────────── InitPid(n) ──│ exits                            │
//!    │ reap the first child      │                                  │
//!    │ ── Proceed(n) ────────────┼────────────────────────────────► │ terminal, rlimits, user,
//!    │ ◄────────────────────────────────────────────────── EOF ─────│ seccomp, execve
//! ```
//!
//! Any child may send `Error(text)` instead of its next message; the parent then undoes
//! everything ([`ChainError`]).

use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// Every message, in the order they travel (p = parent, s = stage-1, i = init).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// p→s: you are in the container's cgroup; go on.
    CgroupReady,
    /// s→p: I created a user namespace; write my uid_map/gid_map.
    UserNsCreated,
    /// p→s: the maps are written.
    MappingsWritten,
    /// s→p: the init's pid (as the runtime sees it).
    InitPid(i32),
    /// p→i: the parent knows your pid, which is this one as the runtime sees it; go on.
    Proceed(i32),
    /// i→p: no new mount namespace: the mounts already under the rootfs, so that delete can
    /// undo the others (crate::rootfs::shared_ns).
    SharedMounts(crate::rootfs::shared_ns::SharedMounts),
    /// i→p: namespaces exist, mounts not yet pivoted: run prestart and createRuntime hooks.
    RunCreateHooks,
    /// p→i: those hooks passed; this is the state JSON for the createContainer hooks.
    HooksDone(String),
    /// i→p: everything is set up; I now block on the exec fifo.
    Created,
    /// s/i→p: a failure, already phrased for the user.
    Error(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("sync channel: {0}")]
    Io(String),
    #[error("sync channel: peer exited")]
    Closed,
    #[error("sync channel: bad message: {0}")]
    Decode(String),
    #[error("sync channel: expected {expected}, got {got:?}")]
    Unexpected { expected: &'static str, got: Msg },
}

/// What the parent side of a chain can meet: each phrased for the user.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// A child failed and said why.
    #[error("{0}")]
    Child(String),
    /// create's init died without a word (killed, out of memory) before `Created`.
    #[error("container {0}: init process exited before the container was created")]
    InitGone(String),
    #[error("sync channel: unexpected {0:?}")]
    Unexpected(Msg),
    /// The parent's own step failed (fork, CPU affinity).
    #[error("{0}")]
    Setup(String),
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel(OwnedFd);

impl Channel {
    /// A connected pair, close-on-exec (neither end may leak into the user process).
    pub fn pair() -> Result<(Channel, Channel), ChannelError> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| ChannelError::Io(crate::errno_text_raw(e as i32)))?;
        Ok((Channel(a), Channel(b)))
    }

    pub fn send(&self, msg: &Msg) -> Result<(), ChannelError> {
        let bytes = serde_json::to_vec(msg).map_err(|e| ChannelError::Decode(e.to_string()))?;
        loop {
            match nix::sys::socket::send(
                self.0.as_raw_fd(),
                &bytes,
                nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EPIPE) => return Err(ChannelError::Closed),
                Err(e) => return Err(ChannelError::Io(crate::errno_text_raw(e as i32))),
            }
        }
    }

    pub fn recv(&self) -> Result<Msg, ChannelError> {
        use nix::sys::socket::MsgFlags;
        // A packet longer than the buffer would be cut silently: peek at its length first
        // (MSG_TRUNC returns the real length) — the state JSON grows with the annotations.
        let mut probe = [0u8; 1];
        let len = self.recv_into(&mut probe, MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC)?;
        let mut buf = vec![0u8; len.max(1)];
        let n = self.recv_into(&mut buf, MsgFlags::empty())?;
        if n == 0 {
            return Err(ChannelError::Closed);
        }
        serde_json::from_slice(&buf[..n]).map_err(|e| ChannelError::Decode(e.to_string()))
    }

    fn recv_into(
        &self,
        buf: &mut [u8],
        flags: nix::sys::socket::MsgFlags,
    ) -> Result<usize, ChannelError> {
        loop {
            match nix::sys::socket::recv(self.0.as_raw_fd(), buf, flags) {
                Ok(n) => return Ok(n),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::ECONNRESET) => return Err(ChannelError::Closed),
                Err(e) => return Err(ChannelError::Io(crate::errno_text_raw(e as i32))),
            }
        }
    }

    /// Receives and checks the next message is `expected`; an `Error` is passed on as is.
    pub fn expect(&self, expected: Msg) -> Result<(), ChannelError> {
        let got = self.recv()?;
        if got == expected {
            Ok(())
        } else {
            Err(ChannelError::Unexpected {
                expected: name(&expected),
                got,
            })
        }
    }
}

impl Channel {
    /// Receives `Proceed`: returns the pid it carries.
    pub fn expect_proceed(&self) -> Result<i32, ChannelError> {
        match self.recv()? {
            Msg::Proceed(pid) => Ok(pid),
            got => Err(ChannelError::Unexpected {
                expected: "Proceed",
                got,
            }),
        }
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

fn name(msg: &Msg) -> &'static str {
    match msg {
        Msg::CgroupReady => "CgroupReady",
        Msg::UserNsCreated => "UserNsCreated",
        Msg::MappingsWritten => "MappingsWritten",
        Msg::InitPid(_) => "InitPid",
        Msg::Proceed(_) => "Proceed",
        Msg::SharedMounts(_) => "SharedMounts",
        Msg::RunCreateHooks => "RunCreateHooks",
        Msg::HooksDone(_) => "HooksDone",
        Msg::Created => "Created",
        Msg::Error(_) => "Error",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_eof() {
        let (a, b) = Channel::pair().unwrap();
        a.send(&Msg::InitPid(42)).unwrap();
        a.send(&Msg::Error("mount /proc: permission denied".into()))
            .unwrap();
        assert_eq!(b.recv().unwrap(), Msg::InitPid(42));
        assert!(matches!(
            b.expect(Msg::Created),
            Err(ChannelError::Unexpected { .. })
        ));
        drop(a);
        assert!(matches!(b.recv(), Err(ChannelError::Closed)));
    }

    /// The state JSON for createContainer hooks carries every annotation: a message larger
    /// than any fixed buffer arrives whole.
    #[test]
    fn large_message_arrives_whole() {
        let (a, b) = Channel::pair().unwrap();
        let state = format!("{{\"annotations\":\"{}\"}}", "x".repeat(100 << 10));
        a.send(&Msg::HooksDone(state.clone())).unwrap();
        assert_eq!(b.recv().unwrap(), Msg::HooksDone(state));
    }
}
