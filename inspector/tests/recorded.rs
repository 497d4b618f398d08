//! The snapshot layer on trees recorded from real hosts (fixtures/recorded/, see its README):
//! containers under containerd's shim and podman's conmon, nested namespaces, stale state dirs
//! and processes that vanished mid-read.

#![allow(clippy::unwrap_used)] // tests may unwrap

use ocitop::collect::{Collector, Roots};
use ocitop::model::namespaces::{self, Share};
use ocitop::model::{NsKind, Snapshot, Status};
use std::path::PathBuf;

fn load(scenario: &str) -> Snapshot {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recorded")
        .join(scenario);
    let mut s = Collector::new(Roots {
        proc: dir.join("proc"),
        cgroup: dir.join("cgroup"),
        state: dir.join("state"),
    })
    .snapshot()
    .unwrap();
    // Make the snapshot independent of where the checkout is and when the test runs.
    s.host.proc_root = "proc".into();
    s.host.cgroup_root = "cgroup".into();
    s.host.state_root = "state".into();
    s.host.taken_at = 0;
    for c in &mut s.containers {
        if let Some(d) = &c.state_dir {
            c.state_dir = Some(d[d.find("/state/").unwrap_or(0)..].to_string());
        }
    }
    s
}

#[test]
fn containerd_shim_runc_containers() {
    let s = load("containerd-podman");
    let web = s.containers.iter().find(|c| c.id == "ctr-web").unwrap();
    assert_eq!(web.runtime, "runc");
    assert_eq!(web.namespace.as_deref(), Some("default"));
    assert_eq!(web.status, Status::Running);
    assert_eq!(web.init_pid, Some(17555));
    assert_eq!(web.shim_pid, Some(17535));
    // The exec'd process is the shim's child, in the container's namespaces.
    assert_eq!(web.pids, vec![17555, 17659]);
    assert_eq!(web.cgroup.as_deref(), Some("/default/ctr-web"));
    let db = s.containers.iter().find(|c| c.id == "ctr-db").unwrap();
    assert_eq!(db.namespace.as_deref(), Some("prod"));
    assert_eq!(db.pids, vec![17627, 17639, 17640]);
    let shim = s.shim(17535).unwrap();
    assert_eq!(shim.id.as_deref(), Some("ctr-web"));
}

#[test]
fn a_process_runc_exec_left_to_pid_1_is_the_containers() {
    let s = load("runc-exec-detached");
    let c = s.containers.iter().find(|c| c.id == "demo1").unwrap();
    assert_eq!((c.shim_pid, c.init_pid), (None, Some(30786)));
    // 31281's parent is pid 1, but it is in demo1's own pid and mount namespaces.
    assert_eq!(s.process(31281).unwrap().ppid, 1);
    assert_eq!(c.pids, vec![30786, 30791, 31281]);
    let text = ocitop::dump::text(&s, false);
    assert!(
        text.contains("31281 sleep 999  ◆ runc demo1 exec"),
        "the exec'd process is its own root, tagged:\n{text}"
    );
}

#[test]
fn podman_conmon_containers_share_net_and_ipc() {
    let s = load("containerd-podman");
    let app = s
        .containers
        .iter()
        .position(|c| c.id.starts_with("3f99075e836a"))
        .unwrap();
    let side = s
        .containers
        .iter()
        .position(|c| c.id.starts_with("89021523774c"))
        .unwrap();
    assert_eq!(s.containers[app].shim_pid, Some(18183));
    assert_eq!(
        s.shim(18183).unwrap().id,
        Some(s.containers[app].id.clone())
    );
    let m = namespaces::matrix(&s);
    let col = |k: NsKind| NsKind::ALL.iter().position(|&x| x == k).unwrap();
    assert_eq!(m[app][col(NsKind::Net)], Share::With(vec![side]));
    assert_eq!(m[side][col(NsKind::Ipc)], Share::With(vec![app]));
    assert_eq!(m[app][col(NsKind::Pid)], Share::Own);
    assert_eq!(m[app][col(NsKind::User)], Share::Host);
    // A plain runc container has no shim.
    let probe = s.containers.iter().find(|c| c.id == "insp-probe").unwrap();
    assert_eq!(probe.shim_pid, None);
    assert_eq!(probe.status, Status::Running);
}

#[test]
fn cgroup_usage_and_limits_are_read() {
    let s = load("containerd-podman");
    let web = s.cgroup("/default/ctr-web").unwrap();
    assert!(web.hierarchies.contains(&"pids".to_string()));
    assert_eq!(web.procs, 2);
    assert!(web.stats.pids_current.is_some());
    assert_eq!(s.host.cgroup_mode, ocitop::model::CgroupMode::Hybrid);
}

#[test]
fn stale_state_dirs_and_vanished_processes() {
    let s = load("nested-ns");
    let gone = s.containers.iter().find(|c| c.id == "stale-gone").unwrap();
    assert_eq!(gone.status, Status::Stale);
    assert!(gone.stale_reason.as_deref().unwrap().contains("is gone"));
    assert!(gone.pids.is_empty());
    let reused = s
        .containers
        .iter()
        .find(|c| c.id == "stale-reused")
        .unwrap();
    assert_eq!(reused.status, Status::Stale);
    assert!(reused.stale_reason.as_deref().unwrap().contains("reused"));
    assert!(s.process(31337).is_none(), "empty stat: skipped");
    assert!(s.process(31338).is_none(), "no stat: skipped");
    assert!(s.process(19586).is_some());
}

#[test]
fn where_each_namespace_was_entered() {
    let s = load("nested-ns");
    let entered = namespaces::entered(&s, 19586);
    let at = |k: NsKind| entered.iter().find(|e| e.kind == k).unwrap().at_pid;
    // unshare(2) moves the caller itself into new mnt, uts, ipc and net namespaces, but only
    // its children into a new pid namespace.
    assert_eq!(at(NsKind::Net), Some(19585));
    assert_eq!(at(NsKind::Uts), Some(19585));
    assert_eq!(at(NsKind::Pid), Some(19580));
    assert_eq!(at(NsKind::Mnt), Some(19573));
    assert_eq!(at(NsKind::Ipc), Some(19573));
    assert_eq!(at(NsKind::User), None);
}

#[test]
fn text_reports() {
    insta::assert_snapshot!(
        "containerd_podman_once",
        ocitop::dump::text(&load("containerd-podman"), false)
    );
    insta::assert_snapshot!(
        "nested_ns_once_all",
        ocitop::dump::text(&load("nested-ns"), true)
    );
}

#[test]
fn json_round_trips() {
    let s = load("nested-ns");
    let text = serde_json::to_string(&s).unwrap();
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    insta::assert_json_snapshot!("nested_ns_json", s);
}

#[test]
fn ocirun_state_and_created_containers() {
    let s = load("ocirun-runc-created");
    let by_id = |id: &str| s.containers.iter().find(|c| c.id == id).unwrap();
    let demo = by_id("ocirun-demo");
    assert_eq!(demo.runtime, "ocirun");
    // ocirun's saved status stays "created" after start; the exec fifo is gone, so running.
    assert_eq!(demo.declared_status.as_deref(), Some("created"));
    assert_eq!(demo.status, Status::Running);
    assert_eq!(demo.init_pid, Some(17702));
    assert!(demo.init_start_ticks.is_some(), "initStartTime read");
    assert_eq!(by_id("ocirun-waiting").status, Status::Created);
    let runc = by_id("insp-created");
    assert_eq!(runc.status, Status::Created);
    assert_eq!(runc.cgroup.as_deref(), Some("/insp-created"));
    insta::assert_snapshot!("ocirun_runc_created_once", ocitop::dump::text(&s, false));
}

// ---- fixtures/recorded/engines: real engines side by side (see its README) ----

fn by_id<'a>(s: &'a Snapshot, id: &str) -> &'a ocitop::model::Container {
    s.containers
        .iter()
        .find(|c| c.id == id || c.id.starts_with(id))
        .unwrap_or_else(|| panic!("no container {id}"))
}

#[test]
fn status_from_the_kernel_for_every_runtime() {
    let s = load("engines");
    use ocitop::model::Freezer;
    // Paused by `runc pause`, `docker pause` (containerd, runc) and `ctr task pause`: runc
    // writes no status, containerd's root none either; the freezer says it.
    for id in ["ocitop-runc-paused", "41169797bbed", "ocitop-ctr-paused"] {
        let c = by_id(&s, id);
        assert_eq!(
            (c.status, c.freezer),
            (Status::Paused, Some(Freezer::Frozen)),
            "{id}"
        );
    }
    // ocirun (through docker) writes "created" and keeps it: running, and no alarm.
    let oci = by_id(&s, "f9e5f0e23522");
    assert_eq!(oci.declared_status.as_deref(), Some("created"));
    assert_eq!(
        (oci.status, oci.freezer),
        (Status::Running, Some(Freezer::Thawed))
    );
    assert_eq!(ocitop::model::containers::declared_disagrees(oci), None);
    // Its init was killed: STALE, with when it started.
    let stale = by_id(&s, "ocitop-runc-stale");
    assert_eq!(stale.status, Status::Stale);
    assert!(stale.started_at.is_some());
    let text = ocitop::dump::text(&s, false);
    assert!(text.contains("13034 /bin/sleep 100030  ◆ runc ocitop-runc-paused paused"));
    assert!(!text.contains("state file says created"), "{text}");
}

#[test]
fn the_runtime_dockerd_really_used() {
    // dockerd ran with its own exec root (not /run/docker) and keeps every runtime's state
    // under runtime-runc; the shims' options say which binary each ran.
    let s = load("engines");
    let oci = by_id(&s, "f9e5f0e23522");
    assert_eq!(oci.runtime, "ocirun");
    assert_eq!(oci.engine.as_deref(), Some("docker"));
    assert!(
        oci.state_dir
            .as_deref()
            .unwrap()
            .ends_with("/tmp/ocitop-lab/dk/exec/runtime-runc/moby/f9e5f0e235221629adc49875bc7126ee599e7df3110b620c7d0f5522ee1123eb"),
        "{:?}",
        oci.state_dir
    );
    assert_eq!(oci.init_pid, Some(9501));
    let runc = by_id(&s, "41169797bbed");
    assert_eq!(runc.runtime, "runc");
    let shim = s.shim(9487).unwrap();
    assert_eq!(shim.runtime.as_deref(), Some("ocirun"));
    assert_eq!(
        shim.runtime_root.as_deref(),
        Some("/tmp/ocitop-lab/dk/exec/runtime-runc")
    );
}

#[test]
fn names_as_the_engines_know_them() {
    let s = load("engines");
    let name = |id: &str| by_id(&s, id).name.clone();
    // docker (config.v2.json), podman (conmon -n), Kubernetes (CRI annotations).
    assert_eq!(name("f9e5f0e23522").as_deref(), Some("ocitop-dk-web"));
    assert_eq!(name("41169797bbed").as_deref(), Some("ocitop-dk-runc"));
    assert_eq!(name("c32ba0efb519").as_deref(), Some("ocitop-web"));
    assert_eq!(name("118b10b466e3").as_deref(), Some("ocitop-solo"));
    assert_eq!(name("ocitop-ct-nginx").as_deref(), Some("nginx"));
    assert_eq!(name("ocitop-ct-logs").as_deref(), Some("log-shipper"));
    // ctr's id is its name.
    assert_eq!(name("ocitop-ctr-paused"), None);
    assert_eq!(
        by_id(&s, "ocitop-ctr-paused").engine.as_deref(),
        Some("containerd")
    );
    let text = ocitop::dump::text(&s, false);
    for n in [
        "ocitop-dk-web",
        "ocitop-web",
        "k8s.io/nginx",
        "pod shop/web-7d4f9",
    ] {
        assert!(text.contains(n), "--once lacks {n}:\n{text}");
    }
    let json = serde_json::to_value(&s).unwrap();
    let names: Vec<&str> = json["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        names.contains(&"ocitop-dk-web") && names.contains(&"nginx"),
        "{names:?}"
    );
    let pods = json["pods"].as_array().unwrap();
    assert!(pods
        .iter()
        .any(|p| p["name"] == "web-7d4f9" && p["namespace"] == "shop"));
}

#[test]
fn a_filter_by_name_keeps_the_containers_whole_tree() {
    use ocitop::model::tree::{rows, Item, TreeOptions};
    let s = load("engines");
    let opts = TreeOptions {
        filter: Some("nginx".into()),
        ..TreeOptions::default()
    };
    let shown: Vec<Item> = rows(&s, &opts).into_iter().map(|r| r.item).collect();
    let pod = s
        .pods
        .iter()
        .position(|p| p.id == "ocitop-sb-10938")
        .unwrap();
    let mut want = vec![Item::Pod(pod)];
    // The pod's shim, nginx's init, its children, and its exec session; not log-shipper.
    want.extend([5332, 12285, 12311, 12312, 12968].map(Item::Process));
    assert_eq!(shown, want);
    // By pod name: the whole pod.
    let opts = TreeOptions {
        filter: Some("web-7d4f9".into()),
        ..TreeOptions::default()
    };
    assert_eq!(rows(&s, &opts).len(), 8);
}

#[test]
fn pods_group_their_containers_and_exec_sessions_hang_under_theirs() {
    use ocitop::model::tree::{rows, Item, TreeOptions};
    let s = load("engines");
    // CRI: one shim for the pod's sandbox and containers (grouped by sandbox-id).
    let cri = s.pod("ocitop-sb-10938").unwrap();
    assert_eq!(
        (
            cri.engine.as_str(),
            cri.name.as_deref(),
            cri.namespace.as_deref()
        ),
        ("kubernetes", Some("web-7d4f9"), Some("shop"))
    );
    assert_eq!(
        cri.containers,
        ["ocitop-sb-10938", "ocitop-ct-logs", "ocitop-ct-nginx"]
    );
    assert!(by_id(&s, "ocitop-sb-10938").sandbox);
    // podman: a conmon per container, the infra container is the sandbox, the pod named as
    // its infra's hostname.
    let pm = s.pods.iter().find(|p| p.engine == "podman").unwrap();
    assert_eq!(
        pm.id,
        "918604f461f21856d7268e450550340d722fc7d35f59add97b9df78251bdbe71"
    );
    assert_eq!(pm.name.as_deref(), Some("ocitop-shop"));
    assert_eq!(pm.containers.len(), 3);
    assert!(by_id(&s, "4ae771e50576").sandbox);
    assert_eq!(
        by_id(&s, "118b10b466e3").pod,
        None,
        "ocitop-solo is in no pod"
    );
    let rows = rows(&s, &TreeOptions::default());
    let depth = |item: Item| rows.iter().find(|r| r.item == item).unwrap().depth;
    let pm_index = s.pods.iter().position(|p| p.engine == "podman").unwrap();
    assert_eq!(depth(Item::Pod(pm_index)), 0);
    assert_eq!(
        depth(Item::Process(8235)),
        1,
        "a member's conmon under the pod"
    );
    // `podman exec`'s conmon under its container's conmon, the exec'd process under it.
    assert_eq!(depth(Item::Process(8707)), 2);
    assert_eq!(depth(Item::Process(8718)), 3);
    let text = ocitop::dump::text(&s, false);
    assert!(text.contains("8707 conmon -c c32ba0efb519 -n ocitop-web  ◆ exec in runc ocitop-web"));
    // docker exec and ctr task exec: the shim's children.
    assert!(text.contains("└─ 22391 /bin/sleep 100042  ◆ ocirun moby/ocitop-dk-web exec"));
    assert!(text.contains("└─ 12968 /bin/sleep 100021  ◆ runc k8s.io/nginx exec"));
}

#[test]
fn lsns_names_containers_and_the_eldest_process() {
    let s = load("engines");
    let infra = by_id(&s, "4ae771e50576");
    let net = infra.namespaces[&NsKind::Net];
    let ns = s
        .namespaces
        .iter()
        .find(|n| n.kind == NsKind::Net && n.inode == net)
        .unwrap();
    assert_eq!(
        ns.containers.len(),
        3,
        "the pod's three containers share it"
    );
    // The infra container's init was first in it (lsns would show the lowest pid, the same
    // here; after a pid wrap it would not be).
    assert_eq!(ns.owner_pid, 8224);
    let text = ocitop::dump::text(&s, false);
    assert!(
        text.lines().any(|l| l.starts_with(&net.to_string())
            && l.contains(" 8224 ")
            && l.ends_with("pod ocitop-shop")),
        "{text}"
    );
}

#[test]
fn engines_text_report() {
    insta::assert_snapshot!("engines_once", ocitop::dump::text(&load("engines"), false));
}

// ---- fixtures/recorded/kata-vm: made by hand as kata lays it out ----

#[test]
fn a_kata_vm_sandbox_with_its_containers() {
    use ocitop::model::tree::{rows, Item, TreeOptions};
    let s = load("kata-vm");
    assert_eq!(s.pods.len(), 1);
    let pod = &s.pods[0];
    assert_eq!(pod.name.as_deref(), Some("checkout-5f7b9"));
    let vm = pod.vm.as_ref().unwrap();
    assert_eq!(
        (vm.hypervisor.as_deref(), vm.pid, vm.virtiofsd_pid),
        (Some("qemu"), Some(4125), Some(4120))
    );
    assert_eq!(s.containers.len(), 3);
    assert!(s
        .containers
        .iter()
        .all(|c| c.in_vm && c.pids.is_empty() && c.shim_pid == Some(4100)));
    let api = s
        .containers
        .iter()
        .find(|c| c.name.as_deref() == Some("api"))
        .unwrap();
    assert_eq!(
        (api.status, api.runtime.as_str()),
        (Status::Running, "kata")
    );
    let migrate = s
        .containers
        .iter()
        .find(|c| c.name.as_deref() == Some("migrate"))
        .unwrap();
    assert_eq!(migrate.status, Status::Stopped);
    // The shim alone does not make another container.
    let r = rows(&s, &TreeOptions::default());
    assert_eq!(r[0].item, Item::Pod(0));
    let under_pod: Vec<Item> = r.iter().filter(|r| r.depth == 1).map(|r| r.item).collect();
    assert_eq!(
        under_pod.len(),
        4,
        "the shim and the three containers: {under_pod:?}"
    );
    assert!(r
        .iter()
        .any(|r| r.item == Item::Process(4125) && r.depth == 2));
    insta::assert_snapshot!("kata_vm_once", ocitop::dump::text(&s, false));
}

#[test]
fn a_vm_gone_makes_its_containers_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recorded/kata-vm");
    copy_dir(&src, tmp.path());
    std::fs::remove_dir_all(tmp.path().join("proc/4125")).unwrap();
    let s = Collector::new(Roots {
        proc: tmp.path().join("proc"),
        cgroup: tmp.path().join("cgroup"),
        state: tmp.path().join("state"),
    })
    .snapshot()
    .unwrap();
    for c in &s.containers {
        assert_eq!(c.status, Status::Stale, "{}", c.id);
        assert_eq!(
            c.stale_reason.as_deref(),
            Some("the VM process 4125 is gone")
        );
    }
}

#[test]
fn a_container_that_exits_says_how_long_ago() {
    // A live collector sees the init go; a first snapshot only knows when it started.
    let tmp = tempfile::tempdir().unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recorded/engines");
    copy_dir(&src, tmp.path());
    let mut collector = Collector::new(Roots {
        proc: tmp.path().join("proc"),
        cgroup: tmp.path().join("cgroup"),
        state: tmp.path().join("state"),
    });
    let first = collector.snapshot().unwrap();
    assert_eq!(by_id(&first, "ocitop-runc-paused").status, Status::Paused);
    std::fs::remove_dir_all(tmp.path().join("proc/13034")).unwrap();
    let s = collector.snapshot().unwrap();
    let c = by_id(&s, "ocitop-runc-paused");
    assert_eq!(c.status, Status::Stale);
    assert!(c
        .gone_since
        .is_some_and(|t| t >= first.host.taken_at && t <= s.host.taken_at));
    // One never seen alive: gone before this ocitop started.
    assert_eq!(by_id(&s, "ocitop-runc-stale").gone_since, None);
    let line = ocitop::format::container_line(&s, c);
    assert!(line.contains("pid 13034 is gone, exited 0s ago"), "{line}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        let dst = to.join(e.file_name());
        if t.is_dir() {
            copy_dir(&e.path(), &dst);
        } else if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

#[test]
fn json_limits_are_numbers_or_null() {
    let s = load("kata-vm");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["version"], 2);
    let pod_cgroup = json["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["path"]
                .as_str()
                .unwrap()
                .starts_with("/kubepods/besteffort/pod")
        })
        .unwrap();
    let stats = &pod_cgroup["stats"];
    assert_eq!(stats["memory_max"], 2684354560u64);
    assert_eq!(stats["memory_current"], 2361393152u64);
    // pids.max is "max": no limit is null.
    assert!(stats["pids_max"].is_null());
    assert!(stats.as_object().unwrap().contains_key("pids_max"));
    // Not readable (no cpu files recorded): left out, so null never means unknown.
    assert!(!stats.as_object().unwrap().contains_key("cpu_quota_us"));
}
