//! cgroup v2 specifics (Documentation/admin-guide/cgroup-v2.rst) the manager needs on the
//! real filesystem: the frozen check, controller delegation through `cgroup.subtree_control`
//! and the device program. Which files `linux.resources` writes is planned in `resources`.

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

/// cgroup-v2.rst "Enabling and Disabling": a controller's files exist in a cgroup only when
/// every ancestor below the root lists it in `cgroup.subtree_control`. Enables `controllers`
/// from the hierarchy's mount point down to `dir`'s parent; already enabled is a no-op.
pub fn enable_controllers(
    mount_point: &Path,
    dir: &Path,
    controllers: &[&str],
) -> Result<(), CgroupError> {
    let mut controllers = controllers.to_vec();
    controllers.sort_unstable();
    controllers.dedup();
    if controllers.is_empty() {
        return Ok(());
    }
    let Ok(below) = dir.strip_prefix(mount_point) else {
        return Ok(());
    };
    let value = controllers
        .iter()
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut current = mount_point.to_owned();
    for component in below.components() {
        super::fs::write(&current.join("cgroup.subtree_control"), &value)?;
        current.push(component);
    }
    Ok(())
}

/// The device rules of `r` as an eBPF program on the cgroup2 directory `dir` (v2 has no
/// devices files). None: nothing attached, the parent's rules apply. `dir` not on cgroup2 (a
/// test tree): refused, since the rules could not be enforced.
pub fn devices(dir: &Path, r: &oci_spec::runtime::LinuxResources) -> Result<(), CgroupError> {
    let rules = super::devices::effective(r.devices().as_deref().unwrap_or_default());
    if rules.is_empty() {
        return Ok(());
    }
    if !super::bpf::is_cgroup2(dir) {
        return Err(CgroupError::Other(format!(
            "linux.resources.devices: {} is not on a cgroup2 filesystem: the device program cannot be attached",
            dir.display()
        )));
    }
    super::bpf::attach(dir, &rules)
}
