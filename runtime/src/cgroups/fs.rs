//! Directory operations on a cgroup filesystem: create a path recording what was made, move a
//! process in, list processes, remove a tree. Works on any directory tree, so the logic is
//! tested on a temporary directory as well as on the real cgroupfs.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::CgroupError;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError + '_ {
    move |source| CgroupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` and its missing parents (never above `base`), returning the directories it
/// created, shallowest first. A parent that vanishes half-way (another container's `delete`
/// removing a parent it made, just emptied) is made again: a few attempts, then the error.
pub fn create_all(base: &Path, dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let below = dir
        .strip_prefix(base)
        .map_err(|_| CgroupError::InvalidPath {
            path: dir.to_owned(),
            reason: format!("not below the hierarchy {}", base.display()),
        })?;
    let mut created = Vec::new();
    let mut attempts = 0;
    'again: loop {
        let mut current = base.to_owned();
        for component in below.components() {
            current.push(component);
            match std::fs::create_dir(&current) {
                Ok(()) => created.push(current.clone()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists && current.is_dir() => {}
                Err(e) if e.kind() == ErrorKind::NotFound && attempts < 3 => {
                    attempts += 1;
                    created.retain(|c: &PathBuf| c.is_dir());
                    continue 'again;
                }
                Err(source) => {
                    remove_created(&created);
                    return Err(CgroupError::Io {
                        path: current,
                        source,
                    });
                }
            }
        }
        return Ok(created);
    }
}

/// Best-effort removal of directories this process created, deepest first: one that is not
/// empty (a cgroup another container still uses) or already gone is left alone.
pub fn remove_created(created: &[PathBuf]) {
    let mut deepest_first = created.to_vec();
    deepest_first.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    deepest_first.dedup();
    for dir in deepest_first {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Writes `value` to a cgroup interface file (a single write(2), as the kernel expects).
/// `create` and `truncate` are for a plain directory tree standing in for cgroupfs (tests):
/// it has no `cgroup.procs` until written, and keeps a file's old bytes past a shorter
/// value; on cgroupfs both are no-ops (interface files exist, and are not truncated).
pub fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io(path))?;
    file.write_all(value.as_bytes())
        .map_err(|source| CgroupError::Write {
            path: path.to_owned(),
            value: value.trim().to_owned(),
            source,
        })
}

/// The number in a cgroup file (`-1` style or plain), or `None` when absent or unreadable.
pub fn read_i64(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The pids in `dir/cgroup.procs` (this cgroup only). Missing file: none.
pub fn procs(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let path = dir.join("cgroup.procs");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .collect()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(CgroupError::Io { path, source }),
    }
}

/// The pids in `dir` and every cgroup below it. A missing `dir` has none.
pub fn procs_recursive(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    out.extend(procs(dir)?);
    for child in subdirs(dir)? {
        procs_recursive(&child, out)?;
    }
    Ok(())
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Io {
                path: dir.to_owned(),
                source,
            })
        }
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        if entry.file_type().map_err(io(dir))?.is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Removes the cgroup `dir` and every cgroup below it, deepest first. rmdir(2) on a cgroup
/// fails with EBUSY while a process is still leaving it: retried until `deadline` (shared by
/// every hierarchy of one removal). Missing is fine.
pub fn remove_tree(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    for child in subdirs(dir)? {
        remove_tree(&child, deadline)?;
    }
    let mut delay = Duration::from_millis(5);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(source) => {
                return Err(CgroupError::Io {
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn create_all_records_only_new_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("a")).unwrap();
        let created = create_all(tmp.path(), &tmp.path().join("a/b/c")).unwrap();
        assert_eq!(
            created,
            vec![tmp.path().join("a/b"), tmp.path().join("a/b/c")]
        );
        assert!(create_all(tmp.path(), &tmp.path().join("a/b/c"))
            .unwrap()
            .is_empty());
        remove_created(&created);
        assert!(tmp.path().join("a").is_dir() && !tmp.path().join("a/b").exists());
    }

    #[test]
    fn create_all_refuses_outside_base() {
        let tmp = tempfile::tempdir().unwrap();
        let err = create_all(&tmp.path().join("x"), Path::new("/etc")).unwrap_err();
        assert!(err.to_string().contains("/etc"), "{err}");
    }

    #[test]
    fn procs_reads_recursively() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("c/sub")).unwrap();
        std::fs::write(tmp.path().join("c/cgroup.procs"), "1\n2\n").unwrap();
        std::fs::write(tmp.path().join("c/sub/cgroup.procs"), "3\n").unwrap();
        let mut pids = Vec::new();
        procs_recursive(&tmp.path().join("c"), &mut pids).unwrap();
        pids.sort();
        assert_eq!(pids, [1, 2, 3]);
        let mut none = Vec::new();
        procs_recursive(&tmp.path().join("missing"), &mut none).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn remove_tree_of_empty_dirs_and_missing() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("c/d/e")).unwrap();
        let now = Instant::now();
        remove_tree(&tmp.path().join("c"), now).unwrap();
        assert!(!tmp.path().join("c").exists());
        remove_tree(&tmp.path().join("c"), now).unwrap();
    }
}
