//! Reading the runtimes' state dirs under an injectable state root: ocirun, runc, crun, youki
//! and containerd's runc root. Every format is read leniently from untyped JSON (a field of an
//! unexpected type is unknown, not an error), because each runtime writes its own shape:
//!
//! - OCI state (`runtime.md "State"`): `id`, `pid`, `status`, `bundle`, `annotations` — ocirun
//!   and youki write this plus a `created` time (and ocirun an init start time);
//! - runc (libcontainer `State`): `init_process_pid`, `init_process_start`, `created`,
//!   `config.rootfs`, `config.labels` (`bundle=...`), `cgroup_paths`;
//! - crun (`status`): `pid`, `process-start-time`, `cgroup-path`, `rootfs`, `bundle`, `created`.

pub use crate::model::StateEntry;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The state dirs ocitop scans, relative to the state root: (runtime, dir, state file).
pub const RUNTIME_DIRS: &[(&str, &str, &str)] = &[
    ("ocirun", "run/ocirun", "state.json"),
    ("runc", "run/runc", "state.json"),
    ("crun", "run/crun", "status"),
    ("youki", "run/youki", "state.json"),
];

/// containerd's runc root holds one directory per containerd namespace, each a runc root.
pub const CONTAINERD_RUNC_DIR: &str = "run/containerd/runc";

/// Every container state file under the state root; unreadable ones become warnings.
pub fn read_all(state_root: &Path, warnings: &mut Vec<String>) -> Vec<StateEntry> {
    let mut entries = Vec::new();
    for (runtime, dir, file) in RUNTIME_DIRS {
        scan_root(
            &state_root.join(dir),
            runtime,
            None,
            file,
            &mut entries,
            warnings,
        );
    }
    if let Ok(namespaces) = std::fs::read_dir(state_root.join(CONTAINERD_RUNC_DIR)) {
        let mut namespaces: Vec<_> = namespaces.filter_map(|e| e.ok()).collect();
        namespaces.sort_by_key(|e| e.file_name());
        for ns in namespaces {
            let name = ns.file_name().to_string_lossy().into_owned();
            scan_root(
                &ns.path(),
                "runc",
                Some(&name),
                "state.json",
                &mut entries,
                warnings,
            );
        }
    }
    entries
}

fn scan_root(
    root: &Path,
    runtime: &str,
    namespace: Option<&str>,
    file: &str,
    entries: &mut Vec<StateEntry>,
    warnings: &mut Vec<String>,
) {
    let Ok(dirs) = std::fs::read_dir(root) else {
        return;
    };
    let mut dirs: Vec<_> = dirs
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .collect();
    dirs.sort_by_key(|e| e.file_name());
    for dir in dirs {
        let path = dir.path().join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // A dir without a state file is a container being created or deleted right now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                warnings.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!("{}: not json: {e}", path.display()));
                continue;
            }
        };
        let fallback_id = dir.file_name().to_string_lossy().into_owned();
        let mut entry = parse(&value, &fallback_id);
        entry.runtime = runtime.to_string();
        entry.namespace = namespace.map(str::to_string);
        entry.exec_fifo = std::fs::symlink_metadata(dir.path().join("exec.fifo")).is_ok();
        entry.dir = dir.path();
        entries.push(entry);
    }
}

/// Reads any of the known shapes; the directory name is the id when the file has none (crun).
pub fn parse(v: &Value, fallback_id: &str) -> StateEntry {
    let id = string(v, &["id"]).unwrap_or_else(|| fallback_id.to_string());
    let pid = number(v, &["pid", "init_process_pid"])
        .and_then(|p| u32::try_from(p).ok())
        .filter(|&p| p > 0);
    let start_ticks = number(
        v,
        &[
            "init_process_start",
            "process-start-time",
            "init_start_time",
            "initStartTime",
            "init_start",
            "start_time",
            "startTime",
            "pid_start_time",
            "pidStartTime",
        ],
    );
    let config = v.get("config");
    let labels_bundle = config
        .and_then(|c| c.get("labels"))
        .and_then(Value::as_array)
        .and_then(|labels| {
            labels
                .iter()
                .filter_map(Value::as_str)
                .find_map(|l| l.strip_prefix("bundle=").map(str::to_string))
        });
    let mut cgroup_paths = BTreeMap::new();
    if let Some(map) = v.get("cgroup_paths").and_then(Value::as_object) {
        for (k, p) in map {
            if let Some(p) = p.as_str() {
                cgroup_paths.insert(k.clone(), p.to_string());
            }
        }
    }
    if let Some(p) = string(
        v,
        &["cgroup-path", "cgroup_path", "cgroupPath", "cgroupsPath"],
    ) {
        cgroup_paths.insert(String::new(), p);
    }
    let annotations = v
        .get("annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    StateEntry {
        id,
        pid,
        start_ticks,
        status: string(v, &["status"]),
        bundle: string(v, &["bundle"]).or(labels_bundle),
        rootfs: string(v, &["rootfs"]).or_else(|| config.and_then(|c| string(c, &["rootfs"]))),
        created: string(v, &["created"]).or_else(|| number(v, &["created"]).map(|n| n.to_string())),
        annotations,
        cgroup_paths,
        ..StateEntry::default()
    }
}

fn string(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| v.get(*k)?.as_str().map(str::to_string))
        .filter(|s| !s.is_empty())
}

/// A non-negative integer, written as a JSON number or a decimal string.
fn number(v: &Value, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| match v.get(*k)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runc_shape() {
        let v = json!({"id": "a", "init_process_pid": 10, "init_process_start": 99,
            "created": "2026-01-01T00:00:00Z",
            "config": {"rootfs": "/b/rootfs", "labels": ["x=y", "bundle=/b"]},
            "cgroup_paths": {"memory": "/sys/fs/cgroup/memory/a"}});
        let e = parse(&v, "dir");
        assert_eq!(e.id, "a");
        assert_eq!(e.pid, Some(10));
        assert_eq!(e.start_ticks, Some(99));
        assert_eq!(e.bundle.as_deref(), Some("/b"));
        assert_eq!(e.rootfs.as_deref(), Some("/b/rootfs"));
        assert_eq!(e.cgroup_paths["memory"], "/sys/fs/cgroup/memory/a");
    }

    #[test]
    fn ocirun_shape() {
        // runtime/src/state.rs: OCI state fields in camelCase plus ocirun's own.
        let v = json!({"ociVersion": "1.2.0", "id": "o1", "status": "created", "pid": 77,
            "bundle": "/b", "rootfs": "/b/rootfs", "created": "2026-11-29T15:00:00Z",
            "initStartTime": 4242, "cgroupsPath": "/ocirun/o1", "systemdCgroup": false});
        let e = parse(&v, "dir");
        assert_eq!(
            (e.id.as_str(), e.pid, e.start_ticks),
            ("o1", Some(77), Some(4242))
        );
        assert_eq!(e.status.as_deref(), Some("created"));
        assert_eq!(e.rootfs.as_deref(), Some("/b/rootfs"));
        assert_eq!(e.cgroup_paths[""], "/ocirun/o1");
    }

    #[test]
    fn crun_shape_takes_id_from_dir() {
        let v = json!({"pid": 5, "process-start-time": 7, "cgroup-path": "/x", "bundle": "/b"});
        let e = parse(&v, "c1");
        assert_eq!(e.id, "c1");
        assert_eq!(e.start_ticks, Some(7));
        assert_eq!(e.cgroup_paths[""], "/x");
    }

    #[test]
    fn oci_shape_is_lenient() {
        let v = json!({"ociVersion": "1.2.0", "id": "o", "status": "stopped", "pid": 0,
            "bundle": "/b", "annotations": {"k": "v", "n": 1}, "created": {"weird": true}});
        let e = parse(&v, "dir");
        assert_eq!(e.pid, None);
        assert_eq!(e.status.as_deref(), Some("stopped"));
        assert_eq!(e.annotations.len(), 1);
        assert_eq!(e.created, None);
    }
}
