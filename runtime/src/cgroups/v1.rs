//! cgroup v1 specifics (Documentation/admin-guide/cgroup-v1/) the manager needs on the real
//! filesystem: cpuset inheritance down the container's path, the freezer state.
//! Which files `linux.resources` writes is planned in `resources`.

use std::path::Path;

use super::detect::{Hierarchy, Version};
use super::CgroupError;

/// A new cpuset cgroup starts with empty `cpuset.cpus`/`cpuset.mems`, and moving a process
/// into it fails with ENOSPC (cgroup-v1/cpusets.rst): from the hierarchy's mount point down
/// to `dir`, every level left empty (the new ones, or a parent someone made by hand) gets
/// its parent's values, as runc does. A level without the files (not cgroupfs) is skipped.
pub fn ensure_cpuset(hierarchy: &Hierarchy, dir: &Path) -> Result<(), CgroupError> {
    let Version::V1 { controllers } = &hierarchy.version else {
        return Ok(());
    };
    if !controllers.iter().any(|c| c == "cpuset") {
        return Ok(());
    }
    let Ok(below) = dir.strip_prefix(&hierarchy.mount_point) else {
        return Ok(());
    };
    let mut parent = hierarchy.mount_point.clone();
    for component in below.components() {
        let current = parent.join(component);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let (Some(own), Some(inherited)) = (
                read_trimmed(&current.join(file))?,
                read_trimmed(&parent.join(file))?,
            ) else {
                continue;
            };
            if own.is_empty() {
                super::fs::write(&current.join(file), &inherited)?;
            }
        }
        parent = current;
    }
    Ok(())
}

/// The trimmed text of `path`; `None` when it does not exist.
fn read_trimmed(path: &Path) -> Result<Option<String>, CgroupError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Whether the v1 freezer cgroup `dir` is frozen (`freezer.state` reads FROZEN or FREEZING):
/// a process moved in stops (config-linux.md "Control groups": not fit for purpose).
pub fn is_frozen(hierarchy: &Hierarchy, dir: &Path) -> Result<bool, CgroupError> {
    let Version::V1 { controllers } = &hierarchy.version else {
        return Ok(false);
    };
    if !controllers.iter().any(|c| c == "freezer") {
        return Ok(false);
    }
    let path = dir.join("freezer.state");
    match std::fs::read_to_string(&path) {
        Ok(state) => Ok(matches!(state.trim(), "FROZEN" | "FREEZING")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(CgroupError::Io { path, source }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn empty_cpusets_inherit_down_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let hierarchy = Hierarchy {
            version: Version::V1 {
                controllers: vec!["cpuset".into()],
            },
            mount_point: root.to_owned(),
            mount_root: PathBuf::from("/"),
        };
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for (dir, cpus) in [("", "0-3"), ("a", ""), ("a/b", "")] {
            std::fs::write(root.join(dir).join("cpuset.cpus"), cpus).unwrap();
            std::fs::write(
                root.join(dir).join("cpuset.mems"),
                if dir.is_empty() { "0" } else { "" },
            )
            .unwrap();
        }
        std::fs::write(root.join("a/b/cpuset.cpus"), "1").unwrap();
        ensure_cpuset(&hierarchy, &root.join("a/b")).unwrap();
        let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap();
        assert_eq!(read("a/cpuset.cpus"), "0-3");
        assert_eq!(read("a/cpuset.mems"), "0");
        assert_eq!(read("a/b/cpuset.cpus"), "1", "a set value stays");
        assert_eq!(read("a/b/cpuset.mems"), "0");
    }
}
