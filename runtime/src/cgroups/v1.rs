//! cgroup v1 specifics (Documentation/admin-guide/cgroup-v1/) the manager needs on the real
//! filesystem: cpuset inheritance for new directories, the freezer state, the BFQ weight file.
//! Which files `linux.resources` writes is planned in `resources`.

use std::path::Path;

use super::detect::{Hierarchy, Version};
use super::CgroupError;

/// A new cpuset cgroup starts with empty `cpuset.cpus`/`cpuset.mems`, and moving a process
/// into it fails with ENOSPC (cgroup-v1/cpusets.rst): copy the parent's values down, as runc
/// does. `dir` was just created, its parent is set up.
pub fn init_created_dir(hierarchy: &Hierarchy, dir: &Path) -> Result<(), CgroupError> {
    let Version::V1 { controllers } = &hierarchy.version else {
        return Ok(());
    };
    if !controllers.iter().any(|c| c == "cpuset") {
        return Ok(());
    }
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = read_trimmed(&dir.join(file))?;
        if own.is_empty() {
            let inherited = read_trimmed(&parent.join(file))?;
            super::fs::write(&dir.join(file), &inherited)?;
        }
    }
    Ok(())
}

fn read_trimmed(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|source| CgroupError::Io {
            path: path.to_owned(),
            source,
        })
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

/// The file to write for `file` in `dir`: kernels with the BFQ scheduler and no CFQ have
/// `blkio.bfq.weight`/`blkio.bfq.weight_device` instead of `blkio.weight`/
/// `blkio.weight_device` (same values, as runc falls back to them).
pub fn file_for(dir: &Path, file: &str) -> std::path::PathBuf {
    let path = dir.join(file);
    if let Some(rest) = file.strip_prefix("blkio.weight") {
        let bfq = dir.join(format!("blkio.bfq.weight{rest}"));
        if !path.exists() && bfq.exists() {
            return bfq;
        }
    }
    path
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn bfq_weight_when_no_cfq_weight() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert_eq!(file_for(dir, "blkio.weight"), dir.join("blkio.weight"));
        std::fs::write(dir.join("blkio.bfq.weight"), "100").unwrap();
        std::fs::write(dir.join("blkio.bfq.weight_device"), "").unwrap();
        assert_eq!(file_for(dir, "blkio.weight"), dir.join("blkio.bfq.weight"));
        assert_eq!(
            file_for(dir, "blkio.weight_device"),
            dir.join("blkio.bfq.weight_device")
        );
        assert_eq!(file_for(dir, "pids.max"), dir.join("pids.max"));
    }
}
