//! runtime.md "Create": build the container's environment from `config.json` and leave the
//! user program waiting (lifecycle steps 1–5). On any failure nothing is left behind: the
//! children are killed, the cgroup and the state directory removed (runtime.md "Errors").

use super::Error;
use crate::state::{Container, State, Status};
use crate::{cgroups, hooks, namespaces, process, spec};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// runc's `create` flags.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
    pub systemd_cgroup: bool,
}

/// What `run` needs to know about a fresh container.
#[derive(Debug)]
pub struct Created {
    pub pid: i32,
    pub terminal: bool,
}

/// Creates container `id` from `opts.bundle`. `console` overrides `--console-socket` with an
/// already connected socket (used by `run` to receive the terminal itself).
pub fn create(
    root: &Path,
    id: &str,
    opts: &Options,
    console: Option<OwnedFd>,
) -> Result<Created, Error> {
    crate::id::validate(id)?;
    let loaded = spec::load(&opts.bundle)?;
    let spec = &loaded.spec;
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let console = match (terminal, console, &opts.console_socket) {
        (false, _, _) => None,
        (true, Some(fd), _) => Some(fd),
        (true, None, Some(path)) => Some(connect_console(path)?),
        (true, None, None) => {
            return Err(Error::Failed(
                "process.terminal is true: --console-socket is required".into(),
            ))
        }
    };
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    if let Some(warning) = cgroups::ignored_resources(resources) {
        crate::logging::warn(&warning);
    }
    let plan = namespaces::Plan::from_spec(spec)?;
    let linux = spec.linux().clone().unwrap_or_default();
    let state = State {
        oci_version: crate::OCI_VERSION.to_string(),
        id: id.to_string(),
        status: Status::Creating,
        pid: 0,
        bundle: loaded.bundle.clone(),
        annotations: spec
            .annotations()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        rootfs: loaded.rootfs.clone(),
        created: crate::timefmt::now_rfc3339(),
        init_start_time: 0,
        cgroups_path: linux.cgroups_path().clone(),
        systemd_cgroup: opts.systemd_cgroup,
        hooks: spec.hooks().clone(),
        process: spec.process().clone(),
        seccomp: linux.seccomp().clone(),
        resources: linux.resources().clone(),
        personality: linux.personality().clone(),
        memory_policy: linux.memory_policy().clone(),
        shared_mounts: None,
    };
    let mut container = Container::create_dir(root, state)?;
    let mut progress = Progress::default();
    match build(&mut container, &loaded, plan, console, opts, &mut progress) {
        Ok(pid) => Ok(Created { pid, terminal }),
        Err(e) => {
            progress.undo(&container);
            Err(e)
        }
    }
}

/// What exists so far, to undo on failure.
#[derive(Default)]
struct Progress {
    stage1: Option<i32>,
    init: Option<i32>,
    cgroup: Option<Box<dyn cgroups::CgroupManager>>,
    /// Set once create-time hooks started: runtime.md "Lifecycle" step 3–5 failures continue
    /// at step 12, whose step 13 runs poststop hooks.
    hooks_started: bool,
}

impl Progress {
    fn undo(self, container: &Container) {
        let mut pids: Vec<i32> = self.init.into_iter().chain(self.stage1).collect();
        if let Some(cg) = &self.cgroup {
            pids.extend(cg.pids().unwrap_or_default());
        }
        super::kill_and_wait(&pids, self.cgroup.as_deref());
        if let Some(s1) = self.stage1 {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(s1), None);
        }
        super::unmount_shared(container);
        if let Some(cg) = &self.cgroup {
            if let Err(e) = cg.remove() {
                crate::logging::warn(&format!("remove cgroup: {e}"));
            }
        }
        if let Err(e) = container.remove_dir() {
            crate::logging::warn(&e.to_string());
        }
        if self.hooks_started {
            super::delete::run_poststop(container);
        }
    }
}

fn build(
    container: &mut Container,
    loaded: &spec::Loaded,
    plan: namespaces::Plan,
    console: Option<OwnedFd>,
    opts: &Options,
    progress: &mut Progress,
) -> Result<i32, Error> {
    container.save()?;
    let spec = &loaded.spec;
    let fifo = make_fifo(&container.fifo_path(), container_root_ids(spec))?;
    let hooks = spec.hooks().clone().unwrap_or_default();
    let create_hooks = [
        hooks.prestart(),
        hooks.create_runtime(),
        hooks.create_container(),
    ]
    .iter()
    .any(|h| h.as_ref().is_some_and(|v| !v.is_empty()));
    let seccomp_agent = match (linux_seccomp(spec), &loaded.seccomp) {
        (Some(profile), Some(filter)) => {
            let state = serde_json::to_value(container.public(Status::Created))
                .map_err(|e| Error::Failed(e.to_string()))?;
            crate::seccomp::notify::agent_for(profile, filter, state).map_err(Error::Failed)?
        }
        _ => None,
    };
    let id = container.state.id.clone();
    let shared_mount_ns = !plan.creates(oci_spec::runtime::LinuxNamespaceType::Mount);
    let ctx = process::create::Context {
        id: &id,
        spec,
        rootfs: loaded.rootfs.clone(),
        bundle: loaded.bundle.clone(),
        namespaces: plan,
        rootfs_options: crate::rootfs::RootfsOptions {
            no_pivot: opts.no_pivot,
            bundle: Some(loaded.bundle.clone()),
            // Opened here, as host root: the init may be in a user namespace that cannot
            // reach them (podman's 0700 userdata).
            host_sources: crate::rootfs::host_sources(spec, &loaded.bundle)
                .map_err(|e| Error::Failed(e.to_string()))?,
            shared_mount_ns,
        },
        fifo,
        console_socket: console,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        create_hooks,
        seccomp: loaded.seccomp.clone(),
        seccomp_agent,
        capabilities: spec
            .process()
            .as_ref()
            .and_then(|p| p.capabilities().as_ref())
            .map(|c| crate::capabilities::Masks::from_spec(c, |w| crate::logging::warn(&w))),
        lock_fd: container.lock_fd(),
    };
    let cgroup = cgroups::manager(
        container.state.cgroups_path.as_deref(),
        &container.state.id,
        opts.systemd_cgroup,
    )?;
    let mut host = CreateHost {
        container: &mut *container,
        spec,
        hooks: &hooks,
        cgroup: Some(cgroup),
        progress: &mut *progress,
    };
    let spawned = process::create::parent::spawn(&ctx, &mut host);
    drop(ctx);
    spawned?;
    crate::logging::debug(&format!("container {} created", container.state.id));
    container.state.status = Status::Created;
    container.save()?;
    if let Some(path) = &opts.pid_file {
        write_pid_file(path, container.state.pid)?;
    }
    Ok(container.state.pid)
}

fn linux_seccomp(spec: &oci_spec::runtime::Spec) -> Option<&oci_spec::runtime::LinuxSeccomp> {
    spec.linux().as_ref().and_then(|l| l.seccomp().as_ref())
}

/// What `create` does for its chain in the runtime's namespaces
/// ([`process::create::parent::Host`]), keeping `progress` up to date for the undo.
struct CreateHost<'a> {
    container: &'a mut Container,
    spec: &'a oci_spec::runtime::Spec,
    hooks: &'a oci_spec::runtime::Hooks,
    /// Until stage-1 is placed; then it is in `progress`.
    cgroup: Option<Box<dyn cgroups::CgroupManager>>,
    progress: &'a mut Progress,
}

impl process::create::parent::Host for CreateHost<'_> {
    type Error = Error;

    fn forked(&mut self, stage1: i32) {
        self.progress.stage1 = Some(stage1);
    }

    fn place(&mut self, stage1: i32) -> Result<(), Error> {
        let cgroup = self
            .cgroup
            .take()
            .ok_or_else(|| Error::Failed("stage-1 placed twice".into()))?;
        // Recorded first: a failure while applying resources still removes the cgroup.
        let cgroup = self.progress.cgroup.insert(cgroup);
        cgroup.apply_resources(
            stage1,
            self.spec
                .linux()
                .as_ref()
                .and_then(|l| l.resources().as_ref()),
        )?;
        crate::logging::debug(&format!("stage-1 {stage1} placed in {:?}", cgroup.paths()));
        Ok(())
    }

    fn write_id_maps(&mut self, stage1: i32) -> Result<(), Error> {
        if let Some(linux) = self.spec.linux() {
            namespaces::write_id_maps(stage1, linux)?;
        }
        Ok(())
    }

    fn init_forked(&mut self, init: i32) -> Result<(), Error> {
        self.progress.init = Some(init);
        self.progress.stage1 = None;
        let id = &self.container.state.id;
        let stat = crate::state::ProcStat::read(init)
            .ok_or_else(|| process::channel::ChainError::InitGone(id.clone()))?;
        self.container.state.pid = init;
        self.container.state.init_start_time = stat.start_time;
        crate::logging::debug(&format!("init pid {init}"));
        // config-linux.md "Network Devices": into the init's network namespace, which exists
        // now, before any hook or the program runs.
        if let Some(devices) = self
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.net_devices().as_ref())
        {
            let moves = crate::netdev::plan(devices)
                .map_err(|(field, why)| Error::Failed(format!("{field}: {why}")))?;
            let netns = std::fs::File::open(format!("/proc/{init}/ns/net"))
                .map_err(|e| Error::os(format!("open /proc/{init}/ns/net"), &e))?;
            crate::netdev::move_into(&moves, std::os::fd::AsFd::as_fd(&netns))
                .map_err(Error::Failed)?;
        }
        Ok(())
    }

    fn shared_mounts(
        &mut self,
        mut before: crate::rootfs::shared_ns::SharedMounts,
    ) -> Result<(), Error> {
        before.namespace = self
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_ref())
            .and_then(|ns| {
                ns.iter()
                    .find(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Mount)
            })
            .and_then(|n| n.path().clone());
        self.container.state.shared_mounts = Some(before);
        // Saved now: a create that dies from here on leaves a state that delete can undo.
        self.container.save()?;
        Ok(())
    }

    fn run_create_hooks(&mut self) -> Result<String, Error> {
        self.progress.hooks_started = true;
        self.container.save()?;
        let state = serde_json::to_string(&self.container.public(Status::Creating))
            .map_err(|e| Error::Failed(e.to_string()))?;
        // config.md "Prestart", "CreateRuntime Hooks": runtime namespace, in order.
        for (kind, list) in [
            ("prestart", self.hooks.prestart()),
            ("createRuntime", self.hooks.create_runtime()),
        ] {
            hooks::run(kind, list.as_deref().unwrap_or_default(), state.as_bytes())?;
        }
        Ok(state)
    }
}

/// The host uid and gid of the container's root when it runs in a new user namespace
/// (config-linux.md "User namespace mappings"), so that it can open the exec fifo.
fn container_root_ids(spec: &oci_spec::runtime::Spec) -> Option<(u32, u32)> {
    let linux = spec.linux().as_ref()?;
    let host_of_zero = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps.iter()
            .flatten()
            .find(|m| m.container_id() == 0)
            .map(|m| m.host_id())
    };
    Some((
        host_of_zero(linux.uid_mappings())?,
        host_of_zero(linux.gid_mappings())?,
    ))
}

/// The exec fifo (owner write, so only root-equivalents can release the init), returned as
/// an O_PATH fd for the init to reopen after pivot_root. Owned by the container's root.
fn make_fifo(path: &Path, owner: Option<(u32, u32)>) -> Result<OwnedFd, Error> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o622)).map_err(|e| {
        Error::Failed(format!(
            "mkfifo {}: {}",
            path.display(),
            crate::errno_text_raw(e as i32)
        ))
    })?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| Error::os(format!("chown {}", path.display()), &e))?;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| Error::os(format!("open {}", path.display()), &e))
}

/// `--console-socket`: connected here, in the runtime's mount namespace, and inherited by the
/// init, which sends the terminal's master over it.
fn connect_console(path: &Path) -> Result<OwnedFd, Error> {
    let stream = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::os(format!("connect console socket {}", path.display()), &e))?;
    Ok(OwnedFd::from(stream))
}

/// `--pid-file` of `create` and `exec`, written atomically (tmp + rename in the same
/// directory) as runc does: containerd and conmon read it as soon as it appears.
pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<(), Error> {
    let path = std::path::absolute(path).map_err(|e| Error::os(path.display(), &e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::os(path.display(), &e))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::os(path.display(), &e)
    })
}
