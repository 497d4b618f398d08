//! `linux.resources` → the interface files to write, in order (config-linux.md "Control
//! groups" and its subsections). Pure planning, per cgroup version, so every conversion is
//! unit-tested; [`super::manager::FsManager`] performs the writes.
//!
//! Conversions follow runc, since docker, podman and containerd send values meant for it:
//! - v1 `memory.memsw.limit_in_bytes` is the spec's `swap` as is (the spec's swap is the
//!   memory+swap total); v2 `memory.swap.max` is `swap - limit`;
//! - v2 `cpu.weight` from `shares`: `1 + (shares - 2) * 9999 / 262142`;
//! - v2 `io.weight` from the v1 range: `1 + (weight - 10) * 9999 / 990`;
//! - `pids.limit` 0 leaves the file alone, below 0 is "max".

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::devices;
use super::CgroupError;

/// One write: interface file name (relative to the cgroup directory) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub file: String,
    pub value: String,
}

fn w(file: impl Into<String>, value: impl ToString) -> Write {
    Write {
        file: file.into(),
        value: value.to_string(),
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> CgroupError {
    CgroupError::Other(format!("linux.resources.{field}: {}", reason.into()))
}

/// The writes for a v1 hierarchy holding `controllers`. `current_limit` is the present
/// `memory.limit_in_bytes` (for the memsw ordering: the kernel keeps memsw >= memory at every
/// step, so when raising memsw goes first, when lowering memory goes first).
pub fn v1(
    controllers: &[String],
    r: &LinuxResources,
    current_limit: Option<i64>,
) -> Result<Vec<Write>, CgroupError> {
    let has = |c: &str| controllers.iter().any(|x| x == c);
    let mut out = Vec::new();
    if has("memory") {
        if let Some(m) = r.memory() {
            v1_memory(m, current_limit, &mut out);
        }
    }
    if has("cpu") {
        if let Some(c) = r.cpu() {
            v1_cpu(c, &mut out);
        }
    }
    if has("cpuset") {
        if let Some(c) = r.cpu() {
            cpuset(c, &mut out);
        }
    }
    if has("pids") {
        pids(r, &mut out);
    }
    if has("blkio") {
        if let Some(b) = r.block_io() {
            v1_blkio(b, &mut out);
        }
    }
    if has("hugetlb") {
        for h in r.hugepage_limits().iter().flatten() {
            out.push(w(
                format!("hugetlb.{}.limit_in_bytes", h.page_size()),
                h.limit(),
            ));
        }
    }
    if has("devices") {
        let rules = devices::effective(r.devices().as_deref().unwrap_or_default());
        if !rules.is_empty() {
            // cgroup-v1/devices.rst: deny everything, then the rules in order.
            out.push(w("devices.deny", "a"));
            for rule in rules {
                let file = if rule.allow {
                    "devices.allow"
                } else {
                    "devices.deny"
                };
                out.push(w(file, rule.line()));
            }
        }
    }
    Ok(out)
}

fn v1_memory(m: &LinuxMemory, current_limit: Option<i64>, out: &mut Vec<Write>) {
    let limit = m.limit().filter(|&l| l != 0);
    let memsw = m.swap().filter(|&s| s != 0);
    match (limit, memsw) {
        (Some(limit), Some(swap)) => {
            let raising = limit == -1 || current_limit.is_some_and(|c| c != -1 && limit > c);
            let pair = [
                w("memory.limit_in_bytes", limit),
                w("memory.memsw.limit_in_bytes", swap),
            ];
            if raising {
                out.extend(pair.into_iter().rev());
            } else {
                out.extend(pair);
            }
        }
        (Some(limit), None) => out.push(w("memory.limit_in_bytes", limit)),
        (None, Some(swap)) => out.push(w("memory.memsw.limit_in_bytes", swap)),
        (None, None) => {}
    }
    if let Some(res) = m.reservation().filter(|&r| r != 0) {
        out.push(w("memory.soft_limit_in_bytes", res));
    }
    if let Some(s) = m.swappiness() {
        // cgroup-v1/memory.rst: 0..=100; runc treats larger values as "unset".
        if s <= 100 {
            out.push(w("memory.swappiness", s));
        }
    }
    if m.disable_oom_killer() == Some(true) {
        out.push(w("memory.oom_control", 1));
    }
}

fn v1_cpu(c: &LinuxCpu, out: &mut Vec<Write>) {
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        out.push(w("cpu.shares", s));
    }
    // The period first: a quota is checked against the period in force.
    if let Some(p) = c.period().filter(|&p| p != 0) {
        out.push(w("cpu.cfs_period_us", p));
    }
    if let Some(q) = c.quota().filter(|&q| q != 0) {
        out.push(w("cpu.cfs_quota_us", q));
    }
    if let Some(b) = c.burst() {
        out.push(w("cpu.cfs_burst_us", b));
    }
    if let Some(p) = c.realtime_period().filter(|&p| p != 0) {
        out.push(w("cpu.rt_period_us", p));
    }
    if let Some(r) = c.realtime_runtime().filter(|&r| r != 0) {
        out.push(w("cpu.rt_runtime_us", r));
    }
    if let Some(i) = c.idle() {
        out.push(w("cpu.idle", i));
    }
}

fn cpuset(c: &LinuxCpu, out: &mut Vec<Write>) {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        out.push(w("cpuset.cpus", cpus));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        out.push(w("cpuset.mems", mems));
    }
}

fn pids(r: &LinuxResources, out: &mut Vec<Write>) {
    if let Some(p) = r.pids() {
        match p.limit() {
            0 => {}
            l if l < 0 => out.push(w("pids.max", "max")),
            l => out.push(w("pids.max", l)),
        }
    }
}

fn v1_blkio(b: &LinuxBlockIo, out: &mut Vec<Write>) {
    if let Some(weight) = b.weight().filter(|&x| x != 0) {
        out.push(w("blkio.weight", weight));
    }
    if let Some(weight) = b.leaf_weight().filter(|&x| x != 0) {
        out.push(w("blkio.leaf_weight", weight));
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(weight) = d.weight() {
            out.push(w(
                "blkio.weight_device",
                format!("{}:{} {weight}", d.major(), d.minor()),
            ));
        }
    }
    for (file, list) in [
        (
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ] {
        for d in list.iter().flatten() {
            out.push(w(file, format!("{}:{} {}", d.major(), d.minor(), d.rate())));
        }
    }
}

/// The writes for the v2 hierarchy, leaving out the controllers `skip` says are handled by a
/// v1 hierarchy (hybrid host). Device rules are not files on v2: see [`super::bpf`].
pub fn v2(r: &LinuxResources, skip: &dyn Fn(&str) -> bool) -> Result<Vec<Write>, CgroupError> {
    let mut out = Vec::new();
    if !skip("memory") {
        if let Some(m) = r.memory() {
            v2_memory(m, &mut out)?;
        }
    }
    if !skip("cpu") {
        if let Some(c) = r.cpu() {
            v2_cpu(c, &mut out)?;
        }
    }
    if !skip("cpuset") {
        if let Some(c) = r.cpu() {
            cpuset(c, &mut out);
        }
    }
    if !skip("pids") {
        pids(r, &mut out);
    }
    if !skip("io") && !skip("blkio") {
        if let Some(b) = r.block_io() {
            v2_io(b, &mut out);
        }
    }
    if !skip("hugetlb") {
        for h in r.hugepage_limits().iter().flatten() {
            out.push(w(format!("hugetlb.{}.max", h.page_size()), h.limit()));
        }
    }
    for (key, value) in r.unified().iter().flatten() {
        check_unified_key(key)?;
        out.push(w(key.clone(), value));
    }
    Ok(out)
}

/// config-linux.md "Unified": keys are interface file names of the container's cgroup
/// (`<controller>.<name>`); anything that could name another file is refused.
fn check_unified_key(key: &str) -> Result<(), CgroupError> {
    let bad = key.is_empty()
        || key.contains('/')
        || key.contains('\0')
        || key.starts_with('.')
        || !key.contains('.')
        || key.starts_with("cgroup.procs")
        || key == "cgroup.threads";
    if bad {
        return Err(invalid(
            &format!("unified[\"{key}\"]"),
            "not an interface file name of the container's cgroup",
        ));
    }
    Ok(())
}

fn v2_memory(m: &LinuxMemory, out: &mut Vec<Write>) -> Result<(), CgroupError> {
    let limit = m.limit().unwrap_or(0);
    let swap = m.swap().unwrap_or(0);
    let max = |v: i64| {
        if v < 0 {
            "max".to_string()
        } else {
            v.to_string()
        }
    };
    let swap_max = match (limit, swap) {
        (-1, 0) => Some(-1),
        (_, 0) => None,
        (_, -1) => Some(-1),
        (0 | -1, _) => {
            return Err(invalid(
                "memory.swap",
                format!("{swap}: a swap limit needs a memory limit on cgroup v2"),
            ))
        }
        (l, s) if s < l => {
            return Err(invalid(
                "memory.swap",
                format!("{s}: below memory.limit {l} (swap is the memory+swap total)"),
            ))
        }
        (l, s) => Some(s - l),
    };
    // memory.swap.max and memory.max are independent on v2; swap first mirrors v1's raise.
    if let Some(s) = swap_max {
        out.push(w("memory.swap.max", max(s)));
    }
    if limit != 0 {
        out.push(w("memory.max", max(limit)));
    }
    if let Some(res) = m.reservation().filter(|&r| r != 0) {
        out.push(w("memory.low", max(res)));
    }
    Ok(())
}

/// runc's shares → weight mapping ([2, 262144] → [1, 10000]).
pub fn cpu_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

fn v2_cpu(c: &LinuxCpu, out: &mut Vec<Write>) -> Result<(), CgroupError> {
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        return Err(invalid(
            "cpu.realtimeRuntime",
            "realtime scheduling limits do not exist on cgroup v2",
        ));
    }
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        out.push(w("cpu.weight", cpu_weight(s)));
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if quota != 0 || period != 0 {
        let q = if quota > 0 {
            quota.to_string()
        } else {
            "max".into()
        };
        let p = if period == 0 { 100_000 } else { period };
        out.push(w("cpu.max", format!("{q} {p}")));
    }
    if let Some(b) = c.burst() {
        out.push(w("cpu.max.burst", b));
    }
    if let Some(i) = c.idle() {
        out.push(w("cpu.idle", i));
    }
    Ok(())
}

/// The v1 blkio weight range [10, 1000] → v2 io.weight [1, 10000].
pub fn io_weight(weight: u16) -> u64 {
    1 + (u64::from(weight.clamp(10, 1000)) - 10) * 9999 / 990
}

fn v2_io(b: &LinuxBlockIo, out: &mut Vec<Write>) {
    if let Some(weight) = b.weight().filter(|&x| x != 0) {
        out.push(w("io.weight", format!("default {}", io_weight(weight))));
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(weight) = d.weight() {
            out.push(w(
                "io.weight",
                format!("{}:{} {}", d.major(), d.minor(), io_weight(weight)),
            ));
        }
    }
    for (key, list) in [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ] {
        for d in list.iter().flatten() {
            out.push(w(
                "io.max",
                format!("{}:{} {key}={}", d.major(), d.minor(), d.rate()),
            ));
        }
    }
}

/// Memory fields cgroup v2 has no file for (`memory.swappiness`, `disableOOMKiller`; runc
/// ignores them there too): a warning for the caller, or `None`.
pub fn v2_unsupported(r: &LinuxResources) -> Option<String> {
    let m = r.memory().as_ref()?;
    let fields: Vec<&str> = [
        ("memory.swappiness", m.swappiness().is_some()),
        (
            "memory.disableOOMKiller",
            m.disable_oom_killer() == Some(true),
        ),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    (!fields.is_empty()).then(|| {
        format!(
            "linux.resources not applied on cgroup v2 (no such files): {}",
            fields.join(", ")
        )
    })
}

/// What ocirun never applies (the caller warns): kernel memory limits (deprecated, runc
/// ignores them too), network (net_cls/net_prio) and rdma.
pub fn ignored(r: &LinuxResources) -> Vec<&'static str> {
    let mem = r.memory().as_ref();
    [
        ("memory.kernel", mem.is_some_and(|m| m.kernel().is_some())),
        (
            "memory.kernelTCP",
            mem.is_some_and(|m| m.kernel_tcp().is_some()),
        ),
        ("network", r.network().is_some()),
        ("rdma", r.rdma().as_ref().is_some_and(|h| !h.is_empty())),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn files(writes: &[Write]) -> Vec<String> {
        writes
            .iter()
            .map(|w| format!("{}={}", w.file, w.value))
            .collect()
    }

    #[test]
    fn v1_memsw_goes_first_when_raising_last_when_lowering() {
        let r = res(r#"{"memory": {"limit": 200, "swap": 400}}"#);
        let controllers = ["memory".to_string()];
        assert_eq!(
            files(&v1(&controllers, &r, Some(100)).unwrap()),
            [
                "memory.memsw.limit_in_bytes=400",
                "memory.limit_in_bytes=200"
            ]
        );
        assert_eq!(
            files(&v1(&controllers, &r, Some(300)).unwrap()),
            [
                "memory.limit_in_bytes=200",
                "memory.memsw.limit_in_bytes=400"
            ]
        );
    }

    #[test]
    fn v1_other_controllers() {
        let r = res(
            r#"{"memory": {"reservation": 5, "disableOOMKiller": true, "swappiness": 101},
                "cpu": {"shares": 2, "period": 1000, "quota": 500, "realtimeRuntime": 7, "cpus": "0-1"},
                "pids": {"limit": 0},
                "blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]}}"#,
        );
        let all: Vec<String> = ["memory", "cpu", "cpuacct", "cpuset", "pids", "blkio"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            files(&v1(&all, &r, None).unwrap()),
            [
                "memory.soft_limit_in_bytes=5",
                "memory.oom_control=1",
                "cpu.shares=2",
                "cpu.cfs_period_us=1000",
                "cpu.cfs_quota_us=500",
                "cpu.rt_runtime_us=7",
                "cpuset.cpus=0-1",
                "blkio.weight=300",
                "blkio.throttle.read_bps_device=8:0 1048576",
            ]
        );
        // Only the controllers of the hierarchy at hand.
        assert!(v1(&["freezer".to_string()], &r, None).unwrap().is_empty());
    }

    #[test]
    fn v2_unsupported_memory_fields() {
        let r = res(r#"{"memory": {"swappiness": 10, "disableOOMKiller": true}}"#);
        assert_eq!(
            v2_unsupported(&r).unwrap(),
            "linux.resources not applied on cgroup v2 (no such files): memory.swappiness, memory.disableOOMKiller"
        );
        assert_eq!(v2_unsupported(&res(r#"{"memory": {"limit": 1}}"#)), None);
    }

    #[test]
    fn conversions() {
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 39);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(io_weight(10), 1);
        assert_eq!(io_weight(1000), 10_000);
    }

    #[test]
    fn v2_skips_what_v1_controls() {
        let r =
            res(r#"{"pids": {"limit": 3}, "hugepageLimits": [{"pageSize": "1GB", "limit": 0}]}"#);
        let hybrid = |c: &str| c != "hugetlb";
        assert_eq!(files(&v2(&r, &hybrid).unwrap()), ["hugetlb.1GB.max=0"]);
    }
}
