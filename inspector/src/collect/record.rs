//! `ocitop --record DIR`: copies what the readers read, for the processes that matter to
//! containers, into DIR/{proc,cgroup,state} so tests can replay a real host. Namespace links
//! become symlinks with the same target text (`net:[4026531840]`), which readlink reads back
//! the same way and git stores as is.
//!
//! Recorded: pid 1, shims and their subtrees, container processes, every process with a
//! namespace other than pid 1's, and the ancestors of all those; the cgroups they name (and
//! the ancestors); the runtime state dirs.

use super::{cgroup, Collector};
use crate::model::Snapshot;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("record: {path}: {error}")]
pub struct RecordError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordError + '_ {
    move |error| RecordError {
        path: path.to_path_buf(),
        error,
    }
}

/// The pids a recording keeps.
pub fn selected_pids(s: &Snapshot) -> BTreeSet<u32> {
    let host = &s.host.namespaces;
    let mut pids: BTreeSet<u32> = BTreeSet::from([1]);
    for c in &s.containers {
        pids.extend(c.pids.iter().copied());
        pids.extend(c.shim_pid);
    }
    let index = crate::model::containers::ProcIndex::new(&s.processes);
    for sh in &s.shims {
        pids.extend(index.subtree(sh.pid));
    }
    for p in &s.processes {
        if p.namespaces
            .iter()
            .any(|(k, v)| host.get(k).is_some_and(|h| h != v))
        {
            pids.insert(p.pid);
        }
    }
    for pid in pids.clone() {
        let mut cur = s.process(pid).map(|p| p.ppid);
        while let Some(pp) = cur.filter(|&pp| pp != 0) {
            if !pids.insert(pp) {
                break;
            }
            cur = s.process(pp).map(|p| p.ppid);
        }
    }
    pids.retain(|&p| s.process(p).is_some());
    pids
}

/// Records the host the collector read (into `s`, its last snapshot) into `dest`.
pub fn record(collector: &Collector, s: &Snapshot, dest: &Path) -> Result<(), RecordError> {
    let roots = collector.roots();
    let pids = selected_pids(s);
    let proc_dest = dest.join("proc");
    std::fs::create_dir_all(&proc_dest).map_err(io(&proc_dest))?;
    copy_file(&roots.proc.join("stat"), &proc_dest.join("stat"))?;
    let mut cgroup_paths: BTreeSet<String> = BTreeSet::from(["/".to_string()]);
    for &pid in &pids {
        let src = roots.proc.join(pid.to_string());
        let dst = proc_dest.join(pid.to_string());
        std::fs::create_dir_all(dst.join("ns")).map_err(io(&dst))?;
        for f in ["stat", "status", "cmdline", "cgroup"] {
            // A process may exit while being recorded; keep what was copied.
            let _ = copy_file(&src.join(f), &dst.join(f));
        }
        // A shim's working directory is its bundle: a link with the same target text.
        if s.shim(pid).is_some() {
            if let Ok(cwd) = std::fs::read_link(src.join("cwd")) {
                let link = dst.join("cwd");
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&cwd, &link).map_err(io(&link))?;
            }
        }
        if let Some(p) = s.process(pid) {
            for (kind, inode) in p.namespaces.iter() {
                let link = dst.join("ns").join(kind.name());
                let target = format!("{}:[{inode}]", kind.name());
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&target, &link).map_err(io(&link))?;
            }
            for line in p.cgroups.iter().flat_map(|c| c.iter()) {
                let mut cur = Some(line.path.as_str());
                while let Some(c) = cur {
                    cgroup_paths.insert(c.to_string());
                    cur = crate::model::cgtree::parent(c);
                }
            }
        }
    }
    for h in &s.host.hierarchies {
        let files = if h.version == 2 {
            cgroup::V2_FILES
        } else {
            cgroup::V1_FILES
        };
        for path in &cgroup_paths {
            let rel = path.trim_start_matches('/');
            let src = roots.cgroup.join(&h.dir).join(rel);
            if !src.is_dir() {
                continue;
            }
            let dst = dest.join("cgroup").join(&h.dir).join(rel);
            std::fs::create_dir_all(&dst).map_err(io(&dst))?;
            for f in files {
                if *f == "cgroup.procs" {
                    // Only a marker of a v1 hierarchy: its pids are not read.
                    std::fs::write(dst.join(f), "").map_err(io(&dst))?;
                } else if src.join(f).is_file() {
                    let _ = copy_file(&src.join(f), &dst.join(f));
                }
            }
        }
    }
    let (engine_files, runtime_roots) = collector.read_elsewhere();
    for r in runtime_roots {
        copy_tree(&roots.state.join(&r.dir), &dest.join("state").join(&r.dir))?;
    }
    // Bundles' config.json and options.json, dockerd's and kata's files, as read.
    for host_path in engine_files {
        let Some(rel) = host_path.strip_prefix("/").ok() else {
            continue;
        };
        let src = roots.state.join(rel);
        if src.is_file() {
            let dst = dest.join("state").join(rel);
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            copy_file(&src, &dst)?;
        }
    }
    Ok(())
}

/// Regular files only (state dirs also hold fifos and sockets), at most 1 MiB each.
fn copy_tree(src: &Path, dst: &Path) -> Result<(), RecordError> {
    let Ok(entries) = std::fs::read_dir(src) else {
        return Ok(());
    };
    for e in entries.filter_map(|e| e.ok()) {
        let Ok(t) = e.file_type() else { continue };
        let to = dst.join(e.file_name());
        if t.is_dir() {
            copy_tree(&e.path(), &to)?;
        } else if e.file_name() == "exec.fifo" {
            // Only its presence matters (created vs running); git cannot hold a fifo.
            std::fs::create_dir_all(dst).map_err(io(dst))?;
            std::fs::write(&to, "").map_err(io(&to))?;
        } else if t.is_file() && e.metadata().map(|m| m.len() <= 1 << 20).unwrap_or(false) {
            std::fs::create_dir_all(dst).map_err(io(dst))?;
            copy_file(&e.path(), &to)?;
        }
    }
    Ok(())
}

/// Copies by reading (proc files report size 0, so fs::copy would copy nothing).
fn copy_file(src: &Path, dst: &Path) -> Result<(), RecordError> {
    let bytes = std::fs::read(src).map_err(io(src))?;
    std::fs::write(dst, bytes).map_err(io(dst))
}
