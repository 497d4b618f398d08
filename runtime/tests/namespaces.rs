//! config-linux.md "Namespaces", "User namespace mappings", "Offset for Time Namespace": each
//! kind is new when listed without a path, inherited when not listed, joined when given a path;
//! checked from inside (the probe's report) and from outside (/proc/PID/ns).
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, ns_inode, unique_id, Ocirun};
use fixtures::{Bundle, Config};
use serde_json::json;

/// (config type, /proc name)
const KINDS: [(&str, &str); 8] = [
    ("pid", "pid"),
    ("network", "net"),
    ("mount", "mnt"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("user", "user"),
    ("cgroup", "cgroup"),
    ("time", "time"),
];

#[test]
fn each_listed_kind_is_new_and_the_others_inherited() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let me = std::process::id().to_string();
    // The default config has pid, network, ipc, uts, mount; add cgroup and time.
    let config = Config::probe(&["report"])
        .add_namespace("cgroup", None)
        .add_namespace("time", None);
    let r = oci.run_report(&config, "ns");
    for (kind, proc_name) in KINDS {
        let host = ns_inode(&me, proc_name);
        let inside = r.namespaces[proc_name];
        if config.has_namespace(kind) {
            assert_ne!(inside, host, "{kind} must be a new namespace");
        } else {
            assert_eq!(inside, host, "{kind} must be inherited");
        }
    }
}

#[test]
fn created_container_is_in_its_namespaces_seen_from_outside() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("nsout");
    let _guard = oci.create(bundle.path(), &id);
    let pid = oci.state(&id)["pid"].as_i64().unwrap().to_string();
    let me = std::process::id().to_string();
    for k in ["pid", "net", "ipc", "uts", "mnt"] {
        assert_ne!(ns_inode(&pid, k), ns_inode(&me, k), "{k}");
    }
    for k in ["user", "cgroup"] {
        assert_eq!(ns_inode(&pid, k), ns_inode(&me, k), "{k}");
    }
}

#[test]
fn joining_namespaces_by_path() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let first = unique_id("nsjoin");
    let _guard = oci.create(bundle.path(), &first);
    let pid = oci.state(&first)["pid"].as_i64().unwrap().to_string();
    let config = Config::probe(&["report"])
        .add_namespace("network", Some(&format!("/proc/{pid}/ns/net")))
        .add_namespace("ipc", Some(&format!("/proc/{pid}/ns/ipc")))
        .add_namespace("uts", Some(&format!("/proc/{pid}/ns/uts")))
        .remove("/hostname");
    let r = oci.run_report(&config, "ns");
    for k in ["net", "ipc", "uts"] {
        assert_eq!(r.namespaces[k], ns_inode(&pid, k), "{k} joined");
    }
    assert_ne!(r.namespaces["pid"], ns_inode(&pid, "pid"), "pid still new");
}

#[test]
fn user_namespace_with_mappings() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    // Keep the mounts a user namespace may make (no sysfs/cgroup: they need the host's view).
    let config = Config::probe(&["report"])
        .user_namespace(100_000, 100_000, 65_536)
        .remove_mount("/sys/fs/cgroup")
        .remove_mount("/sys");
    let r = oci.run_report(&config, "ns");
    assert_ne!(
        r.namespaces["user"],
        ns_inode(&std::process::id().to_string(), "user")
    );
    assert_eq!(r.uid_map, [[0, 100_000, 65_536]]);
    assert_eq!(r.gid_map, [[0, 100_000, 65_536]]);
    assert_eq!(r.uid, 0, "root inside");
}

#[test]
fn time_namespace_offsets() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let day = 86_400.0;
    let config = Config::new()
        .args(["/bin/cat", "/proc/uptime"])
        .add_namespace("time", None)
        .set(
            "/linux/timeOffsets",
            json!({"boottime": {"secs": 86_400, "nanosecs": 0}}),
        );
    let host: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let out = oci.run_bundle(&config, "time");
    let text = String::from_utf8_lossy(&out.stdout);
    let inside: f64 = text.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        inside - host > day - 60.0 && inside - host < day + 60.0,
        "uptime {inside} vs host {host}"
    );
}

#[test]
fn unsupported_combinations_are_errors() {
    let oci = Ocirun::new();
    let cases = [
        (
            Config::new().remove_namespace("uts"),
            "hostname: setting the hostname needs a uts namespace",
        ),
        (
            Config::new().add_namespace("user", None),
            "linux.uidMappings: a new user namespace needs",
        ),
        (
            Config::new().set("/linux/timeOffsets", json!({"boottime": {"secs": 1}})),
            "linux.timeOffsets: offsets need a new time namespace",
        ),
        (
            Config::new().remove_namespace("mount"),
            "a new mount namespace is required",
        ),
    ];
    for (config, expect) in cases {
        let err = oci.create_fails(&config, "nsbad");
        assert!(err.contains(expect), "{expect}: {err}");
    }
}
