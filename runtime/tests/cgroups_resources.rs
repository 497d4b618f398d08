//! `linux.resources` written by the cgroupfs manager (config-linux.md "Control groups"): on
//! cgroupfs-like trees standing in for v1, v2 and hybrid hosts (no root needed: every field's
//! file and value, every refusal), and for real on this host's hierarchies (root), read back
//! from the kernel.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod cgroups_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use cgroups_support::{root_or_skip, Cleanup, FakeHost, Sleeper};
use oci_spec::runtime::LinuxResources;
use ocirun::cgroups::detect::{Hierarchies, ProcessCgroups, Version};
use ocirun::cgroups::{self, CgroupManager, CgroupsPath, FsManager};

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn fake_manager(h: &Hierarchies, path: &str) -> FsManager {
    let path = CgroupsPath::parse(Some(Path::new(path)), "x").unwrap();
    FsManager::new(h, &ProcessCgroups::default(), &path).unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// Every controller of cgroup v2, as a v2-only host delegates them.
const V2_ALL: &[&str] = &[
    "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc",
];

#[test]
fn v2_tree_gets_every_file_and_enables_controllers() {
    let host = FakeHost::v2(V2_ALL);
    host.cgroup("/pod/c1");
    let m = host.manager("/pod/c1");
    let r = resources(
        r#"{
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "idle": 1, "cpus": "0", "mems": "0"},
        "pids": {"limit": 50},
        "blockIO": {"weight": 500, "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 20}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "rdma": {"mlx5_1": {"hcaHandles": 3}},
        "unified": {"memory.high": "60000000", "cgroup.max.depth": "4"}
    }"#,
    );
    m.apply_resources(99, Some(&r)).unwrap();
    // The parents enable what the container's files need (the pids limit's too).
    for parent in [host.dir("unified", "/"), host.dir("unified", "/pod")] {
        assert_eq!(
            read(&parent.join("cgroup.subtree_control")),
            "+cpu +cpuset +hugetlb +io +memory +pids +rdma"
        );
    }
    let dir = host.dir("unified", "/pod/c1");
    assert_eq!(
        read(&dir.join("pids.max")),
        "max",
        "the pids limit waits for the init"
    );
    m.apply_pids_limit(Some(&r)).unwrap();
    for (file, want) in [
        ("memory.max", "67108864"),
        ("memory.swap.max", "67108864"),
        ("memory.low", "33554432"),
        ("memory.high", "60000000"),
        ("cpu.weight", "100"),
        ("cpu.max", "50000 100000"),
        ("cpu.max.burst", "1000"),
        ("cpu.idle", "1"),
        ("cpuset.cpus", "0"),
        ("cpuset.mems", "0"),
        ("pids.max", "50"),
        ("io.weight", "default 4950"),
        ("io.max", "8:0 wiops=20"),
        ("hugetlb.2MB.max", "4194304"),
        ("hugetlb.2MB.rsvd.max", "4194304"),
        ("rdma.max", "mlx5_1 hca_handle=3"),
        ("cgroup.max.depth", "4"),
        ("cgroup.procs", "99"),
    ] {
        assert_eq!(read(&dir.join(file)), want, "{file}");
    }
}

/// Refusals name the field, and leave nothing: refused before anything is made (a
/// controller or setting the host lacks), or after the cgroup was made and found without
/// the file (then it is removed again).
#[test]
fn v2_refusals_leave_nothing_behind() {
    let host = FakeHost::v2(&["cpu", "memory", "pids"]);
    for (json, words) in [
        (
            r#"{"unified": {"../../etc/passwd": "x"}}"#,
            "linux.resources.unified[\"../../etc/passwd\"]: not an interface file name",
        ),
        (
            r#"{"unified": {"cgroup.procs": "1"}}"#,
            "linux.resources.unified[\"cgroup.procs\"]",
        ),
        (
            r#"{"unified": {"io.max": "8:0 rbps=1"}}"#,
            "linux.resources.unified[\"io.max\"]: the io controller is not available in this host's cgroup v2 hierarchy",
        ),
        (
            r#"{"memory": {"limit": 100, "swap": 50}}"#,
            "linux.resources.memory.swap: 50: below memory.limit 100",
        ),
        (
            r#"{"memory": {"swap": 50}}"#,
            "a swap limit needs a memory limit",
        ),
        (
            r#"{"memory": {"swappiness": 10}}"#,
            "linux.resources.memory.swappiness: 10: this host's memory controller is on cgroup v2, which has no such setting",
        ),
        (
            r#"{"cpu": {"realtimeRuntime": 100}}"#,
            "linux.resources.cpu.realtimeRuntime",
        ),
        (
            r#"{"cpu": {"cpus": "0"}}"#,
            "linux.resources.cpu.cpus: cpuset is not mounted on this host",
        ),
        (
            r#"{"network": {"classID": 1}}"#,
            "linux.resources.network.classID: net_cls is not mounted on this host",
        ),
        (
            r#"{"devices": [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]}"#,
            "is not on a cgroup2 filesystem: the device program cannot be attached",
        ),
        // Found missing once the cgroup exists (a plain directory has no interface files).
        (
            r#"{"unified": {"cgroup.nonesuch": "1"}}"#,
            "linux.resources.unified[\"cgroup.nonesuch\"]: no cgroup.nonesuch in ",
        ),
    ] {
        let m = host.manager("/refused/c");
        let err = m.apply_resources(1, Some(&resources(json))).unwrap_err();
        assert!(err.to_string().contains(words), "{json}: {err}");
        assert!(!host.dir("unified", "/refused").exists(), "{json}: left behind");
    }
    // The same after the cgroup was made, on v1 (a v2 stand-in would keep the plain
    // `cgroup.subtree_control` written into the parent; cgroupfs removes it with the cgroup).
    let v1 = FakeHost::new(&[&["memory"]], None);
    let err = v1
        .manager("/refused/c")
        .apply_resources(1, Some(&resources(r#"{"memory": {"limit": 100}}"#)))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("linux.resources.memory.limit: no memory.limit_in_bytes in "),
        "{err}"
    );
    assert!(!v1.dir("memory", "/refused").exists(), "left behind");
}

#[test]
fn v2_unlimited_values() {
    let host = FakeHost::v2(V2_ALL);
    host.cgroup("/c");
    let m = host.manager("/c");
    let r = resources(r#"{"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"quota": -1}}"#);
    m.apply_resources(1, Some(&r)).unwrap();
    m.apply_pids_limit(Some(&r)).unwrap();
    let dir = host.dir("unified", "/c");
    assert_eq!(read(&dir.join("memory.max")), "max");
    assert_eq!(read(&dir.join("memory.swap.max")), "max");
    assert_eq!(read(&dir.join("pids.max")), "max");
    assert_eq!(read(&dir.join("cpu.max")), "max 100000");
}

/// A v1 host with every controller (cpu and cpuacct, net_cls and net_prio co-mounted, as
/// distributions mount them): every field of config-linux.md lands in its file.
#[test]
fn v1_tree_gets_every_field() {
    let host = FakeHost::new(
        &[
            &["cpu", "cpuacct"],
            &["cpuset"],
            &["memory"],
            &["pids"],
            &["blkio"],
            &["hugetlb"],
            &["net_cls", "net_prio"],
            &["rdma"],
            &["devices"],
        ],
        None,
    );
    host.cgroup("/c");
    let m = host.manager("/c");
    let r = resources(
        r#"{
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432, "kernel": -1,
                   "kernelTCP": 16777216, "swappiness": 0, "disableOOMKiller": true, "useHierarchy": true},
        "cpu": {"shares": 512, "quota": 20000, "period": 50000, "burst": 1000, "realtimeRuntime": 900,
                "realtimePeriod": 1000, "idle": 0, "cpus": "1", "mems": "0"},
        "pids": {"limit": 0},
        "blockIO": {"weight": 300, "leafWeight": 200,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 100}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
                    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
        "rdma": {"mlx4_0": {"hcaObjects": 1000}},
        "devices": [{"allow": false, "access": "rwm"}]
    }"#,
    );
    m.apply_resources(7, Some(&r)).unwrap();
    m.apply_pids_limit(Some(&r)).unwrap();
    for (hierarchy, file, want) in [
        ("memory", "memory.limit_in_bytes", "67108864"),
        ("memory", "memory.memsw.limit_in_bytes", "134217728"),
        ("memory", "memory.soft_limit_in_bytes", "33554432"),
        ("memory", "memory.kmem.limit_in_bytes", "-1"),
        ("memory", "memory.kmem.tcp.limit_in_bytes", "16777216"),
        ("memory", "memory.swappiness", "0"),
        ("memory", "memory.oom_control", "1"),
        ("memory", "memory.use_hierarchy", "1"),
        ("cpu,cpuacct", "cpu.shares", "512"),
        ("cpu,cpuacct", "cpu.cfs_period_us", "50000"),
        ("cpu,cpuacct", "cpu.cfs_quota_us", "20000"),
        ("cpu,cpuacct", "cpu.cfs_burst_us", "1000"),
        ("cpu,cpuacct", "cpu.rt_period_us", "1000"),
        ("cpu,cpuacct", "cpu.rt_runtime_us", "900"),
        ("cpu,cpuacct", "cpu.idle", "0"),
        ("cpuset", "cpuset.cpus", "1"),
        ("cpuset", "cpuset.mems", "0"),
        ("pids", "pids.max", "0"),
        ("blkio", "blkio.weight", "300"),
        ("blkio", "blkio.leaf_weight", "200"),
        ("blkio", "blkio.weight_device", "8:0 600"),
        ("blkio", "blkio.leaf_weight_device", "8:0 100"),
        ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576"),
        ("blkio", "blkio.throttle.write_bps_device", "8:0 2097152"),
        ("blkio", "blkio.throttle.read_iops_device", "8:0 100"),
        ("blkio", "blkio.throttle.write_iops_device", "8:0 200"),
        ("hugetlb", "hugetlb.2MB.limit_in_bytes", "4194304"),
        ("hugetlb", "hugetlb.2MB.rsvd.limit_in_bytes", "4194304"),
        ("net_cls,net_prio", "net_cls.classid", "1048577"),
        ("net_cls,net_prio", "net_prio.ifpriomap", "eth0 5"),
        ("rdma", "rdma.max", "mlx4_0 hca_object=1000"),
        ("devices", "devices.deny", "a"),
        ("memory", "cgroup.procs", "7"),
        ("net_cls,net_prio", "cgroup.procs", "7"),
    ] {
        assert_eq!(
            read(&host.dir(hierarchy, "/c").join(file)),
            want,
            "{hierarchy} {file}"
        );
    }
    // The last devices.allow line is the last default rule (the v1 list is written in order).
    assert_eq!(
        read(&host.dir("devices", "/c").join("devices.allow")),
        "c 5:2 rwm"
    );
}

/// What a v1 kernel may lack: the swap accounting file, CFQ's leaf weights, realtime group
/// scheduling, a page size. Refused by field, with the reason, nothing written; the
/// "unlimited" values that need no file go through.
#[test]
fn v1_missing_interface_files_are_refused_by_name() {
    let host = FakeHost::new(&[&["memory"], &["blkio"], &["cpu"], &["hugetlb"]], None);
    let dirs = host.cgroup("/c");
    for (hierarchy, file) in [
        ("memory", "memory.memsw.limit_in_bytes"),
        ("blkio", "blkio.leaf_weight"),
        ("blkio", "blkio.weight"),
        ("cpu", "cpu.rt_runtime_us"),
    ] {
        std::fs::remove_file(host.dir(hierarchy, "/c").join(file)).unwrap();
    }
    std::fs::write(host.dir("blkio", "/c").join("blkio.bfq.weight"), "100").unwrap();
    let m = host.manager("/c");
    for (json, words) in [
        (
            r#"{"memory": {"limit": 100, "swap": 200}}"#,
            "linux.resources.memory.swap: no memory.memsw.limit_in_bytes in ",
        ),
        (
            r#"{"blockIO": {"leafWeight": 300}}"#,
            "linux.resources.blockIO.leafWeight: no blkio.leaf_weight in ",
        ),
        (
            r#"{"cpu": {"realtimeRuntime": 300}}"#,
            "(CONFIG_RT_GROUP_SCHED)",
        ),
        (
            r#"{"hugepageLimits": [{"pageSize": "1GB", "limit": 0}]}"#,
            "linux.resources.hugepageLimits[0]: no hugetlb.1GB.limit_in_bytes in ",
        ),
    ] {
        let err = m.set(&resources(json)).unwrap_err().to_string();
        assert!(err.contains(words), "{json}: {err}");
        assert_eq!(
            read(&host.dir("memory", "/c").join("memory.limit_in_bytes")),
            "9223372036854771712"
        );
    }
    assert!(m
        .set(&resources(r#"{"memory": {"limit": 100, "swap": 200}}"#))
        .unwrap_err()
        .to_string()
        .contains("swap accounting is off"));
    // -1 swap is what a kernel without swap accounting gives anyway; the BFQ weight file
    // stands in for blkio.weight.
    m.set(&resources(
        r#"{"memory": {"limit": -1, "swap": -1}, "blockIO": {"weight": 300}}"#,
    ))
    .unwrap();
    assert_eq!(
        read(&host.dir("memory", "/c").join("memory.limit_in_bytes")),
        "-1"
    );
    assert_eq!(
        read(&host.dir("blkio", "/c").join("blkio.bfq.weight")),
        "300"
    );
    drop(dirs);
}

/// A hybrid host like this machine's: v1 controllers, hugetlb alone on cgroup2. Each field
/// goes where its controller is; `unified` may only name what cgroup2 has.
#[test]
fn hybrid_tree_puts_each_field_where_its_controller_is() {
    let host = FakeHost::new(
        &[&["cpu"], &["cpuacct"], &["memory"], &["pids"], &["devices"]],
        Some(&["hugetlb"]),
    );
    host.cgroup("/c");
    let m = host.manager("/c");
    let r = resources(
        r#"{"memory": {"limit": 67108864}, "pids": {"limit": 9},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
            "unified": {"hugetlb.2MB.rsvd.max": "4194304"},
            "devices": [{"allow": false, "access": "rwm"}]}"#,
    );
    m.apply_resources(5, Some(&r)).unwrap();
    m.apply_pids_limit(Some(&r)).unwrap();
    assert_eq!(
        read(&host.dir("memory", "/c").join("memory.limit_in_bytes")),
        "67108864"
    );
    assert_eq!(read(&host.dir("pids", "/c").join("pids.max")), "9");
    assert_eq!(
        read(&host.dir("unified", "/c").join("hugetlb.2MB.max")),
        "2097152"
    );
    assert_eq!(
        read(&host.dir("unified", "/c").join("hugetlb.2MB.rsvd.max")),
        "4194304"
    );
    assert_eq!(read(&host.dir("devices", "/c").join("devices.deny")), "a");
    assert_eq!(
        read(&host.dir("unified", "/").join("cgroup.subtree_control")),
        "+hugetlb"
    );
    let err = m
        .set(&resources(r#"{"unified": {"memory.high": "1"}}"#))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("(it is bound to a cgroup v1 hierarchy here)"),
        "{err}"
    );
}

/// `update` checks every field before the first write: one the host cannot apply leaves the
/// others unwritten too.
#[test]
fn update_writes_nothing_when_one_field_is_refused() {
    let host = FakeHost::new(&[&["memory"], &["pids"]], None);
    host.cgroup("/c");
    let m = host.manager("/c");
    let err = m
        .set(&resources(
            r#"{"pids": {"limit": 5}, "memory": {"limit": 100}, "rdma": {"x": {"hcaHandles": 1}}}"#,
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "linux.resources.rdma[\"x\"]: rdma is not mounted on this host"
    );
    assert_eq!(read(&host.dir("pids", "/c").join("pids.max")), "max");
    std::fs::remove_file(host.dir("memory", "/c").join("memory.soft_limit_in_bytes")).unwrap();
    let err = m
        .set(&resources(
            r#"{"pids": {"limit": 5}, "memory": {"reservation": 100}}"#,
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("linux.resources.memory.reservation: no memory.soft_limit_in_bytes"),
        "{err}"
    );
    assert_eq!(read(&host.dir("pids", "/c").join("pids.max")), "max");
}

/// config-linux.md "Memory" `checkBeforeUpdate`: a limit not above the current usage is
/// rejected (v2, where the kernel would OOM-kill instead; v1, where it would fail EBUSY).
#[test]
fn check_before_update_rejects_a_limit_below_usage() {
    for (host, dir_name, usage_file) in [
        (FakeHost::v2(V2_ALL), "unified", "memory.current"),
        (
            FakeHost::new(&[&["memory"]], None),
            "memory",
            "memory.usage_in_bytes",
        ),
    ] {
        host.cgroup("/c");
        std::fs::write(host.dir(dir_name, "/c").join(usage_file), "1000").unwrap();
        let m = host.manager("/c");
        let err = m
            .set(&resources(
                r#"{"memory": {"limit": 500, "checkBeforeUpdate": true}}"#,
            ))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.resources.memory.limit: 500: not above the current usage 1000 (checkBeforeUpdate)"
        );
        m.set(&resources(r#"{"memory": {"limit": 500}}"#)).unwrap();
        m.set(&resources(
            r#"{"memory": {"limit": 5000, "checkBeforeUpdate": true}}"#,
        ))
        .unwrap();
    }
}

/// The container's directory in the hierarchy holding `controller` (v1) or the v2 one.
fn dir_of(m: &dyn CgroupManager, h: &Hierarchies, controller: &str) -> Option<PathBuf> {
    let hierarchy = h
        .v1
        .iter()
        .find(|x| matches!(&x.version, Version::V1 { controllers } if controllers.iter().any(|c| c == controller)))
        .or(h.unified.as_ref())?;
    m.paths()
        .into_iter()
        .find(|p| p.starts_with(&hierarchy.mount_point))
}

/// The file for `v1` in the v1 hierarchy of `controller`, else `v2` in the unified one.
fn host_value(
    m: &dyn CgroupManager,
    h: &Hierarchies,
    controller: &str,
    v1: &str,
    v2: &str,
) -> String {
    let dir = dir_of(m, h, controller).unwrap();
    let in_v1 = h.v1.iter().any(|x| dir.starts_with(&x.mount_point));
    read(&dir.join(if in_v1 { v1 } else { v2 }))
}

#[test]
fn host_limits_are_written_and_raised_and_lowered() {
    if !root_or_skip() {
        return;
    }
    let h = Hierarchies::detect().unwrap();
    let path = format!("/ocirun-res-test-{}", std::process::id());
    let m = Cleanup(cgroups::manager(Some(Path::new(&path)), "res", false).unwrap());
    // Dropped before the guard: the cgroup is empty when it is removed.
    let sleeper = Sleeper::new();
    let r = resources(
        r#"{
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
        "memory": {"limit": 67108864, "swap": 134217728, "swappiness": 10},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000},
        "pids": {"limit": 50},
        "blockIO": {"weight": 300}
    }"#,
    );
    m.0.apply_resources(sleeper.pid(), Some(&r)).unwrap();
    m.0.apply_pids_limit(Some(&r)).unwrap();
    let get = |c, v1, v2| host_value(m.0.as_ref(), &h, c, v1, v2);
    assert_eq!(
        get("memory", "memory.limit_in_bytes", "memory.max"),
        "67108864"
    );
    assert_eq!(get("pids", "pids.max", "pids.max"), "50");
    assert_eq!(
        get("cpu", "cpu.cfs_quota_us", "cpu.max").split(' ').next(),
        Some("20000")
    );
    let v1_memory =
        h.v1.iter()
            .any(|x| x.name().split(',').any(|c| c == "memory"));
    if v1_memory {
        assert_eq!(
            get("memory", "memory.memsw.limit_in_bytes", ""),
            "134217728"
        );
        assert_eq!(get("memory", "memory.swappiness", ""), "10");
        assert_eq!(get("cpu", "cpu.shares", ""), "512");
    }
    if let Some(blkio) = h.v1.iter().find(|x| x.name() == "blkio") {
        // blkio.weight, or blkio.bfq.weight on a BFQ-only kernel ("default 300" there).
        let dir =
            m.0.paths()
                .into_iter()
                .find(|p| p.starts_with(&blkio.mount_point))
                .unwrap();
        let weight = ["blkio.weight", "blkio.bfq.weight"]
            .iter()
            .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
            .unwrap();
        assert!(weight.trim().ends_with("300"), "{weight}");
    }
    if let Some(devices) = h.v1.iter().find(|x| x.name() == "devices") {
        let dir =
            m.0.paths()
                .into_iter()
                .find(|p| p.starts_with(&devices.mount_point))
                .unwrap();
        let list = read(&dir.join("devices.list"));
        let lines: Vec<&str> = list.lines().collect();
        assert!(lines.contains(&"c 10:229 rw"), "{list}");
        assert!(lines.contains(&"c 1:3 rwm"), "{list}");
        assert!(!lines.contains(&"a *:* rwm"), "{list}");
    }

    // update: raising both (memsw must go first) then lowering both (memory first).
    let raise = resources(r#"{"memory": {"limit": 268435456, "swap": 536870912}}"#);
    m.0.set(&raise).unwrap();
    assert_eq!(
        get("memory", "memory.limit_in_bytes", "memory.max"),
        "268435456"
    );
    let lower =
        resources(r#"{"memory": {"limit": 33554432, "swap": 67108864}, "pids": {"limit": 7}}"#);
    m.0.set(&lower).unwrap();
    assert_eq!(
        get("memory", "memory.limit_in_bytes", "memory.max"),
        "33554432"
    );
    assert_eq!(get("pids", "pids.max", "pids.max"), "7");
    if v1_memory {
        assert_eq!(get("memory", "memory.memsw.limit_in_bytes", ""), "67108864");
    }

    // A value the kernel refuses names the file and the value.
    let bad = resources(r#"{"cpu": {"cpus": "4096"}}"#);
    let err = m.0.set(&bad).unwrap_err().to_string();
    assert!(err.contains("cpuset.cpus: write \"4096\": "), "{err}");

    drop(sleeper);
    let dirs = m.0.paths();
    m.0.remove().unwrap();
    assert!(dirs.iter().all(|d| !d.exists()));
}

/// v2 device rules (config-linux.md "Allowed Device Cgroup Rules") are an eBPF program on the
/// cgroup2 directory: checked for real on this host's cgroup2 mount (unified or hybrid), with a
/// shell inside the cgroup opening a device that is, then is not, allowed.
#[test]
fn host_v2_device_program_allows_and_denies() {
    if !root_or_skip() {
        return;
    }
    let Some(unified) = Hierarchies::detect().unwrap().unified else {
        eprintln!("skipped: no cgroup2 hierarchy on this host");
        return;
    };
    let only_v2 = Hierarchies {
        v1: vec![],
        unified: Some(unified),
    };
    let kmsg = |extra: &str| {
        let path = format!("/ocirun-bpf-test-{}-{}", std::process::id(), extra.len());
        let m = Cleanup(Box::new(fake_manager(&only_v2, &path)));
        let rules = format!(r#"{{"devices": [{{"allow": false, "access": "rwm"}}{extra}]}}"#);
        let mut sh = Command::new("sh")
            .arg("-c")
            .arg("read x; if (: </dev/kmsg) 2>/dev/null; then echo kmsg; else echo denied; fi; : </dev/null && echo null")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        m.0.apply_resources(sh.id() as i32, Some(&resources(&rules)))
            .unwrap();
        use std::io::Write;
        sh.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let out = sh.wait_with_output().unwrap();
        m.0.remove().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // Deny all + the defaults: /dev/null (default) opens, /dev/kmsg (1:11) does not.
    assert_eq!(kmsg(""), "denied\nnull\n");
    assert_eq!(
        kmsg(r#", {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}"#),
        "kmsg\nnull\n"
    );
}
