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
