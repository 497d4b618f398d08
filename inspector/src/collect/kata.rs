//! kata's VM sandboxes, as its Go runtime (containerd-shim-kata-v2) lays them out: one shim
//! per sandbox (`-id` is the sandbox id), the hypervisor (qemu, cloud-hypervisor,
//! firecracker) and virtiofsd as the shim's children, and the runtime's state in
//! `/run/vc/sbs/<sandbox>/persist.json` (the sandbox: `State`, `HypervisorState.Type`, `.Pid`,
//! `.VirtiofsdPid`) with one `<container>/persist.json` per container (`State`,
//! `BundlePath`, `CgroupPath`). The containers' processes run in the VM, not on the host:
//! what the host can tell of them is whether the VM process is alive, and what the runtime
//! recorded.

use super::files::{str_at, HostFiles};
use crate::model::{Container, Shim, Status, Vm};
use std::path::Path;

/// Where kata's Go runtime keeps its sandboxes (virtcontainers/persist/fs).
pub const SANDBOXES_DIR: &str = "/run/vc/sbs";

/// One VM sandbox and the containers in it.
#[derive(Debug, Clone, PartialEq)]
pub struct VmSandbox {
    pub id: String,
    pub vm: Vm,
    pub containers: Vec<Container>,
}

/// The sandbox a kata shim holds, from the runtime's persisted state; `None` when that
/// cannot be read. `alive` tells whether a pid names a live process.
pub fn read(shim: &Shim, files: &mut HostFiles, alive: &dyn Fn(u32) -> bool) -> Option<VmSandbox> {
    let id = shim.id.clone()?;
    let dir = Path::new(SANDBOXES_DIR).join(&id);
    let state = files.json(&dir.join("persist.json"))?;
    let pid_at = |key: &str| {
        state
            .get("HypervisorState")?
            .get(key)?
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .filter(|&p| p > 0)
    };
    let vm = Vm {
        hypervisor: str_at(&state, &["HypervisorState", "Type"]).map(str::to_string),
        pid: pid_at("Pid"),
        virtiofsd_pid: pid_at("VirtiofsdPid"),
        state: str_at(&state, &["State"]).map(str::to_string),
    };
    // The host's truth about the containers: the VM they run in is alive or not.
    let gone = vm.pid.filter(|&p| !alive(p));
    let mut containers = Vec::new();
    for cid in files.subdirs(&dir) {
        let state_dir = dir.join(&cid);
        let Some(cs) = files.json(&state_dir.join("persist.json")) else {
            continue;
        };
        let declared = str_at(&cs, &["State"]).map(str::to_string);
        let (status, stale_reason) = match gone {
            Some(pid) => (Status::Stale, Some(format!("the VM process {pid} is gone"))),
            None => (status_of(declared.as_deref()), None),
        };
        containers.push(Container {
            id: cid,
            runtime: "kata".into(),
            namespace: shim.namespace.clone(),
            state_dir: Some(state_dir.display().to_string()),
            status,
            declared_status: declared,
            stale_reason,
            in_vm: true,
            bundle: str_at(&cs, &["BundlePath"]).map(str::to_string),
            created: str_at(&cs, &["Process", "StartTime"]).map(str::to_string),
            shim_pid: Some(shim.pid),
            cgroup: str_at(&cs, &["CgroupPath"]).map(str::to_string),
            ..Container::default()
        });
    }
    Some(VmSandbox { id, vm, containers })
}

/// kata's states (virtcontainers/types: ready, running, paused, stopped) as statuses.
fn status_of(state: Option<&str>) -> Status {
    match state {
        Some("ready") => Status::Created,
        Some("running") => Status::Running,
        Some("paused") => Status::Paused,
        Some("stopped") => Status::Stopped,
        _ => Status::Unknown,
    }
}
