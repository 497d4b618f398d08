//! "Resources are applied or refused, never dropped" (config.md "Valid values": an unsupported
//! value MUST be an error) and "the parents create made are removed by delete", through the
//! ocirun binary on this host's real hierarchies (v1, v2 or hybrid: each test reads where the
//! host keeps a controller and checks the matching outcome). Root only.
//!
//! Every refusal is one line naming the JSON path, a non-zero exit, and nothing left behind:
//! no state dir, no cgroup directory (the container's nor a parent), no process.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod cgroups_support;
mod common;

use std::path::PathBuf;

use cgroups_support::output_with_stdin;
use common::{is_root, processes_mentioning, stderr, unique_id, Guard, Ocirun};
use fixtures::{Bundle, Config};
use ocirun::cgroups::detect::{Hierarchies, Hierarchy, Version};
use serde_json::{json, Value};

fn hierarchies() -> Hierarchies {
    Hierarchies::detect().unwrap()
}

/// The hierarchy holding `controller`: its v1 hierarchy, else the cgroup2 one when its
/// `cgroup.controllers` lists it.
fn home(controller: &str) -> Option<Hierarchy> {
    let h = hierarchies();
    if let Some(v1) = h.v1.iter().find(|x| {
        matches!(&x.version, Version::V1 { controllers } if controllers.iter().any(|c| c == controller))
    }) {
        return Some(v1.clone());
    }
    let unified = h.unified?;
    let listed = std::fs::read_to_string(unified.mount_point.join("cgroup.controllers")).ok()?;
    listed
        .split_whitespace()
        .any(|c| c == controller)
        .then_some(unified)
}

fn is_v1(h: &Hierarchy) -> bool {
    matches!(h.version, Version::V1 { .. })
}

/// `cgroups_path` (absolute) in every hierarchy of this host.
fn dirs(cgroups_path: &str) -> Vec<PathBuf> {
    hierarchies()
        .all()
        .map(|h| h.mount_point.join(cgroups_path.trim_start_matches('/')))
        .collect()
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// A unique absolute cgroups path below a unique top directory (`/ocirun-rules-ID`), and a
/// guard that removes whatever is left of that top directory in every hierarchy, deepest
/// first, even when the test fails.
struct Tree {
    top: String,
}

impl Tree {
    fn new(id: &str) -> Self {
        Tree {
            top: format!("/ocirun-rules-{id}"),
        }
    }
    fn path(&self, below: &str) -> String {
        format!("{}/{below}", self.top)
    }
    /// What is left of the top directory, in any hierarchy.
    fn left(&self) -> Vec<PathBuf> {
        dirs(&self.top).into_iter().filter(|d| d.exists()).collect()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        fn rm(dir: &std::path::Path) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        rm(&e.path());
                    }
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
        for dir in dirs(&self.top) {
            rm(&dir);
        }
    }
}

/// A paused probe with `resources` in `cgroups_path`.
fn config(cgroups_path: &str, resources: Value) -> Config {
    Config::probe(&["pause"])
        .set("/linux/cgroupsPath", json!(cgroups_path))
        .set("/linux/resources", resources)
}

/// `create` of `resources` must fail with `words` in its one-line error and leave nothing
/// behind: no state dir, nothing of the tree, no process of the container.
fn refused(resources: Value, words: &str) {
    let oci = Ocirun::new();
    let id = unique_id("refused");
    let tree = Tree::new(&id);
    let bundle = Bundle::new(&config(&tree.path("a/c"), resources.clone())).unwrap();
    let _guard = oci.guard(&id);
    let out = oci.create_out(bundle.path(), &id);
    let err = stderr(&out);
    assert!(!out.status.success(), "{resources}: created");
    // One line: the error (warnings about other fields may follow it).
    let first = err.lines().next().unwrap_or_default();
    assert!(first.contains(words), "{resources}: {err}");
    assert!(!oci.state_dir(&id).exists(), "{resources}: state dir left");
    assert!(
        tree.left().is_empty(),
        "{resources}: left {:?}",
        tree.left()
    );
    assert!(
        processes_mentioning(&bundle.path().to_string_lossy()).is_empty(),
        "{resources}: a process is left"
    );
}

/// `create` of `resources` must succeed; returns the guard and the container's directory in
/// the hierarchy of `controller`.
fn created<'a>(
    oci: &'a Ocirun,
    tree: &Tree,
    resources: Value,
    controller: &str,
) -> (Guard<'a>, PathBuf) {
    let id = unique_id("applied");
    let path = tree.path("c");
    let bundle = Bundle::new(&config(&path, resources)).unwrap();
    let guard = oci.create(bundle.path(), &id);
    let home = home(controller).unwrap();
    (guard, home.mount_point.join(path.trim_start_matches('/')))
}

// ------------------------------------------------------------------ network (net_cls, net_prio)

/// config-linux.md "Network": classID is net_cls.classid, each priority a line of
/// net_prio.ifpriomap; where the controller is not mounted (this machine) the field is
/// refused by name, as runc refuses it.
#[test]
fn network_is_applied_where_mounted_and_refused_by_name_elsewhere() {
    if !is_root() {
        return;
    }
    let class = json!({"network": {"classID": 1048577}});
    let prio = json!({"network": {"priorities": [{"name": "lo", "priority": 5}]}});
    match home("net_cls") {
        None => refused(
            class,
            "linux.resources.network.classID: net_cls is not mounted on this host",
        ),
        Some(_) => {
            let oci = Ocirun::new();
            let tree = Tree::new(&unique_id("netcls"));
            let (_g, dir) = created(&oci, &tree, class, "net_cls");
            assert_eq!(read(&dir.join("net_cls.classid")), "1048577");
        }
    }
    match home("net_prio") {
        None => refused(
            prio,
            "linux.resources.network.priorities[0]: net_prio is not mounted on this host",
        ),
        Some(_) => {
            let oci = Ocirun::new();
            let tree = Tree::new(&unique_id("netprio"));
            let (_g, dir) = created(&oci, &tree, prio, "net_prio");
            assert!(read(&dir.join("net_prio.ifpriomap")).contains("lo 5"));
        }
    }
}

/// config-linux.md "RDMA": rdma.max where the rdma controller is (v1 or v2), else refused.
#[test]
fn rdma_is_refused_by_name_where_the_controller_is_missing() {
    if !is_root() {
        return;
    }
    if home("rdma").is_some() {
        eprintln!("skipped: this host has an rdma controller (the fake-tree tests cover it)");
        return;
    }
    refused(
        json!({"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}}),
        "linux.resources.rdma[\"mlx5_1\"]: rdma is not mounted on this host",
    );
}

// ------------------------------------------------------------------------------- memory

/// kernelTCP is memory.kmem.tcp.limit_in_bytes on v1 (it still works on Linux 6), refused on
/// v2 (no such limit there).
#[test]
fn kernel_tcp_is_written_on_v1_and_refused_on_v2() {
    if !is_root() {
        return;
    }
    let r = json!({"memory": {"kernelTCP": 16777216}});
    let memory = home("memory").unwrap();
    if is_v1(&memory) {
        let oci = Ocirun::new();
        let tree = Tree::new(&unique_id("ktcp"));
        let (_g, dir) = created(&oci, &tree, r, "memory");
        assert_eq!(
            read(&dir.join("memory.kmem.tcp.limit_in_bytes")),
            "16777216"
        );
    } else {
        refused(r, "linux.resources.memory.kernelTCP: ");
    }
}

/// memory.kernel: memory.kmem.limit_in_bytes on a v1 kernel that still enforces it; a kernel
/// that takes the write and ignores it (Linux 6.x: "writing any value to this file has no
/// effect") or cgroup v2 refuses it by name.
#[test]
fn kernel_memory_is_written_or_refused_never_ignored() {
    if !is_root() {
        return;
    }
    let r = json!({"memory": {"kernel": 104857600}});
    let oci = Ocirun::new();
    let id = unique_id("kmem");
    let tree = Tree::new(&id);
    let bundle = Bundle::new(&config(&tree.path("c"), r)).unwrap();
    let _guard = oci.guard(&id);
    let out = oci.create_out(bundle.path(), &id);
    if out.status.success() {
        let dir = home("memory")
            .unwrap()
            .mount_point
            .join(tree.path("c").trim_start_matches('/'));
        assert_eq!(read(&dir.join("memory.kmem.limit_in_bytes")), "104857600");
    } else {
        let err = stderr(&out);
        assert!(err.contains("linux.resources.memory.kernel: "), "{err}");
        assert!(!oci.state_dir(&id).exists());
        assert!(tree.left().is_empty(), "left {:?}", tree.left());
    }
}

/// swappiness is 0..=100 (config-linux.md "Memory"): 101 is an error, not "unset".
#[test]
fn swappiness_out_of_range_is_refused() {
    if !is_root() {
        return;
    }
    refused(
        json!({"memory": {"swappiness": 101}}),
        "linux.resources.memory.swappiness: 101",
    );
}

/// useHierarchy and disableOOMKiller are written on v1 (memory.use_hierarchy,
/// memory.oom_control); on v2 (always hierarchical, no way to turn the OOM killer off) the
/// values v2 cannot honour are refused.
#[test]
fn use_hierarchy_and_oom_killer() {
    if !is_root() {
        return;
    }
    let memory = home("memory").unwrap();
    let r = json!({"memory": {"useHierarchy": true, "disableOOMKiller": true}});
    if is_v1(&memory) {
        let oci = Ocirun::new();
        let tree = Tree::new(&unique_id("oomk"));
        let (_g, dir) = created(&oci, &tree, r, "memory");
        assert_eq!(read(&dir.join("memory.use_hierarchy")), "1");
        assert!(read(&dir.join("memory.oom_control")).contains("oom_kill_disable 1"));
    } else {
        refused(r, "linux.resources.memory.disableOOMKiller: ");
    }
}

// ---------------------------------------------------------------------------------- pids

/// config-linux.md "PIDs": 0 is a valid limit and SHOULD be treated as such. The container
/// is still created (ocirun's own stage-1 is not counted: the limit is written once the
/// init is alone), and then pids.max reads 0.
#[test]
fn pids_limit_zero_is_written() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let tree = Tree::new(&unique_id("pids0"));
    let (_g, dir) = created(&oci, &tree, json!({"pids": {"limit": 0}}), "pids");
    assert_eq!(read(&dir.join("pids.max")), "0");
}

// ------------------------------------------------------------------ blockIO, hugetlb, unified

/// leafWeight exists only with CFQ (gone since Linux 5.0) and never on v2: refused by name.
#[test]
fn leaf_weight_without_its_file_is_refused() {
    if !is_root() {
        return;
    }
    let blkio = home("blkio").or_else(|| home("io"));
    let has_leaf = blkio
        .as_ref()
        .is_some_and(|h| is_v1(h) && h.mount_point.join("blkio.leaf_weight").exists());
    if has_leaf {
        eprintln!("skipped: this kernel still has blkio.leaf_weight");
        return;
    }
    refused(
        json!({"blockIO": {"leafWeight": 300}}),
        "linux.resources.blockIO.leafWeight: ",
    );
}

/// A page size the host does not have names the entry.
#[test]
fn unknown_hugepage_size_is_refused_by_name() {
    if !is_root() {
        return;
    }
    if home("hugetlb").is_none() {
        refused(
            json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}),
            "linux.resources.hugepageLimits[0]: hugetlb is not mounted on this host",
        );
        return;
    }
    refused(
        json!({"hugepageLimits": [{"pageSize": "3MB", "limit": 0}]}),
        "linux.resources.hugepageLimits[0]: no hugetlb.3MB.",
    );
}

/// A hugepage limit is written where the hugetlb controller is: on this hybrid host that is
/// the cgroup2 hierarchy (`hugetlb.2MB.max`), elsewhere v1's `limit_in_bytes`.
#[test]
fn hugepage_limit_is_written_where_hugetlb_is() {
    if !is_root() {
        return;
    }
    let Some(hugetlb) = home("hugetlb") else {
        eprintln!("skipped: no hugetlb controller");
        return;
    };
    let oci = Ocirun::new();
    let tree = Tree::new(&unique_id("huge"));
    let r = json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]});
    let (_g, dir) = created(&oci, &tree, r, "hugetlb");
    let file = if is_v1(&hugetlb) {
        "hugetlb.2MB.limit_in_bytes"
    } else {
        "hugetlb.2MB.max"
    };
    assert_eq!(read(&dir.join(file)), "4194304");
}

/// config-linux.md "Unified": a key naming a controller that cgroup2 does not have here (on a
/// hybrid host memory is bound to v1) MUST be an error.
#[test]
fn unified_key_of_a_controller_cgroup2_lacks_is_refused() {
    if !is_root() {
        return;
    }
    let Some(memory) = home("memory") else {
        return;
    };
    if hierarchies().unified.is_none() {
        refused(
            json!({"unified": {"memory.high": "1000000"}}),
            "linux.resources.unified[\"memory.high\"]: ",
        );
    } else if is_v1(&memory) {
        refused(
            json!({"unified": {"memory.high": "1000000"}}),
            "linux.resources.unified[\"memory.high\"]: the memory controller is not available in this host's cgroup v2 hierarchy",
        );
    }
}

// --------------------------------------------------------------------------------- update

/// `update` follows the same rule: a field the host cannot apply is refused by name, nothing
/// is written, the state keeps what the cgroup holds.
#[test]
fn update_refuses_by_name_and_applies_kernel_tcp_flag() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let tree = Tree::new(&unique_id("updrule"));
    let (g, _dir) = created(&oci, &tree, json!({"pids": {"limit": 30}}), "pids");
    let id = g.id.clone();
    if home("net_cls").is_none() {
        let out = output_with_stdin(
            &mut oci.cmd(["update", "--resources", "-", &id]),
            br#"{"pids": {"limit": 10}, "network": {"classID": 7}}"#,
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("linux.resources.network.classID: net_cls is not mounted"),
            "{}",
            stderr(&out)
        );
        let pids = home("pids")
            .unwrap()
            .mount_point
            .join(tree.path("c").trim_start_matches('/'));
        assert_eq!(read(&pids.join("pids.max")), "30", "nothing written");
    }
    let memory = home("memory").unwrap();
    if is_v1(&memory) {
        oci.ok(["update", "--kernel-memory-tcp", "32m", &id]);
        let dir = memory
            .mount_point
            .join(tree.path("c").trim_start_matches('/'));
        assert_eq!(
            read(&dir.join("memory.kmem.tcp.limit_in_bytes")),
            "33554432"
        );
    }
}

// ------------------------------------------------------------------------ parent cgroups

/// With cgroupsPath `/top/b/c`, delete removes `c` and the parents create made (`top`, `b`)
/// in every hierarchy.
#[test]
fn delete_removes_the_parents_create_made() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let id = unique_id("parents");
    let tree = Tree::new(&id);
    let path = tree.path("b/c");
    let bundle = Bundle::new(&config(&path, json!({"pids": {"limit": 20}}))).unwrap();
    let guard = oci.create(bundle.path(), &id);
    assert!(dirs(&path).iter().all(|d| d.is_dir()));
    let saved: Value =
        serde_json::from_slice(&std::fs::read(oci.state_dir(&id).join("state.json")).unwrap())
            .unwrap();
    let parents = saved["cgroupParents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(parents.len(), 2 * dirs("/").len(), "{saved}");
    oci.ok(["delete", "--force", &id]);
    drop(guard);
    assert!(tree.left().is_empty(), "left behind: {:?}", tree.left());
}

/// Parents that existed before create are not create's to remove; a parent another
/// container still uses stays until it is empty.
#[test]
fn delete_keeps_parents_it_did_not_make_or_that_are_in_use() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let tree = Tree::new(&unique_id("shared"));
    for d in dirs(&tree.top) {
        std::fs::create_dir_all(d).unwrap();
    }
    let first = unique_id("first");
    let second = unique_id("second");
    let b1 = Bundle::new(&config(&tree.path("b/c1"), json!({}))).unwrap();
    let b2 = Bundle::new(&config(&tree.path("b/c2"), json!({}))).unwrap();
    let g1 = oci.create(b1.path(), &first);
    let g2 = oci.create(b2.path(), &second);
    oci.ok(["delete", "--force", &first]);
    drop(g1);
    // b holds the second container: it stays.
    assert!(dirs(&tree.path("b/c2")).iter().all(|d| d.is_dir()));
    assert!(dirs(&tree.path("b/c1")).iter().all(|d| !d.exists()));
    oci.ok(["delete", "--force", &second]);
    drop(g2);
    // top existed before: it stays; b was made by the first create, and is now empty but not
    // the second's (it found b there), so it stays as well.
    assert!(dirs(&tree.top).iter().all(|d| d.is_dir()));
}

/// A create that fails after making the parents removes them too.
#[test]
fn failed_create_removes_the_parents_it_made() {
    if !is_root() {
        return;
    }
    let id = unique_id("failpar");
    let tree = Tree::new(&id);
    let oci = Ocirun::new();
    let bundle = Bundle::new(&config(&tree.path("b/c"), json!({"cpu": {"cpus": "4096"}}))).unwrap();
    let out = oci.create_out(bundle.path(), &id);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("linux.resources.cpu.cpus: "),
        "{}",
        stderr(&out)
    );
    assert!(tree.left().is_empty(), "left behind: {:?}", tree.left());
}

// ------------------------------------------------------------------------------- features

/// features-linux.md "Cgroup": exactly what the cgroupfs manager does (v1, v2 and hybrid,
/// the rdma controller's rdma.max), and no systemd driver, which is refused as such.
#[test]
fn features_list_exactly_the_cgroup_support() {
    let oci = Ocirun::new();
    let features: Value = serde_json::from_str(&oci.ok(["features"])).unwrap();
    assert_eq!(
        features["linux"]["cgroup"],
        json!({"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": true})
    );
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("systemd");
    let out = oci.out([
        "--systemd-cgroup".as_ref(),
        "create".as_ref(),
        "--bundle".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("systemd cgroup driver is not supported"),
        "{}",
        stderr(&out)
    );
    assert!(!oci.state_dir(&id).exists());
}
