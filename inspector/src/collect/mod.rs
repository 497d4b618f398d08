//! Collecting a snapshot from a host (or a recorded tree): the readers of /proc, cgroupfs,
//! runtime state dirs and shim command lines, each over an injectable root, feeding the pure
//! model.

pub mod cgroup;
pub mod proc;
pub mod record;
pub mod shim;
pub mod state;

use crate::model::{containers, namespaces, Host, Snapshot, SNAPSHOT_VERSION};
use std::collections::HashMap;
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

/// Takes snapshots, keeping its read buffers between them.
pub struct Collector {
    roots: Roots,
    proc: proc::ProcReader,
    cgroup: cgroup::CgroupReader,
    clock_ticks: u64,
}

impl Collector {
    pub fn new(roots: Roots) -> Self {
        Collector {
            proc: proc::ProcReader::new(&roots.proc),
            cgroup: cgroup::CgroupReader::new(&roots.cgroup),
            roots,
            clock_ticks: clock_ticks(),
        }
    }

    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// One pass over everything.
    pub fn snapshot(&mut self) -> Result<Snapshot, CollectError> {
        let processes = self
            .proc
            .read_all()
            .map_err(|error| CollectError::ProcRoot {
                path: self.roots.proc.clone(),
                error,
            })?;
        let mut warnings = Vec::new();
        let (cgroup_mode, hierarchies) = self.cgroup.layout();
        let mut cgroups = self.cgroup.read_all(&hierarchies);
        count_procs(&mut cgroups, &processes);
        let shims: Vec<_> = processes.iter().filter_map(shim::recognise).collect();
        let states = state::read_all(&self.roots.state, &mut warnings);
        let containers = containers::assemble(&processes, &shims, states);
        let host_ns = namespaces::host(&processes);
        let namespaces = namespaces::table(&processes, &host_ns);
        let taken_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Snapshot {
            version: SNAPSHOT_VERSION,
            host: Host {
                proc_root: self.roots.proc.display().to_string(),
                cgroup_root: self.roots.cgroup.display().to_string(),
                state_root: self.roots.state.display().to_string(),
                taken_at,
                boot_time: boot_time(&self.roots.proc),
                clock_ticks: self.clock_ticks,
                cgroup_mode,
                hierarchies,
                namespaces: host_ns,
            },
            processes,
            shims,
            containers,
            cgroups,
            namespaces,
            warnings,
        })
    }
}

/// Counts, for each cgroup path, the processes naming it in any hierarchy.
fn count_procs(cgroups: &mut [crate::model::Cgroup], processes: &[crate::model::Process]) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for p in processes {
        let Some(lines) = &p.cgroups else { continue };
        let mut paths: Vec<&str> = lines.iter().map(|l| l.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        for path in paths {
            *counts.entry(path).or_insert(0) += 1;
        }
    }
    for c in cgroups {
        c.procs = counts.get(c.path.as_str()).copied().unwrap_or(0);
    }
}

/// USER_HZ (sysconf(_SC_CLK_TCK)); 100 on every Linux ABI ocitop runs on if sysconf fails.
fn clock_ticks() -> u64 {
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
