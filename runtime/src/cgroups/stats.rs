//! The container's resource usage, read from its cgroup wherever each controller is (v1
//! hierarchies, cgroup2, or both on a hybrid host), in the JSON of runc's `events` (runc's
//! `types/events.go`: containerd's runc shim v1 and `runc events` consumers decode it).
//!
//! Field by field as runc fills them: v1 `cpuacct.*` (per-cpu, user/system from
//! `cpuacct.stat` ticks), `cpu.stat` throttling, `cpuset.*`, `memory.{,memsw.,kmem.,kmem.tcp.}*`
//! entries with `memory.stat` as `raw`, `pids.*`, `blkio.*` recursive service bytes and ios
//! (bfq, then cfq, then throttle files), `hugetlb.<size>.*`; cgroup2 `cpu.stat` (µs → ns),
//! `memory.current/max/peak` (swap reported as memory+swap, as v1 does), `io.stat`,
//! `hugetlb.<size>.{current,max,events}` and the PSI files. A file the host lacks leaves its
//! fields zero (and so omitted, as runc's `omitempty`).

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

use serde::Serialize;

use super::detect::Version;
use super::manager::CgroupDir;
use super::CgroupError;

fn zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// runc's `types.Stats`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
    /// runc's resctrl stats: ocirun has no Intel RDT support, so always empty.
    pub intel_rdt: IntelRdt,
    /// runc fills it only for the network interfaces it created itself: never here.
    pub network_interfaces: Option<Vec<()>>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct IntelRdt {}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Cpu {
    #[serde(skip_serializing_if = "zero")]
    pub usage: CpuUsage,
    #[serde(skip_serializing_if = "zero")]
    pub throttling: Throttling,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<Psi>,
}

/// Nanoseconds.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "zero")]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct CpuSet {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    pub cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "zero")]
    pub cache: u64,
    #[serde(skip_serializing_if = "zero")]
    pub usage: MemoryEntry,
    #[serde(skip_serializing_if = "zero")]
    pub swap: MemoryEntry,
    #[serde(skip_serializing_if = "zero")]
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP", skip_serializing_if = "zero")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<Psi>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "zero")]
    pub current: u64,
    /// 0 when unlimited, as runc reports it.
    #[serde(skip_serializing_if = "zero")]
    pub limit: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "zero")]
    pub value: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<Psi>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "zero")]
    pub max: u64,
    pub failcnt: u64,
}

/// A PSI file (`cpu.pressure`, ...: Documentation/accounting/psi.rst).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Psi {
    #[serde(skip_serializing_if = "zero")]
    pub some: PsiData,
    #[serde(skip_serializing_if = "zero")]
    pub full: PsiData,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct PsiData {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    pub total: u64,
}

/// Reads the stats of the container whose directories are `dirs`.
pub fn read(dirs: &[CgroupDir]) -> Result<Stats, CgroupError> {
    let v1 = |controller: &str| {
        dirs.iter().find_map(|d| match &d.hierarchy.version {
            Version::V1 { controllers } if controllers.iter().any(|c| c == controller) => {
                Some(d.path.as_path())
            }
            _ => None,
        })
    };
    let v2 = dirs
        .iter()
        .find(|d| d.hierarchy.version == Version::V2)
        .map(|d| d.path.as_path());
    let mut s = Stats::default();

    match (v1("cpuacct"), v2) {
        (Some(dir), _) => s.cpu.usage = v1_cpu_usage(dir)?,
        (None, Some(dir)) => v2_cpu(dir, &mut s.cpu)?,
        (None, None) => {}
    }
    if let Some(dir) = v1("cpu") {
        let stat = flat_keyed(&dir.join("cpu.stat"))?;
        s.cpu.throttling = Throttling {
            periods: get(&stat, "nr_periods"),
            throttled_periods: get(&stat, "nr_throttled"),
            throttled_time: get(&stat, "throttled_time"),
        };
    }
    if let Some(dir) = v1("cpuset") {
        s.cpuset = v1_cpuset(dir)?;
    }
    match (v1("memory"), v2) {
        (Some(dir), _) => s.memory = v1_memory(dir)?,
        (None, Some(dir)) if dir.join("memory.current").exists() => s.memory = v2_memory(dir)?,
        _ => {}
    }
    let pids_dir = v1("pids").or(v2.filter(|d| d.join("pids.current").exists()));
    if let Some(dir) = pids_dir {
        s.pids = Pids {
            current: number(&dir.join("pids.current"))?.unwrap_or(0),
            limit: limit(&dir.join("pids.max"))?
                .filter(|&l| l != u64::MAX)
                .unwrap_or(0),
        };
    }
    match (v1("blkio"), v2) {
        (Some(dir), _) => s.blkio = v1_blkio(dir)?,
        (None, Some(dir)) => s.blkio = v2_io(dir)?,
        (None, None) => {}
    }
    if let Some(dir) = v1("hugetlb") {
        s.hugetlb = hugetlb(
            dir,
            Version::V1 {
                controllers: Vec::new(),
            },
        )?;
    } else if let Some(dir) = v2 {
        s.hugetlb = hugetlb(dir, Version::V2)?;
    }
    if let Some(dir) = v2 {
        s.cpu.psi = psi(&dir.join("cpu.pressure"))?;
        s.memory.psi = psi(&dir.join("memory.pressure"))?;
        s.blkio.psi = psi(&dir.join("io.pressure"))?;
    }
    Ok(s)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError + '_ {
    move |source| CgroupError::Io {
        path: path.to_owned(),
        source,
    }
}

fn parse_error(path: &Path, what: &str) -> CgroupError {
    CgroupError::Other(format!("cgroup {}: cannot parse {what:?}", path.display()))
}

/// The text of a cgroup file; `None` when the host does not have it.
fn text(path: &Path) -> Result<Option<String>, CgroupError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        // A cgroup removed while we read it (the container ended): as if absent.
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// A single number.
fn number(path: &Path) -> Result<Option<u64>, CgroupError> {
    text(path)?
        .map(|t| t.trim().parse().map_err(|_| parse_error(path, t.trim())))
        .transpose()
}

/// A limit: a number, or `max` (v2) as u64::MAX.
fn limit(path: &Path) -> Result<Option<u64>, CgroupError> {
    match text(path)?.as_deref().map(str::trim) {
        None => Ok(None),
        Some("max") => Ok(Some(u64::MAX)),
        Some(t) => t.parse().map(Some).map_err(|_| parse_error(path, t)),
    }
}

/// `key value` lines (cpu.stat, memory.stat, memory.events).
fn flat_keyed(path: &Path) -> Result<BTreeMap<String, u64>, CgroupError> {
    let mut map = BTreeMap::new();
    for line in text(path)?.unwrap_or_default().lines() {
        if let Some((k, v)) = line.split_once(' ') {
            let v = v.trim().parse().map_err(|_| parse_error(path, line))?;
            map.insert(k.to_string(), v);
        }
    }
    Ok(map)
}

fn get(map: &BTreeMap<String, u64>, key: &str) -> u64 {
    map.get(key).copied().unwrap_or(0)
}

fn numbers(path: &Path) -> Result<Vec<u64>, CgroupError> {
    text(path)?
        .unwrap_or_default()
        .split_whitespace()
        .map(|n| n.parse().map_err(|_| parse_error(path, n)))
        .collect()
}

fn v1_cpu_usage(dir: &Path) -> Result<CpuUsage, CgroupError> {
    // cpuacct.stat is in USER_HZ ticks.
    // SAFETY: sysconf has no preconditions.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|&t| t > 0)
        .unwrap_or(100);
    let stat = flat_keyed(&dir.join("cpuacct.stat"))?;
    let ns = |t: u64| t.saturating_mul(1_000_000_000) / ticks;
    let mut usage = CpuUsage {
        total: number(&dir.join("cpuacct.usage"))?.unwrap_or(0),
        percpu: numbers(&dir.join("cpuacct.usage_percpu"))?,
        user: ns(get(&stat, "user")),
        kernel: ns(get(&stat, "system")),
        ..CpuUsage::default()
    };
    // "cpu user system" header, then one line per cpu (ns).
    let all = dir.join("cpuacct.usage_all");
    for line in text(&all)?.unwrap_or_default().lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [_, user, system, ..] = fields[..] {
            usage
                .percpu_user
                .push(user.parse().map_err(|_| parse_error(&all, line))?);
            usage
                .percpu_kernel
                .push(system.parse().map_err(|_| parse_error(&all, line))?);
        }
    }
    Ok(usage)
}

/// cgroup2 `cpu.stat` (present even without the cpu controller; µs).
fn v2_cpu(dir: &Path, cpu: &mut Cpu) -> Result<(), CgroupError> {
    let stat = flat_keyed(&dir.join("cpu.stat"))?;
    cpu.usage.total = get(&stat, "usage_usec") * 1000;
    cpu.usage.user = get(&stat, "user_usec") * 1000;
    cpu.usage.kernel = get(&stat, "system_usec") * 1000;
    cpu.throttling = Throttling {
        periods: get(&stat, "nr_periods"),
        throttled_periods: get(&stat, "nr_throttled"),
        throttled_time: get(&stat, "throttled_usec") * 1000,
    };
    Ok(())
}

/// A cpu or node list (`0-3,7`), expanded.
fn list(path: &Path) -> Result<Vec<u16>, CgroupError> {
    let text = text(path)?.unwrap_or_default();
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let bad = || parse_error(path, part);
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let (from, to): (u16, u16) = (
            from.parse().map_err(|_| bad())?,
            to.parse().map_err(|_| bad())?,
        );
        out.extend(from..=to);
    }
    Ok(out)
}

fn v1_cpuset(dir: &Path) -> Result<CpuSet, CgroupError> {
    let n = |f: &str| -> Result<u64, CgroupError> { Ok(number(&dir.join(f))?.unwrap_or(0)) };
    Ok(CpuSet {
        cpus: list(&dir.join("cpuset.cpus"))?,
        cpu_exclusive: n("cpuset.cpu_exclusive")?,
        mems: list(&dir.join("cpuset.mems"))?,
        mem_hardwall: n("cpuset.mem_hardwall")?,
        mem_exclusive: n("cpuset.mem_exclusive")?,
        memory_migrate: n("cpuset.memory_migrate")?,
        memory_spread_page: n("cpuset.memory_spread_page")?,
        memory_spread_slab: n("cpuset.memory_spread_slab")?,
        memory_pressure: n("cpuset.memory_pressure")?,
        sched_load_balance: n("cpuset.sched_load_balance")?,
        sched_relax_domain_level: text(&dir.join("cpuset.sched_relax_domain_level"))?
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0),
    })
}

/// `memory.<name>.{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}` (v1).
fn v1_memory_entry(dir: &Path, name: &str) -> Result<MemoryEntry, CgroupError> {
    let prefix = if name.is_empty() {
        "memory".to_string()
    } else {
        format!("memory.{name}")
    };
    let n = |f: &str| -> Result<u64, CgroupError> {
        Ok(number(&dir.join(format!("{prefix}.{f}")))?.unwrap_or(0))
    };
    Ok(MemoryEntry {
        limit: n("limit_in_bytes")?,
        usage: n("usage_in_bytes")?,
        max: n("max_usage_in_bytes")?,
        failcnt: n("failcnt")?,
    })
}

fn v1_memory(dir: &Path) -> Result<Memory, CgroupError> {
    let raw = flat_keyed(&dir.join("memory.stat"))?;
    Ok(Memory {
        cache: get(&raw, "cache"),
        usage: v1_memory_entry(dir, "")?,
        swap: v1_memory_entry(dir, "memsw")?,
        kernel: v1_memory_entry(dir, "kmem")?,
        kernel_tcp: v1_memory_entry(dir, "kmem.tcp")?,
        raw,
        psi: None,
    })
}

fn v2_memory(dir: &Path) -> Result<Memory, CgroupError> {
    let raw = flat_keyed(&dir.join("memory.stat"))?;
    let events = flat_keyed(&dir.join("memory.events"))?;
    let usage = MemoryEntry {
        limit: limit(&dir.join("memory.max"))?.unwrap_or(u64::MAX),
        usage: number(&dir.join("memory.current"))?.unwrap_or(0),
        max: number(&dir.join("memory.peak"))?.unwrap_or(0),
        failcnt: get(&events, "max"),
    };
    // As runc: v1 reports swap as memory+swap, so v2's swap-only values are added to memory.
    let swap_limit = limit(&dir.join("memory.swap.max"))?.unwrap_or(u64::MAX);
    let swap = MemoryEntry {
        limit: if swap_limit == u64::MAX || usage.limit == u64::MAX {
            u64::MAX
        } else {
            swap_limit + usage.limit
        },
        usage: number(&dir.join("memory.swap.current"))?.unwrap_or(0) + usage.usage,
        max: 0,
        failcnt: 0,
    };
    Ok(Memory {
        cache: get(&raw, "file"),
        usage,
        swap,
        kernel: MemoryEntry::default(),
        kernel_tcp: MemoryEntry::default(),
        raw,
        psi: None,
    })
}

/// v1 blkio stat lines: `8:0 Read 123`, with a final `Total N` line skipped.
fn blkio_entries(path: &Path, content: &str) -> Result<Vec<BlkioEntry>, CgroupError> {
    let mut out = Vec::new();
    for line in content.lines() {
        let fields: Vec<&str> = line.split([' ', ':']).filter(|f| !f.is_empty()).collect();
        let bad = || parse_error(path, line);
        let entry = match fields[..] {
            ["Total", _] | [] => continue,
            [major, minor, op, value] => BlkioEntry {
                major: major.parse().map_err(|_| bad())?,
                minor: minor.parse().map_err(|_| bad())?,
                op: op.to_string(),
                value: value.parse().map_err(|_| bad())?,
            },
            [major, minor, value] => BlkioEntry {
                major: major.parse().map_err(|_| bad())?,
                minor: minor.parse().map_err(|_| bad())?,
                op: String::new(),
                value: value.parse().map_err(|_| bad())?,
            },
            _ => return Err(bad()),
        };
        out.push(entry);
    }
    Ok(out)
}

fn v1_blkio(dir: &Path) -> Result<Blkio, CgroupError> {
    // The first family the kernel has, as runc looks for them.
    for prefix in ["blkio.bfq.", "blkio.", "blkio.throttle."] {
        let serviced = dir.join(format!("{prefix}io_serviced_recursive"));
        let bytes = dir.join(format!("{prefix}io_service_bytes_recursive"));
        let (Some(s), Some(b)) = (text(&serviced)?, text(&bytes)?) else {
            continue;
        };
        return Ok(Blkio {
            io_serviced_recursive: blkio_entries(&serviced, &s)?,
            io_service_bytes_recursive: blkio_entries(&bytes, &b)?,
            psi: None,
        });
    }
    Ok(Blkio::default())
}

/// cgroup2 `io.stat`: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`, as v1's Read/Write entries.
fn v2_io(dir: &Path) -> Result<Blkio, CgroupError> {
    let path = dir.join("io.stat");
    let mut blkio = Blkio::default();
    for line in text(&path)?.unwrap_or_default().lines() {
        let mut fields = line.split_whitespace();
        let Some((major, minor)) = fields.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let bad = || parse_error(&path, line);
        let (major, minor) = (
            major.parse().map_err(|_| bad())?,
            minor.parse().map_err(|_| bad())?,
        );
        for kv in fields {
            let Some((key, value)) = kv.split_once('=') else {
                continue;
            };
            let (list, op) = match key {
                "rbytes" => (&mut blkio.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut blkio.io_service_bytes_recursive, "Write"),
                "rios" => (&mut blkio.io_serviced_recursive, "Read"),
                "wios" => (&mut blkio.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value: value.parse().map_err(|_| bad())?,
            });
        }
    }
    Ok(blkio)
}

/// Every page size the directory has a `hugetlb.<size>.` file for.
fn hugetlb(dir: &Path, version: Version) -> Result<BTreeMap<String, Hugetlb>, CgroupError> {
    let mut sizes: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let size = name
                .strip_prefix("hugetlb.")?
                .split('.')
                .next()?
                .to_string();
            Some(size)
        })
        .collect();
    sizes.sort();
    sizes.dedup();
    let mut out = BTreeMap::new();
    for size in sizes {
        let f = |name: &str| dir.join(format!("hugetlb.{size}.{name}"));
        let entry = match version {
            Version::V1 { .. } => Hugetlb {
                usage: number(&f("usage_in_bytes"))?.unwrap_or(0),
                max: number(&f("max_usage_in_bytes"))?.unwrap_or(0),
                failcnt: number(&f("failcnt"))?.unwrap_or(0),
            },
            // The reservation counters where the kernel has them, as runc.
            Version::V2 => {
                let rsvd = f("rsvd.current").exists();
                let (current, events) = if rsvd {
                    ("rsvd.current", "rsvd.events")
                } else {
                    ("current", "events")
                };
                Hugetlb {
                    usage: number(&f(current))?.unwrap_or(0),
                    max: 0,
                    failcnt: get(&flat_keyed(&f(events))?, "max"),
                }
            }
        };
        out.insert(size, entry);
    }
    Ok(out)
}

/// `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and a `full` line.
fn psi(path: &Path) -> Result<Option<Psi>, CgroupError> {
    let Some(text) = text(path)? else {
        return Ok(None);
    };
    let mut psi = Psi::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let target = match fields.next() {
            Some("some") => &mut psi.some,
            Some("full") => &mut psi.full,
            _ => continue,
        };
        for kv in fields {
            let (k, v) = kv.split_once('=').ok_or_else(|| parse_error(path, line))?;
            let float = || v.parse::<f64>().map_err(|_| parse_error(path, line));
            match k {
                "avg10" => target.avg10 = float()?,
                "avg60" => target.avg60 = float()?,
                "avg300" => target.avg300 = float()?,
                "total" => target.total = v.parse().map_err(|_| parse_error(path, line))?,
                _ => {}
            }
        }
    }
    Ok(Some(psi))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn blkio_lines_and_lists() {
        let p = Path::new("x");
        let entries =
            blkio_entries(p, "8:0 Read 10\n8:0 Write 4\n8:16 Total 14\nTotal 14\n").unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[1],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Write".into(),
                value: 4
            }
        );
        assert!(blkio_entries(p, "garbage here\n").is_err());
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("l"), "0-2,5\n").unwrap();
        assert_eq!(list(&tmp.path().join("l")).unwrap(), [0, 1, 2, 5]);
    }

    #[test]
    fn psi_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("cpu.pressure");
        std::fs::write(&f, "some avg10=1.50 avg60=0.00 avg300=0.00 total=42\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n").unwrap();
        let psi = psi(&f).unwrap().unwrap();
        assert_eq!(psi.some.avg10, 1.5);
        assert_eq!((psi.some.total, psi.full.total), (42, 7));
        assert_eq!(super::psi(&tmp.path().join("none")).unwrap(), None);
    }

    #[test]
    fn empty_stats_serialize_as_runc() {
        let json = serde_json::to_value(Stats::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "cpu": {}, "memory": {}, "pids": {}, "blkio": {}, "hugetlb": {},
                "intel_rdt": {}, "network_interfaces": null,
                "cpuset": {"cpu_exclusive": 0, "mem_hardwall": 0, "mem_exclusive": 0,
                    "memory_migrate": 0, "memory_spread_page": 0, "memory_spread_slab": 0,
                    "memory_pressure": 0, "sched_load_balance": 0, "sched_relax_domain_level": 0}
            })
        );
    }
}
