//! Assembling containers from what the state dirs and the shims say, checked against the live
//! processes: a container is its init process, the init's descendants, the processes its shim
//! started in the init's namespaces (exec), its namespaces and its cgroup. A state dir whose
//! init pid is gone, or now names a process with another start time (pid reuse), is STALE.

use super::{Container, Freezer, NsKind, Process, Shim, ShimKind, Status};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// What one runtime state file says about one container (see `collect::state`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateEntry {
    pub runtime: String,
    /// containerd namespace (the directory under containerd's runc root).
    pub namespace: Option<String>,
    pub id: String,
    /// The state directory as read (under the state root).
    pub dir: PathBuf,
    pub pid: Option<u32>,
    pub start_ticks: Option<u64>,
    pub status: Option<String>,
    pub bundle: Option<String>,
    pub rootfs: Option<String>,
    pub created: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub cgroup_paths: BTreeMap<String, String>,
    /// Whether the state dir holds `exec.fifo`: runc, crun and ocirun keep it from create until
    /// start releases the init, so it is how they tell created from running.
    pub exec_fifo: bool,
}

/// Processes indexed by pid and by parent: sorted lists searched by bisection, so building
/// one for every refresh of a large host costs two sorts of already nearly sorted data and no
/// hashing.
pub struct ProcIndex<'a> {
    /// Sorted by pid.
    by_pid: Vec<&'a Process>,
    /// Parent pids, sorted, and at the same index the pid of the child.
    parents: Vec<u32>,
    children: Vec<u32>,
}

impl<'a> ProcIndex<'a> {
    pub fn new(processes: &'a [Process]) -> Self {
        let mut by_pid: Vec<&Process> = processes.iter().collect();
        by_pid.sort_unstable_by_key(|p| p.pid);
        let mut pairs: Vec<(u32, u32)> = processes.iter().map(|p| (p.ppid, p.pid)).collect();
        pairs.sort_unstable();
        let (parents, children) = pairs.into_iter().unzip();
        ProcIndex {
            by_pid,
            parents,
            children,
        }
    }

    /// Every process, by pid.
    pub fn processes(&self) -> impl Iterator<Item = &'a Process> + '_ {
        self.by_pid.iter().copied()
    }

    pub fn get(&self, pid: u32) -> Option<&'a Process> {
        let i = self.by_pid.binary_search_by_key(&pid, |p| p.pid).ok()?;
        Some(self.by_pid[i])
    }

    /// The children of `pid`, sorted.
    pub fn children(&self, pid: u32) -> &[u32] {
        let from = self.parents.partition_point(|&p| p < pid);
        let to = self.parents.partition_point(|&p| p <= pid);
        &self.children[from..to]
    }

    /// `pid` and all its descendants.
    pub fn subtree(&self, pid: u32) -> Vec<u32> {
        let mut out = vec![pid];
        let mut i = 0;
        while i < out.len() {
            out.extend_from_slice(self.children(out[i]));
            i += 1;
        }
        out
    }
}

/// Builds the containers: first from state entries, then those made elsewhere (`vm`: the
/// containers of VM sandboxes, from their runtime's state), then from shims nothing else
/// claimed. `host` is the host's namespaces (`namespaces::host`).
pub fn assemble(
    processes: &[Process],
    shims: &[Shim],
    states: Vec<StateEntry>,
    vm: Vec<Container>,
    host: &BTreeMap<NsKind, u64>,
) -> Vec<Container> {
    let index = ProcIndex::new(processes);
    let shim_by_pid: HashMap<u32, &Shim> = shims.iter().map(|s| (s.pid, s)).collect();
    let mut containers = Vec::new();
    for state in states {
        containers.push(from_state(state, &index, shims, &shim_by_pid));
    }
    containers.extend(vm);
    for shim in shims.iter().filter(|s| !s.exec) {
        // A shim naming a container already known holds it already, or is one of its exec
        // sessions (podman starts a conmon per `podman exec`, with the container's id).
        let known = |c: &Container| {
            c.shim_pid == Some(shim.pid)
                || shim.id.as_deref() == Some(c.id.as_str())
                    && (shim.namespace.is_none()
                        || c.namespace.is_none()
                        || shim.namespace == c.namespace)
        };
        if containers.iter().any(known) {
            continue;
        }
        containers.push(from_shim(shim, &index));
    }
    let host_pid_ns = host.get(&NsKind::Pid).copied();
    let mut in_ns = None;
    for c in &mut containers {
        c.pids = members(c, &index, host_pid_ns, &mut in_ns);
    }
    containers
        .sort_by(|a, b| (&a.runtime, &a.namespace, &a.id).cmp(&(&b.runtime, &b.namespace, &b.id)));
    containers
}

fn from_state(
    state: StateEntry,
    index: &ProcIndex,
    shims: &[Shim],
    shim_by_pid: &HashMap<u32, &Shim>,
) -> Container {
    let init = state.pid.and_then(|pid| index.get(pid));
    let (status, stale_reason) = match (state.pid, init) {
        (None, _) => match state.status.as_deref() {
            Some("stopped") => (Status::Stopped, None),
            Some("creating") => (Status::Created, None),
            _ => (Status::Stale, Some("the state names no pid".to_string())),
        },
        (Some(pid), None) => (Status::Stale, Some(format!("pid {pid} is gone"))),
        (Some(pid), Some(p)) => match state.start_ticks {
            Some(start) if start != p.start_ticks => (
                Status::Stale,
                Some(format!(
                    "pid {pid} was reused: start time {} is not the recorded {start}",
                    p.start_ticks
                )),
            ),
            _ => (
                declared_or_observed(state.status.as_deref(), state.exec_fifo, p),
                None,
            ),
        },
    };
    let live = status != Status::Stale;
    let init = init.filter(|_| live);
    let shim_pid = init
        .and_then(|p| shim_by_pid.get(&p.ppid).map(|s| s.pid))
        .or_else(|| {
            shims
                .iter()
                .find(|s| s.id.as_deref() == Some(&state.id) && live)
                .map(|s| s.pid)
        });
    Container {
        id: state.id,
        runtime: state.runtime,
        namespace: state.namespace,
        state_dir: Some(state.dir.display().to_string()),
        status,
        declared_status: state.status,
        stale_reason,
        init_pid: state.pid,
        init_start_ticks: state.start_ticks,
        bundle: state.bundle,
        rootfs: state.rootfs,
        created: state.created,
        annotations: state.annotations,
        shim_pid,
        namespaces: init
            .map(|p| BTreeMap::clone(&p.namespaces))
            .unwrap_or_default(),
        cgroup: init.and_then(|p| p.main_cgroup().map(str::to_string)),
        cgroup_paths: state.cgroup_paths,
        ..Container::default()
    }
}

/// What the runtime's own `state` would say for a live init: a zombie is stopped; created
/// while the exec fifo is there (or runc's init still waits as `runc:[2:INIT]`), else running
/// — the saved status of runc-like runtimes is not updated by `start`.
fn declared_or_observed(declared: Option<&str>, exec_fifo: bool, init: &Process) -> Status {
    if matches!(init.state, 'Z' | 'X') {
        return Status::Stopped;
    }
    match declared {
        Some("paused") => Status::Paused,
        Some("stopped") => Status::Stopped,
        Some("created" | "creating" | "running") | None => {
            if exec_fifo || init.comm.starts_with("runc:[2:INIT]") {
                Status::Created
            } else {
                Status::Running
            }
        }
        Some(_) => Status::Unknown,
    }
}

/// The status the kernel gives a live container whose cgroup's freezer is in this state
/// (the runtimes' `pause` freeze the cgroup: runc, crun, ocirun, containerd's `task pause`,
/// docker and podman through them); `None` (not readable) keeps what was concluded.
pub fn with_freezer(status: Status, freezer: Option<Freezer>) -> Status {
    let live = matches!(
        status,
        Status::Created | Status::Running | Status::Pausing | Status::Paused
    );
    match freezer {
        Some(_) if !live => status,
        Some(Freezer::Frozen) => Status::Paused,
        Some(Freezer::Freezing) => Status::Pausing,
        // A state file saying paused of a thawed cgroup is out of date.
        Some(Freezer::Thawed) if matches!(status, Status::Paused | Status::Pausing) => {
            Status::Running
        }
        _ => status,
    }
}

/// The status the state file declares, when it says something the kernel does not: worth a
/// note beside the status. Saying `created` of a running container is not: runc-like
/// runtimes write it at create and `start` does not rewrite it.
pub fn declared_disagrees(c: &Container) -> Option<&str> {
    let declared = c.declared_status.as_deref()?;
    let agrees = declared == c.status.as_str()
        || matches!(declared, "created" | "creating") && c.status == Status::Running
        || c.status == Status::Stale;
    (!agrees).then_some(declared)
}

/// A container only a shim names: its init is the shim's first child that is not a runtime
/// process (for kata the workload runs inside a VM, so there may be none).
fn from_shim(shim: &Shim, index: &ProcIndex) -> Container {
    let init = index
        .children(shim.pid)
        .iter()
        .filter_map(|&pid| index.get(pid))
        .find(|p| !is_runtime_helper(p));
    // What the shim was told to run (conmon's -r, the runtime options of containerd's
    // shim), else what kind of shim it is.
    let runtime = match (&shim.runtime, shim.kind) {
        (Some(r), _) => r.rsplit('/').next().unwrap_or(r),
        (None, ShimKind::Conmon) => "conmon",
        (None, ShimKind::Kata) => "kata",
        (None, ShimKind::ContainerdRunc | ShimKind::ContainerdOther) => "containerd",
    };
    let status = match init {
        None => Status::Unknown,
        Some(p) => declared_or_observed(None, false, p),
    };
    Container {
        id: shim
            .id
            .clone()
            .unwrap_or_else(|| format!("shim-{}", shim.pid)),
        runtime: runtime.to_string(),
        namespace: shim.namespace.clone(),
        status,
        init_pid: init.map(|p| p.pid),
        init_start_ticks: init.map(|p| p.start_ticks),
        bundle: shim.bundle.clone(),
        shim_pid: Some(shim.pid),
        namespaces: init
            .map(|p| BTreeMap::clone(&p.namespaces))
            .unwrap_or_default(),
        cgroup: init.and_then(|p| p.main_cgroup().map(str::to_string)),
        ..Container::default()
    }
}

fn is_runtime_helper(p: &Process) -> bool {
    matches!(&*p.comm, "runc" | "crun" | "youki" | "ocirun")
}

/// A process's pid and mount namespaces: what puts it in a container's view of processes.
fn pid_and_mnt(p: &Process) -> Option<(u64, u64)> {
    Some((
        *p.namespaces.get(&NsKind::Pid)?,
        *p.namespaces.get(&NsKind::Mnt)?,
    ))
}

/// Processes by their (pid, mount) namespaces.
type ByNamespaces = HashMap<(u64, u64), Vec<u32>>;

fn by_namespaces(index: &ProcIndex) -> ByNamespaces {
    let mut map = ByNamespaces::new();
    for p in index.processes() {
        if let Some(key) = pid_and_mnt(p) {
            map.entry(key).or_default().push(p.pid);
        }
    }
    map
}

/// The init's subtree, plus every process in the init's pid and mount namespaces with its
/// subtree (what `exec` started: under a shim it is the shim's child, after `runc exec -d` or
/// `nsenter` it may be anyone's, often pid 1's). Where the container shares the host's pid
/// namespace that would take in the host, so then only the shim's children in the init's
/// namespaces count. `in_ns` is built on first need and kept for the other containers.
fn members(
    c: &Container,
    index: &ProcIndex,
    host_pid_ns: Option<u64>,
    in_ns: &mut Option<ByNamespaces>,
) -> Vec<u32> {
    let Some(init_pid) = c.init_pid.filter(|_| c.status != Status::Stale) else {
        return Vec::new();
    };
    let Some(init) = index.get(init_pid) else {
        return Vec::new();
    };
    let mut pids = index.subtree(init_pid);
    let own = pid_and_mnt(init);
    if let Some(key) = own.filter(|&(pid_ns, _)| host_pid_ns.is_some_and(|h| h != pid_ns)) {
        let groups = in_ns.get_or_insert_with(|| by_namespaces(index));
        for &pid in groups.get(&key).into_iter().flatten() {
            pids.extend(index.subtree(pid));
        }
    } else if let (Some(shim), Some(key)) = (c.shim_pid, own) {
        for &child in index.children(shim) {
            if child != init_pid && index.get(child).and_then(pid_and_mnt) == Some(key) {
                pids.extend(index.subtree(child));
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::namespaces::host;
    use super::*;
    use std::sync::Arc;

    fn proc(pid: u32, ppid: u32, comm: &str, net: u64) -> Process {
        Process {
            pid,
            ppid,
            comm: comm.into(),
            cmdline: vec![comm.into()].into(),
            state: 'S',
            uids: None,
            gids: None,
            start_ticks: 100,
            cpu_ticks: 0,
            rss_kib: None,
            threads: None,
            namespaces: BTreeMap::from([
                (NsKind::Net, net),
                (NsKind::Pid, net),
                (NsKind::Mnt, net),
            ])
            .into(),
            cgroups: None,
            carried_over: false,
        }
    }

    fn shim(pid: u32, kind: ShimKind, id: &str) -> Shim {
        Shim {
            pid,
            kind,
            namespace: Some("k8s.io".into()),
            id: Some(id.into()),
            runtime: None,
            runtime_root: None,
            bundle: None,
            name: None,
            exec: false,
            engine: None,
        }
    }

    #[test]
    fn shims_without_state_dirs_still_make_containers() {
        // A conmon whose runtime root is not visible, and a kata shim whose workload is in a VM.
        let processes = vec![
            proc(1, 0, "init", 1),
            proc(10, 1, "conmon", 1),
            proc(11, 10, "runc", 1),
            proc(12, 10, "nginx", 2),
            proc(13, 12, "worker", 2),
            proc(20, 1, "containerd-shim", 1),
        ];
        let shims = vec![
            shim(10, ShimKind::Conmon, "abc"),
            shim(20, ShimKind::Kata, "vm1"),
        ];
        let cs = assemble(
            &processes,
            &shims,
            Vec::new(),
            Vec::new(),
            &host(&processes),
        );
        let conmon = cs.iter().find(|c| c.id == "abc").unwrap();
        assert_eq!(conmon.runtime, "conmon");
        assert_eq!(
            conmon.init_pid,
            Some(12),
            "the runtime helper is not the init"
        );
        assert_eq!(conmon.pids, vec![12, 13]);
        assert_eq!(conmon.status, Status::Running);
        let kata = cs.iter().find(|c| c.id == "vm1").unwrap();
        assert_eq!(kata.runtime, "kata");
        assert_eq!(kata.init_pid, None);
        assert_eq!(kata.status, Status::Unknown);
    }

    #[test]
    fn a_conmon_per_exec_session_is_not_another_container() {
        // podman run: conmon 10 → init 12; podman exec: conmon 20 (same -c id) → 22.
        let processes = vec![
            proc(1, 0, "init", 1),
            proc(10, 1, "conmon", 1),
            proc(12, 10, "sleep", 2),
            proc(20, 1, "conmon", 1),
            proc(22, 20, "sh", 2),
        ];
        let shims = vec![
            shim(10, ShimKind::Conmon, "abc"),
            shim(20, ShimKind::Conmon, "abc"),
        ];
        let cs = assemble(
            &processes,
            &shims,
            Vec::new(),
            Vec::new(),
            &host(&processes),
        );
        assert_eq!(cs.len(), 1, "{cs:?}");
        assert_eq!((cs[0].shim_pid, cs[0].init_pid), (Some(10), Some(12)));
        assert_eq!(cs[0].pids, vec![12, 22]);
        // The same with the runtime's state dir visible.
        let state = StateEntry {
            runtime: "runc".into(),
            id: "abc".into(),
            pid: Some(12),
            start_ticks: Some(100),
            ..StateEntry::default()
        };
        let cs = assemble(
            &processes,
            &shims,
            vec![state],
            Vec::new(),
            &host(&processes),
        );
        assert_eq!(cs.len(), 1, "{cs:?}");
        assert_eq!(cs[0].pids, vec![12, 22]);
    }

    #[test]
    fn state_dirs_stale_zombie_and_fifo() {
        let mut zombie = proc(30, 1, "sleep", 3);
        zombie.state = 'Z';
        let processes = vec![proc(1, 0, "init", 1), zombie, proc(40, 1, "sleep", 4)];
        let entry = |id: &str, pid: u32, start: u64, fifo: bool| StateEntry {
            runtime: "runc".into(),
            id: id.into(),
            pid: Some(pid),
            start_ticks: Some(start),
            exec_fifo: fifo,
            ..StateEntry::default()
        };
        let cs = assemble(
            &processes,
            &[],
            vec![
                entry("zombie", 30, 100, false),
                entry("gone", 99, 100, false),
                entry("reused", 40, 7, false),
                entry("waiting", 40, 100, true),
            ],
            Vec::new(),
            &host(&processes),
        );
        let status = |id: &str| cs.iter().find(|c| c.id == id).unwrap().status;
        assert_eq!(status("zombie"), Status::Stopped);
        assert_eq!(status("gone"), Status::Stale);
        assert_eq!(status("reused"), Status::Stale);
        assert_eq!(status("waiting"), Status::Created);
    }

    #[test]
    fn the_freezer_says_paused_and_a_lagging_state_file_is_no_alarm() {
        use Freezer::*;
        assert_eq!(with_freezer(Status::Running, Some(Frozen)), Status::Paused);
        assert_eq!(
            with_freezer(Status::Running, Some(Freezing)),
            Status::Pausing
        );
        assert_eq!(with_freezer(Status::Paused, Some(Thawed)), Status::Running);
        assert_eq!(with_freezer(Status::Paused, None), Status::Paused);
        assert_eq!(with_freezer(Status::Stale, Some(Frozen)), Status::Stale);
        assert_eq!(with_freezer(Status::Stopped, Some(Frozen)), Status::Stopped);
        let c = |declared: &str, status| Container {
            declared_status: Some(declared.into()),
            status,
            ..Container::default()
        };
        // ocirun and runc write "created" and never rewrite it on start.
        assert_eq!(declared_disagrees(&c("created", Status::Running)), None);
        assert_eq!(declared_disagrees(&c("paused", Status::Paused)), None);
        // `ctr task pause` froze it; or the file still says paused of a thawed cgroup.
        assert_eq!(
            declared_disagrees(&c("running", Status::Paused)),
            Some("running")
        );
        assert_eq!(
            declared_disagrees(&c("paused", Status::Running)),
            Some("paused")
        );
    }

    #[test]
    fn an_exec_anyone_parents_is_a_member_where_the_container_has_its_own_pid_namespace() {
        let state = |id: &str, pid: u32| StateEntry {
            runtime: "runc".into(),
            id: id.into(),
            pid: Some(pid),
            start_ticks: Some(100),
            ..StateEntry::default()
        };
        // `runc exec -d` into container 50 (namespaces 5): once runc is gone, pid 1 is the
        // parent of the exec'd 60, and of 61 which is in another mount namespace (nsenter -p).
        let mut other_mnt = proc(61, 1, "sh", 5);
        Arc::make_mut(&mut other_mnt.namespaces).insert(NsKind::Mnt, 6);
        // Container 70 shares the host's pid namespace (1): pid 1's other children are not
        // its members even in its mount namespace.
        let mut host_pid = proc(70, 1, "sleep", 7);
        Arc::make_mut(&mut host_pid.namespaces).insert(NsKind::Pid, 1);
        let mut stranger = proc(80, 1, "sh", 7);
        Arc::make_mut(&mut stranger.namespaces).insert(NsKind::Pid, 1);
        let processes = vec![
            proc(1, 0, "init", 1),
            proc(50, 1, "sh", 5),
            proc(60, 1, "sh", 5),
            proc(62, 60, "top", 5),
            other_mnt,
            host_pid,
            stranger,
        ];
        let cs = assemble(
            &processes,
            &[],
            vec![state("a", 50), state("b", 70)],
            Vec::new(),
            &host(&processes),
        );
        let pids = |id: &str| cs.iter().find(|c| c.id == id).unwrap().pids.clone();
        assert_eq!(pids("a"), [50, 60, 62]);
        assert_eq!(pids("b"), [70]);
    }
}
