//! The container's saved state and its status (runtime.md "State", "Lifecycle").
//!
//! Layout: `<root>/<id>/state.json` (this file's [`State`], written atomically: tmp + rename)
//! and `<root>/<id>/exec.fifo` (present from create until start releases the init). The
//! status is never trusted from disk alone: it is derived from the saved status, whether the
//! init pid is alive with the start time saved at create (pid reuse detection; a zombie or an
//! exiting process counts as stopped, see [`ProcStat::has_exited`]) and whether the exec fifo
//! still exists.
//!
//! Commands that change a container hold an exclusive flock(2) on its directory for their whole
//! run, so two of them on one id are serialized; readers (`state`, `list`) take no lock since
//! the file is only ever replaced by rename.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The state file in a container's directory.
pub const STATE_FILE: &str = "state.json";
/// The fifo the init blocks on until `start` (runc's design).
pub const EXEC_FIFO: &str = "exec.fifo";

/// runtime.md "State": `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Stopped,
    /// runc's extra state (runtime.md "State" allows new values for new states): the
    /// container's processes are frozen by `pause`.
    Paused,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
            Status::Paused => "paused",
        })
    }
}

/// What ocirun saves about a container. The first six fields are runtime.md "State"; the rest
/// are ocirun's own (the state schema allows additional properties), needed by later commands
/// so that "changes to config.json after create have no effect" (runtime.md "Create").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub oci_version: String,
    pub id: String,
    /// The saved status: `creating`, `created` or `paused`; see [`Container::status`] for the
    /// live one.
    pub status: Status,
    /// The init's pid as the runtime sees it (0 until known).
    #[serde(default)]
    pub pid: i32,
    pub bundle: PathBuf,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The absolute host path of `root.path`.
    pub rootfs: PathBuf,
    /// RFC 3339 time of create.
    pub created: String,
    /// Field 22 of `/proc/PID/stat` of the init, to tell it from a later process that reused
    /// its pid.
    #[serde(default)]
    pub init_start_time: u64,
    /// `linux.cgroupsPath` as given (the cgroup manager resolves the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroups_path: Option<PathBuf>,
    /// `--systemd-cgroup` at create.
    #[serde(default)]
    pub systemd_cgroup: bool,
    /// The config's hooks at create (poststart and poststop run from later commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The config's process at create: the template of `exec` without `--process`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<oci_spec::runtime::Process>,
    /// `linux.seccomp` at create: `exec` applies it to its processes too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
    /// `linux.resources` at create with every `update` laid over it, as runc keeps them: what
    /// the container's cgroup was set to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    /// `linux.personality` and `linux.memoryPolicy` at create: container-wide, so `exec`
    /// gives its processes the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<oci_spec::runtime::LinuxPersonality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<oci_spec::runtime::LinuxMemoryPolicy>,
    /// No new mount namespace: what delete unmounts there (crate::rootfs::shared_ns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_mounts: Option<crate::rootfs::shared_ns::SharedMounts>,
}

/// The state as `ocirun state` prints it and hooks receive it (runtime.md "State"), plus
/// runc's extra fields.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Public<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: Status,
    /// REQUIRED when created or running; omitted when stopped (the process is gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("container {0} already exists")]
    AlreadyExists(String),
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{path}: corrupt state: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |e| StateError::Io {
        path: path.to_path_buf(),
        reason: crate::errno_text(&e),
    }
}

/// One container's directory, its state, and (for commands that change it) its lock.
#[derive(Debug)]
pub struct Container {
    pub dir: PathBuf,
    pub state: State,
    /// Held open while locked; closing it releases the flock.
    _lock: Option<File>,
    /// Made by [`Container::create_dir`]: this process is the container's `create`.
    creator: bool,
}

impl Container {
    /// Creates `<root>/<id>` (failing if it exists: ids are unique, runtime.md "Create") and
    /// locks it. The state is saved by the caller once filled in.
    pub fn create_dir(root: &Path, state: State) -> Result<Self, StateError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(root)
            .map_err(io_err(root))?;
        let dir = root.join(&state.id);
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StateError::AlreadyExists(state.id));
            }
            Err(e) => return Err(io_err(&dir)(e)),
        }
        let lock = lock_dir(&dir)?;
        Ok(Self {
            dir,
            state,
            _lock: Some(lock),
            creator: true,
        })
    }

    /// Reads a container's state without locking (for `state`, `list`, `ps`).
    pub fn load(root: &Path, id: &str) -> Result<Self, StateError> {
        let dir = root.join(id);
        let state = read_state(&dir, id)?;
        Ok(Self {
            dir,
            state,
            _lock: None,
            creator: false,
        })
    }

    /// Locks a container's directory and reads its state (for commands that change it). A
    /// container deleted while we waited for the lock is reported as not existing.
    pub fn load_locked(root: &Path, id: &str) -> Result<Self, StateError> {
        let dir = root.join(id);
        let lock = match lock_dir(&dir) {
            Err(StateError::Io { .. }) if !dir.exists() => {
                return Err(StateError::NotFound(id.to_string()))
            }
            other => other?,
        };
        let state = read_state(&dir, id)?;
        Ok(Self {
            dir,
            state,
            _lock: Some(lock),
            creator: false,
        })
    }

    /// Saves the state atomically: write a temporary file, fsync-free rename over the old one
    /// (readers see the old or the new file, never a torn one).
    pub fn save(&self) -> Result<(), StateError> {
        let tmp = self.dir.join(".state.json.tmp");
        let bytes = serde_json::to_vec(&self.state).map_err(|e| StateError::Corrupt {
            path: tmp.clone(),
            reason: e.to_string(),
        })?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        file.write_all(&bytes).map_err(io_err(&tmp))?;
        let path = self.dir.join(STATE_FILE);
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// The fd holding the lock: children must close their copy right after fork, or the
    /// lock (which belongs to the open file, not the process) would outlive this command.
    pub fn lock_fd(&self) -> Option<std::os::fd::RawFd> {
        self._lock.as_ref().map(|f| f.as_raw_fd())
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// The live status (runtime.md "State": `status`).
    pub fn status(&self) -> Status {
        match self.state.status {
            Status::Creating if self.creator_gone() => return Status::Stopped,
            Status::Creating => return Status::Creating,
            Status::Stopped => return Status::Stopped,
            Status::Created | Status::Running | Status::Paused => {}
        }
        if !self.init_alive() {
            return Status::Stopped;
        }
        if self.state.status == Status::Paused {
            return Status::Paused;
        }
        if self.fifo_path().exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// A `creating` state whose `create` no longer holds the directory lock was left by a
    /// create that was killed (SIGKILL, SIGTERM) before it could undo its work: nothing will
    /// ever finish it, so it is `stopped` and `delete` may clean up what it left behind.
    fn creator_gone(&self) -> bool {
        if self._lock.is_some() {
            // We hold the lock: no other create is running.
            return !self.creator;
        }
        let Ok(dir) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&self.dir)
        else {
            return false;
        };
        // SAFETY: flock on an fd we own; no memory is passed. Closing `dir` releases it.
        unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) == 0 }
    }

    /// Whether the saved init pid is a live process (neither a zombie nor exiting) with the
    /// saved start time.
    pub fn init_alive(&self) -> bool {
        if self.state.pid <= 0 {
            return false;
        }
        match ProcStat::read(self.state.pid) {
            Some(stat) => !stat.has_exited() && stat.start_time == self.state.init_start_time,
            None => false,
        }
    }

    /// The view printed by `state` and given to hooks, with the live status.
    pub fn public(&self, status: Status) -> Public<'_> {
        Public {
            oci_version: &self.state.oci_version,
            id: &self.state.id,
            status,
            pid: (status != Status::Stopped && self.state.pid > 0).then_some(self.state.pid),
            bundle: &self.state.bundle,
            rootfs: &self.state.rootfs,
            created: &self.state.created,
            owner: owner_name(&self.dir),
            annotations: &self.state.annotations,
        }
    }

    /// Removes the directory (state, fifo, tmp files). Missing is fine.
    pub fn remove_dir(&self) -> Result<(), StateError> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&self.dir)(e)),
        }
    }
}

fn read_state(dir: &Path, id: &str) -> Result<State, StateError> {
    let path = dir.join(STATE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StateError::NotFound(id.to_string()))
        }
        Err(e) => return Err(io_err(&path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
        path,
        reason: e.to_string(),
    })
}

/// An exclusive flock(2) on the directory itself (waits for the holder).
fn lock_dir(dir: &Path) -> Result<File, StateError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(io_err(dir))?;
    loop {
        // SAFETY: flock on an fd we own; no memory is passed.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            return Ok(file);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(io_err(dir)(e));
        }
    }
}

/// The fields of `/proc/PID/stat` (proc(5)) we need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 3: R, S, D, Z, T, ...
    pub state: char,
    /// Field 9: the kernel's `PF_*` flags of the process.
    pub flags: u32,
    /// Field 22: start time in clock ticks after boot.
    pub start_time: u64,
}

/// `PF_EXITING` (include/linux/sched.h): set by the kernel first thing in do_exit.
const PF_EXITING: u32 = 0x4;

impl ProcStat {
    pub fn read(pid: i32) -> Option<Self> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Self::parse(&text)
    }

    /// Parses the text of `/proc/PID/stat`; the command name (field 2) may contain spaces and
    /// parentheses, so fields are counted after its last `)`.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = &text[text.rfind(')')? + 1..];
        let mut fields = rest.split_whitespace();
        let state = fields.next()?.chars().next()?;
        // After field 3 (state) comes field 4; field 9 is 5 further, then field 22 12 further.
        let flags = fields.nth(5)?.parse().ok()?;
        let start_time = fields.nth(12)?.parse().ok()?;
        Some(Self {
            state,
            flags,
            start_time,
        })
    }

    /// Whether the process has exited (runtime.md "State": `stopped`): a zombie, dead, or
    /// exiting. An exiting process never runs its program again, but may stay so for long:
    /// the init of a pid namespace does not become a zombie until every other process of its
    /// namespace has been reaped (pid_namespaces(7)), and one whose parent is outside the
    /// namespace (a process of `exec --detach`) is reaped only when that parent waits.
    pub fn has_exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X') || self.flags & PF_EXITING != 0
    }
}

/// runc's `owner`: the user name owning the state directory (or `#uid`).
fn owner_name(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(dir).map(|m| m.uid()).unwrap_or(0);
    let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|p| {
        p.lines().find_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?;
            let id: u32 = f.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
    });
    name.unwrap_or_else(|| format!("#{uid}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_comm() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        let stat = ProcStat::parse(line).unwrap();
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.flags, 0x400100);
        assert_eq!(stat.start_time, 98765);
        assert!(!stat.has_exited());
    }

    /// A zombie, and a sleeping process the kernel marks PF_EXITING (a pid namespace's init
    /// waiting for its namespace to be reaped, as read on a 6.18 kernel), have exited.
    #[test]
    fn zombie_and_exiting_have_exited() {
        let exiting = "7 (probe) S 1 7 7 0 -1 4195596 1 0 0 0 0 0 0 0 20 0 1 0 555 0 0";
        let stat = ProcStat::parse(exiting).unwrap();
        assert_eq!((stat.flags, stat.start_time), (0x40050c, 555));
        assert!(stat.has_exited());
        let zombie = exiting.replace(") S", ") Z").replace("4195596", "4194560");
        assert!(ProcStat::parse(&zombie).unwrap().has_exited());
    }

    fn state_for(pid: i32, start: u64) -> State {
        State {
            oci_version: crate::OCI_VERSION.into(),
            id: "t".into(),
            status: Status::Created,
            pid,
            bundle: "/b".into(),
            annotations: BTreeMap::new(),
            rootfs: "/b/rootfs".into(),
            created: String::new(),
            init_start_time: start,
            cgroups_path: None,
            systemd_cgroup: false,
            hooks: None,
            process: None,
            seccomp: None,
            resources: None,
            personality: None,
            memory_policy: None,
            shared_mounts: None,
        }
    }

    /// runtime.md "State": the status follows the process, not the file; a reused pid (other
    /// start time) or a vanished one is stopped; the fifo tells created from running.
    #[test]
    fn status_is_derived_from_the_process_and_the_fifo() {
        let root = tempfile::tempdir().unwrap();
        let me = std::process::id() as i32;
        let start = ProcStat::read(me).unwrap().start_time;
        let mut c = Container::create_dir(root.path(), state_for(me, start)).unwrap();
        c.save().unwrap();
        std::fs::write(c.fifo_path(), "").unwrap();
        assert_eq!(c.status(), Status::Created);
        std::fs::remove_file(c.fifo_path()).unwrap();
        assert_eq!(c.status(), Status::Running);
        c.state.init_start_time = start + 1;
        assert_eq!(c.status(), Status::Stopped, "pid reused by another process");
        c.state = state_for(i32::MAX, start);
        assert_eq!(c.status(), Status::Stopped, "pid gone");
        c.state.status = Status::Creating;
        assert_eq!(c.status(), Status::Creating);
        let loaded = Container::load(root.path(), "t").unwrap();
        assert_eq!(loaded.state.pid, me);
        assert!(matches!(
            Container::create_dir(root.path(), state_for(me, start)),
            Err(StateError::AlreadyExists(_))
        ));
    }

    /// A create killed mid-way leaves `creating` behind with no lock holder: that container
    /// is stopped (so `delete` can clean it up), while a create still running is `creating`.
    #[test]
    fn creating_without_its_creator_is_stopped() {
        let root = tempfile::tempdir().unwrap();
        let mut state = state_for(0, 0);
        state.status = Status::Creating;
        let creator = Container::create_dir(root.path(), state).unwrap();
        creator.save().unwrap();
        let reader = Container::load(root.path(), "t").unwrap();
        assert_eq!(reader.status(), Status::Creating, "create still running");
        drop(creator);
        assert_eq!(reader.status(), Status::Stopped, "create died");
        let locked = Container::load_locked(root.path(), "t").unwrap();
        assert_eq!(locked.status(), Status::Stopped);
    }

    #[test]
    fn own_stat_is_alive() {
        let stat = ProcStat::read(std::process::id() as i32).unwrap();
        assert_ne!(stat.state, 'Z');
        assert!(stat.start_time > 0);
    }
}
