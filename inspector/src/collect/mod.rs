//! Collecting a snapshot from a host (or a recorded tree): the readers of /proc, cgroupfs,
//! runtime state dirs and shim command lines, each over an injectable root, feeding the pure
//! model.

pub mod cgroup;
pub mod engine;
pub mod files;
pub mod kata;
pub mod pid_alloc;
pub mod proc;
pub mod record;
pub mod shim;
pub mod signal;
pub mod state;

use crate::model::{containers, namespaces, Host, Pod, ShimKind, Snapshot, SNAPSHOT_VERSION};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Where to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// Usually /proc.
    pub proc: PathBuf,
    /// Usually /sys/fs/cgroup.
    pub cgroup: PathBuf,
    /// Prefix of the runtime state dirs (/run/runc ...), usually /.
    pub state: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            cgroup: PathBuf::from("/sys/fs/cgroup"),
            state: PathBuf::from("/"),
        }
    }
}

/// Why no snapshot could be taken at all (single unreadable files are never errors).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot list proc root {path}: {error}")]
    ProcRoot {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Takes snapshots, keeping what it read between them: after the first, a snapshot re-reads
/// the processes that matter on screen and those that may have changed (`proc`'s doc).
pub struct Collector {
    roots: Roots,
    proc: proc::ProcReader,
    cgroup: cgroup::CgroupReader,
    clock_ticks: u64,
    /// Read once: the boot time does not change.
    boot_time: Option<u64>,
    /// Read every process on every refresh (the host's processes are on screen).
    watch_all: bool,
    /// The processes of the previous snapshot worth reading on every refresh.
    watched: HashSet<u32>,
    /// Engines' files (bundles, options, dockerd's, kata's), kept parsed between passes.
    files: files::HostFiles,
    /// The runtime roots the last pass read (for `--record`).
    runtime_roots: Vec<state::RuntimeRoot>,
    /// When each container (by state dir, else id) was last seen with a live init, seconds
    /// since the epoch: how long a STALE one has been gone.
    last_alive: HashMap<String, u64>,
}

impl Collector {
    pub fn new(roots: Roots) -> Self {
        Collector {
            proc: proc::ProcReader::new(&roots.proc),
            cgroup: cgroup::CgroupReader::new(&roots.cgroup),
            boot_time: boot_time(&roots.proc),
            files: files::HostFiles::new(&roots.state),
            roots,
            clock_ticks: clock_ticks(),
            watch_all: false,
            watched: HashSet::new(),
            runtime_roots: Vec::new(),
            last_alive: HashMap::new(),
        }
    }

    /// Whether every process's stat is read on every refresh (the host's processes are on
    /// screen), or only that of the containers', the shims' and those outside the host's
    /// namespaces (the default; the others are still read whenever they may have changed, and
    /// in full every [`proc::REREAD_EVERY`] passes).
    pub fn watch_all(&mut self, all: bool) {
        self.watch_all = all;
    }

    /// How the passes so far came by their pids (for the benchmark).
    pub fn how_listed(&self) -> proc::HowListed {
        self.proc.how
    }

    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// One pass over everything.
    pub fn snapshot(&mut self) -> Result<Snapshot, CollectError> {
        let watch = proc::Watch {
            closely: Some(&self.watched),
            stat_of_all: self.watch_all,
        };
        let processes = self
            .proc
            .refresh(watch)
            .map_err(|error| CollectError::ProcRoot {
                path: self.roots.proc.clone(),
                error,
            })?;
        let mut warnings = Vec::new();
        let (cgroup_mode, hierarchies) = self.cgroup.layout();
        let mut cgroups = self.cgroup.read_all(&hierarchies);
        count_procs(&mut cgroups, &processes);
        self.files.begin_pass();
        let mut shims: Vec<_> = processes.iter().filter_map(shim::recognise).collect();
        for s in &mut shims {
            shim::locate(s, &self.roots.proc, &mut self.files);
        }
        let (states, roots) =
            state::read_all(&self.roots.state, state::shim_roots(&shims), &mut warnings);
        self.runtime_roots = roots;
        let alive = |pid: u32| {
            processes
                .binary_search_by_key(&pid, |p| p.pid)
                .is_ok_and(|i| !matches!(processes[i].state, 'Z' | 'X'))
        };
        let sandboxes: Vec<kata::VmSandbox> = shims
            .iter()
            .filter(|s| s.kind == ShimKind::Kata)
            .filter_map(|s| kata::read(s, &mut self.files, &alive))
            .collect();
        let vm_containers = sandboxes
            .iter()
            .flat_map(|b| b.containers.clone())
            .collect();
        let host_ns = namespaces::host(&processes);
        let mut containers =
            containers::assemble(&processes, &shims, states, vm_containers, &host_ns);
        let mut pods = engine::identify(&mut containers, &shims, &mut self.files);
        vm_pods(&mut pods, &mut containers, sandboxes);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.kernel_status(&mut containers, &processes, &hierarchies, now);
        let namespaces = namespaces::table(&processes, &host_ns, &containers);
        self.watched = watched(&processes, &shims, &containers, &host_ns);
        let taken_at = now;
        Ok(Snapshot {
            version: SNAPSHOT_VERSION,
            host: Host {
                proc_root: self.roots.proc.display().to_string(),
                cgroup_root: self.roots.cgroup.display().to_string(),
                state_root: self.roots.state.display().to_string(),
                taken_at,
                boot_time: self.boot_time,
                clock_ticks: self.clock_ticks,
                cgroup_mode,
                hierarchies,
                namespaces: host_ns,
            },
            processes,
            shims,
            containers,
            pods,
            cgroups,
            namespaces,
            warnings,
        })
    }
}

impl Collector {
    /// What the kernel says of each container with a host process: the freezer of its
    /// init's cgroup, when the init started, and for a STALE one how long it has been gone.
    fn kernel_status(
        &mut self,
        containers: &mut [crate::model::Container],
        processes: &[crate::model::Process],
        hierarchies: &[crate::model::Hierarchy],
        now: u64,
    ) {
        let started = |ticks: u64| Some(self.boot_time? + ticks / self.clock_ticks.max(1));
        for c in containers.iter_mut() {
            let key = c.state_dir.clone().unwrap_or_else(|| c.id.clone());
            c.started_at = c.init_start_ticks.and_then(started);
            if c.status == crate::model::Status::Stale {
                c.gone_since = self.last_alive.get(&key).copied();
                continue;
            }
            let init = c
                .init_pid
                .and_then(|pid| processes.binary_search_by_key(&pid, |p| p.pid).ok())
                .map(|i| &processes[i]);
            let Some(init) = init else { continue };
            self.last_alive.insert(key, now);
            if let Some(lines) = &init.cgroups {
                c.freezer = self.cgroup.freezer(hierarchies, lines);
                c.status = containers::with_freezer(c.status, c.freezer);
            }
        }
        // Forget containers whose state dir is gone (deleted).
        let known: HashSet<String> = containers
            .iter()
            .map(|c| c.state_dir.clone().unwrap_or_else(|| c.id.clone()))
            .collect();
        self.last_alive.retain(|key, _| known.contains(key));
    }

    /// The files the last pass read beyond /proc and cgroupfs: engines' files (host paths)
    /// and the runtime roots scanned (relative to the state root), for `--record`.
    pub fn read_elsewhere(&self) -> (&std::collections::BTreeSet<PathBuf>, &[state::RuntimeRoot]) {
        (self.files.used(), &self.runtime_roots)
    }
}

/// Each VM sandbox as a pod (the pod its containers' annotations name, or one of its own),
/// with its VM.
fn vm_pods(
    pods: &mut Vec<Pod>,
    containers: &mut [crate::model::Container],
    sandboxes: Vec<kata::VmSandbox>,
) {
    for b in sandboxes {
        let i = match pods.iter().position(|p| p.id == b.id) {
            Some(i) => i,
            None => {
                let engine = containers
                    .iter()
                    .find(|c| c.id == b.id)
                    .and_then(|c| c.engine.clone())
                    .unwrap_or_else(|| "containerd".into());
                pods.push(Pod {
                    id: b.id.clone(),
                    engine,
                    ..Pod::default()
                });
                pods.len() - 1
            }
        };
        for c in containers
            .iter_mut()
            .filter(|c| c.in_vm && c.shim_pid.is_some())
        {
            let ours = b.containers.iter().any(|v| v.id == c.id);
            if ours {
                c.pod = Some(b.id.clone());
                c.sandbox |= c.id == b.id;
                if !pods[i].containers.contains(&c.id) {
                    pods[i].containers.push(c.id.clone());
                }
            }
        }
        pods[i].vm = Some(b.vm);
    }
    pods.sort_by(|a, b| a.id.cmp(&b.id));
}

/// The processes the live view shows with the host folded away: shims, container processes,
/// and any process outside one of the host's namespaces (the namespaces view's subjects).
fn watched(
    processes: &[crate::model::Process],
    shims: &[crate::model::Shim],
    containers: &[crate::model::Container],
    host_ns: &std::collections::BTreeMap<crate::model::NsKind, u64>,
) -> HashSet<u32> {
    let mut pids: HashSet<u32> = shims.iter().map(|s| s.pid).collect();
    for c in containers {
        pids.extend(&c.pids);
    }
    // Processes in the same namespaces share one copy of the set (collect::proc): decide
    // once per copy.
    let mut outside: HashMap<*const crate::model::NsSet, bool> = HashMap::new();
    for p in processes {
        let set = &p.namespaces;
        let out = *outside
            .entry(std::sync::Arc::as_ptr(set))
            .or_insert_with(|| set.iter().any(|(k, i)| host_ns.get(k) != Some(i)));
        if out {
            pids.insert(p.pid);
        }
    }
    pids
}

/// Counts, for each cgroup path, the processes naming it in any hierarchy.
fn count_procs(cgroups: &mut [crate::model::Cgroup], processes: &[crate::model::Process]) {
    // Processes with the same cgroup file share one copy of its lines (collect::proc), so
    // they are counted by copy first: one pass over the lines per distinct file, not per
    // process.
    use crate::model::CgroupLine;
    // By the address of the copy: (the lines, how many processes share them).
    let mut by_copy: HashMap<*const CgroupLine, (&[CgroupLine], usize)> = HashMap::new();
    for p in processes {
        let Some(lines) = &p.cgroups else { continue };
        by_copy.entry(lines.as_ptr()).or_insert((lines, 0)).1 += 1;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (lines, n) in by_copy.into_values() {
        let mut paths: Vec<&str> = lines.iter().map(|l| l.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        for path in paths {
            *counts.entry(path).or_insert(0) += n;
        }
    }
    for c in cgroups {
        c.procs = counts.get(c.path.as_str()).copied().unwrap_or(0);
    }
}

/// USER_HZ (sysconf(_SC_CLK_TCK)); 100 on every Linux ABI ocitop runs on if sysconf fails.
pub(crate) fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(100)
}

/// The `btime` line of /proc/stat.
fn boot_time(proc_root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(proc_root.join("stat")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}
