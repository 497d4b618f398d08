//! `linux.resources` written by the cgroupfs manager (config-linux.md "Control groups"): on a
//! plain directory tree standing in for a cgroup2 mount (no root needed: every file and value
//! checked), and for real on this host's hierarchies (root), read back from the kernel.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod cgroups_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use cgroups_support::{fake_unified, root_or_skip, Cleanup, Sleeper};
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

#[test]
fn v2_tree_gets_every_file_and_enables_controllers() {
    let tmp = tempfile::tempdir().unwrap();
    let h = fake_unified(tmp.path());
    let m = fake_manager(&h, "/pod/c1");
    let r = resources(
        r#"{
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 50},
        "blockIO": {"weight": 500},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "unified": {"memory.high": "60000000"}
    }"#,
    );
    m.apply_resources(99, Some(&r)).unwrap();
    let dir = tmp.path().join("pod/c1");
    for (file, want) in [
        ("memory.max", "67108864"),
        ("memory.swap.max", "67108864"),
        ("memory.low", "33554432"),
        ("memory.high", "60000000"),
        ("cpu.weight", "39"),
        ("cpu.max", "50000 100000"),
        ("cpuset.cpus", "0"),
        ("cpuset.mems", "0"),
        ("pids.max", "50"),
        ("io.weight", "default 4950"),
        ("hugetlb.2MB.max", "4194304"),
        ("cgroup.procs", "99"),
    ] {
        assert_eq!(read(&dir.join(file)), want, "{file}");
    }
    // The parents enable what the container's files need.
    for parent in [tmp.path().to_owned(), tmp.path().join("pod")] {
        assert_eq!(
            read(&parent.join("cgroup.subtree_control")),
            "+cpu +cpuset +hugetlb +io +memory +pids"
        );
    }
    assert!(!dir.join("cgroup.subtree_control").exists());
}

#[test]
fn v2_refusals_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let h = fake_unified(tmp.path());
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
            r#"{"memory": {"limit": 100, "swap": 50}}"#,
            "linux.resources.memory.swap: 50: below memory.limit 100",
        ),
        (
            r#"{"memory": {"swap": 50}}"#,
            "a swap limit needs a memory limit",
        ),
        (
            r#"{"cpu": {"realtimeRuntime": 100}}"#,
            "linux.resources.cpu.realtimeRuntime",
        ),
        (
            r#"{"devices": [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]}"#,
            "is not on a cgroup2 filesystem: the device program cannot be attached",
        ),
    ] {
        let m = fake_manager(&h, "/refused/c");
        let err = m.apply_resources(1, Some(&resources(json))).unwrap_err();
        assert!(err.to_string().contains(words), "{json}: {err}");
        assert!(!tmp.path().join("refused").exists(), "{json}: left behind");
    }
}

#[test]
fn v2_unlimited_values() {
    let tmp = tempfile::tempdir().unwrap();
    let h = fake_unified(tmp.path());
    let m = fake_manager(&h, "/c");
    let r = resources(r#"{"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"quota": -1}}"#);
    m.apply_resources(1, Some(&r)).unwrap();
    let dir = tmp.path().join("c");
    assert_eq!(read(&dir.join("memory.max")), "max");
    assert_eq!(read(&dir.join("memory.swap.max")), "max");
    assert_eq!(read(&dir.join("pids.max")), "max");
    assert_eq!(read(&dir.join("cpu.max")), "max 100000");
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
    let sleeper = Sleeper::new();
    let m = Cleanup(cgroups::manager(Some(Path::new(&path)), "res", false).unwrap());
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
