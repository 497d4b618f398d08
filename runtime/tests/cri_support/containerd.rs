//! A private containerd with its CRI plugin: config, root, state, sockets and the handlers'
//! runtime roots all in one temp dir. Its config is the README's CRI snippet as a user would
//! paste it (the `ocirun` and `runc` handlers), with `BinaryName` pointed at the ocirun under
//! test and a private `Root` for each handler, plus the settings that keep it off the host's
//! state: no CNI config (the pods use the host network), no registry (images imported).

use super::client::Cri;
use crate::peers_support::{
    eventually, kill_matching, ok, processes_matching, unique, unmount_under,
};
use k8s_cri::v1::{ListContainersRequest, ListPodSandboxRequest, RemoveContainerRequest};
use k8s_cri::v1::{RemovePodSandboxRequest, StopPodSandboxRequest, VersionRequest};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The containerd namespace the CRI plugin keeps everything in.
pub const K8S_NAMESPACE: &str = "k8s.io";
/// The handlers of the README's snippet: ocirun, and runc as the control.
pub const HANDLERS: [&str; 2] = ["ocirun", "runc"];
/// Where the README's snippet says ocirun is installed.
const README_BINARY: &str = "/usr/local/bin/ocirun";

pub struct CriContainerd {
    pub dir: tempfile::TempDir,
    child: Child,
    pub cri: Cri,
    /// The cgroup parent of every pod (`/<name>`, unique per run): the sandboxes' and the
    /// containers' cgroups are `/<name>/<id>` in each hierarchy.
    pub cgroup_parent: String,
}

impl CriContainerd {
    /// Starts containerd with `sandbox_image` as the pause image, and waits (20 s at most)
    /// until its CRI plugin answers `Version`.
    pub fn start(sandbox_image: &str) -> CriContainerd {
        let dir = tempfile::Builder::new()
            .prefix("ocikit-cri-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        for sub in ["cni", "logs", "opt"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let child = crate::peers_support::containerd::spawn(d, &config(d, sandbox_image));
        let socket = d.join("containerd.sock");
        let deadline = Instant::now() + Duration::from_secs(20);
        let cri = loop {
            let answer = if socket.exists() {
                Cri::connect(&socket).and_then(|cri| {
                    let v = cri.call(cri.runtime().version(VersionRequest::default()));
                    v.map(|_| cri).map_err(|e| e.to_string())
                })
            } else {
                Err("no socket yet".into())
            };
            match answer {
                Ok(cri) => break cri,
                Err(e) if Instant::now() > deadline => {
                    let log = std::fs::read_to_string(d.join("containerd.log")).unwrap_or_default();
                    panic!("containerd's CRI did not answer in 20s ({e}); its log:\n{log}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        CriContainerd {
            dir,
            child,
            cri,
            cgroup_parent: format!("/{}", unique("cri")),
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// `handler`'s runtime root as the shim passes it (`--root ROOT/k8s.io`).
    pub fn runtime_root(&self, handler: &str) -> PathBuf {
        self.dir
            .path()
            .join(format!("{handler}-root"))
            .join(K8S_NAMESPACE)
    }

    /// The shim's per-task bundles.
    pub fn task_state(&self) -> PathBuf {
        self.dir
            .path()
            .join("state/io.containerd.runtime.v2.task")
            .join(K8S_NAMESPACE)
    }

    /// Where a pod's container logs go (its `log_directory`).
    pub fn log_dir(&self, pod: &str) -> PathBuf {
        self.dir.path().join("logs").join(pod)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// `ctr -n k8s.io images import ARCHIVE`: images the CRI plugin can run, no registry.
    pub fn import(&self, archive: &Path) {
        ok(Command::new("ctr")
            .arg("--address")
            .arg(self.socket())
            .args(["-n", K8S_NAMESPACE, "images", "import"])
            .arg(archive)
            .stdin(Stdio::null()));
    }

    /// A file of container (or sandbox) `id`'s cgroup: `v1` as "CONTROLLER/FILE" on a host
    /// with v1 controllers (hybrid included), `v2` on a cgroup2-only host.
    pub fn cgroup_file(&self, id: &str, v1: &str, v2: &str) -> PathBuf {
        let root = Path::new("/sys/fs/cgroup");
        let parent = self.cgroup_parent.trim_start_matches('/');
        if cgroup2_only() {
            root.join(parent).join(id).join(v2)
        } else {
            let (controller, file) = v1.split_once('/').expect("v1 is CONTROLLER/FILE");
            root.join(controller).join(parent).join(id).join(file)
        }
    }

    /// The cgroups left under the pods' parent, in every hierarchy.
    pub fn cgroups_left(&self) -> Vec<PathBuf> {
        let mut left = Vec::new();
        for parent in cgroup_parents(&self.cgroup_parent) {
            for e in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    left.push(e.path());
                }
            }
        }
        left
    }

    /// Processes (besides containerd itself) naming this containerd's dir: shims, containers
    /// started from its bundles.
    pub fn processes_left(&self) -> Vec<i32> {
        let containerd = self.child.id() as i32;
        processes_matching(&self.dir.path().to_string_lossy())
            .into_iter()
            .filter(|p| *p != containerd)
            .collect()
    }

    /// Mounts under this containerd's dir (snapshots, shm, bundles' rootfs).
    pub fn mounts_left(&self) -> Vec<String> {
        let prefix = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split(' ').nth(4).is_some_and(|p| p.starts_with(&prefix)))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for CriContainerd {
    fn drop(&mut self) {
        // Whatever a failed test left, through the CRI first: pods stopped and removed.
        let rt = self.cri.runtime();
        if let Ok(pods) = self.cri.call(
            rt.clone()
                .list_pod_sandbox(ListPodSandboxRequest::default()),
        ) {
            for pod in pods.items {
                let id = pod.id;
                let _ = self
                    .cri
                    .call(rt.clone().stop_pod_sandbox(StopPodSandboxRequest {
                        pod_sandbox_id: id.clone(),
                    }));
                let _ = self.cri.call(
                    rt.clone()
                        .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id }),
                );
            }
        }
        if let Ok(list) = self
            .cri
            .call(rt.clone().list_containers(ListContainersRequest::default()))
        {
            for c in list.containers {
                let _ = self.cri.call(
                    rt.clone()
                        .remove_container(RemoveContainerRequest { container_id: c.id }),
                );
            }
        }
        self.child.kill().ok();
        self.child.wait().ok();
        // Shims outlive containerd by design; ours name our socket. Then what a dead shim
        // left running: its containers, by the runtime that made them.
        kill_matching(&self.socket().to_string_lossy());
        for handler in HANDLERS {
            let root = self.runtime_root(handler);
            let binary = match handler {
                "ocirun" => crate::peers_support::ocirun(),
                _ => PathBuf::from("runc"),
            };
            for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let _ = Command::new(&binary)
                    .arg("--root")
                    .arg(&root)
                    .args(["delete", "--force"])
                    .arg(e.file_name())
                    .output();
            }
        }
        let _ = eventually(|| {
            let left = self.processes_left();
            left.is_empty().then_some(()).ok_or(format!("{left:?}"))
        });
        unmount_under(self.dir.path());
        for parent in cgroup_parents(&self.cgroup_parent) {
            for e in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
                std::fs::remove_dir(e.path()).ok();
            }
            std::fs::remove_dir(&parent).ok();
        }
    }
}

/// A cgroup2-only host: /sys/fs/cgroup is the unified hierarchy itself.
pub fn cgroup2_only() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// `/<name>` in every cgroup hierarchy (each v1 controller, the unified one, or the root of
/// a v2 host).
fn cgroup_parents(name: &str) -> Vec<PathBuf> {
    let name = name.trim_start_matches('/');
    let mut dirs = vec![Path::new("/sys/fs/cgroup").join(name)];
    for e in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        dirs.push(e.path().join(name));
    }
    dirs.into_iter().filter(|d| d.is_dir()).collect()
}

/// The README's CRI snippet: the first ```toml block after the line naming this test.
pub fn readme_snippet() -> String {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(&readme).unwrap();
    let after = text
        .split_once("runtime/tests/cri.rs")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{} does not mention runtime/tests/cri.rs", readme.display()));
    let block = after
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .unwrap_or_else(|| panic!("no ```toml block after the CRI mention in README.md"));
    // The block may be indented as a list item's.
    block
        .lines()
        .map(|l| l.trim_start())
        .collect::<Vec<_>>()
        .join("\n")
}

/// containerd's config: the README's snippet as pasted, plus this test's private paths.
fn config(d: &Path, sandbox_image: &str) -> String {
    let snippet = readme_snippet();
    let mut config: toml::Table = snippet
        .parse()
        .unwrap_or_else(|e| panic!("README's CRI snippet is not TOML: {e}\n{snippet}"));
    let path = |p: &str| toml::Value::String(d.join(p).to_string_lossy().into_owned());
    let cri = config
        .get_mut("plugins")
        .and_then(|p| p.get_mut("io.containerd.grpc.v1.cri"))
        .and_then(toml::Value::as_table_mut)
        .expect("README's snippet configures the CRI plugin");
    let runtimes = cri
        .get_mut("containerd")
        .and_then(|c| c.get_mut("runtimes"))
        .and_then(toml::Value::as_table_mut)
        .expect("README's snippet has containerd.runtimes");
    for handler in HANDLERS {
        let runtime = runtimes
            .get_mut(handler)
            .and_then(toml::Value::as_table_mut)
            .unwrap_or_else(|| {
                panic!(
                    "README's snippet lacks the {handler} runtime (containerd's CRI plugin refuses \
                     to load when its default_runtime_name, runc, is not listed)"
                )
            });
        let options = runtime
            .entry("options")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap();
        if handler == "ocirun" {
            assert_eq!(
                options.get("BinaryName").and_then(toml::Value::as_str),
                Some(README_BINARY),
                "README's ocirun runtime names its binary"
            );
            options.insert(
                "BinaryName".into(),
                toml::Value::String(crate::peers_support::ocirun().to_string_lossy().into()),
            );
        }
        options.insert("Root".into(), path(&format!("{handler}-root")));
    }
    cri.insert("sandbox_image".into(), sandbox_image.into());
    cri.insert("stream_server_address".into(), "127.0.0.1".into());
    cri.insert("stream_server_port".into(), "0".into());
    if !has_cap_sys_resource() {
        // kubelet's oom_score_adj for the pause container (-998) is below containerd's own,
        // and lowering it takes CAP_SYS_RESOURCE; without it (this test machine's bounding
        // set) containerd's documented knob keeps every score at or above its own.
        cri.insert("restrict_oom_score_adj".into(), true.into());
    }
    let mut cni = toml::Table::new();
    cni.insert("conf_dir".into(), path("cni"));
    cni.insert("bin_dir".into(), path("cni"));
    cri.insert("cni".into(), cni.into());
    let plugins = config
        .get_mut("plugins")
        .and_then(toml::Value::as_table_mut)
        .unwrap();
    let mut opt = toml::Table::new();
    opt.insert("path".into(), path("opt"));
    plugins.insert("io.containerd.internal.v1.opt".into(), opt.into());
    config.insert("root".into(), path("root"));
    config.insert("state".into(), path("state"));
    let mut grpc = toml::Table::new();
    grpc.insert("address".into(), path("containerd.sock"));
    config.insert("grpc".into(), grpc.into());
    let mut ttrpc = toml::Table::new();
    ttrpc.insert("address".into(), path("containerd.sock.ttrpc"));
    config.insert("ttrpc".into(), ttrpc.into());
    for off in ["debug", "metrics"] {
        let mut t = toml::Table::new();
        t.insert("address".into(), "".into());
        config.insert(off.into(), t.into());
    }
    toml::to_string(&config).unwrap()
}

/// CAP_SYS_RESOURCE (capability 24) in this process's bounding set (`CapBnd` in
/// /proc/self/status).
fn has_cap_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0)
}

/// capability.h's number of CAP_SYS_RESOURCE.
const CAP_SYS_RESOURCE: u32 = 24;
