//! cgroup v2 specifics (Documentation/admin-guide/cgroup-v2.rst). Placing a process works the
//! same as on v1 (write to `cgroup.procs`); the v2 resource writers (memory.max, pids.max,
//! the devices eBPF program, ...) and `cgroup.subtree_control` delegation belong here when
//! `linux.resources` is implemented.

use std::path::Path;

use super::CgroupError;

/// Whether `dir` is frozen (`cgroup.freeze` reads 1): a process moved into a frozen cgroup
/// stops, which `create` must not do silently (config-linux.md "Control groups": "a frozen
/// cgroup" is not fit for purpose).
pub fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    let path = dir.join("cgroup.freeze");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim() == "1"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(CgroupError::Io { path, source }),
    }
}
