//! Reading the runtimes' state dirs under an injectable state root: ocirun, runc, crun and
//! youki at their default roots (`/run/NAME`, and `/run/user/UID/NAME` for rootless ones, as
//! `$XDG_RUNTIME_DIR/NAME`), containerd's runc roots (`/run/containerd/runc/NS`) and dockerd's
//! (`/run/docker/runtime-NAME/NS`: dockerd passes `--root` there for each configured runtime).
//! Every format is read leniently from untyped JSON (a field of an unexpected type is unknown,
//! not an error), because each runtime writes its own shape:
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

/// The runtimes ocitop knows, with their default root and the name of their state file:
/// (runtime, root under the state root, state file).
pub const RUNTIME_DIRS: &[(&str, &str, &str)] = &[
    ("ocirun", "run/ocirun", "state.json"),
    ("runc", "run/runc", "state.json"),
    ("crun", "run/crun", "status"),
    ("youki", "run/youki", "state.json"),
];

/// containerd's runc root holds one directory per containerd namespace, each a runc root.
pub const CONTAINERD_RUNC_DIR: &str = "run/containerd/runc";

/// Where dockerd keeps one root per runtime it drives (`runtime-runc`, `runtime-NAME`), each
/// holding one directory per containerd namespace (`moby`).
pub const DOCKER_DIR: &str = "run/docker";

/// Where rootless runtimes keep their roots: `$XDG_RUNTIME_DIR` is `/run/user/UID`.
pub const USER_DIR: &str = "run/user";

/// One runtime root to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeRoot {
    pub runtime: String,
    /// The containerd namespace the root is for, if it is one of containerd's or dockerd's.
    pub namespace: Option<String>,
    /// Relative to the state root.
    pub dir: std::path::PathBuf,
    /// The state file in each container's directory.
    pub file: &'static str,
    /// containerd's runc root: its shim passes the root to whatever binary it is set to run
    /// (runc, crun, ocirun ...), so each container's state tells which wrote it.
    pub any_runtime: bool,
}

/// Every runtime root present under the state root, in a stable order.
pub fn runtime_roots(state_root: &Path) -> Vec<RuntimeRoot> {
    let root = |runtime: &str, namespace: Option<String>, dir: std::path::PathBuf| RuntimeRoot {
        file: state_file(runtime),
        runtime: runtime.to_string(),
        namespace,
        dir,
        any_runtime: false,
    };
    let mut roots: Vec<RuntimeRoot> = RUNTIME_DIRS
        .iter()
        .map(|(runtime, dir, _)| root(runtime, None, dir.into()))
        .collect();
    for uid in subdirs(&state_root.join(USER_DIR)) {
        for (runtime, dir, _) in RUNTIME_DIRS {
            let name = dir.rsplit('/').next().unwrap_or(dir);
            roots.push(root(
                runtime,
                None,
                Path::new(USER_DIR).join(&uid).join(name),
            ));
        }
    }
    for ns in subdirs(&state_root.join(CONTAINERD_RUNC_DIR)) {
        let dir = Path::new(CONTAINERD_RUNC_DIR).join(&ns);
        roots.push(RuntimeRoot {
            any_runtime: true,
            ..root("runc", Some(ns), dir)
        });
    }
    for name in subdirs(&state_root.join(DOCKER_DIR)) {
        let Some(runtime) = name.strip_prefix("runtime-") else {
            continue;
        };
        for ns in subdirs(&state_root.join(DOCKER_DIR).join(&name)) {
            let dir = Path::new(DOCKER_DIR).join(&name).join(&ns);
            // dockerd passes `runtime-runc` as the root of every runtime it drives through
            // containerd's runc shim (`--runtime=ocirun` too): the name says little.
            roots.push(RuntimeRoot {
                any_runtime: true,
                ..root(runtime, Some(ns), dir)
            });
        }
    }
    roots.retain(|r| state_root.join(&r.dir).is_dir());
    roots
}

/// The roots containerd's shims were told to use (the `root` of their options, or a v1
/// shim's `-runtime-root`), one per containerd namespace: where a dockerd or containerd
/// with its own exec root or state keeps the runtime's state.
pub fn shim_roots(shims: &[crate::model::Shim]) -> Vec<RuntimeRoot> {
    let mut roots: Vec<RuntimeRoot> = Vec::new();
    for s in shims {
        let (Some(root), Some(ns)) = (&s.runtime_root, &s.namespace) else {
            continue;
        };
        let Some(rel) = root.strip_prefix('/') else {
            continue;
        };
        let dir = Path::new(rel).join(ns);
        if roots.iter().any(|r| r.dir == dir) {
            continue;
        }
        let runtime = s.runtime.clone().unwrap_or_else(|| "runc".into());
        roots.push(RuntimeRoot {
            file: state_file(&runtime),
            runtime,
            namespace: Some(ns.clone()),
            dir,
            any_runtime: true,
        });
    }
    roots
}

/// The state file name a runtime writes: crun's is `status`, the others' `state.json`.
fn state_file(runtime: &str) -> &'static str {
    RUNTIME_DIRS
        .iter()
        .find(|(name, _, _)| *name == runtime)
        .map_or("state.json", |(_, _, file)| *file)
}

/// The names of the directories in `dir`, sorted; none if it cannot be read.
pub(crate) fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every container state file under the runtime roots present under the state root, and
/// under `extra` roots (the shims'); unreadable ones become warnings. Returns the roots read.
pub fn read_all(
    state_root: &Path,
    extra: Vec<RuntimeRoot>,
    warnings: &mut Vec<String>,
) -> (Vec<StateEntry>, Vec<RuntimeRoot>) {
    let mut roots = runtime_roots(state_root);
    for r in extra {
        if !roots.iter().any(|known| known.dir == r.dir) && state_root.join(&r.dir).is_dir() {
            roots.push(r);
        }
    }
    let mut entries = Vec::new();
    for r in &roots {
        scan_root(&state_root.join(&r.dir), r, &mut entries, warnings);
    }
    (entries, roots)
}

/// Reads the state file of every container directory under `dir`, the root `r` names.
fn scan_root(
    dir: &Path,
    r: &RuntimeRoot,
    entries: &mut Vec<StateEntry>,
    warnings: &mut Vec<String>,
) {
    for name in subdirs(dir) {
        let container = dir.join(&name);
        let (mut path, mut runtime) = (container.join(r.file), r.runtime.as_str());
        // crun writes `status`, not runc's `state.json`.
        if r.any_runtime && !path.exists() && container.join("status").exists() {
            (path, runtime) = (container.join("status"), "crun");
        }
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
        let mut entry = parse(&value, &name);
        // ocirun's state is the one with `initStartTime`.
        if r.any_runtime && value.get("initStartTime").is_some() {
            runtime = "ocirun";
        }
        entry.runtime = runtime.to_string();
        entry.namespace = r.namespace.clone();
        entry.exec_fifo = std::fs::symlink_metadata(container.join("exec.fifo")).is_ok();
        entry.dir = container;
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
    // runc keeps the bundle and the config's annotations as `key=value` labels.
    let labels: Vec<&str> = config
        .and_then(|c| c.get("labels"))
        .and_then(Value::as_array)
        .map(|labels| labels.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let labels_bundle = labels
        .iter()
        .find_map(|l| l.strip_prefix("bundle=").map(str::to_string));
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
    let mut annotations: BTreeMap<String, String> = v
        .get("annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    for label in labels {
        if let Some((k, v)) = label.split_once('=').filter(|(k, _)| *k != "bundle") {
            annotations
                .entry(k.to_string())
                .or_insert_with(|| v.to_string());
        }
    }
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
    fn default_rootless_containerd_and_docker_roots() {
        let tmp = tempfile::tempdir().unwrap();
        let put = |dir: &str, file: &str, text: &str| {
            let d = tmp.path().join(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(file), text).unwrap();
        };
        let runc = r#"{"id": "ID", "init_process_pid": 10, "init_process_start": 5}"#;
        put("run/runc/a", "state.json", &runc.replace("ID", "a"));
        // Rootless podman's crun ($XDG_RUNTIME_DIR/crun) and runc.
        put("run/user/1000/crun/b", "status", r#"{"pid": 11}"#);
        put(
            "run/user/1000/runc/c",
            "state.json",
            &runc.replace("ID", "c"),
        );
        // containerd's runc shim driving crun: crun's status file in the runc root.
        put("run/containerd/runc/k8s.io/d", "status", r#"{"pid": 12}"#);
        // ... and ocirun (ctr run --runc-binary ocirun): its own state shape.
        let ocirun = r#"{"ociVersion": "1.2.0", "id": "g", "pid": 14, "initStartTime": 3}"#;
        put("run/containerd/runc/k8s.io/g", "state.json", ocirun);
        // dockerd: one root per runtime, one dir per containerd namespace.
        put(
            "run/docker/runtime-runc/moby/e",
            "state.json",
            &runc.replace("ID", "e"),
        );
        put("run/docker/runtime-crun/moby/f", "status", r#"{"pid": 13}"#);
        std::fs::create_dir_all(tmp.path().join("run/docker/containerd")).unwrap();

        let dirs: Vec<String> = runtime_roots(tmp.path())
            .iter()
            .map(|r| format!("{} {}", r.runtime, r.dir.display()))
            .collect();
        assert_eq!(
            dirs,
            [
                "runc run/runc",
                "runc run/user/1000/runc",
                "crun run/user/1000/crun",
                "runc run/containerd/runc/k8s.io",
                "crun run/docker/runtime-crun/moby",
                "runc run/docker/runtime-runc/moby",
            ]
        );
        let mut warnings = Vec::new();
        let found: Vec<(String, String, Option<String>)> =
            read_all(tmp.path(), Vec::new(), &mut warnings)
                .0
                .into_iter()
                .map(|e| (e.runtime, e.id, e.namespace))
                .collect();
        assert!(warnings.is_empty(), "{warnings:?}");
        let moby = || Some("moby".to_string());
        assert_eq!(
            found,
            [
                ("runc".into(), "a".into(), None),
                ("runc".into(), "c".into(), None),
                ("crun".into(), "b".into(), None),
                ("crun".into(), "d".into(), Some("k8s.io".into())),
                ("ocirun".into(), "g".into(), Some("k8s.io".into())),
                ("crun".into(), "f".into(), moby()),
                ("runc".into(), "e".into(), moby()),
            ]
        );
    }

    #[test]
    fn runc_shape() {
        let v = json!({"id": "a", "init_process_pid": 10, "init_process_start": 99,
            "created": "2026-01-01T00:00:00Z",
            "config": {"rootfs": "/b/rootfs", "labels": ["x=y=z", "bundle=/b"]},
            "cgroup_paths": {"memory": "/sys/fs/cgroup/memory/a"}});
        let e = parse(&v, "dir");
        assert_eq!(e.id, "a");
        assert_eq!(e.pid, Some(10));
        assert_eq!(e.start_ticks, Some(99));
        assert_eq!(e.bundle.as_deref(), Some("/b"));
        assert_eq!(e.rootfs.as_deref(), Some("/b/rootfs"));
        assert_eq!(e.cgroup_paths["memory"], "/sys/fs/cgroup/memory/a");
        // The config's annotations, as runc keeps them.
        assert_eq!(e.annotations.len(), 1);
        assert_eq!(e.annotations["x"], "y=z");
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
