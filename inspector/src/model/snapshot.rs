//! The snapshot: every fact ocitop read from one pass over /proc, cgroupfs and the runtimes'
//! state dirs. Pure data (serde, versioned); `ocitop --json` prints it as is and the TUI renders
//! it. Anything the reader could not read is `None` and rendered "?".

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The version of the JSON format (`ocitop --json`): bumped whenever its shape changes — a
/// field added, removed or renamed, or a value of another type or meaning — so a script can
/// check it before it reads anything else. `tests/json_shape.rs` pins the shape of each
/// version, so a change cannot go out without a bump.
///
/// - 1: the first.
/// - 2: limits are a number or `null` for none (was `"max"` or `{"value": N}`) and absent
///   when unreadable; containers gained `engine`, `name`, `pod`, `sandbox`, `freezer`,
///   `in_vm`, `started_at` and `gone_since`; the snapshot gained `pods`; statuses gained
///   `pausing`.
pub const SNAPSHOT_VERSION: u32 = 2;

/// One consistent-as-possible picture of the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub host: Host,
    /// Every process (thread-group leader) that was still there when read, sorted by pid.
    pub processes: Vec<Process>,
    /// Shim processes recognised from their command line.
    #[serde(default)]
    pub shims: Vec<Shim>,
    /// Containers from state dirs and shims, sorted by (runtime, namespace, id).
    pub containers: Vec<Container>,
    /// Pods (Kubernetes' through CRI, podman's) and VM sandboxes (kata), sorted by id.
    #[serde(default)]
    pub pods: Vec<Pod>,
    /// One entry per cgroup path (hierarchies merged by path), sorted by path.
    pub cgroups: Vec<Cgroup>,
    /// Every namespace seen through /proc/PID/ns, like lsns.
    pub namespaces: Vec<Namespace>,
    /// Things that could not be read and why (one lower-case line each).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Where the snapshot came from and how the host's cgroups are laid out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub proc_root: String,
    pub cgroup_root: String,
    pub state_root: String,
    /// Seconds since the epoch when the snapshot was taken (0 in recorded tests).
    pub taken_at: u64,
    /// `btime` of /proc/stat: boot time, seconds since the epoch.
    pub boot_time: Option<u64>,
    /// USER_HZ, the unit of process start times and CPU times in /proc/PID/stat.
    pub clock_ticks: u64,
    pub cgroup_mode: CgroupMode,
    pub hierarchies: Vec<Hierarchy>,
    /// The host's namespaces: pid 1's, or for a kind pid 1 does not let us read, those of the
    /// lowest pid that does (kthreadd, pid 2, is always in the initial namespaces).
    #[serde(default)]
    pub namespaces: BTreeMap<NsKind, u64>,
}

/// How cgroupfs is mounted (cgroups(7) "CGROUPS VERSION 1 / VERSION 2").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupMode {
    /// Only cgroup v1 controller hierarchies.
    V1,
    /// One unified cgroup2 hierarchy at the cgroup root.
    V2,
    /// v1 controllers plus a cgroup2 hierarchy (usually at `unified/`).
    Hybrid,
    /// Nothing recognisable under the cgroup root.
    #[default]
    None,
}

/// One mounted hierarchy under the cgroup root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// Directory under the cgroup root ("" when cgroup2 is the root itself).
    pub dir: String,
    /// 1 or 2.
    pub version: u8,
}

/// The kinds of namespace listed in /proc/PID/ns (namespaces(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NsKind {
    Mnt,
    Uts,
    Ipc,
    Pid,
    Net,
    User,
    Cgroup,
    Time,
}

impl NsKind {
    /// Every kind, in display order.
    pub const ALL: [NsKind; 8] = [
        NsKind::Mnt,
        NsKind::Uts,
        NsKind::Ipc,
        NsKind::Pid,
        NsKind::Net,
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Time,
    ];

    /// The file name under /proc/PID/ns and the prefix of its link text.
    pub fn name(self) -> &'static str {
        match self {
            NsKind::Mnt => "mnt",
            NsKind::Uts => "uts",
            NsKind::Ipc => "ipc",
            NsKind::Pid => "pid",
            NsKind::Net => "net",
            NsKind::User => "user",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    /// The kind named by a /proc/PID/ns file name, if it is one ocitop tracks.
    pub fn from_name(name: &str) -> Option<NsKind> {
        NsKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A process's namespace inodes by kind.
pub type NsSet = BTreeMap<NsKind, u64>;

/// Real, effective, saved and filesystem ids (the Uid:/Gid: lines of /proc/PID/status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    pub real: u32,
    pub effective: u32,
    pub saved: u32,
    pub fs: u32,
}

/// One line of /proc/PID/cgroup: `hierarchy-ID:controller-list:cgroup-path` (cgroups(7)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupLine {
    pub hierarchy_id: u32,
    /// Comma-separated controllers; empty for the cgroup2 line (`0::/path`).
    pub controllers: String,
    pub path: String,
}

/// One process as read from /proc/PID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    pub comm: Arc<str>,
    /// argv; empty for kernel threads and zombies. Shared (like the namespaces and cgroup
    /// lines) between the snapshots of a live view, which mostly carry them over unchanged.
    pub cmdline: Arc<[String]>,
    /// The state letter of /proc/PID/stat (R, S, D, Z, T, I ...).
    pub state: char,
    pub uids: Option<Ids>,
    pub gids: Option<Ids>,
    /// Field 22 of /proc/PID/stat: clock ticks after boot; with the pid it names a process
    /// uniquely (pid reuse gives a different start time).
    pub start_ticks: u64,
    /// utime + stime, clock ticks.
    pub cpu_ticks: u64,
    /// Resident set size in KiB (field 24 of stat, in pages, times the page size).
    pub rss_kib: Option<u64>,
    pub threads: Option<u32>,
    /// Namespace inodes by kind; a kind that could not be read is absent.
    pub namespaces: Arc<BTreeMap<NsKind, u64>>,
    /// Lines of /proc/PID/cgroup; `None` when it could not be read.
    pub cgroups: Option<Arc<[CgroupLine]>>,
    /// True when a refresh did not read this process again because nothing can have made it
    /// another process (see `collect::proc`): its state, CPU time, RSS and threads are those
    /// of an earlier pass. Never set in a first snapshot (`--json`, `--once`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub carried_over: bool,
}

impl Process {
    /// The command line joined with spaces, or `[comm]` for kernel threads like ps does.
    pub fn command(&self) -> String {
        if self.cmdline.is_empty() {
            format!("[{}]", self.comm)
        } else {
            self.cmdline.join(" ")
        }
    }

    /// The cgroup2 path of the process, else the first v1 path (what `ps -o cgroup` shows first).
    pub fn main_cgroup(&self) -> Option<&str> {
        let lines = self.cgroups.as_ref()?;
        lines
            .iter()
            .find(|l| l.hierarchy_id == 0)
            .or_else(|| lines.iter().find(|l| l.controllers.contains("memory")))
            .or_else(|| lines.first())
            .map(|l| l.path.as_str())
    }
}

/// Which program a shim is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShimKind {
    /// containerd-shim-runc-v2 (and the v1 containerd-shim).
    ContainerdRunc,
    /// containerd-shim-kata-v2: the container runs in a VM.
    Kata,
    /// Any other containerd-shim-* binary.
    ContainerdOther,
    /// Podman/CRI-O's conmon.
    Conmon,
}

/// A shim process and what its command line says about the containers it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shim {
    pub pid: u32,
    pub kind: ShimKind,
    /// containerd namespace (`-namespace`).
    pub namespace: Option<String>,
    /// Container (or sandbox) id (`-id`, conmon `-c/--cid`).
    pub id: Option<String>,
    /// Runtime binary (conmon `-r/--runtime`; containerd's shims: `binary_name` of the
    /// bundle's options.json, runc when it names none).
    pub runtime: Option<String>,
    /// The root the runtime keeps its state in, where the shim was told one (containerd's
    /// shims: `root` of options.json; dockerd passes `<exec-root>/runtime-runc` for every
    /// runtime it drives).
    #[serde(default)]
    pub runtime_root: Option<String>,
    /// Bundle directory (conmon `-b/--bundle`; containerd's shims run in it, so it is their
    /// working directory).
    pub bundle: Option<String>,
    /// The container's name (conmon `-n/--name`).
    #[serde(default)]
    pub name: Option<String>,
    /// It holds an exec session in the container, not the container (conmon `-e/--exec`).
    #[serde(default)]
    pub exec: bool,
    /// The engine that started it, when its command line says (conmon's `--exit-command`).
    #[serde(default)]
    pub engine: Option<String>,
}

/// What ocitop concludes about a container, from the kernel first: the init process (gone,
/// a zombie, still waiting in the runtime) and the freezer of its cgroup; the state file only
/// where the kernel cannot tell (a container in a VM).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `runtime.md "State"`: created, the user process not started yet.
    Created,
    Running,
    /// The freezer of its cgroup is freezing it but not every task has stopped yet (v1
    /// `FREEZING`, or v2 `cgroup.freeze` 1 while `cgroup.events` says not frozen): stuck
    /// here, a task cannot be frozen (often one in uninterruptible sleep).
    Pausing,
    Paused,
    Stopped,
    /// A state dir whose init pid is gone or now names another process.
    Stale,
    #[default]
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Pausing => "pausing",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
            Status::Stale => "STALE",
            Status::Unknown => "?",
        }
    }
}

/// The state of a cgroup's freezer (cgroup-v1 freezer-subsystem.rst `freezer.state`,
/// cgroup-v2.rst `cgroup.freeze` and `cgroup.events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Freezer {
    Thawed,
    Freezing,
    Frozen,
}

/// A container: its init process, the descendants, its namespaces and its cgroup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    /// The runtime binary that made it: "runc", "crun", "youki", "ocirun", or what a shim or
    /// engine recorded ("containerd", "conmon", "kata" when nothing more is known).
    pub runtime: String,
    /// The engine that asked for it, when it can be told: "docker", "podman", "kubernetes"
    /// (CRI annotations), "containerd" (ctr and other clients of containerd).
    #[serde(default)]
    pub engine: Option<String>,
    /// The name its engine knows it by: docker's and podman's names, Kubernetes' container
    /// name. ctr and plain runtimes have only the id.
    #[serde(default)]
    pub name: Option<String>,
    /// The pod it belongs to (the id of an entry of `Snapshot::pods`).
    #[serde(default)]
    pub pod: Option<String>,
    /// Whether it is its pod's sandbox (infra, pause) container.
    #[serde(default)]
    pub sandbox: bool,
    /// It runs inside a VM (kata): its processes are not the host's, so its status is what
    /// the VM's runtime recorded.
    #[serde(default)]
    pub in_vm: bool,
    /// containerd namespace, from the state dir path or the shim.
    pub namespace: Option<String>,
    /// The runtime state dir it was found in (none when only a shim names it).
    pub state_dir: Option<String>,
    pub status: Status,
    /// The status written in the state file, if the format has one.
    pub declared_status: Option<String>,
    /// Why the container is STALE.
    pub stale_reason: Option<String>,
    /// The freezer of its cgroup, when readable.
    #[serde(default)]
    pub freezer: Option<Freezer>,
    pub init_pid: Option<u32>,
    pub init_start_ticks: Option<u64>,
    /// When the init started, seconds since the epoch (from its start time and the boot
    /// time).
    #[serde(default)]
    pub started_at: Option<u64>,
    /// For a STALE container: when this ocitop last saw its init alive, seconds since the
    /// epoch (it went away after that); `None` if it was gone before ocitop started.
    #[serde(default)]
    pub gone_since: Option<u64>,
    pub bundle: Option<String>,
    pub rootfs: Option<String>,
    pub created: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// The shim holding the container (the init's parent, or the shim naming its id).
    pub shim_pid: Option<u32>,
    /// Live processes: the init, its descendants and processes the shim started in the
    /// container's namespaces (exec); sorted.
    pub pids: Vec<u32>,
    /// The init process's namespaces.
    pub namespaces: BTreeMap<NsKind, u64>,
    /// The init's main cgroup path (see [`Process::main_cgroup`]).
    pub cgroup: Option<String>,
    /// Cgroup paths the runtime recorded, by controller ("" = unified).
    pub cgroup_paths: BTreeMap<String, String>,
}

impl Container {
    /// What a person calls it: the engine's name, else the id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// A pod: containers that share a sandbox (Kubernetes through CRI, podman's pods), or a VM
/// sandbox (kata) whose containers run inside one VM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    /// The sandbox id (CRI), or podman's pod id.
    pub id: String,
    /// The pod's name (Kubernetes' pod name, podman's pod name).
    pub name: Option<String>,
    /// The Kubernetes namespace.
    pub namespace: Option<String>,
    /// "kubernetes" or "podman".
    pub engine: String,
    /// Its containers' ids, the sandbox first.
    pub containers: Vec<String>,
    /// The VM a kata sandbox runs its containers in.
    pub vm: Option<Vm>,
}

/// The VM of a VM sandbox (kata), as its runtime recorded it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vm {
    /// "qemu", "clh" (cloud-hypervisor), "firecracker", ...
    pub hypervisor: Option<String>,
    /// The hypervisor process on the host.
    pub pid: Option<u32>,
    /// The virtio-fs daemon sharing the containers' files with the VM.
    pub virtiofsd_pid: Option<u32>,
    /// The sandbox's state as recorded ("running", "paused", ...).
    pub state: Option<String>,
}

/// One namespace, like a row of lsns(8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub kind: NsKind,
    pub inode: u64,
    /// The process that has been in it longest (the earliest started; the lowest pid of
    /// those started in the same tick): the one that made it or first entered it, and the
    /// least likely to be gone by the time someone looks. lsns shows the lowest pid, which
    /// after the pids wrapped can be any short-lived newcomer.
    pub owner_pid: u32,
    pub members: usize,
    /// Whether pid 1 is in it.
    pub host: bool,
    /// The containers whose init is in it (ids), sorted.
    #[serde(default)]
    pub containers: Vec<String>,
}

/// A resource limit: a number, or none ("max" in cgroupfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Max,
    Value(u64),
}

/// A limit in JSON, as a script wants it: its number, or `null` for no limit ("max"). A
/// limit that could not be read is left out (`has("memory_max")` is false), so `null` never
/// means "unknown".
mod limit_json {
    use super::Limit;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(limit: &Option<Limit>, s: S) -> Result<S::Ok, S::Error> {
        match limit {
            Some(Limit::Value(v)) => s.serialize_u64(*v),
            // `None` is skipped (skip_serializing_if), so this is Max.
            _ => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Limit>, D::Error> {
        Ok(Some(match Option::<u64>::deserialize(d)? {
            Some(v) => Limit::Value(v),
            None => Limit::Max,
        }))
    }
}

/// Usage and limits of one cgroup path, merged over the hierarchies where it exists.
/// Usage that could not be read is `null`; limits follow [`limit_json`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupStats {
    /// v2 memory.current, v1 memory.usage_in_bytes.
    pub memory_current: Option<u64>,
    /// v2 memory.max, v1 memory.limit_in_bytes.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "limit_json")]
    pub memory_max: Option<Limit>,
    /// v2 cpu.max first field, v1 cpu.cfs_quota_us.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "limit_json")]
    pub cpu_quota_us: Option<Limit>,
    /// v2 cpu.max second field, v1 cpu.cfs_period_us.
    pub cpu_period_us: Option<u64>,
    /// v2 cpu.stat usage_usec, v1 cpuacct.usage / 1000.
    pub cpu_usage_us: Option<u64>,
    pub pids_current: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "limit_json")]
    pub pids_max: Option<Limit>,
    /// v2 io.stat rbytes, v1 blkio.throttle.io_service_bytes Read, summed over devices.
    pub io_read_bytes: Option<u64>,
    pub io_write_bytes: Option<u64>,
}

/// One cgroup path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    /// "/" or "/a/b", relative to each hierarchy's root.
    pub path: String,
    /// Hierarchy dirs where this path exists ("memory", "unified", "" for pure v2).
    pub hierarchies: Vec<String>,
    pub stats: CgroupStats,
    /// Processes whose /proc/PID/cgroup names this path in any hierarchy.
    pub procs: usize,
}

impl Snapshot {
    /// The process with this pid (processes are sorted by pid).
    pub fn process(&self, pid: u32) -> Option<&Process> {
        self.processes
            .binary_search_by_key(&pid, |p| p.pid)
            .ok()
            .map(|i| &self.processes[i])
    }

    /// The container holding this pid, if any.
    pub fn container_of(&self, pid: u32) -> Option<&Container> {
        self.containers
            .iter()
            .find(|c| c.pids.binary_search(&pid).is_ok())
    }

    /// The cgroup with this path.
    pub fn cgroup(&self, path: &str) -> Option<&Cgroup> {
        self.cgroups
            .binary_search_by(|c| c.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.cgroups[i])
    }

    /// The shim with this pid.
    pub fn shim(&self, pid: u32) -> Option<&Shim> {
        self.shims.iter().find(|s| s.pid == pid)
    }

    /// The pod with this id.
    pub fn pod(&self, id: &str) -> Option<&Pod> {
        self.pods.iter().find(|p| p.id == id)
    }
}
