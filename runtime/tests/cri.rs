//! Kubernetes' path to ocirun: kubelet → containerd's CRI plugin → containerd's runc shim →
//! the runtime binary (`BinaryName`). A private containerd (its config the README's CRI
//! snippet, see `cri_support::containerd`) runs pods through the CRI gRPC API itself, as
//! kubelet does, on the `ocirun` handler and, as the control, on the `runc` handler: pod
//! sandboxes, containers created and started, exec (sync, streamed, on a tty), logs, stats,
//! resource updates, Bidirectional and HostToContainer mount propagation, a shared process
//! namespace, stop and remove, then nothing left: no state dir, cgroup, mount or process.
//!
//! The pods use the host network (no CNI); the images are made from the fixtures rootfs
//! (busybox + probe) and imported with `ctr images import` (no registry).
//!
//! Root only; skips with a printed reason when root, /bin/busybox or a tool is missing. CI
//! packages: `containerd runc busybox-static`; building k8s-cri needs `protobuf-compiler`.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod cri_support;
mod peers_support;
mod shared_mount;

use cri_support::containerd::CriContainerd;
use cri_support::image::{oci_archive, ImageSpec};
use cri_support::{mount_tmpfs, stream};
use k8s_cri::v1 as api;
use peers_support::{eventually, leaks, preflight, unique, Rootfs};
use shared_mount::{is_mount_point, SharedMount};
use std::path::Path;

type RuntimeClient = api::runtime_service_client::RuntimeServiceClient<tonic::transport::Channel>;

/// `cri!(ctd, method, request)`: one RuntimeService call, failing the test with the status
/// and the tail of containerd's log.
macro_rules! cri {
    ($ctd:expr, $method:ident, $request:expr) => {{
        let request = $request;
        call($ctd, |mut rt| async move { rt.$method(request).await })
    }};
}

/// The image every container runs (its command is always given).
const IMAGE: &str = "docker.io/ocikit/cri-busybox:test";
/// The sandbox ("pause") image: pid 1 of a pod's namespaces, reaping what is reparented to
/// it in a shared pid namespace, exiting on SIGTERM.
const PAUSE_IMAGE: &str = "docker.io/ocikit/cri-pause:test";
const PAUSE: &[&str] = &[
    "/bin/sh",
    "-c",
    "trap 'exit 0' TERM INT; while :; do sleep 1000 & wait; done",
];

/// A container's idle tail: logs a line on SIGTERM and exits 0 (pid 1 ignores signals it has
/// no handler for). `wait` returns at once for a trapped signal.
const IDLE: &str = "trap 'echo got-term; exit 0' TERM; while :; do sleep 1000 & wait $!; done";

#[test]
fn cri_pods_on_ocirun() {
    scenario("cri_pods_on_ocirun", "ocirun");
}

/// The control: the same scenario on runc, so a difference is ocirun's.
#[test]
fn cri_pods_on_runc() {
    scenario("cri_pods_on_runc", "runc");
}

fn scenario(test: &str, handler: &str) {
    if !preflight(
        test,
        &[
            "containerd",
            "ctr",
            "containerd-shim-runc-v2",
            "runc",
            "tar",
        ],
    ) {
        return;
    }
    let started = std::time::Instant::now();
    let ctd = CriContainerd::start(PAUSE_IMAGE);
    import_images(&ctd);
    let version = cri!(&ctd, version, api::VersionRequest::default());
    assert_eq!(version.runtime_name, "containerd");
    assert_eq!(version.runtime_api_version, "v1");

    let mut ids = Vec::new();
    ids.extend(workload_pod(&ctd, handler));
    ids.extend(propagation_pod(&ctd, handler));
    ids.extend(shared_pid_pod(&ctd, handler));

    // Nothing left of any pod or container, by the runtime, the shim or containerd.
    let pods = cri!(
        &ctd,
        list_pod_sandbox,
        api::ListPodSandboxRequest::default()
    );
    assert!(pods.items.is_empty(), "pods left: {:?}", pods.items);
    let containers = cri!(&ctd, list_containers, api::ListContainersRequest::default());
    assert!(containers.containers.is_empty(), "{containers:?}");
    for id in &ids {
        let roots = [
            ctd.runtime_root("ocirun"),
            ctd.runtime_root("runc"),
            ctd.task_state(),
        ];
        let roots: Vec<&Path> = roots.iter().map(|p| p.as_path()).collect();
        let r = eventually(|| {
            let l = leaks(id, &roots);
            l.is_empty().then_some(()).ok_or(l.join("\n"))
        });
        assert!(r.is_ok(), "left behind by {id}:\n{}", r.unwrap_err());
    }
    for root in [ctd.runtime_root("ocirun"), ctd.runtime_root("runc")] {
        let left: Vec<_> = std::fs::read_dir(&root)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "state dirs left: {left:?}");
    }
    let r = eventually(|| {
        let (c, m, p) = (ctd.cgroups_left(), ctd.mounts_left(), ctd.processes_left());
        (c.is_empty() && m.is_empty() && p.is_empty())
            .then_some(())
            .ok_or(format!("cgroups {c:?}\nmounts {m:#?}\nprocesses {p:?}"))
    });
    assert!(r.is_ok(), "left behind:\n{}", r.unwrap_err());
    eprintln!("{test}: {:.1}s", started.elapsed().as_secs_f64());
}

fn call<T, F>(ctd: &CriContainerd, f: impl FnOnce(RuntimeClient) -> F) -> T
where
    F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    ctd.cri.call(f(ctd.cri.runtime())).unwrap_or_else(|s| {
        panic!(
            "CRI call failed: {s}\ncontainerd's log (tail):\n{}",
            tail(&ctd.log(), 40)
        )
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Both images, one layer: the fixtures rootfs (busybox + probe).
fn import_images(ctd: &CriContainerd) {
    let rootfs = Rootfs::with_copies();
    let work = ctd.dir.path().join("image");
    std::fs::create_dir_all(&work).unwrap();
    let archive = oci_archive(
        &rootfs.path(),
        &[
            ImageSpec {
                name: IMAGE,
                entrypoint: &["/bin/sh"],
            },
            ImageSpec {
                name: PAUSE_IMAGE,
                entrypoint: PAUSE,
            },
        ],
        &work,
    );
    ctd.import(&archive);
    // The CRI plugin learns of imported images from containerd's events.
    for image in [IMAGE, PAUSE_IMAGE] {
        let r = eventually(|| {
            let status = ctd
                .cri
                .call(ctd.cri.images().image_status(api::ImageStatusRequest {
                    image: Some(api::ImageSpec {
                        image: image.into(),
                        ..Default::default()
                    }),
                    verbose: false,
                }))
                .map_err(|e| e.to_string())?;
            status.image.map(drop).ok_or(format!("{image} not known"))
        });
        assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

/// A pod on the host network with `pid` as its containers' pid namespace mode.
fn pod_config(ctd: &CriContainerd, name: &str, pid: api::NamespaceMode) -> api::PodSandboxConfig {
    let log_dir = ctd.log_dir(name);
    std::fs::create_dir_all(&log_dir).unwrap();
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name: name.into(),
            uid: unique(name),
            namespace: "ocikit".into(),
            attempt: 0,
        }),
        log_directory: log_dir.to_string_lossy().into(),
        linux: Some(api::LinuxPodSandboxConfig {
            cgroup_parent: ctd.cgroup_parent.clone(),
            security_context: Some(api::LinuxSandboxSecurityContext {
                namespace_options: Some(api::NamespaceOption {
                    network: api::NamespaceMode::Node as i32,
                    pid: pid as i32,
                    ipc: api::NamespaceMode::Pod as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// RunPodSandbox on `handler`, checking it is that runtime's container.
fn run_pod(ctd: &CriContainerd, config: &api::PodSandboxConfig, handler: &str) -> String {
    let id = cri!(
        ctd,
        run_pod_sandbox,
        api::RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: handler.into(),
        }
    )
    .pod_sandbox_id;
    let status = cri!(
        ctd,
        pod_sandbox_status,
        api::PodSandboxStatusRequest {
            pod_sandbox_id: id.clone(),
            verbose: false,
        }
    );
    assert_eq!(
        status.status.map(|s| s.state),
        Some(api::PodSandboxState::SandboxReady as i32)
    );
    assert_runtime(ctd, &id, handler);
    id
}

/// `id` was made by `handler`'s binary: its state dir is in that handler's root, not the other's.
fn assert_runtime(ctd: &CriContainerd, id: &str, handler: &str) {
    for h in cri_support::containerd::HANDLERS {
        let state = ctd.runtime_root(h).join(id).join("state.json");
        assert_eq!(
            state.is_file(),
            h == handler,
            "{id} on handler {handler}: {} {}",
            state.display(),
            if state.is_file() {
                "exists"
            } else {
                "is missing"
            }
        );
    }
}

fn container_config(name: &str, script: &str) -> api::ContainerConfig {
    api::ContainerConfig {
        metadata: Some(api::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(api::ImageSpec {
            image: IMAGE.into(),
            ..Default::default()
        }),
        command: sh(script),
        log_path: format!("{name}.log"),
        linux: Some(api::LinuxContainerConfig::default()),
        ..Default::default()
    }
}

/// CreateContainer + StartContainer; returns the id once it is running.
fn start_container(
    ctd: &CriContainerd,
    pod: &str,
    pod_config: &api::PodSandboxConfig,
    config: api::ContainerConfig,
    handler: &str,
) -> String {
    let id = cri!(
        ctd,
        create_container,
        api::CreateContainerRequest {
            pod_sandbox_id: pod.into(),
            config: Some(config),
            sandbox_config: Some(pod_config.clone()),
        }
    )
    .container_id;
    cri!(
        ctd,
        start_container,
        api::StartContainerRequest {
            container_id: id.clone()
        }
    );
    assert_eq!(
        container_state(ctd, &id).0,
        api::ContainerState::ContainerRunning as i32
    );
    assert_runtime(ctd, &id, handler);
    id
}

/// (state, exit code) from ContainerStatus.
fn container_state(ctd: &CriContainerd, id: &str) -> (i32, i32) {
    let status = cri!(
        ctd,
        container_status,
        api::ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        }
    );
    let s = status.status.unwrap();
    (s.state, s.exit_code)
}

fn wait_exited(ctd: &CriContainerd, id: &str) -> i32 {
    let mut code = -1;
    let r = eventually(|| {
        let (state, exit) = container_state(ctd, id);
        code = exit;
        (state == api::ContainerState::ContainerExited as i32)
            .then_some(())
            .ok_or(format!("state {state}"))
    });
    assert!(r.is_ok(), "{id} did not exit: {}", r.unwrap_err());
    code
}

/// `/bin/sh -c SCRIPT`.
fn sh(script: &str) -> Vec<String> {
    ["/bin/sh", "-c", script].map(String::from).to_vec()
}

/// Exec, the streamed kind, with stdin: the URL of its stream on containerd's streaming
/// server. On a `tty` stderr is the terminal too.
fn exec_url(ctd: &CriContainerd, id: &str, script: &str, tty: bool) -> String {
    let request = api::ExecRequest {
        container_id: id.into(),
        cmd: sh(script),
        tty,
        stdin: true,
        stdout: true,
        stderr: !tty,
    };
    cri!(ctd, exec, request).url
}

fn exec_sync(ctd: &CriContainerd, id: &str, script: &str) -> api::ExecSyncResponse {
    cri!(
        ctd,
        exec_sync,
        api::ExecSyncRequest {
            container_id: id.into(),
            cmd: sh(script),
            timeout: 30,
        }
    )
}

/// ExecSync that must exit 0; its stdout.
fn exec_ok(ctd: &CriContainerd, id: &str, script: &str) -> String {
    let out = exec_sync(ctd, id, script);
    assert_eq!(
        out.exit_code,
        0,
        "{script}: stdout {:?} stderr {:?}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stop_and_remove_container(ctd: &CriContainerd, id: &str) {
    cri!(
        ctd,
        stop_container,
        api::StopContainerRequest {
            container_id: id.into(),
            timeout: 10,
        }
    );
    cri!(
        ctd,
        remove_container,
        api::RemoveContainerRequest {
            container_id: id.into(),
        }
    );
}

fn stop_and_remove_pod(ctd: &CriContainerd, id: &str) {
    cri!(
        ctd,
        stop_pod_sandbox,
        api::StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        }
    );
    cri!(
        ctd,
        remove_pod_sandbox,
        api::RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        }
    );
}

/// True when `ps -o pid,args` output lists a process whose command line is `args`.
fn has_process(ps: &str, args: &str) -> bool {
    ps.lines()
        .filter_map(|l| l.trim_start().split_once(' '))
        .any(|(_pid, a)| a.trim() == args)
}

/// A cgroup file's value, trimmed.
fn read(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim().to_string()
}

/// A pod with one long-running container: exec (sync, streamed, tty), logs, stats, update
/// of its resources, stop (SIGTERM, exit code 0 from its trap) and removal. Returns the ids.
fn workload_pod(ctd: &CriContainerd, handler: &str) -> Vec<String> {
    let config = pod_config(ctd, "workload", api::NamespaceMode::Container);
    let pod = run_pod(ctd, &config, handler);
    let mut main = container_config(
        "main",
        &format!("echo hello-stdout; echo hello-stderr >&2; {IDLE}"),
    );
    main.linux = Some(api::LinuxContainerConfig {
        resources: Some(api::LinuxContainerResources {
            memory_limit_in_bytes: 64 << 20,
            cpu_shares: 512,
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = start_container(ctd, &pod, &config, main, handler);

    // ExecSync: output, error output and exit status of the exec'd process (runc exec).
    let out = exec_sync(ctd, &id, "echo in-exec; echo exec-err >&2; exit 3");
    assert_eq!(out.exit_code, 3, "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "in-exec\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "exec-err\n");

    // Streamed exec with stdin (crictl exec -i): the websocket's channels.
    let url = exec_url(
        ctd,
        &id,
        "read line; echo got-$line; echo to-err >&2; exit 4",
        false,
    );
    let streamed = stream::exec(&url, Some(b"hello\n"));
    assert_eq!(streamed.stdout, "got-hello\n", "{streamed:?}");
    assert_eq!(streamed.stderr, "to-err\n", "{streamed:?}");
    assert_eq!(streamed.exit_code, Some(4), "{streamed:?}");

    // On a tty (crictl exec -it): the shim's console socket, the process on a pty.
    let script = "tty; test -t 0 && test -t 1 && echo IS-A-TTY; exit 5";
    let url = exec_url(ctd, &id, script, true);
    let streamed = stream::exec(&url, None);
    assert!(
        streamed.stdout.contains("/dev/pts/") && streamed.stdout.contains("IS-A-TTY"),
        "{streamed:?}"
    );
    assert_eq!(streamed.exit_code, Some(5), "{streamed:?}");

    // Logs: the CRI log format (time stream tag text), both streams.
    let log = ctd.log_dir("workload").join("main.log");
    let r = eventually(|| {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        (text.contains(" stdout F hello-stdout") && text.contains(" stderr F hello-stderr"))
            .then_some(())
            .ok_or(text)
    });
    assert!(r.is_ok(), "{}: {}", log.display(), r.unwrap_err());

    // Stats: what the shim reads from the container's cgroup.
    let stats = cri!(
        ctd,
        container_stats,
        api::ContainerStatsRequest {
            container_id: id.clone()
        }
    )
    .stats
    .unwrap();
    let memory = stats.memory.unwrap();
    assert!(
        memory.working_set_bytes.is_some_and(|v| v.value > 0),
        "{memory:?}"
    );
    assert!(stats.cpu.is_some(), "{stats:?}");
    let pod_stats = cri!(
        ctd,
        list_pod_sandbox_stats,
        api::ListPodSandboxStatsRequest {
            filter: Some(api::PodSandboxStatsFilter {
                id: pod.clone(),
                ..Default::default()
            }),
        }
    );
    let linux = pod_stats.stats[0].linux.as_ref().unwrap();
    assert!(
        linux
            .containers
            .iter()
            .any(|c| c.attributes.as_ref().is_some_and(|a| a.id == id)),
        "{linux:?}"
    );

    // Resources at create, then UpdateContainerResources (runc update --resources -), as
    // the kernel has them (on cgroup2 in runc's conversion: cpu.weight = 1 + (shares - 2) *
    // 9999 / 262142).
    let v2 = cri_support::containerd::cgroup2_only();
    let memory = ctd.cgroup_file(&id, "memory/memory.limit_in_bytes", "memory.max");
    let cpu = ctd.cgroup_file(&id, "cpu/cpu.shares", "cpu.weight");
    let quota = ctd.cgroup_file(&id, "cpu/cpu.cfs_quota_us", "cpu.max");
    assert_eq!(read(&memory), (64 << 20).to_string());
    assert_eq!(read(&cpu), if v2 { "20" } else { "512" });
    assert_eq!(read(&quota), if v2 { "max 100000" } else { "-1" });
    cri!(
        ctd,
        update_container_resources,
        api::UpdateContainerResourcesRequest {
            container_id: id.clone(),
            linux: Some(api::LinuxContainerResources {
                memory_limit_in_bytes: 96 << 20,
                cpu_shares: 256,
                cpu_period: 100_000,
                cpu_quota: 50_000,
                ..Default::default()
            }),
            ..Default::default()
        }
    );
    assert_eq!(read(&memory), (96 << 20).to_string());
    assert_eq!(read(&cpu), if v2 { "10" } else { "256" });
    assert_eq!(read(&quota), if v2 { "50000 100000" } else { "50000" });
    let inside = exec_ok(
        ctd,
        &id,
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    );
    assert_eq!(inside.trim(), (96 << 20).to_string());

    // StopContainer: SIGTERM, the trap's exit code, its last log line.
    cri!(
        ctd,
        stop_container,
        api::StopContainerRequest {
            container_id: id.clone(),
            timeout: 10,
        }
    );
    assert_eq!(wait_exited(ctd, &id), 0);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(" stdout F got-term"), "{text}");
    cri!(
        ctd,
        remove_container,
        api::RemoveContainerRequest {
            container_id: id.clone()
        }
    );
    stop_and_remove_pod(ctd, &pod);
    vec![pod, id]
}

/// Bidirectional (rshared) and HostToContainer (rslave) volumes of shared host mounts, as
/// kubelet sends them: a mount made inside reaches the host only with Bidirectional; a mount
/// the host makes later reaches both containers.
fn propagation_pod(ctd: &CriContainerd, handler: &str) -> Vec<String> {
    let config = pod_config(ctd, "propagation", api::NamespaceMode::Container);
    let pod = run_pod(ctd, &config, handler);
    let volumes = ctd.dir.path().join("volumes");
    let bidi = SharedMount::new(&volumes.join("bidi"));
    let h2c = SharedMount::new(&volumes.join("h2c"));
    let mount_inside = format!(
        "mkdir -p /vol/from-container && mount -t tmpfs -o size=1m made-inside /vol/from-container \
         && echo mounted; {IDLE}"
    );
    let with_volume = |name: &str, host: &Path, propagation: api::MountPropagation| {
        let mut c = container_config(name, &mount_inside);
        c.mounts = vec![api::Mount {
            container_path: "/vol".into(),
            host_path: host.to_string_lossy().into(),
            propagation: propagation as i32,
            ..Default::default()
        }];
        c.linux = Some(api::LinuxContainerConfig {
            security_context: Some(api::LinuxContainerSecurityContext {
                capabilities: Some(api::Capability {
                    add_capabilities: vec!["SYS_ADMIN".into()],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        c
    };
    let bidi_id = start_container(
        ctd,
        &pod,
        &config,
        with_volume(
            "bidi",
            bidi.path(),
            api::MountPropagation::PropagationBidirectional,
        ),
        handler,
    );
    let h2c_id = start_container(
        ctd,
        &pod,
        &config,
        with_volume(
            "h2c",
            h2c.path(),
            api::MountPropagation::PropagationHostToContainer,
        ),
        handler,
    );
    for (name, id) in [("bidi", &bidi_id), ("h2c", &h2c_id)] {
        let r = eventually(|| {
            let out = exec_sync(
                ctd,
                id,
                "grep -q ' /vol/from-container ' /proc/self/mountinfo",
            );
            (out.exit_code == 0).then_some(()).ok_or(format!("{out:?}"))
        });
        assert!(
            r.is_ok(),
            "{name}: the container's own mount is missing: {}",
            r.unwrap_err()
        );
    }
    let r = eventually(|| {
        is_mount_point(&bidi.path().join("from-container"))
            .then_some(())
            .ok_or_else(String::new)
    });
    assert!(
        r.is_ok(),
        "Bidirectional: the mount made in the container did not reach the host"
    );
    assert!(
        !is_mount_point(&h2c.path().join("from-container")),
        "HostToContainer: the mount made in the container reached the host"
    );
    for (vol, id) in [(&bidi, &bidi_id), (&h2c, &h2c_id)] {
        mount_tmpfs(&vol.path().join("from-host"));
        let r = eventually(|| {
            let out = exec_sync(ctd, id, "grep -q ' /vol/from-host ' /proc/self/mountinfo");
            (out.exit_code == 0).then_some(()).ok_or(format!("{out:?}"))
        });
        assert!(
            r.is_ok(),
            "the host's mount did not reach {}: {}",
            vol.path().display(),
            r.unwrap_err()
        );
    }
    stop_and_remove_container(ctd, &bidi_id);
    stop_and_remove_container(ctd, &h2c_id);
    stop_and_remove_pod(ctd, &pod);
    drop((bidi, h2c));
    vec![pod, bidi_id, h2c_id]
}

/// A pod sharing one pid namespace (shareProcessNamespace): the containers see each other's
/// processes; when one's main process exits, the shim's `kill --all` ends what it left in
/// its cgroup.
fn shared_pid_pod(ctd: &CriContainerd, handler: &str) -> Vec<String> {
    let config = pod_config(ctd, "shared-pid", api::NamespaceMode::Pod);
    let pod = run_pod(ctd, &config, handler);
    let watcher = start_container(
        ctd,
        &pod,
        &config,
        container_config("watcher", IDLE),
        handler,
    );
    let leaver = start_container(
        ctd,
        &pod,
        &config,
        container_config(
            "leaver",
            "sleep 1111 & while [ ! -e /tmp/go ]; do sleep 0.2; done; echo leaving",
        ),
        handler,
    );
    // The watcher sees the sandbox's pid 1 and, once it has forked, the leaver's sleep.
    let ps = || exec_ok(ctd, &watcher, "ps -o pid,args");
    let sleeping = |ps: &str| has_process(ps, "sleep 1111");
    let r = eventually(|| {
        let ps = ps();
        (sleeping(&ps) && ps.contains("trap 'exit 0' TERM INT"))
            .then_some(())
            .ok_or(ps)
    });
    assert!(
        r.is_ok(),
        "one pid namespace for the pod:\n{}",
        r.unwrap_err()
    );
    let procs = ctd.cgroup_file(&leaver, "pids/cgroup.procs", "cgroup.procs");
    let count = || {
        std::fs::read_to_string(&procs)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    assert!(count() >= 2, "the leaver and its sleep: {}", count());
    exec_ok(ctd, &leaver, "touch /tmp/go");
    assert_eq!(wait_exited(ctd, &leaver), 0);
    let r = eventually(|| {
        let ps = ps();
        (!sleeping(&ps) && count() == 0)
            .then_some(())
            .ok_or(format!("{} in the leaver's cgroup; ps:\n{ps}", count()))
    });
    assert!(
        r.is_ok(),
        "what the leaver left outlived it: {}\ncontainerd's log (tail):\n{}",
        r.unwrap_err(),
        tail(&ctd.log(), 20)
    );
    assert!(
        !ctd.log().contains("failed to kill init's children"),
        "the shim's kill --all failed:\n{}",
        tail(&ctd.log(), 20)
    );
    cri!(
        ctd,
        remove_container,
        api::RemoveContainerRequest {
            container_id: leaver.clone()
        }
    );
    stop_and_remove_container(ctd, &watcher);
    stop_and_remove_pod(ctd, &pod);
    vec![pod, watcher, leaver]
}
