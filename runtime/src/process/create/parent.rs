//! The parent side of `create`'s chain: forks stage-1 and answers its and the init's messages
//! until `Created`, doing through the [`Host`] what needs the runtime's namespaces (cgroup
//! placement, id maps, the prestart and createRuntime hooks). The message loop ([`drive`])
//! only needs a channel and a host, so a test drives it without root.

use super::Context;
use crate::process::channel::{ChainError, Channel, ChannelError, Msg};
use crate::process::fork::{fork, Stage};
use nix::unistd::ForkResult;

/// What the parent does for the chain in the runtime's namespaces.
pub trait Host {
    type Error: From<ChainError>;
    /// Stage-1 exists (from here on, a failure must kill it).
    fn forked(&mut self, stage1: i32);
    /// Moves stage-1 into the container's cgroup, resources applied, before any namespace
    /// exists (so a new cgroup namespace is rooted there).
    fn place(&mut self, stage1: i32) -> Result<(), Self::Error>;
    /// Stage-1 created a user namespace: writes its uid_map and gid_map.
    fn write_id_maps(&mut self, stage1: i32) -> Result<(), Self::Error>;
    /// The init exists (stage-1 is reaped): record it.
    fn init_forked(&mut self, init: i32) -> Result<(), Self::Error>;
    /// The container shares a mount namespace: what was mounted under its rootfs before.
    fn shared_mounts(
        &mut self,
        before: crate::rootfs::shared_ns::SharedMounts,
    ) -> Result<(), Self::Error>;
    /// Runs the prestart and createRuntime hooks; returns the state for createContainer.
    fn run_create_hooks(&mut self) -> Result<String, Self::Error>;
}

/// Forks stage-1 and follows the chain until the init reports `Created`; returns the init's
/// pid. The caller undoes what exists on failure (it learns the pids through the host).
pub fn spawn<H: Host>(ctx: &Context, host: &mut H) -> Result<i32, H::Error> {
    let (parent, child) = Channel::pair().map_err(ChainError::from)?;
    let stage1 = match fork(Stage::CreateChild).map_err(ChainError::Setup)? {
        ForkResult::Child => {
            drop(parent);
            super::stage1::run(ctx, child)
        }
        ForkResult::Parent { child } => child.as_raw(),
    };
    drop(child);
    host.forked(stage1);
    drive(&parent, ctx.id, stage1, host)
}

/// The parent's side of the messages (see the picture in [`crate::process::channel`]). A
/// channel that closes before `Created` means a child died without a word: whether our send
/// or our receive saw it first, the error is the same ([`ChainError::InitGone`]).
pub fn drive<H: Host>(
    parent: &Channel,
    id: &str,
    stage1: i32,
    host: &mut H,
) -> Result<i32, H::Error> {
    let gone = |e: ChannelError| match e {
        ChannelError::Closed => ChainError::InitGone(id.to_string()),
        other => ChainError::Channel(other),
    };
    host.place(stage1)?;
    parent.send(&Msg::CgroupReady).map_err(gone)?;
    let mut init = None;
    loop {
        match parent.recv().map_err(gone)? {
            Msg::UserNsCreated => {
                host.write_id_maps(stage1)?;
                parent.send(&Msg::MappingsWritten).map_err(gone)?;
            }
            Msg::InitPid(pid) => {
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(stage1), None);
                host.init_forked(pid)?;
                init = Some(pid);
                parent.send(&Msg::Proceed(pid)).map_err(gone)?;
            }
            Msg::SharedMounts(before) => host.shared_mounts(before)?,
            Msg::RunCreateHooks => {
                let state = host.run_create_hooks()?;
                parent.send(&Msg::HooksDone(state)).map_err(gone)?;
            }
            Msg::Created => {
                return init.ok_or_else(|| ChainError::Unexpected(Msg::Created).into());
            }
            Msg::Error(msg) => return Err(ChainError::Child(msg).into()),
            other => return Err(ChainError::Unexpected(other).into()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    /// A host that records what the loop asked of it, in order.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
    }

    impl Host for Recorder {
        type Error = ChainError;
        fn forked(&mut self, stage1: i32) {
            self.calls.push(format!("forked {stage1}"));
        }
        fn place(&mut self, stage1: i32) -> Result<(), ChainError> {
            self.calls.push(format!("place {stage1}"));
            Ok(())
        }
        fn write_id_maps(&mut self, stage1: i32) -> Result<(), ChainError> {
            self.calls.push(format!("maps {stage1}"));
            Ok(())
        }
        fn init_forked(&mut self, init: i32) -> Result<(), ChainError> {
            self.calls.push(format!("init {init}"));
            Ok(())
        }
        fn shared_mounts(
            &mut self,
            before: crate::rootfs::shared_ns::SharedMounts,
        ) -> Result<(), ChainError> {
            self.calls
                .push(format!("shared {}", before.rootfs.display()));
            Ok(())
        }
        fn run_create_hooks(&mut self) -> Result<String, ChainError> {
            self.calls.push("hooks".into());
            Ok("{\"status\":\"creating\"}".into())
        }
    }

    /// The whole sequence with a user namespace and hooks, played by a thread: no fork, no
    /// root (stage-1 is a made-up pid, no child of ours: the loop's waitpid finds nothing).
    #[test]
    fn the_loop_follows_the_chain_to_created() {
        let (parent, child) = Channel::pair().unwrap();
        let chain_side = std::thread::spawn(move || {
            child.expect(Msg::CgroupReady).unwrap();
            child.send(&Msg::UserNsCreated).unwrap();
            child.expect(Msg::MappingsWritten).unwrap();
            child.send(&Msg::InitPid(4242)).unwrap();
            assert_eq!(child.expect_proceed().unwrap(), 4242);
            child
                .send(&Msg::SharedMounts(crate::rootfs::shared_ns::SharedMounts {
                    rootfs: "/r".into(),
                    ..Default::default()
                }))
                .unwrap();
            child.send(&Msg::RunCreateHooks).unwrap();
            assert_eq!(
                child.recv().unwrap(),
                Msg::HooksDone("{\"status\":\"creating\"}".into())
            );
            child.send(&Msg::Created).unwrap();
        });
        let mut host = Recorder::default();
        let init = drive(&parent, "c1", 41, &mut host).unwrap();
        chain_side.join().unwrap();
        assert_eq!(init, 4242);
        assert_eq!(
            host.calls,
            ["place 41", "maps 41", "init 4242", "shared /r", "hooks"]
        );
    }

    #[test]
    fn a_silent_death_names_the_container_and_a_child_error_is_passed_on() {
        let (parent, child) = Channel::pair().unwrap();
        let chain_side = std::thread::spawn(move || {
            child.expect(Msg::CgroupReady).unwrap();
            drop(child); // killed without a word
        });
        let err = drive(&parent, "c2", 41, &mut Recorder::default()).unwrap_err();
        chain_side.join().unwrap();
        assert_eq!(
            err.to_string(),
            "container c2: init process exited before the container was created"
        );

        let (parent, child) = Channel::pair().unwrap();
        let chain_side = std::thread::spawn(move || {
            child.expect(Msg::CgroupReady).unwrap();
            child
                .send(&Msg::Error("mount proc on /proc: EPERM".into()))
                .unwrap();
        });
        let err = drive(&parent, "c3", 41, &mut Recorder::default()).unwrap_err();
        chain_side.join().unwrap();
        assert_eq!(err.to_string(), "mount proc on /proc: EPERM");
    }
}
