//! Who made each container and what it calls it, from what the engines recorded (see
//! `model::engines` for the annotations): the bundle's config.json (annotations, hostname,
//! mounts), the runtime options containerd's shim was given in the bundle, dockerd's
//! `config.v2.json`, conmon's command line. Then the pods those containers make.
//!
//! - **docker** keeps each container's files in `<data-root>/containers/<id>/` and bind-mounts
//!   its `hostname`, `hosts` and `resolv.conf` into the container, so the bundle's mounts name
//!   that directory (whatever `--data-root` was), and its `config.v2.json` the name.
//! - **podman** passes the name to conmon (`-n`), and gives a pod's infra container the
//!   pod's name as hostname.
//! - **the runtime containerd's shim ran** is the `binary_name` of the options it was given
//!   (`options.json` in the bundle; none means runc): dockerd keeps every runtime's state
//!   under `runtime-runc`, so only the options tell `docker run --runtime=ocirun` from runc.

use super::files::{str_at, HostFiles};
use crate::model::engines::{self, Kube};
use crate::model::{Container, Pod, Shim, ShimKind};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Fills in each container's engine, name, pod and runtime, and returns the pods, sorted by
/// id.
pub fn identify(containers: &mut [Container], shims: &[Shim], files: &mut HostFiles) -> Vec<Pod> {
    let mut pods: BTreeMap<String, Pod> = BTreeMap::new();
    // A podman pod's infra container names none of this; its members name it.
    let mut podman_infra: BTreeMap<String, String> = BTreeMap::new();
    let mut hostnames: BTreeMap<String, String> = BTreeMap::new();
    for c in containers.iter_mut() {
        let shim = c.shim_pid.and_then(|p| shims.iter().find(|s| s.pid == p));
        let config = c
            .bundle
            .as_deref()
            .and_then(|b| files.json(&Path::new(b).join("config.json")));
        let config = config.as_deref();
        if let Some(map) = config.and_then(|v| v.get("annotations")?.as_object()) {
            // The state's own (runc keeps them as labels) come first; the bundle fills in.
            for (k, v) in map {
                if let Some(v) = v.as_str() {
                    c.annotations
                        .entry(k.clone())
                        .or_insert_with(|| v.to_string());
                }
            }
        }
        if let Some(h) = config.and_then(|v| str_at(v, &["hostname"])) {
            hostnames.insert(c.id.clone(), h.to_string());
        }
        if let (Some(s), Some(bundle)) = (shim, &c.bundle) {
            if s.kind == ShimKind::ContainerdRunc {
                if let Some(runtime) = shim_runtime(bundle, files) {
                    c.runtime = runtime;
                }
            }
        }
        if let Some(k) = engines::kubernetes(&c.annotations) {
            kubernetes(c, k, &mut pods);
        } else if engines::is_podman(&c.annotations)
            || shim.is_some_and(|s| s.engine.as_deref() == Some("podman"))
        {
            c.engine = Some("podman".into());
            c.name = shim.and_then(|s| s.name.clone());
            let cgroup = config
                .and_then(|v| str_at(v, &["linux", "cgroupsPath"]))
                .or(c.cgroup.as_deref());
            let pod = cgroup.and_then(engines::podman_pod_in_cgroup);
            let infra = engines::podman_sandbox_id(&c.annotations);
            if let Some(pod) = pod.clone().or_else(|| infra.clone()) {
                c.pod = Some(pod.clone());
                let entry = pods.entry(pod.clone()).or_insert_with(|| Pod {
                    id: pod.clone(),
                    engine: "podman".into(),
                    ..Pod::default()
                });
                entry.containers.push(c.id.clone());
                if let Some(infra) = infra {
                    podman_infra.insert(infra, pod);
                }
            }
        } else if let Some(name) = config.and_then(|v| docker_name(v, &c.id, files)) {
            c.engine = Some("docker".into());
            c.name = Some(name);
        } else if let Some(name) = shim.and_then(|s| s.name.clone()) {
            c.name = Some(name);
        } else if c.namespace.is_some() {
            // A client of containerd that writes none of the above: ctr, nerdctl, buildkit.
            c.engine = Some("containerd".into());
        }
    }
    // podman's infra containers: the sandbox of the pod their members name; the pod is
    // called what they are called as a host.
    for c in containers.iter_mut() {
        if let Some(pod_id) = podman_infra.get(&c.id) {
            c.sandbox = true;
            c.pod = Some(pod_id.clone());
            if let Some(pod) = pods.get_mut(pod_id) {
                if !pod.containers.contains(&c.id) {
                    pod.containers.push(c.id.clone());
                }
                pod.name = pod.name.take().or_else(|| hostnames.get(&c.id).cloned());
            }
        }
    }
    let mut pods: Vec<Pod> = pods.into_values().collect();
    for pod in &mut pods {
        // The sandbox first, then by id.
        pod.containers.sort_by_key(|id| {
            let sandbox = containers.iter().any(|c| &c.id == id && c.sandbox);
            (!sandbox, id.clone())
        });
    }
    pods
}

/// A Kubernetes container: its names, and its place in the pod of its sandbox.
fn kubernetes(c: &mut Container, k: Kube, pods: &mut BTreeMap<String, Pod>) {
    c.engine = Some("kubernetes".into());
    c.name = k.container_name;
    c.sandbox = k.sandbox;
    // A sandbox is its pod's id.
    let pod_id = k.sandbox_id.or_else(|| k.sandbox.then(|| c.id.clone()));
    let Some(pod_id) = pod_id else { return };
    c.pod = Some(pod_id.clone());
    let pod = pods.entry(pod_id.clone()).or_insert_with(|| Pod {
        id: pod_id,
        engine: "kubernetes".into(),
        ..Pod::default()
    });
    pod.name = pod.name.take().or(k.pod_name);
    pod.namespace = pod.namespace.take().or(k.pod_namespace);
    pod.containers.push(c.id.clone());
}

/// The runtime binary containerd's shim ran for the container in `bundle`, from the
/// options it was given there; `None` without options.json (not a containerd bundle).
fn shim_runtime(bundle: &str, files: &mut HostFiles) -> Option<String> {
    let options = files.json(&Path::new(bundle).join("options.json"))?;
    let binary = str_at(&options, &["binary_name"]).unwrap_or("runc");
    Some(binary.rsplit('/').next().unwrap_or(binary).to_string())
}

/// docker's name for the container: from its `config.v2.json`, in the directory whose
/// `hostname` the bundle mounts at /etc/hostname.
fn docker_name(config: &Value, id: &str, files: &mut HostFiles) -> Option<String> {
    let mounts = config.get("mounts")?.as_array()?;
    let source = mounts.iter().find_map(|m| {
        (str_at(m, &["destination"])? == "/etc/hostname").then(|| str_at(m, &["source"]))?
    })?;
    let dir = Path::new(source).parent()?;
    // docker's layout: the directory is named after the container.
    if dir.file_name()?.to_str()? != id {
        return None;
    }
    let v2 = files.json(&dir.join("config.v2.json"))?;
    (str_at(&v2, &["ID"]) == Some(id))
        .then(|| str_at(&v2, &["Name"]).map(|n| n.trim_start_matches('/').to_string()))?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn put(root: &Path, path: &str, text: &str) {
        let p = root.join(&path[1..]);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn docker_names_and_runtime_from_the_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        let id = "f9e5f0e2";
        let bundle = format!("/run/ctd/io.containerd.runtime.v2.task/moby/{id}");
        let dir = format!("/srv/dk/containers/{id}");
        put(
            tmp.path(),
            &format!("{bundle}/config.json"),
            &format!(
                r#"{{"hostname": "f9e5", "mounts": [
                {{"destination": "/etc/resolv.conf", "source": "{dir}/resolv.conf"}},
                {{"destination": "/etc/hostname", "source": "{dir}/hostname"}}]}}"#
            ),
        );
        put(
            tmp.path(),
            &format!("{bundle}/options.json"),
            r#"{"binary_name":"/opt/ocirun","root":"/srv/exec/runtime-runc"}"#,
        );
        put(
            tmp.path(),
            &format!("{dir}/config.v2.json"),
            &format!(r#"{{"ID": "{id}", "Name": "/web"}}"#),
        );
        let shim = Shim {
            pid: 10,
            kind: ShimKind::ContainerdRunc,
            namespace: Some("moby".into()),
            id: Some(id.into()),
            runtime: None,
            runtime_root: None,
            bundle: Some(bundle.clone()),
            name: None,
            exec: false,
            engine: None,
        };
        let mut cs = vec![Container {
            id: id.into(),
            runtime: "runc".into(),
            namespace: Some("moby".into()),
            bundle: Some(bundle),
            shim_pid: Some(10),
            ..Container::default()
        }];
        let mut files = HostFiles::new(tmp.path());
        let pods = identify(&mut cs, &[shim], &mut files);
        assert!(pods.is_empty());
        assert_eq!(cs[0].engine.as_deref(), Some("docker"));
        assert_eq!(cs[0].name.as_deref(), Some("web"));
        assert_eq!(cs[0].runtime, "ocirun");
    }
}
