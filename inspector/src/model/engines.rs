//! What the engines' annotations (config.json `annotations`, runtime.md "Configuration")
//! and cgroup paths say about a container: the engine, its name, its pod. Pure; the files
//! are read by `collect::engine`.
//!
//! - Kubernetes through containerd's CRI plugin: `io.kubernetes.cri.container-type`
//!   (`sandbox` or `container`), `io.kubernetes.cri.sandbox-id`, `...sandbox-name`,
//!   `...sandbox-namespace`, `...container-name`.
//! - Kubernetes through CRI-O: `io.kubernetes.cri-o.ContainerType`,
//!   `io.kubernetes.cri-o.SandboxID`, `io.kubernetes.pod.name`, `io.kubernetes.pod.namespace`,
//!   `io.kubernetes.container.name`.
//! - podman writes CRI-O's `ContainerType` and `SandboxID` for the members of a pod (the
//!   SandboxID is the pod's infra container) and `io.container.manager: libpod`; the pod's id
//!   is in the cgroup path (`libpod_pod_<id>` under systemd, `libpod_parent/<id>` under
//!   cgroupfs).

use std::collections::BTreeMap;

/// A container's place in Kubernetes, from its annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kube {
    /// The pod's sandbox (pause) container rather than one of its containers.
    pub sandbox: bool,
    pub sandbox_id: Option<String>,
    pub pod_name: Option<String>,
    pub pod_namespace: Option<String>,
    pub container_name: Option<String>,
}

fn get(a: &BTreeMap<String, String>, key: &str) -> Option<String> {
    a.get(key).filter(|v| !v.is_empty()).cloned()
}

/// The container's place in Kubernetes, if its annotations are a CRI runtime's.
pub fn kubernetes(a: &BTreeMap<String, String>) -> Option<Kube> {
    if let Some(kind) = a.get("io.kubernetes.cri.container-type") {
        return Some(Kube {
            sandbox: kind == "sandbox",
            sandbox_id: get(a, "io.kubernetes.cri.sandbox-id"),
            pod_name: get(a, "io.kubernetes.cri.sandbox-name"),
            pod_namespace: get(a, "io.kubernetes.cri.sandbox-namespace"),
            container_name: get(a, "io.kubernetes.cri.container-name"),
        });
    }
    // podman writes the CRI-O keys too, but names no Kubernetes pod.
    let kind = a.get("io.kubernetes.cri-o.ContainerType")?;
    let pod_name = get(a, "io.kubernetes.pod.name")?;
    let sandbox = kind == "sandbox";
    Some(Kube {
        sandbox,
        sandbox_id: get(a, "io.kubernetes.cri-o.SandboxID"),
        pod_name: Some(pod_name),
        pod_namespace: get(a, "io.kubernetes.pod.namespace"),
        // CRI-O names a sandbox "POD".
        container_name: get(a, "io.kubernetes.container.name").filter(|_| !sandbox),
    })
}

/// Whether podman made the container.
pub fn is_podman(a: &BTreeMap<String, String>) -> bool {
    a.get("io.container.manager").map(String::as_str) == Some("libpod")
}

/// The infra container of the podman pod a member container is in.
pub fn podman_sandbox_id(a: &BTreeMap<String, String>) -> Option<String> {
    get(a, "io.kubernetes.cri-o.SandboxID")
}

/// The podman pod id in a cgroup path: `.../machine-libpod_pod_<id>.slice/...` (systemd,
/// and `libpod_pod_<id>` in a systemd cgroupsPath) or `/libpod_parent/<id>/...` (cgroupfs).
pub fn podman_pod_in_cgroup(path: &str) -> Option<String> {
    let hex64 = |s: &str| {
        let id: String = s.chars().take_while(char::is_ascii_hexdigit).collect();
        (id.len() == 64).then_some(id)
    };
    if let Some((_, rest)) = path.split_once("libpod_pod_") {
        return hex64(rest);
    }
    let mut parts = path.split('/');
    parts.find(|p| *p == "libpod_parent")?;
    hex64(parts.next()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn containerd_cri_annotations() {
        let a = map(&[
            ("io.kubernetes.cri.container-type", "container"),
            ("io.kubernetes.cri.sandbox-id", "sb1"),
            ("io.kubernetes.cri.sandbox-name", "web-7d4f9"),
            ("io.kubernetes.cri.sandbox-namespace", "shop"),
            ("io.kubernetes.cri.container-name", "nginx"),
        ]);
        let k = kubernetes(&a).unwrap();
        assert!(!k.sandbox);
        assert_eq!(k.sandbox_id.as_deref(), Some("sb1"));
        assert_eq!(k.pod_name.as_deref(), Some("web-7d4f9"));
        assert_eq!(k.pod_namespace.as_deref(), Some("shop"));
        assert_eq!(k.container_name.as_deref(), Some("nginx"));
    }

    #[test]
    fn cri_o_annotations_and_podman_is_not_kubernetes() {
        let a = map(&[
            ("io.kubernetes.cri-o.ContainerType", "sandbox"),
            ("io.kubernetes.cri-o.SandboxID", "sb2"),
            ("io.kubernetes.pod.name", "db-0"),
            ("io.kubernetes.pod.namespace", "prod"),
            ("io.kubernetes.container.name", "POD"),
        ]);
        let k = kubernetes(&a).unwrap();
        assert!(k.sandbox);
        assert_eq!(k.container_name, None);
        // podman 4.3's annotations of a pod member.
        let p = map(&[
            ("io.container.manager", "libpod"),
            ("io.kubernetes.cri-o.ContainerType", "container"),
            ("io.kubernetes.cri-o.SandboxID", "4ae7"),
        ]);
        assert_eq!(kubernetes(&p), None);
        assert!(is_podman(&p));
        assert_eq!(podman_sandbox_id(&p).as_deref(), Some("4ae7"));
    }

    #[test]
    fn podman_pod_ids_in_cgroup_paths() {
        let id = "918604f461f21856d7268e450550340d722fc7d35f59add97b9df78251bdbe71";
        let cgroupfs = format!("/libpod_parent/{id}/libpod-c32ba0ef");
        assert_eq!(podman_pod_in_cgroup(&cgroupfs).as_deref(), Some(id));
        let systemd = format!("/machine.slice/machine-libpod_pod_{id}.slice/libpod-c32b.scope");
        assert_eq!(podman_pod_in_cgroup(&systemd).as_deref(), Some(id));
        assert_eq!(podman_pod_in_cgroup("/libpod_parent/libpod-c32b"), None);
        assert_eq!(podman_pod_in_cgroup("/docker/abc"), None);
    }
}
