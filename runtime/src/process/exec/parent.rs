//! The parent side of `exec`'s chain: forks the first child, places it in the container's
//! cgroup through the [`Host`], and follows the chain until the process has exec'd. The
//! message loop ([`drive`]) only needs a channel and a host, so a test drives it without root.

use super::JoinContext;
use crate::process::channel::{ChainError, Channel, ChannelError, Msg};
use crate::process::fork::{fork, Stage};
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid};

/// What the parent does for the chain in the runtime's namespaces.
pub trait Host {
    type Error: From<ChainError>;
    /// Moves the first child into the container's cgroup (before it joins any namespace).
    fn place(&mut self, first: i32) -> Result<(), Self::Error>;
}

/// Forks the chain and waits until the process has exec'd; returns its pid. On failure every
/// process of the chain is killed and reaped.
pub fn spawn<H: Host>(ctx: &JoinContext, host: &mut H) -> Result<i32, H::Error> {
    let (parent, child) = Channel::pair().map_err(ChainError::from)?;
    let first = match fork(Stage::ExecJoin).map_err(ChainError::Setup)? {
        ForkResult::Child => {
            drop(parent);
            super::child::run(ctx, child)
        }
        ForkResult::Parent { child: pid } => pid.as_raw(),
    };
    drop(child);
    let mut chain = Chain {
        first: Some(first),
        process: None,
    };
    let (initial, _) =
        crate::process::attributes::affinity_lists(ctx.process.exec_cpu_affinity().as_ref());
    let result = drive(&parent, first, initial.as_deref(), &mut chain, host);
    if result.is_err() {
        // A child still reading the channel sees EOF and exits.
        drop(parent);
        chain.abort();
    }
    result
}

/// The parent's side of the messages (see the picture in [`crate::process::channel`]).
pub fn drive<H: Host>(
    parent: &Channel,
    first: i32,
    initial_affinity: Option<&str>,
    chain: &mut Chain,
    host: &mut H,
) -> Result<i32, H::Error> {
    // config.md "execCPUAffinity": `initial` is where the process runs before the transition
    // to the container's cgroup.
    if let Some(list) = initial_affinity {
        crate::process::attributes::set_cpu_affinity(
            first,
            list,
            "process.execCPUAffinity.initial",
        )
        .map_err(ChainError::Setup)?;
    }
    host.place(first)?;
    parent.send(&Msg::CgroupReady).map_err(ChainError::from)?;
    let pid = match parent.recv().map_err(ChainError::from)? {
        Msg::InitPid(pid) => pid,
        Msg::Error(msg) => return Err(ChainError::Child(msg).into()),
        other => return Err(ChainError::Unexpected(other).into()),
    };
    chain.process = Some(pid);
    chain.reap_first();
    parent.send(&Msg::Proceed(pid)).map_err(ChainError::from)?;
    match parent.recv() {
        // The close-on-exec channel closed: the process runs.
        Err(ChannelError::Closed) => Ok(pid),
        Ok(Msg::Error(msg)) => Err(ChainError::Child(msg).into()),
        Ok(other) => Err(ChainError::Unexpected(other).into()),
        Err(e) => Err(ChainError::from(e).into()),
    }
}

/// The processes of the chain that exist: the first child until it is reaped, and the
/// process once the first child reported it (ours once the first child is gone, since
/// `exec` is a subreaper, so its pid cannot be reused before we reap it).
///
/// The process may also have exec'd already: a failure after the spawn (the pid file) kills
/// it too, as runc does.
#[derive(Debug, Default)]
pub struct Chain {
    pub first: Option<i32>,
    pub process: Option<i32>,
}

impl Chain {
    /// The first child exits once it reported the process: reap it.
    fn reap_first(&mut self) {
        if let Some(pid) = self.first.take() {
            let _ = waitpid(Pid::from_raw(pid), None);
        }
    }

    /// After a failure: kills what is left of the chain and waits for it, so that no zombie
    /// and no stray process in the container remain.
    pub fn abort(mut self) {
        for pid in self.first.iter().chain(&self.process) {
            let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        // The process is reparented to us before the first child can be reaped.
        self.reap_first();
        if let Some(pid) = self.process {
            let _ = waitpid(Pid::from_raw(pid), None);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    /// A host that records placements.
    #[derive(Default)]
    struct Recorder {
        placed: Vec<i32>,
    }

    impl Host for Recorder {
        type Error = ChainError;
        fn place(&mut self, first: i32) -> Result<(), ChainError> {
            self.placed.push(first);
            Ok(())
        }
    }

    /// The parent loop, driven by a thread playing the chain: no fork, no root.
    #[test]
    fn the_loop_places_proceeds_and_sees_the_exec() {
        let (parent, child) = Channel::pair().unwrap();
        let chain_side = std::thread::spawn(move || {
            child.expect(Msg::CgroupReady).unwrap();
            child.send(&Msg::InitPid(4242)).unwrap();
            assert_eq!(child.expect_proceed().unwrap(), 4242);
            drop(child); // as a successful execve closes it
        });
        let mut host = Recorder::default();
        let mut chain = Chain::default();
        let pid = drive(&parent, 77, None, &mut chain, &mut host).unwrap();
        chain_side.join().unwrap();
        assert_eq!(pid, 4242);
        assert_eq!(host.placed, vec![77]);
        assert_eq!(chain.process, Some(4242));
    }

    #[test]
    fn a_child_error_is_the_error() {
        let (parent, child) = Channel::pair().unwrap();
        let chain_side = std::thread::spawn(move || {
            child.expect(Msg::CgroupReady).unwrap();
            child
                .send(&Msg::Error("setns mnt: operation not permitted".into()))
                .unwrap();
        });
        let err = drive(
            &parent,
            77,
            None,
            &mut Chain::default(),
            &mut Recorder::default(),
        )
        .unwrap_err();
        chain_side.join().unwrap();
        assert_eq!(err.to_string(), "setns mnt: operation not permitted");
    }
}
