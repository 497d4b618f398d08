//! `linux.cgroupsPath` and `linux.resources`, read from the container's own cgroup files on the
//! host (config-linux.md "Control groups", "Cgroups Path" and every resource section).
//!
//! The files are read from outside, in the cgroup the kernel says the container process is in
//! (`/proc/<pid>/cgroup`), under the host's cgroupfs mounts: on a v1 host each controller's
//! hierarchy, on a v2 host the unified one, on a hybrid host whichever holds the controller
//! (here hugetlb lives in the cgroup2 hierarchy beside v1 controllers). The reader takes a root
//! directory and the mount table as text, so unit tests run it on cgroupfs-like trees.
//!
//! Each resource field is a [`Knob`]: its v1 file, its v2 file, and the content each must have
//! for the configured value. A field the host has no controller for is skipped with that
//! reason; a file that is not there in a controller the host has is a failure (the runtime
//! MUST enable what it needs, config-linux.md "Unified").

use super::{cite, Input};
use crate::verdict::{Check, Status};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A cgroup hierarchy version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// One resource field and the files that show it.
pub struct Knob {
    /// Path under `linux/resources` (`memory/limit`).
    pub field: &'static str,
    /// The v1 controller and file.
    pub v1: Option<(&'static str, &'static str)>,
    /// The v2 controller and file (v2 files are named after their controller).
    pub v2: Option<(&'static str, &'static str)>,
    /// The contents the file may have (trimmed), from `linux.resources`; empty: not judged.
    pub want: fn(&Value, Version) -> Vec<String>,
}

fn num(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_u64().map(|u| u as i64))
}

/// v1 shows "no limit" as the largest page-aligned value, v2 as `max`.
fn limit(v: Option<i64>, version: Version) -> Vec<String> {
    match (v, version) {
        (None, _) => vec![],
        (Some(-1), Version::V1) => vec!["9223372036854771712".into()],
        (Some(-1), Version::V2) => vec!["max".into()],
        (Some(n), _) => vec![n.to_string()],
    }
}

fn plain(v: Option<i64>) -> Vec<String> {
    v.map(|n| vec![n.to_string()]).unwrap_or_default()
}

/// Every `linux.resources` field that leaves a trace in a cgroup file.
pub const KNOBS: &[Knob] = &[
    Knob {
        field: "memory/limit",
        v1: Some(("memory", "memory.limit_in_bytes")),
        v2: Some(("memory", "memory.max")),
        want: |r, v| limit(num(&r["memory"]["limit"]), v),
    },
    Knob {
        field: "memory/reservation",
        v1: Some(("memory", "memory.soft_limit_in_bytes")),
        v2: Some(("memory", "memory.low")),
        want: |r, v| limit(num(&r["memory"]["reservation"]), v),
    },
    Knob {
        // v1: memory+swap; v2: swap alone (what runc and crun write: swap - limit).
        field: "memory/swap",
        v1: Some(("memory", "memory.memsw.limit_in_bytes")),
        v2: Some(("memory", "memory.swap.max")),
        want: |r, v| {
            let swap = num(&r["memory"]["swap"]);
            match (v, swap, num(&r["memory"]["limit"])) {
                (Version::V2, Some(s), Some(l)) if s > 0 && l > 0 => vec![(s - l).to_string()],
                _ => limit(swap, v),
            }
        },
    },
    Knob {
        field: "memory/swappiness",
        v1: Some(("memory", "memory.swappiness")),
        v2: None,
        want: |r, _| plain(num(&r["memory"]["swappiness"])),
    },
    Knob {
        field: "memory/disableOOMKiller",
        v1: Some(("memory", "memory.oom_control")),
        v2: None,
        want: |r, _| match r["memory"]["disableOOMKiller"].as_bool() {
            // The first line of memory.oom_control.
            Some(d) => vec![format!("oom_kill_disable {}", u8::from(d))],
            None => vec![],
        },
    },
    Knob {
        field: "cpu/shares",
        v1: Some(("cpu", "cpu.shares")),
        v2: Some(("cpu", "cpu.weight")),
        want: |r, v| match (num(&r["cpu"]["shares"]), v) {
            (None, _) => vec![],
            (Some(s), Version::V1) => vec![s.to_string()],
            // The spec gives no v2 mapping; runc's linear one and crun's (since 1.14)
            // logarithmic one are both what runtimes write.
            (Some(s), Version::V2) => {
                let linear = 1 + ((s - 2) * 9999) / 262142;
                let l = (s as f64).log2();
                let log = (10f64.powf((l * l + 125.0 * l) / 612.0 - 7.0 / 34.0)).ceil() as i64;
                vec![linear.to_string(), log.to_string()]
            }
        },
    },
    Knob {
        field: "cpu/quota",
        v1: Some(("cpu", "cpu.cfs_quota_us")),
        v2: Some(("cpu", "cpu.max")),
        want: |r, v| {
            let quota = num(&r["cpu"]["quota"]);
            match v {
                Version::V1 => plain(quota),
                Version::V2 => {
                    let period = num(&r["cpu"]["period"]).unwrap_or(100_000);
                    match quota {
                        None => vec![],
                        Some(q) if q < 0 => vec![format!("max {period}")],
                        Some(q) => vec![format!("{q} {period}")],
                    }
                }
            }
        },
    },
    Knob {
        field: "cpu/period",
        v1: Some(("cpu", "cpu.cfs_period_us")),
        v2: Some(("cpu", "cpu.max")),
        want: |r, v| {
            let period = num(&r["cpu"]["period"]);
            match (v, period) {
                (_, None) => vec![],
                (Version::V1, p) => plain(p),
                (Version::V2, Some(p)) => match num(&r["cpu"]["quota"]) {
                    Some(q) if q > 0 => vec![format!("{q} {p}")],
                    _ => vec![format!("max {p}")],
                },
            }
        },
    },
    Knob {
        field: "cpu/burst",
        v1: Some(("cpu", "cpu.cfs_burst_us")),
        v2: Some(("cpu", "cpu.max.burst")),
        want: |r, _| plain(num(&r["cpu"]["burst"])),
    },
    Knob {
        field: "cpu/realtimeRuntime",
        v1: Some(("cpu", "cpu.rt_runtime_us")),
        v2: None,
        want: |r, _| plain(num(&r["cpu"]["realtimeRuntime"])),
    },
    Knob {
        field: "cpu/realtimePeriod",
        v1: Some(("cpu", "cpu.rt_period_us")),
        v2: None,
        want: |r, _| plain(num(&r["cpu"]["realtimePeriod"])),
    },
    Knob {
        field: "cpu/cpus",
        v1: Some(("cpuset", "cpuset.cpus")),
        v2: Some(("cpuset", "cpuset.cpus")),
        want: |r, _| {
            r["cpu"]["cpus"]
                .as_str()
                .map(|s| vec![s.to_string()])
                .unwrap_or_default()
        },
    },
    Knob {
        field: "cpu/mems",
        v1: Some(("cpuset", "cpuset.mems")),
        v2: Some(("cpuset", "cpuset.mems")),
        want: |r, _| {
            r["cpu"]["mems"]
                .as_str()
                .map(|s| vec![s.to_string()])
                .unwrap_or_default()
        },
    },
    Knob {
        field: "cpu/idle",
        v1: Some(("cpu", "cpu.idle")),
        v2: Some(("cpu", "cpu.idle")),
        want: |r, _| plain(num(&r["cpu"]["idle"])),
    },
    Knob {
        field: "pids/limit",
        v1: Some(("pids", "pids.max")),
        v2: Some(("pids", "pids.max")),
        want: |r, v| match num(&r["pids"]["limit"]) {
            Some(n) if n < 0 => vec!["max".into()],
            n => limit(n, v),
        },
    },
    Knob {
        field: "blockIO/weight",
        v1: Some(("blkio", "blkio.bfq.weight")),
        v2: Some(("io", "io.bfq.weight")),
        want: |r, v| match (num(&r["blockIO"]["weight"]), v) {
            (None, _) => vec![],
            (Some(w), Version::V1) => vec![w.to_string()],
            (Some(w), Version::V2) => vec![format!("default {w}")],
        },
    },
    Knob {
        field: "blockIO/throttleReadBpsDevice",
        v1: Some(("blkio", "blkio.throttle.read_bps_device")),
        v2: Some(("io", "io.max")),
        want: |r, v| throttle(&r["blockIO"]["throttleReadBpsDevice"], v, "rbps"),
    },
    Knob {
        field: "blockIO/throttleWriteBpsDevice",
        v1: Some(("blkio", "blkio.throttle.write_bps_device")),
        v2: Some(("io", "io.max")),
        want: |r, v| throttle(&r["blockIO"]["throttleWriteBpsDevice"], v, "wbps"),
    },
    Knob {
        field: "blockIO/throttleReadIOPSDevice",
        v1: Some(("blkio", "blkio.throttle.read_iops_device")),
        v2: Some(("io", "io.max")),
        want: |r, v| throttle(&r["blockIO"]["throttleReadIOPSDevice"], v, "riops"),
    },
    Knob {
        field: "blockIO/throttleWriteIOPSDevice",
        v1: Some(("blkio", "blkio.throttle.write_iops_device")),
        v2: Some(("io", "io.max")),
        want: |r, v| throttle(&r["blockIO"]["throttleWriteIOPSDevice"], v, "wiops"),
    },
    Knob {
        field: "hugepageLimits",
        v1: Some(("hugetlb", "hugetlb.2MB.limit_in_bytes")),
        v2: Some(("hugetlb", "hugetlb.2MB.max")),
        want: |r, _| {
            let two_mb = r["hugepageLimits"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| h["pageSize"] == "2MB");
            two_mb
                .and_then(|h| num(&h["limit"]))
                .map(|n| vec![n.to_string()])
                .unwrap_or_default()
        },
    },
    Knob {
        field: "network/classID",
        v1: Some(("net_cls", "net_cls.classid")),
        v2: None,
        want: |r, _| plain(num(&r["network"]["classID"])),
    },
];

/// A throttle list's line for the first device: v1 `MAJ:MIN RATE`, v2 io.max's
/// `MAJ:MIN ... key=RATE ...` (the other keys of that line are not this field's).
fn throttle(list: &Value, v: Version, key: &str) -> Vec<String> {
    let Some(d) = list.as_array().and_then(|l| l.first()) else {
        return vec![];
    };
    let (Some(major), Some(minor), Some(rate)) =
        (num(&d["major"]), num(&d["minor"]), num(&d["rate"]))
    else {
        return vec![];
    };
    match v {
        Version::V1 => vec![format!("{major}:{minor} {rate}")],
        Version::V2 => vec![format!("{major}:{minor} *{key}={rate}*")],
    }
}

/// Whether `seen` is one of `want` (`*x*` in a pattern: a line holding the device prefix and
/// the `key=value` word).
fn matches(want: &[String], seen: &str) -> bool {
    want.iter().any(|w| match w.split_once(" *") {
        Some((dev, kv)) => {
            let kv = kv.trim_end_matches('*');
            seen.lines()
                .any(|l| l.starts_with(&format!("{dev} ")) && l.split(' ').any(|x| x == kv))
        }
        None => {
            // memory.oom_control and similar: the first line is what is configured.
            seen == w.as_str() || seen.lines().next() == Some(w.as_str())
        }
    })
}

/// The cgroup hierarchies of a mount table: v1 controller → mount point, and the v2 one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchies {
    pub v1: BTreeMap<String, PathBuf>,
    pub v2: Option<PathBuf>,
}

impl Hierarchies {
    /// From `/proc/self/mountinfo` text.
    pub fn parse(mountinfo: &str) -> Self {
        let mut out = Hierarchies::default();
        for l in mountinfo.lines() {
            let Some((pre, post)) = l.split_once(" - ") else {
                continue;
            };
            let mut post = post.split(' ');
            let (fstype, _source, options) = (post.next(), post.next(), post.next());
            let Some(point) = pre.split(' ').nth(4) else {
                continue;
            };
            match fstype {
                Some("cgroup2") => out.v2 = Some(PathBuf::from(point)),
                Some("cgroup") => {
                    for o in options.unwrap_or_default().split(',') {
                        if !matches!(o, "rw" | "ro" | "relatime" | "nosuid" | "nodev" | "noexec")
                            && !o.contains('=')
                        {
                            out.v1.insert(o.to_string(), PathBuf::from(point));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// Where a controller's files for a process are, and in which version: its v1 hierarchy if the
/// host mounts one, else the v2 hierarchy if that offers the controller. `root` is prepended to
/// the mount points (a test's tree; `/` on a host).
pub fn locate(
    root: &Path,
    h: &Hierarchies,
    proc_cgroup: &str,
    v1: Option<&str>,
    v2: Option<&str>,
) -> Option<(Version, PathBuf)> {
    let path_for = |pred: &dyn Fn(&str, &str) -> bool| {
        proc_cgroup.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (id, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            pred(id, ctrls).then(|| path.trim_start_matches('/').to_string())
        })
    };
    if let Some(c) = v1 {
        if let Some(mount) = h.v1.get(c) {
            let path = path_for(&|_, ctrls| ctrls.split(',').any(|x| x == c))?;
            return Some((
                Version::V1,
                root.join(mount.strip_prefix("/").unwrap_or(mount))
                    .join(path),
            ));
        }
    }
    let (c, mount) = (v2?, h.v2.as_ref()?);
    let base = root.join(mount.strip_prefix("/").unwrap_or(mount));
    let offered = std::fs::read_to_string(base.join("cgroup.controllers")).unwrap_or_default();
    if !offered.split_whitespace().any(|x| x == c) {
        return None;
    }
    let path = path_for(&|id, ctrls| id == "0" && ctrls.is_empty())?;
    Some((Version::V2, base.join(path)))
}

/// The files of every knob the config sets, read for a process: `knob field → (version,
/// content or "(absent)")`; a knob whose controller the host lacks is left out.
pub fn read_files(
    root: &Path,
    mountinfo: &str,
    proc_cgroup: &str,
    resources: &Value,
) -> BTreeMap<String, String> {
    let h = Hierarchies::parse(mountinfo);
    let mut out = BTreeMap::new();
    for k in KNOBS {
        if super::at(resources, k.field).is_null() {
            continue;
        }
        let Some((version, dir)) =
            locate(root, &h, proc_cgroup, k.v1.map(|x| x.0), k.v2.map(|x| x.0))
        else {
            continue;
        };
        let file = match version {
            Version::V1 => k.v1.map(|x| x.1),
            Version::V2 => k.v2.map(|x| x.1),
        };
        let Some(file) = file else { continue };
        let content = std::fs::read_to_string(dir.join(file))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "(absent)".into());
        let v = if version == Version::V1 { "v1" } else { "v2" };
        out.insert(k.field.to_string(), format!("{v} {file}\n{content}"));
    }
    out
}

/// The row of `linux/resources/<knob>`: the knob's file holds the configured value.
pub fn knob(input: &Input, out: &mut Vec<Check>) {
    let Some(field) = input.field.strip_prefix("linux/resources/") else {
        return;
    };
    let resources = &input.config["linux"]["resources"];
    let Some(k) = KNOBS.iter().find(|k| k.field == field) else {
        return;
    };
    if super::at(resources, field).is_null() {
        return;
    }
    let what = format!("linux.resources.{}", field.replace('/', "."));
    let ids = input.refs.ids(cite::CREATE_APPLY);
    let Some(seen) = input.outside.cgroup_files.get(field) else {
        out.push(Check::with(
            what,
            Status::Skip,
            ids,
            "a cgroup file to read",
            "the host has no controller for it (or the container's cgroup is unknown)",
        ));
        return;
    };
    let (head, content) = seen.split_once('\n').unwrap_or((seen, ""));
    let version = if head.starts_with("v1") {
        Version::V1
    } else {
        Version::V2
    };
    let want = (k.want)(resources, version);
    if want.is_empty() {
        return;
    }
    out.push(Check::with(
        format!("{what} ({head})"),
        if matches(&want, content) {
            Status::Pass
        } else {
            Status::Fail
        },
        ids,
        want.join(" or "),
        content,
    ));
}

/// `pids.limit` by its effect: the probe forks past the limit and must be refused (EAGAIN)
/// before it gets there.
pub fn probe_pids(config: &Value, steps: &mut Vec<String>) {
    if let Some(n) =
        num(&config["linux"]["resources"]["pids"]["limit"]).filter(|n| (1..=64).contains(n))
    {
        steps.push(format!("fork:{}", n + 3));
    }
}

pub fn pids_effect(input: &Input, out: &mut Vec<Check>) {
    knob(input, out);
    let Some(n) =
        num(&input.config["linux"]["resources"]["pids"]["limit"]).filter(|n| (1..=64).contains(n))
    else {
        return;
    };
    let step = format!("fork:{}", n + 3);
    let seen = input.report.actions.get(&step).cloned().unwrap_or_default();
    // The probe itself is one of the limit's tasks: at most n - 1 children.
    let forked: i64 = seen
        .split(' ')
        .next()
        .and_then(|k| k.parse().ok())
        .unwrap_or(i64::MAX);
    out.push(Check::with(
        format!("linux.resources.pids.limit {n}: forking past it fails"),
        if forked < n && seen.ends_with("EAGAIN") {
            Status::Pass
        } else {
            Status::Fail
        },
        input.refs.ids(cite::CREATE_APPLY),
        format!("fewer than {n} children, then EAGAIN"),
        seen,
    ));
}

/// The device cgroup by its effect: every `linux.devices` entry is opened, and must open
/// exactly when the `linux.resources.devices` rules allow reading it (last match wins).
pub fn probe_device_rules(config: &Value, steps: &mut Vec<String>) {
    if config["linux"]["resources"]["devices"].is_array() {
        for d in config["linux"]["devices"].as_array().into_iter().flatten() {
            if let Some(p) = d["path"].as_str() {
                steps.push(format!("open:{p}"));
            }
        }
    }
}

/// Whether the rules allow `access` to a device (config-linux.md "Allowed Device List": rules
/// are applied in order, the last that matches decides).
pub fn rules_allow(rules: &[Value], kind: &str, major: i64, minor: i64, access: char) -> bool {
    let mut allowed = false;
    for r in rules {
        let kind_ok =
            matches!(r["type"].as_str(), None | Some("a")) || r["type"].as_str() == Some(kind);
        let major_ok = num(&r["major"]).is_none_or(|m| m == major);
        let minor_ok = num(&r["minor"]).is_none_or(|m| m == minor);
        let access_ok = r["access"].as_str().is_none_or(|a| a.contains(access));
        if kind_ok && major_ok && minor_ok && access_ok {
            allowed = r["allow"].as_bool().unwrap_or(false);
        }
    }
    allowed
}

pub fn device_rules(input: &Input, out: &mut Vec<Check>) {
    let Some(rules) = input.config["linux"]["resources"]["devices"].as_array() else {
        return;
    };
    for d in input.config["linux"]["devices"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let (Some(path), Some(kind), Some(major), Some(minor)) = (
            d["path"].as_str(),
            d["type"].as_str(),
            num(&d["major"]),
            num(&d["minor"]),
        ) else {
            continue;
        };
        let allowed = rules_allow(rules, kind, major, minor, 'r');
        let want = if allowed { "ok" } else { "EPERM" };
        let seen = input
            .report
            .actions
            .get(&format!("open:{path}"))
            .cloned()
            .unwrap_or_else(|| "(not tried)".into());
        out.push(Check::compare(
            format!("linux.resources.devices: opening {path} ({kind} {major}:{minor})"),
            input.refs.ids(cite::CREATE_APPLY),
            want,
            seen.as_str(),
        ));
    }
}

/// An absolute `cgroupsPath` is relative to the cgroup mount point, a relative one to where the
/// runtime chooses: from outside, the process's `/proc/<pid>/cgroup` shows the path in at least
/// one hierarchy (ending in it, when relative).
pub fn cgroups_path(input: &Input, out: &mut Vec<Check>) {
    let Some(path) = input.config["linux"]["cgroupsPath"].as_str() else {
        return;
    };
    if input.outside.cgroup.is_empty() {
        return;
    }
    let absolute = path.starts_with('/');
    let placed = input.outside.cgroup.iter().any(|l| {
        let seen = l.splitn(3, ':').nth(2).unwrap_or_default();
        if absolute {
            seen == path
        } else {
            seen.ends_with(&format!("/{path}"))
        }
    });
    out.push(Check::with(
        format!(
            "linux.cgroupsPath ({}) in /proc/<pid>/cgroup",
            if absolute { "absolute" } else { "relative" }
        ),
        if placed { Status::Pass } else { Status::Fail },
        input.refs.ids(if absolute {
            cite::CGROUPS_ABSOLUTE
        } else {
            cite::CGROUPS_RELATIVE
        }),
        path,
        input.outside.cgroup.join(" "),
    ));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A cgroupfs-like tree: `files` relative to `root`.
    fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("ocikit-cgtree-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (p, content) in files {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        root
    }

    const V2_MOUNTS: &str = "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
    const V1_MOUNTS: &str =
        "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory\n\
32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct\n\
33 25 0:29 / /sys/fs/cgroup/pids rw shared:12 - cgroup cgroup rw,pids\n\
34 25 0:30 / /sys/fs/cgroup/unified rw shared:13 - cgroup2 cgroup2 rw\n";

    #[test]
    fn a_v2_tree_is_read_through_the_unified_hierarchy() {
        let root = tree(
            "v2",
            &[
                (
                    "sys/fs/cgroup/cgroup.controllers",
                    "cpuset cpu io memory hugetlb pids",
                ),
                ("sys/fs/cgroup/c1/memory.max", "268435456\n"),
                ("sys/fs/cgroup/c1/memory.swap.max", "268435456\n"),
                ("sys/fs/cgroup/c1/cpu.weight", "39\n"),
                ("sys/fs/cgroup/c1/cpu.max", "50000 100000\n"),
                ("sys/fs/cgroup/c1/pids.max", "max\n"),
                ("sys/fs/cgroup/c1/hugetlb.2MB.max", "4194304\n"),
                (
                    "sys/fs/cgroup/c1/io.max",
                    "8:0 rbps=1048576 wbps=max riops=max wiops=max\n",
                ),
            ],
        );
        let resources = json!({
            "memory": {"limit": 268435456, "swap": 536870912, "swappiness": 10},
            "cpu": {"shares": 1024, "quota": 50000},
            "pids": {"limit": -1},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]}
        });
        let files = read_files(&root, V2_MOUNTS, "0::/c1\n", &resources);
        assert!(
            !files.contains_key("memory/swappiness"),
            "no v2 file: {files:?}"
        );
        let config = json!({"linux": {"resources": resources}});
        let cat = crate::requirements::Catalogue::default();
        let report = super::super::testing::report();
        let outside = super::super::Outside {
            cgroup_files: files,
            ..Default::default()
        };
        let host = super::super::Host::default();
        let mut out = vec![];
        for f in [
            "memory/limit",
            "memory/swap",
            "cpu/shares",
            "cpu/quota",
            "pids/limit",
            "hugepageLimits",
            "blockIO/throttleReadBpsDevice",
        ] {
            let input = Input {
                field: Box::leak(format!("linux/resources/{f}").into_boxed_str()),
                config: &config,
                report: &report,
                outside: &outside,
                host: &host,
                refs: super::super::Refs { catalogue: &cat },
            };
            knob(&input, &mut out);
        }
        let bad: Vec<_> = out.iter().filter(|c| c.status != Status::Pass).collect();
        assert!(bad.is_empty(), "{bad:#?}");
        assert_eq!(out.len(), 7);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_hybrid_tree_reads_v1_controllers_and_the_rest_from_cgroup2() {
        let root = tree(
            "hybrid",
            &[
                (
                    "sys/fs/cgroup/memory/c1/memory.limit_in_bytes",
                    "268435456\n",
                ),
                ("sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n"),
                ("sys/fs/cgroup/unified/c1/hugetlb.2MB.max", "max\n"),
            ],
        );
        let proc_cgroup = "4:memory:/c1\n3:cpu,cpuacct:/c1\n0::/c1\n";
        let resources = json!({
            "memory": {"limit": 268435456},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "pids": {"limit": 5}
        });
        let files = read_files(&root, V1_MOUNTS, proc_cgroup, &resources);
        assert_eq!(files["memory/limit"], "v1 memory.limit_in_bytes\n268435456");
        assert_eq!(files["hugepageLimits"], "v2 hugetlb.2MB.max\nmax");
        // pids is mounted but the process's line for it is missing: not located, not read.
        assert!(!files.contains_key("pids/limit"), "{files:?}");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn device_rules_are_last_match_wins() {
        let rules = [
            json!({"allow": false, "access": "rwm"}),
            json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}),
        ];
        assert!(rules_allow(&rules, "c", 1, 3, 'r'));
        assert!(!rules_allow(&rules, "c", 1, 5, 'r'));
        assert!(!rules_allow(&rules, "c", 1, 3, 'm'));
        assert!(!rules_allow(&[], "c", 1, 3, 'r'));
    }

    #[test]
    fn weights_and_limits_convert_per_version() {
        let r = json!({"cpu": {"shares": 1024}, "memory": {"limit": -1}});
        assert_eq!((KNOBS[5].want)(&r, Version::V1), vec!["1024"]);
        assert!((KNOBS[5].want)(&r, Version::V2).contains(&"39".to_string()));
        assert_eq!((KNOBS[0].want)(&r, Version::V2), vec!["max"]);
        assert!(matches(&["8:0 *rbps=5*".into()], "8:0 rbps=5 wbps=max"));
        assert!(!matches(&["8:0 *rbps=5*".into()], "8:16 rbps=5"));
        assert!(matches(
            &["oom_kill_disable 1".into()],
            "oom_kill_disable 1\nunder_oom 0"
        ));
    }
}
