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
            Config::new()
                .remove_namespace("mount")
                .set("/linux/rootfsPropagation", json!("private")),
            "linux.rootfsPropagation: needs a new mount namespace",
        ),
    ];
    for (config, expect) in cases {
        let err = oci.create_fails(&config, "nsbad");
        assert!(err.contains(expect), "{expect}: {err}");
    }
}

/// Mount points at or under `dir` in the runtime's mount table.
fn host_mounts_under(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|p| std::path::Path::new(p).starts_with(dir))
        .collect()
}

/// config-linux.md "Namespaces": a type not listed is inherited, mount included (it was
/// refused). The container shares the runtime's mount namespace: it is entered by chroot,
/// its mounts are the host's to see while it lives, `exec` lands in its root too, and delete
/// unmounts everything create mounted there (runc leaves its /proc behind). The host's own
/// mounts keep their propagation and a read-only root stays the container's.
#[test]
fn no_mount_namespace_shares_the_runtimes_and_delete_cleans_it() {
    if !is_root() {
        return;
    }
    let host_root_propagation = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .find(|l| l.split(' ').nth(4) == Some("/"))
            .map(|l| {
                l.split(" - ")
                    .next()
                    .unwrap()
                    .split(' ')
                    .skip(6)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap()
    };
    let propagation_before = host_root_propagation();
    let oci = Ocirun::new();
    let config = Config::probe(&["report", "pause"]).remove_namespace("mount");
    let bundle = fixtures::Bundle::new(&config).unwrap();
    let rootfs = bundle.rootfs_path().canonicalize().unwrap();
    let id = unique_id("sharedmnt");
    let guard = oci.create(bundle.path(), &id);
    let pid = oci.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap(),
        std::fs::read_link("/proc/self/ns/mnt").unwrap(),
        "the runtime's mount namespace"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        rootfs
    );
    let mounted = host_mounts_under(&rootfs);
    assert!(
        mounted.iter().any(|p| p.ends_with("/proc")) && mounted.iter().any(|p| p.ends_with("/dev")),
        "the container's mounts are in the shared namespace: {mounted:?}"
    );
    // root.readonly is on the container's own bind, not the host's filesystem.
    assert!(std::fs::write(bundle.path().join("written-by-host"), "x").is_ok());
    let out = oci.ok([
        "exec",
        &id,
        "/bin/sh",
        "-c",
        "cat /etc/hostname 2>/dev/null; ls /bin/probe",
    ]);
    assert!(
        out.contains("/bin/probe"),
        "exec is in the container's root: {out}"
    );
    oci.ok(["kill", &id, "KILL"]);
    drop(guard);
    assert!(!oci.state_dir(&id).exists());
    assert_eq!(
        host_mounts_under(&rootfs),
        Vec::<String>::new(),
        "delete unmounted all"
    );
    assert_eq!(
        host_root_propagation(),
        propagation_before,
        "/ kept its propagation"
    );
}

/// A mount namespace joined by path (it was refused): the container's mounts are made there,
/// not in the runtime's, and delete unmounts them there.
#[test]
fn a_joined_mount_namespace_gets_the_mounts_and_gets_them_back() {
    if !is_root() {
        return;
    }
    // A mount namespace of our own making: a private copy of the runtime's.
    let mut holder = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sleep", "100"])
        .spawn()
        .unwrap();
    let ns_pid = holder.id();
    let ns = format!("/proc/{ns_pid}/ns/mnt");
    // Until unshare has exec'd sleep, the link is still ours.
    while std::fs::read_link(&ns).ok() == std::fs::read_link("/proc/self/ns/mnt").ok() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mounts_in_ns = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(format!("/proc/{ns_pid}/mountinfo"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|p| std::path::Path::new(p).starts_with(dir))
            .collect()
    };
    let oci = Ocirun::new();
    let config = Config::probe(&["report", "pause"])
        .remove_namespace("mount")
        .add_namespace("mount", Some(&ns));
    let bundle = fixtures::Bundle::new(&config).unwrap();
    let rootfs = bundle.rootfs_path().canonicalize().unwrap();
    let id = unique_id("joinmnt");
    let guard = oci.create(bundle.path(), &id);
    let pid = oci.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap(),
        std::fs::read_link(&ns).unwrap()
    );
    assert!(
        !mounts_in_ns(&rootfs).is_empty(),
        "mounted in the joined namespace"
    );
    assert!(
        host_mounts_under(&rootfs).is_empty(),
        "nothing in the runtime's"
    );
    drop(guard);
    assert_eq!(
        mounts_in_ns(&rootfs),
        Vec::<String>::new(),
        "delete unmounted them there"
    );
    let _ = holder.kill();
    let _ = holder.wait();
}

/// `ip ARGS` on the host, asserting success; stdout.
fn ip(args: &[&str]) -> String {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deletes a host veth pair when dropped (when the test failed before the move).
struct Veth(String);

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.0])
            .output();
    }
}

/// config-linux.md "Network Devices": a host device is moved into the container's network
/// namespace and renamed (or numbered by a `%d` template), keeps its permanent global
/// addresses, is up; a name taken in the container is an error (it was refused outright).
#[test]
fn net_devices_move_in_with_their_addresses() {
    if !is_root() {
        return;
    }
    if which_ip().is_none() {
        eprintln!("skipped: needs ip(8) from iproute2");
        return;
    }
    let n = std::process::id() % 10000;
    let (a, b) = (format!("ocv{n}a"), format!("ocv{n}b"));
    ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
    let _veth = Veth(b.clone());
    ip(&["addr", "add", "10.213.7.1/24", "dev", &a]);
    ip(&["addr", "add", "fd00:213::1/64", "dev", &a, "nodad"]);

    let oci = Ocirun::new();
    let config = Config::probe(&["report", "pause"]).set(
        "/linux/netDevices",
        json!({ a.as_str(): {"name": "ctr%d"} }),
    );
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("netdev");
    let _guard = oci.create(bundle.path(), &id);
    let pid = oci.state(&id)["pid"].as_i64().unwrap().to_string();
    let netns = format!("/proc/{pid}/ns/net");
    let inside = String::from_utf8_lossy(
        &std::process::Command::new("nsenter")
            .args([
                &format!("--net={netns}"),
                "ip",
                "-o",
                "addr",
                "show",
                "dev",
                "ctr0",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(inside.contains("inet 10.213.7.1/24"), "{inside}");
    assert!(inside.contains("inet6 fd00:213::1/64"), "{inside}");
    let link = String::from_utf8_lossy(
        &std::process::Command::new("nsenter")
            .args([
                &format!("--net={netns}"),
                "ip",
                "-o",
                "link",
                "show",
                "dev",
                "ctr0",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(link.contains("UP"), "set up: {link}");
    assert!(
        !ip(&["-o", "link"]).contains(&format!("{a}@")),
        "gone from the host"
    );

    // A name the container already has (its loopback) is an error naming the device.
    let taken = oci.create_fails(
        &Config::probe(&["report"]).set("/linux/netDevices", json!({ b.as_str(): {"name": "lo"} })),
        "netdev-taken",
    );
    assert!(
        taken.contains(&format!("linux.netDevices.{b}"))
            && taken.contains("already has a device named lo"),
        "{taken}"
    );
    assert!(
        ip(&["-o", "link"]).contains(&format!("{b}@")),
        "a failed create leaves it on the host"
    );
}

fn which_ip() -> Option<std::path::PathBuf> {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

#[test]
fn net_devices_need_the_containers_own_network_namespace() {
    let oci = Ocirun::new();
    for (config, expect) in [
        (
            Config::new()
                .remove_namespace("network")
                .set("/linux/netDevices", json!({"eth9": {}})),
            "linux.netDevices: needs a network namespace",
        ),
        (
            Config::new()
                .add_namespace("network", Some("/proc/self/ns/net"))
                .set("/linux/netDevices", json!({"eth9": {}})),
            "is the host's",
        ),
    ] {
        let err = oci.create_fails(&config, "netdev-ns");
        assert!(err.contains(expect), "{expect}: {err}");
    }
}
