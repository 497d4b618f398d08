//! runc's `events` (`ocirun events [--stats] [--interval D] ID`): the stats read from the
//! container's cgroup on cgroupfs-like v1, v2 and hybrid trees (no root: every field from its
//! file), and for real on this host (root): `--stats`, the interval stream ending with the
//! container, an OOM kill reported as an `oom` line, refusals. (`docker stats` beside
//! `events --stats`: peers.rs.)

#![allow(clippy::unwrap_used)] // tests may unwrap

mod cgroups_support;
mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cgroups_support::FakeHost;
use common::{is_root, stderr, unique_id, Ocirun};
use fixtures::{Bundle, Config};
use ocirun::cgroups::CgroupManager;
use serde_json::{json, Value};

fn write(path: std::path::PathBuf, text: &str) {
    std::fs::write(path, text).unwrap();
}

// ------------------------------------------------------------------- stats on fake trees

/// A v1 host: cpuacct (ns, per-cpu, user/system from ticks), cpu throttling, cpuset lists,
/// the four memory entries and memory.stat, pids, blkio recursive stats, hugetlb.
#[test]
fn v1_stats_come_from_each_controller() {
    let host = FakeHost::new(
        &[
            &["cpu", "cpuacct"],
            &["cpuset"],
            &["memory"],
            &["pids"],
            &["blkio"],
            &["hugetlb"],
        ],
        None,
    );
    host.cgroup("/c");
    let d = |h: &str, f: &str| host.dir(h, "/c").join(f);
    write(d("cpu,cpuacct", "cpuacct.usage"), "3000000000\n");
    write(
        d("cpu,cpuacct", "cpuacct.usage_percpu"),
        "1000000000 2000000000 \n",
    );
    write(
        d("cpu,cpuacct", "cpuacct.usage_all"),
        "cpu user system\n0 600 400\n1 1500 500\n",
    );
    write(d("cpu,cpuacct", "cpuacct.stat"), "user 200\nsystem 100\n");
    write(
        d("cpu,cpuacct", "cpu.stat"),
        "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n",
    );
    write(d("cpuset", "cpuset.cpus"), "0-2,5\n");
    write(d("cpuset", "cpuset.mems"), "0\n");
    write(d("memory", "memory.usage_in_bytes"), "4096\n");
    write(d("memory", "memory.limit_in_bytes"), "67108864\n");
    write(d("memory", "memory.failcnt"), "3\n");
    write(d("memory", "memory.stat"), "cache 1024\nrss 2048\n");
    write(d("pids", "pids.current"), "4\n");
    write(d("pids", "pids.max"), "max\n");
    write(
        d("blkio", "blkio.throttle.io_service_bytes_recursive"),
        "8:0 Read 512\n8:0 Write 1024\nTotal 1536\n",
    );
    write(d("hugetlb", "hugetlb.2MB.usage_in_bytes"), "2097152\n");
    let stats = serde_json::to_value(host.manager("/c").stats().unwrap()).unwrap();
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    assert_eq!(
        stats["cpu"]["usage"],
        json!({"total": 3_000_000_000u64, "percpu": [1_000_000_000u64, 2_000_000_000u64],
               "percpu_user": [600, 1500], "percpu_kernel": [400, 500],
               "user": 200 * 1_000_000_000 / ticks, "kernel": 100 * 1_000_000_000 / ticks})
    );
    assert_eq!(
        stats["cpu"]["throttling"],
        json!({"periods": 10, "throttledPeriods": 2, "throttledTime": 5000})
    );
    assert_eq!(stats["cpuset"]["cpus"], json!([0, 1, 2, 5]));
    assert_eq!(
        stats["memory"]["usage"],
        json!({"limit": 67108864, "usage": 4096, "failcnt": 3})
    );
    assert_eq!(stats["memory"]["cache"], 1024);
    assert_eq!(stats["memory"]["raw"]["rss"], 2048);
    assert_eq!(
        stats["memory"]["kernelTCP"]["limit"],
        9223372036854771712u64
    );
    assert_eq!(
        stats["pids"],
        json!({"current": 4}),
        "unlimited is no limit field"
    );
    assert_eq!(
        stats["blkio"]["ioServiceBytesRecursive"],
        json!([{"major": 8, "op": "Read", "value": 512}, {"major": 8, "op": "Write", "value": 1024}])
    );
    assert_eq!(
        stats["hugetlb"]["2MB"],
        json!({"usage": 2097152, "failcnt": 0})
    );
    assert_eq!(stats["network_interfaces"], Value::Null);
}

/// A v2 host: cpu.stat (µs → ns), memory.current/max/peak and swap as memory+swap (as runc
/// reports v1's memsw), pids, io.stat as Read/Write entries, hugetlb, PSI.
#[test]
fn v2_stats_are_converted_as_runc_does() {
    let host = FakeHost::v2(&["cpu", "memory", "pids", "io", "hugetlb"]);
    host.cgroup("/c");
    let d = |f: &str| host.dir("unified", "/c").join(f);
    write(d("cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n");
    write(d("memory.current"), "8192\n");
    write(d("memory.max"), "16384\n");
    write(d("memory.peak"), "12288\n");
    write(d("memory.swap.current"), "100\n");
    write(d("memory.swap.max"), "200\n");
    write(d("memory.stat"), "anon 4096\nfile 2048\n");
    write(
        d("memory.events"),
        "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n",
    );
    write(d("pids.current"), "2\n");
    write(d("pids.max"), "50\n");
    write(
        d("io.stat"),
        "8:16 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
    );
    write(d("hugetlb.2MB.rsvd.current"), "4194304\n");
    write(d("cpu.pressure"), "some avg10=2.50 avg60=1.00 avg300=0.50 total=99\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    let stats = serde_json::to_value(host.manager("/c").stats().unwrap()).unwrap();
    assert_eq!(
        stats["cpu"]["usage"],
        json!({"total": 1_500_000, "user": 1_000_000, "kernel": 500_000})
    );
    assert_eq!(
        stats["cpu"]["throttling"],
        json!({"periods": 4, "throttledPeriods": 1, "throttledTime": 20000})
    );
    assert_eq!(
        stats["cpu"]["psi"]["some"],
        json!({"avg10": 2.5, "avg60": 1.0, "avg300": 0.5, "total": 99})
    );
    assert_eq!(
        stats["memory"]["usage"],
        json!({"limit": 16384, "usage": 8192, "max": 12288, "failcnt": 7})
    );
    assert_eq!(
        stats["memory"]["swap"],
        json!({"limit": 16584, "usage": 8292, "failcnt": 0})
    );
    assert_eq!(stats["memory"]["cache"], 2048);
    assert_eq!(stats["pids"], json!({"current": 2, "limit": 50}));
    assert_eq!(
        stats["blkio"]["ioServicedRecursive"],
        json!([{"major": 8, "minor": 16, "op": "Read", "value": 1}, {"major": 8, "minor": 16, "op": "Write", "value": 2}])
    );
    assert_eq!(
        stats["hugetlb"]["2MB"],
        json!({"usage": 4194304, "failcnt": 0})
    );
}

/// A hybrid host (this machine's layout): memory and pids from v1, hugetlb and PSI from the
/// cgroup2 hierarchy, cpu from cpuacct (not cgroup2's cpu.stat).
#[test]
fn hybrid_stats_read_each_controller_where_it_is() {
    let host = FakeHost::new(&[&["cpuacct"], &["memory"], &["pids"]], Some(&["hugetlb"]));
    host.cgroup("/c");
    write(
        host.dir("memory", "/c").join("memory.usage_in_bytes"),
        "777\n",
    );
    write(host.dir("pids", "/c").join("pids.current"), "3\n");
    write(host.dir("cpuacct", "/c").join("cpuacct.usage"), "42\n");
    write(
        host.dir("unified", "/c").join("cpu.stat"),
        "usage_usec 999999\n",
    );
    write(
        host.dir("unified", "/c").join("hugetlb.2MB.rsvd.current"),
        "2097152\n",
    );
    let stats = serde_json::to_value(host.manager("/c").stats().unwrap()).unwrap();
    assert_eq!(stats["memory"]["usage"]["usage"], 777);
    assert_eq!(stats["pids"]["current"], 3);
    assert_eq!(stats["cpu"]["usage"]["total"], 42);
    assert_eq!(stats["hugetlb"]["2MB"]["usage"], 2097152);
    assert!(stats["memory"]["psi"].is_object(), "{stats}");
}

// ---------------------------------------------------------------------- the real command

fn sh(script: &str, resources: Value) -> Config {
    Config::new()
        .args(["/bin/sh", "-c", script])
        .set("/linux/resources", resources)
}

/// `events --stats`: one line, runc's shape, the container's own numbers.
#[test]
fn stats_once_reports_the_containers_cgroup() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let id = unique_id("evstats");
    let bundle = Bundle::new(&sh(
        "sleep 100",
        json!({"memory": {"limit": 67108864}, "pids": {"limit": 40}}),
    ))
    .unwrap();
    let _guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let out = oci.ok(["events", "--stats", &id]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let event: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(event["type"], "stats");
    assert_eq!(event["id"], id.as_str());
    let data = &event["data"];
    assert_eq!(data["pids"], json!({"current": 1, "limit": 40}), "{data}");
    assert_eq!(data["memory"]["usage"]["limit"], 67108864);
    assert!(
        data["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{data}"
    );
    assert!(
        data["cpu"]["usage"]["total"].as_u64().unwrap() > 0,
        "{data}"
    );
    for key in [
        "cpu",
        "cpuset",
        "memory",
        "pids",
        "blkio",
        "hugetlb",
        "intel_rdt",
        "network_interfaces",
    ] {
        assert!(data.get(key).is_some(), "runc's {key} key: {data}");
    }
}

/// `events --interval`: a stats line per interval until the container stops, then exit 0.
#[test]
fn interval_stream_ends_with_the_container() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let id = unique_id("evstream");
    let bundle = Bundle::new(&sh("sleep 100", json!({}))).unwrap();
    let _guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let mut events = oci
        .cmd(["events", "--interval", "100ms", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(events.stdout.take().unwrap()).lines();
    for _ in 0..3 {
        let line = lines.next().unwrap().unwrap();
        let event: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(event["type"], "stats", "{line}");
    }
    oci.ok(["kill", &id, "KILL"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = events.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "events did not end with the container"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    // A stopped container has no events to report.
    let out = oci.out(["events", "--stats", &id]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "cannot report events of container {id}: container is stopped"
        )),
        "{}",
        stderr(&out)
    );
    let out = oci.out(["events", "--interval", "0", &id]);
    assert!(
        stderr(&out).contains("duration interval must be greater than 0"),
        "{}",
        stderr(&out)
    );
    let out = oci.out(["events", "--interval", "5x", &id]);
    assert!(
        stderr(&out).contains("invalid duration \"5x\""),
        "{}",
        stderr(&out)
    );
}

/// A process killed by the OOM killer inside the container's memory limit is an `oom` line
/// (the watch is in place from `create`, before the process runs), and events ends with the
/// container.
#[test]
fn oom_kill_is_an_oom_event() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let id = unique_id("evoom");
    // busybox tail keeps the whole of /dev/zero (no newline ever comes) until it is killed.
    let bundle = Bundle::new(&sh(
        "exec tail /dev/zero",
        json!({"memory": {"limit": 33554432, "swap": 33554432}}),
    ))
    .unwrap();
    let _guard = oci.create(bundle.path(), &id);
    let mut events = oci
        .cmd(["events", "--interval", "1h", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = events.stdout.take().unwrap();
    // The watch is set before events prints or waits; give it a moment to get there.
    std::thread::sleep(Duration::from_millis(300));
    oci.ok(["start", &id]);
    let mut text = String::new();
    let reader = std::thread::spawn(move || {
        std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while events.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "no end to events after the OOM kill"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = reader.join().unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap_or("null")).unwrap();
    assert_eq!(line, json!({"type": "oom", "id": id}), "{text}");
    assert_eq!(oci.status(&id), "stopped");
}

/// The stats of a cgroup on this host's real cgroup2 hierarchy read through the manager as
/// a v2-only host would (core cpu.stat and PSI files, and what controllers it delegates:
/// hugetlb here), with the process's own usage in it.
#[test]
fn host_cgroup2_stats() {
    if !cgroups_support::root_or_skip() {
        return;
    }
    let Some(unified) = ocirun::cgroups::detect::Hierarchies::detect()
        .unwrap()
        .unified
    else {
        eprintln!("skipped: no cgroup2 hierarchy on this host");
        return;
    };
    let only_v2 = ocirun::cgroups::detect::Hierarchies {
        v1: vec![],
        unified: Some(unified),
    };
    let path = format!("/ocirun-v2stats-test-{}", std::process::id());
    let m = cgroups_support::Cleanup(Box::new(
        ocirun::cgroups::FsManager::new(
            &only_v2,
            &ocirun::cgroups::detect::ProcessCgroups::default(),
            &ocirun::cgroups::CgroupsPath::parse(Some(std::path::Path::new(&path)), "x").unwrap(),
        )
        .unwrap(),
    ));
    let mut busy = std::process::Command::new("sh")
        .args([
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 100",
        ])
        .spawn()
        .unwrap();
    m.0.apply(busy.id() as i32).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let stats = serde_json::to_value(m.0.stats().unwrap()).unwrap();
        if stats["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0 || Instant::now() > deadline {
            break stats;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    busy.kill().unwrap();
    busy.wait().unwrap();
    assert!(
        stats["cpu"]["usage"]["total"].as_u64().unwrap() > 0,
        "{stats}"
    );
    assert!(stats["cpu"]["psi"]["some"].is_object(), "{stats}");
    let listed = std::fs::read_to_string(
        only_v2
            .unified
            .as_ref()
            .unwrap()
            .mount_point
            .join("cgroup.controllers"),
    )
    .unwrap();
    if listed.split_whitespace().any(|c| c == "hugetlb") {
        m.0.set(
            &serde_json::from_str(r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}"#)
                .unwrap(),
        )
        .unwrap();
        assert!(stats["hugetlb"].is_object());
        let again = serde_json::to_value(m.0.stats().unwrap()).unwrap();
        assert!(again["hugetlb"]["2MB"].is_object(), "{again}");
    }
    // No memory controller delegated: nothing to watch, never fires.
    if !listed.split_whitespace().any(|c| c == "memory") {
        assert!(m.0.oom_watch().unwrap().fd().is_none());
    }
}
