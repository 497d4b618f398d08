//! The base bundle every case starts from: a rootfs holding only the static probe, and a
//! config close to what `runc spec` writes (config.md, config-linux.md "Default
//! Filesystems"), onto which a case's fragment is merged.

use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where the probe lives inside the container.
pub const PROBE_PATH: &str = "/probe";

/// Directories the rootfs needs as mount points.
const ROOTFS_DIRS: [&str; 7] = ["proc", "dev", "sys", "tmp", "etc", "mnt", "var"];

/// The cgroup parent every case's `cgroupsPath` sits under (absolute: relative to the cgroup
/// mount point, config-linux.md "Cgroups Path"), so that leaks are attributable.
pub const CGROUP_PARENT: &str = "ocikit-conformance";

/// The base config for one container. `probe_args` follow `/probe` in `process.args`.
pub fn base_config(oci_version: &str, cgroup_leaf: &str, probe_args: &[String]) -> Value {
    let mut args = vec![PROBE_PATH.to_string()];
    args.extend(probe_args.iter().cloned());
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": oci_version,
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps
            },
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "ocikit",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ],
            "cgroupsPath": format!("/{CGROUP_PARENT}/{cgroup_leaf}")
        }
    })
}

/// Makes `<dir>/rootfs` with the probe at `/probe` (mode 0755, readable by any mapped uid) and
/// the mount-point directories.
pub fn make_rootfs(dir: &Path, probe: &[u8]) -> std::io::Result<PathBuf> {
    let rootfs = dir.join("rootfs");
    for d in ROOTFS_DIRS {
        std::fs::create_dir_all(rootfs.join(d))?;
    }
    std::fs::set_permissions(&rootfs, std::fs::Permissions::from_mode(0o755))?;
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777))?;
    let probe_path = rootfs.join(PROBE_PATH.trim_start_matches('/'));
    std::fs::write(&probe_path, probe)?;
    std::fs::set_permissions(&probe_path, std::fs::Permissions::from_mode(0o755))?;
    Ok(rootfs)
}
