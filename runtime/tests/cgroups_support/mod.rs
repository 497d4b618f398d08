//! Helpers shared by the cgroupfs manager tests (cgroups.rs, cgroups_resources.rs,
//! cgroups_events.rs): fake cgroup mounts on a plain directory (a bare cgroup2 one, and
//! cgroupfs-like v1/v2/hybrid hosts with their interface files), the root-and-cgroupfs
//! check, and drop guards for a sleeping process and a cgroup.
#![allow(dead_code, clippy::unwrap_used)] // not every test file uses every helper

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use ocirun::cgroups::detect::{Hierarchies, Hierarchy, ProcessCgroups, Version};
use ocirun::cgroups::{CgroupManager, CgroupsPath, FsManager};

/// Hierarchies with only a unified (cgroup2) mount at `root`, a plain directory: the manager's
/// logic without root.
pub fn fake_unified(root: &Path) -> Hierarchies {
    Hierarchies {
        v1: vec![],
        unified: Some(Hierarchy {
            version: Version::V2,
            mount_point: root.to_owned(),
            mount_root: PathBuf::from("/"),
        }),
    }
}

/// True when running as root with a mounted cgroup filesystem; otherwise prints why the test
/// is skipped.
pub fn root_or_skip() -> bool {
    let ok =
        nix::unistd::geteuid().is_root() && Hierarchies::detect().is_ok_and(|h| h.mode().is_some());
    if !ok {
        eprintln!("skipped: needs root and a mounted cgroup filesystem");
    }
    ok
}

/// Runs `cmd` with `input` on its stdin (as containerd's shim sends `update --resources -`),
/// collecting stdout and stderr.
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// A sleeping process, killed and reaped on drop.
pub struct Sleeper(Child);

impl Sleeper {
    pub fn new() -> Self {
        Self(Command::new("sleep").arg("300").spawn().unwrap())
    }
    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes the cgroup even when an assertion fails.
pub struct Cleanup(pub Box<dyn CgroupManager>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

/// The interface files a new cgroup of `controller` shows on cgroup v1, with the kernel's
/// defaults (cgroup-v1/*.rst; read from Linux 6.x).
fn v1_files(controller: &str) -> &'static [(&'static str, &'static str)] {
    const UNLIMITED: &str = "9223372036854771712";
    match controller {
        "memory" => &[
            ("memory.limit_in_bytes", UNLIMITED),
            ("memory.memsw.limit_in_bytes", UNLIMITED),
            ("memory.soft_limit_in_bytes", UNLIMITED),
            ("memory.kmem.limit_in_bytes", UNLIMITED),
            ("memory.kmem.tcp.limit_in_bytes", UNLIMITED),
            ("memory.swappiness", "60"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
            ),
            ("memory.use_hierarchy", "1"),
            ("memory.usage_in_bytes", "0"),
            ("memory.max_usage_in_bytes", "0"),
            ("memory.failcnt", "0"),
            ("memory.memsw.usage_in_bytes", "0"),
            ("memory.memsw.max_usage_in_bytes", "0"),
            ("memory.memsw.failcnt", "0"),
            ("memory.kmem.usage_in_bytes", "0"),
            ("memory.kmem.max_usage_in_bytes", "0"),
            ("memory.kmem.failcnt", "0"),
            ("memory.kmem.tcp.usage_in_bytes", "0"),
            ("memory.kmem.tcp.max_usage_in_bytes", "0"),
            ("memory.kmem.tcp.failcnt", "0"),
            ("memory.stat", "cache 0\nrss 0\n"),
            ("cgroup.event_control", ""),
        ],
        "cpu" => &[
            ("cpu.shares", "1024"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "-1"),
            ("cpu.cfs_burst_us", "0"),
            ("cpu.rt_period_us", "1000000"),
            ("cpu.rt_runtime_us", "0"),
            ("cpu.idle", "0"),
            (
                "cpu.stat",
                "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
            ),
        ],
        "cpuacct" => &[
            ("cpuacct.usage", "0"),
            ("cpuacct.usage_percpu", "0 0"),
            ("cpuacct.stat", "user 0\nsystem 0\n"),
            ("cpuacct.usage_all", "cpu user system\n0 0 0\n1 0 0\n"),
        ],
        "cpuset" => &[("cpuset.cpus", ""), ("cpuset.mems", "")],
        "pids" => &[("pids.max", "max"), ("pids.current", "0")],
        "blkio" => &[
            ("blkio.weight", "500"),
            ("blkio.weight_device", ""),
            ("blkio.leaf_weight", "500"),
            ("blkio.leaf_weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_bps_device", ""),
            ("blkio.throttle.read_iops_device", ""),
            ("blkio.throttle.write_iops_device", ""),
            ("blkio.throttle.io_serviced_recursive", "Total 0\n"),
            ("blkio.throttle.io_service_bytes_recursive", "Total 0\n"),
        ],
        "hugetlb" => &[
            ("hugetlb.2MB.limit_in_bytes", UNLIMITED),
            ("hugetlb.2MB.rsvd.limit_in_bytes", UNLIMITED),
            ("hugetlb.2MB.usage_in_bytes", "0"),
            ("hugetlb.2MB.max_usage_in_bytes", "0"),
            ("hugetlb.2MB.failcnt", "0"),
        ],
        "net_cls" => &[("net_cls.classid", "0")],
        "net_prio" => &[("net_prio.ifpriomap", "lo 0\n"), ("net_prio.prioidx", "1")],
        "rdma" => &[("rdma.max", ""), ("rdma.current", "")],
        "devices" => &[
            ("devices.allow", ""),
            ("devices.deny", ""),
            ("devices.list", "a *:* rwm\n"),
        ],
        "freezer" => &[("freezer.state", "THAWED")],
        _ => &[],
    }
}

/// The same for cgroup v2 (cgroup-v2.rst), core files included.
fn v2_files(controller: &str) -> &'static [(&'static str, &'static str)] {
    match controller {
        "" => &[
            ("cgroup.controllers", ""),
            ("cgroup.subtree_control", ""),
            ("cgroup.events", "populated 0\nfrozen 0\n"),
            ("cgroup.freeze", "0"),
            ("cgroup.max.depth", "max"),
            ("cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"),
            ("cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
            ("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
            ("io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
        ],
        "memory" => &[
            ("memory.max", "max"),
            ("memory.swap.max", "max"),
            ("memory.low", "0"),
            ("memory.high", "max"),
            ("memory.current", "0"),
            ("memory.peak", "0"),
            ("memory.swap.current", "0"),
            ("memory.stat", "anon 0\nfile 0\n"),
            ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
        ],
        "cpu" => &[
            ("cpu.weight", "100"),
            ("cpu.max", "max 100000"),
            ("cpu.max.burst", "0"),
            ("cpu.idle", "0"),
        ],
        "cpuset" => &[("cpuset.cpus", ""), ("cpuset.mems", "")],
        "pids" => &[("pids.max", "max"), ("pids.current", "0")],
        "io" => &[("io.weight", "default 100"), ("io.max", ""), ("io.stat", "")],
        "hugetlb" => &[
            ("hugetlb.2MB.max", "max"),
            ("hugetlb.2MB.rsvd.max", "max"),
            ("hugetlb.2MB.current", "0"),
            ("hugetlb.2MB.rsvd.current", "0"),
            ("hugetlb.2MB.events", "max 0\n"),
            ("hugetlb.2MB.rsvd.events", "max 0\n"),
        ],
        "rdma" => &[("rdma.max", ""), ("rdma.current", "")],
        "misc" => &[("misc.max", "")],
        _ => &[],
    }
}

/// A cgroupfs-like host on a plain directory: v1 hierarchies named after their controllers
/// (`ROOT/cpu,cpuacct`) and/or a cgroup2 one (`ROOT/unified`) whose root lists its
/// controllers in `cgroup.controllers`. The kernel fills a new cgroup with its controllers'
/// interface files on mkdir; a plain directory cannot, so [`FakeHost::cgroup`] makes a
/// cgroup with them, as a test that writes resources needs.
pub struct FakeHost {
    pub dir: tempfile::TempDir,
    pub hierarchies: Hierarchies,
}

impl FakeHost {
    pub fn new(v1: &[&[&str]], v2: Option<&[&str]>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut hierarchies = Hierarchies::default();
        for controllers in v1 {
            let mount_point = dir.path().join(controllers.join(","));
            std::fs::create_dir(&mount_point).unwrap();
            // A root cpuset lists every cpu and node; children start empty.
            if controllers.contains(&"cpuset") {
                std::fs::write(mount_point.join("cpuset.cpus"), "0-1").unwrap();
                std::fs::write(mount_point.join("cpuset.mems"), "0").unwrap();
            }
            hierarchies.v1.push(Hierarchy {
                version: Version::V1 {
                    controllers: controllers.iter().map(|c| c.to_string()).collect(),
                },
                mount_point,
                mount_root: PathBuf::from("/"),
            });
        }
        if let Some(controllers) = v2 {
            let mount_point = dir.path().join("unified");
            std::fs::create_dir(&mount_point).unwrap();
            std::fs::write(
                mount_point.join("cgroup.controllers"),
                controllers.join(" "),
            )
            .unwrap();
            hierarchies.unified = Some(Hierarchy {
                version: Version::V2,
                mount_point,
                mount_root: PathBuf::from("/"),
            });
        }
        Self { dir, hierarchies }
    }

    /// A v2-only host with these controllers.
    pub fn v2(controllers: &[&str]) -> Self {
        Self::new(&[], Some(controllers))
    }

    /// The manager for the absolute `cgroups_path`.
    pub fn manager(&self, cgroups_path: &str) -> FsManager {
        let path = CgroupsPath::parse(Some(Path::new(cgroups_path)), "x").unwrap();
        FsManager::new(&self.hierarchies, &ProcessCgroups::default(), &path).unwrap()
    }

    /// Makes the cgroup `cgroups_path` in every hierarchy with the interface files of the
    /// controllers there; returns its directories.
    pub fn cgroup(&self, cgroups_path: &str) -> Vec<PathBuf> {
        let below = cgroups_path.trim_start_matches('/');
        let mut dirs = Vec::new();
        for h in self.hierarchies.all() {
            let dir = h.mount_point.join(below);
            std::fs::create_dir_all(&dir).unwrap();
            let files: Vec<(&str, &str)> = match &h.version {
                Version::V1 { controllers } => controllers
                    .iter()
                    .flat_map(|c| v1_files(c).iter().copied())
                    .collect(),
                Version::V2 => {
                    let listed =
                        std::fs::read_to_string(h.mount_point.join("cgroup.controllers")).unwrap();
                    std::iter::once("")
                        .chain(listed.split_whitespace())
                        .flat_map(|c| v2_files(c).iter().copied())
                        .collect()
                }
            };
            for (file, value) in files {
                std::fs::write(dir.join(file), value).unwrap();
            }
            dirs.push(dir);
        }
        dirs
    }

    /// The directory of `cgroups_path` in the hierarchy named `name` (`memory`,
    /// `cpu,cpuacct`, `unified`).
    pub fn dir(&self, name: &str, cgroups_path: &str) -> PathBuf {
        self.dir
            .path()
            .join(name)
            .join(cgroups_path.trim_start_matches('/'))
    }
}
