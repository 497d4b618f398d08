//! After a case: did the runtime leave anything on the host? Processes of the container,
//! mounts under the case's directory in the host mount table, its cgroup, its state entry.
//! Each leak is a failure of runtime.md "Delete" (resources created by create MUST be
//! deleted) and is cleaned up by the runner afterwards.

use crate::observe;
use std::path::{Path, PathBuf};

/// What identifies a case's leftovers.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    /// The case's directory (bundle, root, files).
    pub dir: PathBuf,
    /// Container ids used by the case.
    pub ids: Vec<String>,
    /// `cgroupsPath` leaf directories (relative to a hierarchy's root).
    pub cgroups: Vec<String>,
    /// The runtime's `--root` directory.
    pub state_root: PathBuf,
    /// The last pid handed out before the case began.
    pub since_pid: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leaks {
    /// pid and command line.
    pub processes: Vec<(i32, String)>,
    pub mounts: Vec<String>,
    pub cgroups: Vec<PathBuf>,
    pub state: Vec<PathBuf>,
}

impl Leaks {
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
            && self.mounts.is_empty()
            && self.cgroups.is_empty()
            && self.state.is_empty()
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.processes.is_empty() {
            parts.push(format!("processes {:?}", self.processes));
        }
        if !self.mounts.is_empty() {
            parts.push(format!("mounts {:?}", self.mounts));
        }
        if !self.cgroups.is_empty() {
            parts.push(format!("cgroups {:?}", self.cgroups));
        }
        if !self.state.is_empty() {
            parts.push(format!("state {:?}", self.state));
        }
        parts.join("; ")
    }
}

/// Looks for leftovers of a case. Processes are found by the case's own cgroups (each case
/// has a unique `cgroupsPath`) and, among processes started since the case began, by command
/// lines naming its directory or container ids — never by namespace inode, which the kernel
/// reuses as soon as a namespace is freed.
pub fn find(marks: &Marks) -> Leaks {
    let me = std::process::id() as i32;
    let dir = format!("{}/", marks.dir.to_string_lossy());
    let cgroups = cgroup_dirs(&marks.cgroups);
    let mut pids: Vec<i32> = cgroups
        .iter()
        .flat_map(|cg| {
            std::fs::read_to_string(cg.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    pids.extend(candidates(marks.since_pid).into_iter().filter(|&pid| {
        observe::cmdline(pid).is_some_and(|args| {
            args.iter()
                .any(|a| a.contains(&dir) || marks.ids.iter().any(|id| a == id))
        })
    }));
    pids.sort_unstable();
    pids.dedup();
    let processes = pids
        .into_iter()
        .filter(|&pid| pid != me && observe::alive(pid))
        .map(|pid| (pid, observe::cmdline(pid).unwrap_or_default().join(" ")))
        .collect();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&dir))
        .map(str::to_string)
        .collect();
    // Anything the runtime keeps under --root for these ids: `<id>`, `<id>.lock`, ...
    let state = std::fs::read_dir(&marks.state_root)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    marks.ids.iter().any(|id| name.contains(id.as_str()))
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    Leaks {
        processes,
        mounts,
        cgroups,
        state,
    }
}

/// The last pid the kernel handed out (`/proc/sys/kernel/ns_last_pid`).
pub fn last_pid() -> Option<i32> {
    std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Pids that may belong to the case: those handed out since it began (pids grow until they
/// wrap at pid_max; after a wrap, all). Reading every process's command line per case on a
/// busy host (10 000 processes) would cost more than the case.
fn candidates(since: Option<i32>) -> Vec<i32> {
    let all = observe::pids();
    match (since, last_pid()) {
        (Some(since), Some(now)) if now >= since => {
            all.into_iter().filter(|&p| p > since).collect()
        }
        _ => all,
    }
}

/// Existing `<hierarchy>/<leaf>` directories for every mounted cgroup hierarchy.
fn cgroup_dirs(leaves: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for h in hierarchies() {
        for leaf in leaves {
            let p = h.join(leaf.trim_start_matches('/'));
            if p.is_dir() {
                out.push(p);
            }
        }
    }
    out
}

/// Mount points of cgroup and cgroup2 filesystems in the runner's mount table.
pub fn hierarchies() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split(' ').next()?;
            (fstype == "cgroup" || fstype == "cgroup2")
                .then(|| pre.split(' ').nth(4).map(PathBuf::from))
                .flatten()
        })
        .collect()
}

/// Removes what leaked: kills processes, detaches mounts, removes cgroup dirs (deepest first).
pub fn clean(leaks: &Leaks) {
    // Seen before the kill: killed, a child of ours stays a zombie, so its pid cannot be
    // handed out again before the wait below reaps it.
    let seen: Vec<observe::Proc> = leaks
        .processes
        .iter()
        .map(|&(pid, _)| observe::Proc::seen(pid))
        .collect();
    for p in &seen {
        observe::kill(p.pid, libc::SIGKILL);
    }
    for &p in &seen {
        let _ = observe::wait_exit(p, std::time::Duration::from_millis(500));
    }
    let mut points: Vec<String> = leaks
        .mounts
        .iter()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p) {
            // SAFETY: umount2 on a NUL-terminated path.
            unsafe {
                libc::umount2(c.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
    for cg in &leaks.cgroups {
        remove_cgroup(cg);
    }
}

/// rmdir a cgroup and its children, deepest first (cgroup dirs cannot be removed recursively).
pub fn remove_cgroup(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                remove_cgroup(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}
