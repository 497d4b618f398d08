//! `ocirun features` (features.md, features-linux.md): what this runtime recognizes, fixed at
//! build time ("SHOULD be determined on the compilation time of the runtime").

use serde_json::{json, Value};

/// The Features structure.
pub fn features() -> Value {
    json!({
        "ociVersionMin": crate::spec::OCI_VERSION_MIN,
        "ociVersionMax": crate::spec::OCI_VERSION_MAX,
        "hooks": [
            "prestart", "createRuntime", "createContainer", "startContainer", "poststart",
            "poststop"
        ],
        // One table drives both parsing and this list: rootfs::options::OPTIONS.
        "mountOptions": crate::rootfs::options::names(),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"],
            "capabilities": crate::capabilities::NAMES.to_vec(),
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false },
            "seccomp": {
                "enabled": true,
                "actions": crate::seccomp::ACTIONS,
                "operators": crate::seccomp::OPERATORS,
                "archs": crate::seccomp::ARCHS,
                "knownFlags": crate::seccomp::FLAGS,
                // All four are in this kernel's seccomp(2) since 5.19 (WAIT_KILLABLE_RECV).
                "supportedFlags": crate::seccomp::FLAGS
            },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
            "intelRdt": { "enabled": false },
            "memoryPolicy": {
                "modes": [
                    "MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                    "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"
                ],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            },
            // Id-mapped mounts (`uidMappings`/`gidMappings` of a mount): rootfs/idmap.rs.
            "mountExtensions": { "idmap": { "enabled": true } },
            "netDevices": { "enabled": true }
        },
        "annotations": {
            "io.github.ocikit.ocirun.version": env!("CARGO_PKG_VERSION")
        }
    })
}
