//! `linux.resources` → the cgroup interface files to write, in order, field by field
//! (config-linux.md "Control groups" and its subsections). Pure planning over where this host
//! keeps each controller ([`Controllers`]), so every conversion and every refusal is
//! unit-tested; [`super::manager::FsManager`] checks that each file exists and writes it.
//!
//! The rule (config.md "Valid values": unsupported values MUST be an error): every field is
//! written where the host has its controller, converted as runc converts it for cgroup v2, or
//! refused with an error naming its JSON path. Nothing is ever dropped with a warning.
//!
//! Conversions follow runc, since docker, podman and containerd send values meant for it:
//! - `0` means "unset" for the limits runc treats so (memory limit/reservation/swap, cpu
//!   shares/quota/period/realtime*, blkio weights), as docker sends them;
//! - v1 `memory.memsw.limit_in_bytes` is the spec's `swap` as is (memory+swap); v2
//!   `memory.swap.max` is `swap - limit` (swap alone);
//! - v2 `cpu.weight` from `shares`: runc's quadratic fit on a log scale through
//!   (2, 1), (1024, 100) and (262144, 10000), so the v1 default maps to the v2 default;
//! - v2 `io.weight` from the v1 range: `1 + (weight - 10) * 9999 / 990` (`io.bfq.weight`
//!   takes the v1 value as is, and is preferred where it exists, as runc does);
//! - `pids.limit` below 0 is "max"; 0 is a limit of 0 (config-linux.md "PIDs": 0 is valid).

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::detect::Controllers;
use super::devices;
use super::CgroupError;

/// Which cgroup version a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ver {
    V1,
    V2,
}

/// How a planned write is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Write the value; a missing file refuses the field.
    Set,
    /// Write the value if the file exists: a refinement the host may lack without changing
    /// what was asked (hugetlb reservation limits, "unlimited" swap without swap accounting).
    Optional,
    /// Write; on EINVAL retry once after the other writes of the same hierarchy: pairs the
    /// kernel checks against each other (cfs period/quota/burst, rt period/runtime), as runc.
    Retry,
    /// Write, then the file must read back the value written (cpu.shares clamps silently).
    ReadBackEqual,
    /// Write, then the file must read back at most the value written: kernels that accept a
    /// limit and ignore it (Linux 6.x `memory.kmem.limit_in_bytes`) are refused.
    ReadBackAtMost,
    /// No write: the sum of these usage files must be below the value (`checkBeforeUpdate`).
    UsageBelow(Vec<&'static str>),
    /// No file: the device rules as an eBPF program on the cgroup2 directory.
    DeviceProgram,
}

/// One planned step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The JSON path below `linux.resources` ("memory.swap", "hugepageLimits[0]"), for errors.
    pub field: String,
    /// The controller whose directory holds the file ("" for cgroup2 core files).
    pub controller: String,
    pub version: Ver,
    /// File (relative to the cgroup directory) and value; when there are several, the first
    /// whose file exists is written (`blkio.weight`, else `blkio.bfq.weight`).
    pub choices: Vec<(String, String)>,
    pub kind: Kind,
    /// Why the file may be missing, for the refusal ("swap accounting is off").
    pub hint: &'static str,
}

impl Write {
    /// The first (preferred) file.
    pub fn file(&self) -> &str {
        self.choices.first().map_or("", |(f, _)| f.as_str())
    }
    /// The first (preferred) value.
    pub fn value(&self) -> &str {
        self.choices.first().map_or("", |(_, v)| v.as_str())
    }
}

/// A refusal naming `field`: `linux.resources.<field>: <reason>`.
pub fn refuse(field: &str, reason: impl Into<String>) -> CgroupError {
    CgroupError::Resource {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Plans `r` for a host whose controllers are `host`. `current_limit` is the v1
/// `memory.limit_in_bytes` in force (for the memsw order: the kernel keeps memsw >= memory at
/// every step, so when raising memsw goes first, when lowering memory goes first).
pub fn plan(
    r: &LinuxResources,
    host: &Controllers,
    current_limit: Option<i64>,
) -> Result<Vec<Write>, CgroupError> {
    let mut p = Planner {
        host,
        out: Vec::new(),
    };
    if let Some(m) = r.memory() {
        p.memory(m, current_limit)?;
    }
    if let Some(c) = r.cpu() {
        p.cpu(c)?;
        p.cpuset(c)?;
    }
    if let Some(pids) = r.pids() {
        let ver = p.locate("pids.limit", "pids")?;
        let value = match pids.limit() {
            l if l < 0 => "max".to_string(),
            l => l.to_string(),
        };
        p.push("pids.limit", "pids", ver, "pids.max", value, Kind::Set);
    }
    if let Some(b) = r.block_io() {
        p.block_io(b)?;
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        p.hugepages(i, h.page_size(), h.limit())?;
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            let ver = p.locate("network.classID", "net_cls")?;
            p.push(
                "network.classID",
                "net_cls",
                ver,
                "net_cls.classid",
                id,
                Kind::Set,
            );
        }
        for (i, prio) in n.priorities().iter().flatten().enumerate() {
            let field = format!("network.priorities[{i}]");
            let ver = p.locate(&field, "net_prio")?;
            let line = format!("{} {}", prio.name(), prio.priority());
            p.push(
                &field,
                "net_prio",
                ver,
                "net_prio.ifpriomap",
                line,
                Kind::Set,
            );
        }
    }
    p.rdma(r)?;
    p.unified(r)?;
    p.devices(r)?;
    Ok(p.out)
}

const SWAP_HINT: &str = "swap accounting is off (swapaccount=0 or no CONFIG_MEMCG_SWAP)";

struct Planner<'a> {
    host: &'a Controllers,
    out: Vec<Write>,
}

impl Planner<'_> {
    /// The version holding `controller`, or the refusal of `field`.
    fn locate(&self, field: &str, controller: &str) -> Result<Ver, CgroupError> {
        self.host
            .home(controller)
            .ok_or_else(|| refuse(field, format!("{controller} is not mounted on this host")))
    }

    fn push(
        &mut self,
        field: &str,
        controller: &str,
        version: Ver,
        file: &str,
        value: impl ToString,
        kind: Kind,
    ) -> &mut Write {
        self.out.push(Write {
            field: field.to_string(),
            controller: controller.to_string(),
            version,
            choices: vec![(file.to_string(), value.to_string())],
            kind,
            hint: "",
        });
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    fn memory(&mut self, m: &LinuxMemory, current_limit: Option<i64>) -> Result<(), CgroupError> {
        #[allow(deprecated)] // the spec still defines it (NOT RECOMMENDED): applied or refused
        let kernel = m.kernel().filter(|&k| k != 0);
        let asked = [
            ("memory.limit", m.limit().is_some_and(|v| v != 0)),
            (
                "memory.reservation",
                m.reservation().is_some_and(|v| v != 0),
            ),
            ("memory.swap", m.swap().is_some_and(|v| v != 0)),
            ("memory.kernel", kernel.is_some()),
            ("memory.kernelTCP", m.kernel_tcp().is_some_and(|v| v != 0)),
            ("memory.swappiness", m.swappiness().is_some()),
            (
                "memory.disableOOMKiller",
                m.disable_oom_killer() == Some(true),
            ),
            ("memory.useHierarchy", m.use_hierarchy().is_some()),
            (
                "memory.checkBeforeUpdate",
                m.check_before_update() == Some(true),
            ),
        ];
        let Some((first, _)) = asked.iter().find(|(_, set)| *set) else {
            return Ok(());
        };
        match self.locate(first, "memory")? {
            Ver::V1 => self.v1_memory(m, kernel, current_limit),
            Ver::V2 => self.v2_memory(m, kernel),
        }
    }

    fn v1_memory(
        &mut self,
        m: &LinuxMemory,
        kernel: Option<i64>,
        current_limit: Option<i64>,
    ) -> Result<(), CgroupError> {
        const V: Ver = Ver::V1;
        let limit = m.limit().filter(|&l| l != 0);
        let swap = m.swap().filter(|&s| s != 0);
        if m.check_before_update() == Some(true) {
            if let Some(l) = limit.filter(|&l| l > 0) {
                let usage = Kind::UsageBelow(vec!["memory.usage_in_bytes"]);
                self.push("memory.limit", "memory", V, "", l, usage);
            }
            if let Some(s) = swap.filter(|&s| s > 0) {
                let usage = Kind::UsageBelow(vec!["memory.memsw.usage_in_bytes"]);
                self.push("memory.swap", "memory", V, "", s, usage).hint = SWAP_HINT;
            }
        }
        // The kernel keeps memsw >= memory at every step: raising, memsw goes first.
        match (limit, swap) {
            (Some(limit), Some(swap)) => {
                let raising = swap == -1
                    || limit == -1
                    || current_limit.is_some_and(|c| c != -1 && limit > c);
                if raising {
                    self.v1_memsw("memory.swap", swap);
                    self.v1_limit(limit);
                } else {
                    self.v1_limit(limit);
                    self.v1_memsw("memory.swap", swap);
                }
            }
            (Some(limit), None) => {
                // runc: an unlimited memory with swap unset makes memory+swap unlimited too
                // (else the old memsw limit would still cap the container).
                if limit == -1 {
                    self.v1_memsw("memory.limit", -1);
                }
                self.v1_limit(limit);
            }
            (None, Some(swap)) => self.v1_memsw("memory.swap", swap),
            (None, None) => {}
        }
        if let Some(res) = m.reservation().filter(|&r| r != 0) {
            self.push(
                "memory.reservation",
                "memory",
                V,
                "memory.soft_limit_in_bytes",
                res,
                Kind::Set,
            );
        }
        let ignored_unless_unlimited = |v: i64| {
            if v < 0 {
                Kind::Set
            } else {
                Kind::ReadBackAtMost
            }
        };
        if let Some(k) = kernel {
            self.push(
                "memory.kernel",
                "memory",
                V,
                "memory.kmem.limit_in_bytes",
                k,
                ignored_unless_unlimited(k),
            )
            .hint = "kernel memory limits were removed from this kernel";
        }
        if let Some(k) = m.kernel_tcp().filter(|&k| k != 0) {
            self.push(
                "memory.kernelTCP",
                "memory",
                V,
                "memory.kmem.tcp.limit_in_bytes",
                k,
                ignored_unless_unlimited(k),
            )
            .hint = "kernel TCP memory limits were removed from this kernel";
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                return Err(refuse(
                    "memory.swappiness",
                    format!("{s}: out of range 0-100"),
                ));
            }
            self.push(
                "memory.swappiness",
                "memory",
                V,
                "memory.swappiness",
                s,
                Kind::Set,
            );
        }
        if let Some(off) = m.disable_oom_killer() {
            self.push(
                "memory.disableOOMKiller",
                "memory",
                V,
                "memory.oom_control",
                u8::from(off),
                Kind::Set,
            );
        }
        if let Some(on) = m.use_hierarchy() {
            self.push(
                "memory.useHierarchy",
                "memory",
                V,
                "memory.use_hierarchy",
                u8::from(on),
                Kind::Set,
            );
        }
        Ok(())
    }

    fn v1_limit(&mut self, limit: i64) {
        let file = "memory.limit_in_bytes";
        self.push("memory.limit", "memory", Ver::V1, file, limit, Kind::Set);
    }

    /// `memory.memsw.limit_in_bytes` for `field`; -1 needs no file (without swap accounting
    /// memory+swap is unlimited anyway).
    fn v1_memsw(&mut self, field: &str, swap: i64) {
        let kind = if swap == -1 {
            Kind::Optional
        } else {
            Kind::Set
        };
        self.push(
            field,
            "memory",
            Ver::V1,
            "memory.memsw.limit_in_bytes",
            swap,
            kind,
        )
        .hint = SWAP_HINT;
    }

    fn v2_memory(&mut self, m: &LinuxMemory, kernel: Option<i64>) -> Result<(), CgroupError> {
        const V: Ver = Ver::V2;
        let none = |field: &str, what: &str| {
            refuse(
                field,
                format!("{what}: this host's memory controller is on cgroup v2, which has no such setting"),
            )
        };
        if let Some(s) = m.swappiness() {
            return Err(none("memory.swappiness", &s.to_string()));
        }
        // -1 (unlimited) is what v2 gives anyway: no separate kernel memory limit exists.
        if let Some(k) = kernel.filter(|&k| k != -1) {
            return Err(none("memory.kernel", &k.to_string()));
        }
        if let Some(k) = m.kernel_tcp().filter(|&k| k != 0 && k != -1) {
            return Err(none("memory.kernelTCP", &k.to_string()));
        }
        if m.disable_oom_killer() == Some(true) {
            return Err(none("memory.disableOOMKiller", "true"));
        }
        if m.use_hierarchy() == Some(false) {
            return Err(none(
                "memory.useHierarchy",
                "false (cgroup v2 is always hierarchical)",
            ));
        }
        let limit = m.limit().unwrap_or(0);
        let swap = m.swap().unwrap_or(0);
        let swap_max = match (limit, swap) {
            (-1, 0) => Some(-1),
            (_, 0) => None,
            (_, -1) => Some(-1),
            (-1, s) => Some(s),
            (0, s) => {
                return Err(refuse(
                    "memory.swap",
                    format!("{s}: a swap limit needs a memory limit on cgroup v2"),
                ))
            }
            (l, _) if l < 0 => return Err(refuse("memory.limit", format!("{l}: not a limit"))),
            (l, s) if s < l => {
                return Err(refuse(
                    "memory.swap",
                    format!("{s}: below memory.limit {l} (swap is the memory+swap total)"),
                ))
            }
            (l, s) => Some(s - l),
        };
        if m.check_before_update() == Some(true) {
            if limit > 0 {
                self.push(
                    "memory.limit",
                    "memory",
                    V,
                    "",
                    limit,
                    Kind::UsageBelow(vec!["memory.current"]),
                );
            }
            if swap > 0 {
                let files = vec!["memory.current", "memory.swap.current"];
                self.push(
                    "memory.swap",
                    "memory",
                    V,
                    "",
                    swap,
                    Kind::UsageBelow(files),
                );
            }
        }
        if let Some(s) = swap_max {
            // "max" without swap accounting is what the host does anyway (runc skips it too).
            let kind = if s == -1 { Kind::Optional } else { Kind::Set };
            self.push("memory.swap", "memory", V, "memory.swap.max", max(s), kind)
                .hint = "swap accounting is off (swapaccount=0 or no CONFIG_MEMCG_SWAP)";
        }
        if limit != 0 {
            self.push(
                "memory.limit",
                "memory",
                V,
                "memory.max",
                max(limit),
                Kind::Set,
            );
        }
        if let Some(res) = m.reservation().filter(|&r| r != 0) {
            self.push(
                "memory.reservation",
                "memory",
                V,
                "memory.low",
                max(res),
                Kind::Set,
            );
        }
        Ok(())
    }

    fn cpu(&mut self, c: &LinuxCpu) -> Result<(), CgroupError> {
        let shares = c.shares().filter(|&s| s != 0);
        let quota = c.quota().filter(|&q| q != 0);
        let period = c.period().filter(|&p| p != 0);
        let rt_period = c.realtime_period().filter(|&p| p != 0);
        let rt_runtime = c.realtime_runtime().filter(|&r| r != 0);
        let asked = [
            ("cpu.shares", shares.is_some()),
            ("cpu.quota", quota.is_some()),
            ("cpu.period", period.is_some()),
            ("cpu.burst", c.burst().is_some()),
            ("cpu.realtimePeriod", rt_period.is_some()),
            ("cpu.realtimeRuntime", rt_runtime.is_some()),
            ("cpu.idle", c.idle().is_some()),
        ];
        let Some((first, _)) = asked.iter().find(|(_, set)| *set) else {
            return Ok(());
        };
        let ver = self.locate(first, "cpu")?;
        if ver == Ver::V1 {
            const V: Ver = Ver::V1;
            if let Some(s) = shares {
                self.push("cpu.shares", "cpu", V, "cpu.shares", s, Kind::ReadBackEqual);
            }
            // The period first: a quota is checked against the period in force.
            if let Some(p) = period {
                self.push("cpu.period", "cpu", V, "cpu.cfs_period_us", p, Kind::Retry);
            }
            if let Some(q) = quota {
                self.push("cpu.quota", "cpu", V, "cpu.cfs_quota_us", q, Kind::Set);
            }
            if let Some(b) = c.burst() {
                self.push("cpu.burst", "cpu", V, "cpu.cfs_burst_us", b, Kind::Retry)
                    .hint = "cpu burst needs Linux 5.14";
            }
            const RT: &str = "the kernel has no realtime group scheduling (CONFIG_RT_GROUP_SCHED)";
            if let Some(p) = rt_period {
                self.push(
                    "cpu.realtimePeriod",
                    "cpu",
                    V,
                    "cpu.rt_period_us",
                    p,
                    Kind::Retry,
                )
                .hint = RT;
            }
            if let Some(r) = rt_runtime {
                self.push(
                    "cpu.realtimeRuntime",
                    "cpu",
                    V,
                    "cpu.rt_runtime_us",
                    r,
                    Kind::Set,
                )
                .hint = RT;
            }
            if let Some(i) = c.idle() {
                self.push("cpu.idle", "cpu", V, "cpu.idle", i, Kind::Set)
                    .hint = "cpu.idle needs Linux 5.15";
            }
            return Ok(());
        }
        const V: Ver = Ver::V2;
        for (field, set) in [
            ("cpu.realtimePeriod", rt_period.is_some()),
            ("cpu.realtimeRuntime", rt_runtime.is_some()),
        ] {
            if set {
                return Err(refuse(
                    field,
                    "realtime group scheduling limits do not exist on cgroup v2, where this host's cpu controller is",
                ));
            }
        }
        if let Some(s) = shares {
            self.push(
                "cpu.shares",
                "cpu",
                V,
                "cpu.weight",
                cpu_weight(s),
                Kind::Set,
            );
        }
        if quota.is_some() || period.is_some() {
            let q = quota
                .filter(|&q| q > 0)
                .map_or("max".to_string(), |q| q.to_string());
            let field = if quota.is_some() {
                "cpu.quota"
            } else {
                "cpu.period"
            };
            let value = format!("{q} {}", period.unwrap_or(100_000));
            self.push(field, "cpu", V, "cpu.max", value, Kind::Set);
        }
        if let Some(b) = c.burst() {
            self.push("cpu.burst", "cpu", V, "cpu.max.burst", b, Kind::Retry)
                .hint = "cpu burst needs Linux 5.14";
        }
        if let Some(i) = c.idle() {
            self.push("cpu.idle", "cpu", V, "cpu.idle", i, Kind::Set)
                .hint = "cpu.idle needs Linux 5.15";
        }
        Ok(())
    }

    fn cpuset(&mut self, c: &LinuxCpu) -> Result<(), CgroupError> {
        for (field, file, list) in [
            ("cpu.cpus", "cpuset.cpus", c.cpus()),
            ("cpu.mems", "cpuset.mems", c.mems()),
        ] {
            if let Some(list) = list.as_deref().filter(|s| !s.is_empty()) {
                let ver = self.locate(field, "cpuset")?;
                self.push(field, "cpuset", ver, file, list, Kind::Set);
            }
        }
        Ok(())
    }

    /// blkio on v1, io on v2.
    fn locate_io(&self, field: &str) -> Result<Ver, CgroupError> {
        match (self.host.home("blkio"), self.host.home("io")) {
            (Some(Ver::V1), _) => Ok(Ver::V1),
            (_, Some(Ver::V2)) => Ok(Ver::V2),
            _ => Err(refuse(
                field,
                "blkio (io on cgroup v2) is not mounted on this host",
            )),
        }
    }

    fn block_io(&mut self, b: &LinuxBlockIo) -> Result<(), CgroupError> {
        let io = |p: &mut Self,
                  field: &str,
                  v1: Vec<(String, String)>,
                  v2: Option<Vec<(String, String)>>,
                  hint: &'static str|
         -> Result<(), CgroupError> {
            let (version, controller, choices) = match p.locate_io(field)? {
                Ver::V1 => (Ver::V1, "blkio", v1),
                Ver::V2 => match v2 {
                    Some(choices) => (Ver::V2, "io", choices),
                    None => {
                        return Err(refuse(
                            field,
                            "no cgroup v2 equivalent (this host's io controller is on cgroup v2; leaf weights were CFQ's)",
                        ))
                    }
                },
            };
            p.out.push(Write {
                field: field.to_string(),
                controller: controller.to_string(),
                version,
                choices,
                kind: Kind::Set,
                hint,
            });
            Ok(())
        };
        let pair = |f: &str, v: String| (f.to_string(), v);
        const CFQ: &str = "leaf weights need the CFQ scheduler (removed in Linux 5.0)";
        if let Some(w) = b.weight().filter(|&x| x != 0) {
            io(
                self,
                "blockIO.weight",
                vec![
                    pair("blkio.weight", w.to_string()),
                    pair("blkio.bfq.weight", w.to_string()),
                ],
                Some(vec![
                    pair("io.bfq.weight", w.to_string()),
                    pair("io.weight", format!("default {}", io_weight(w))),
                ]),
                "no proportional-weight I/O scheduler (CFQ or BFQ) is available",
            )?;
        }
        if let Some(w) = b.leaf_weight().filter(|&x| x != 0) {
            io(
                self,
                "blockIO.leafWeight",
                vec![pair("blkio.leaf_weight", w.to_string())],
                None,
                CFQ,
            )?;
        }
        for (i, d) in b.weight_device().iter().flatten().enumerate() {
            let dev = format!("{}:{}", d.major(), d.minor());
            if d.weight().is_none() && d.leaf_weight().is_none() {
                return Err(refuse(
                    &format!("blockIO.weightDevice[{i}]"),
                    "needs weight or leafWeight (config-linux.md \"Block IO\")",
                ));
            }
            if let Some(w) = d.weight() {
                io(
                    self,
                    &format!("blockIO.weightDevice[{i}].weight"),
                    vec![
                        pair("blkio.weight_device", format!("{dev} {w}")),
                        pair("blkio.bfq.weight_device", format!("{dev} {w}")),
                    ],
                    Some(vec![
                        pair("io.bfq.weight", format!("{dev} {w}")),
                        pair("io.weight", format!("{dev} {}", io_weight(w))),
                    ]),
                    "no proportional-weight I/O scheduler (CFQ or BFQ) is available",
                )?;
            }
            if let Some(w) = d.leaf_weight() {
                io(
                    self,
                    &format!("blockIO.weightDevice[{i}].leafWeight"),
                    vec![pair("blkio.leaf_weight_device", format!("{dev} {w}"))],
                    None,
                    CFQ,
                )?;
            }
        }
        for (name, v1, v2, list) in [
            (
                "throttleReadBpsDevice",
                "blkio.throttle.read_bps_device",
                "rbps",
                b.throttle_read_bps_device(),
            ),
            (
                "throttleWriteBpsDevice",
                "blkio.throttle.write_bps_device",
                "wbps",
                b.throttle_write_bps_device(),
            ),
            (
                "throttleReadIOPSDevice",
                "blkio.throttle.read_iops_device",
                "riops",
                b.throttle_read_iops_device(),
            ),
            (
                "throttleWriteIOPSDevice",
                "blkio.throttle.write_iops_device",
                "wiops",
                b.throttle_write_iops_device(),
            ),
        ] {
            for (i, d) in list.iter().flatten().enumerate() {
                let dev = format!("{}:{}", d.major(), d.minor());
                io(
                    self,
                    &format!("blockIO.{name}[{i}]"),
                    vec![pair(v1, format!("{dev} {}", d.rate()))],
                    Some(vec![pair("io.max", format!("{dev} {v2}={}", d.rate()))]),
                    "the kernel has no block I/O throttling (CONFIG_BLK_DEV_THROTTLING)",
                )?;
            }
        }
        Ok(())
    }

    fn hugepages(&mut self, i: usize, page_size: &str, limit: i64) -> Result<(), CgroupError> {
        let field = format!("hugepageLimits[{i}]");
        let ver = self.locate(&field, "hugetlb")?;
        let (fault, rsvd) = match ver {
            Ver::V1 => ("limit_in_bytes", "rsvd.limit_in_bytes"),
            Ver::V2 => ("max", "rsvd.max"),
        };
        // config-linux.md "Huge page limits": the reservation limit where the kernel has it,
        // the page-fault limit always.
        self.push(
            &field,
            "hugetlb",
            ver,
            &format!("hugetlb.{page_size}.{rsvd}"),
            limit,
            Kind::Optional,
        );
        self.push(
            &field,
            "hugetlb",
            ver,
            &format!("hugetlb.{page_size}.{fault}"),
            limit,
            Kind::Set,
        )
        .hint = "no such huge page size on this host (pageSize)";
        Ok(())
    }

    fn rdma(&mut self, r: &LinuxResources) -> Result<(), CgroupError> {
        let mut devices: Vec<_> = r.rdma().iter().flatten().collect();
        devices.sort_by(|a, b| a.0.cmp(b.0));
        for (device, limits) in devices {
            let field = format!("rdma[\"{device}\"]");
            let ver = self.locate(&field, "rdma")?;
            let mut line = device.clone();
            if let Some(h) = limits.hca_handles() {
                line.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = limits.hca_objects() {
                line.push_str(&format!(" hca_object={o}"));
            }
            if line == *device {
                return Err(refuse(&field, "needs hcaHandles or hcaObjects"));
            }
            self.push(&field, "rdma", ver, "rdma.max", line, Kind::Set);
        }
        Ok(())
    }

    fn unified(&mut self, r: &LinuxResources) -> Result<(), CgroupError> {
        let mut keys: Vec<_> = r.unified().iter().flatten().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for (key, value) in keys {
            let field = format!("unified[\"{key}\"]");
            check_unified_key(key).map_err(|reason| refuse(&field, reason))?;
            let Some(v2) = &self.host.v2 else {
                return Err(refuse(
                    &field,
                    "needs cgroup v2, and this host has no cgroup2 hierarchy",
                ));
            };
            let prefix = key.split('.').next().unwrap_or_default();
            let controller = if V2_CONTROLLERS.contains(&prefix) {
                if !v2.iter().any(|c| c == prefix) {
                    let bound = if self.host.home(prefix) == Some(Ver::V1) {
                        " (it is bound to a cgroup v1 hierarchy here)"
                    } else {
                        ""
                    };
                    return Err(refuse(
                        &field,
                        format!("the {prefix} controller is not available in this host's cgroup v2 hierarchy{bound}"),
                    ));
                }
                prefix
            } else {
                ""
            };
            self.push(&field, controller, Ver::V2, key, value, Kind::Set)
                .hint = "no such file in the container's cgroup";
        }
        Ok(())
    }

    fn devices(&mut self, r: &LinuxResources) -> Result<(), CgroupError> {
        let rules = devices::effective(r.devices().as_deref().unwrap_or_default());
        if rules.is_empty() {
            return Ok(());
        }
        match self.host.home("devices") {
            Some(Ver::V1) => {
                // cgroup-v1/devices.rst: deny everything, then the rules in order.
                self.push("devices", "devices", Ver::V1, "devices.deny", "a", Kind::Set);
                for (i, rule) in rules.iter().enumerate() {
                    let file = if rule.allow { "devices.allow" } else { "devices.deny" };
                    let field = format!("devices[{i}]");
                    self.push(&field, "devices", Ver::V1, file, rule.line(), Kind::Set);
                }
            }
            _ if self.host.v2.is_some() => {
                self.out.push(Write {
                    field: "devices".into(),
                    controller: String::new(),
                    version: Ver::V2,
                    choices: Vec::new(),
                    kind: Kind::DeviceProgram,
                    hint: "",
                });
            }
            _ => {
                return Err(refuse(
                    "devices",
                    "the devices controller is not mounted on this host, and there is no cgroup2 hierarchy for a device program",
                ))
            }
        }
        Ok(())
    }
}

/// The controllers of cgroup v2 (cgroup-v2.rst "Controllers"): a `unified` key with one of
/// these prefixes needs it enabled; other prefixes (`cgroup.`, the PSI files) are core files.
const V2_CONTROLLERS: [&str; 8] = [
    "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc",
];

/// config-linux.md "Unified": keys are interface file names of the container's cgroup
/// (`<controller>.<name>`); anything that could name another file is refused.
fn check_unified_key(key: &str) -> Result<(), &'static str> {
    let bad = key.is_empty()
        || key.contains('/')
        || key.contains('\0')
        || key.starts_with('.')
        || !key.contains('.')
        || key.starts_with("cgroup.procs")
        || key == "cgroup.threads";
    if bad {
        return Err("not an interface file name of the container's cgroup");
    }
    Ok(())
}

/// A v2 limit: -1 (or any negative) is "max".
fn max(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// runc's shares → weight mapping: a quadratic in log2(shares) through (2, 1), (1024, 100)
/// and (262144, 10000), so the v1 default (1024) is the v2 default (100).
pub fn cpu_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        1..=2 => 1,
        262_144.. => 10_000,
        s => {
            let l = (s as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            10f64.powf(exponent).ceil() as u64
        }
    }
}

/// The v1 blkio weight range [10, 1000] → v2 io.weight [1, 10000].
pub fn io_weight(weight: u16) -> u64 {
    1 + (u64::from(weight.clamp(10, 1000)) - 10) * 9999 / 990
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn v1_host() -> Controllers {
        Controllers {
            v1: [
                "memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "devices", "hugetlb",
                "net_cls", "net_prio", "rdma",
            ]
            .map(String::from)
            .to_vec(),
            v2: None,
        }
    }

    fn v2_host() -> Controllers {
        Controllers {
            v1: vec![],
            v2: Some(
                [
                    "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc",
                ]
                .map(String::from)
                .to_vec(),
            ),
        }
    }

    /// This machine: v1 controllers, cgroup2 holding hugetlb, no net_cls/net_prio/rdma.
    fn hybrid_host() -> Controllers {
        Controllers {
            v1: [
                "cpu",
                "cpuacct",
                "cpuset",
                "memory",
                "devices",
                "freezer",
                "blkio",
                "pids",
                "name=systemd",
            ]
            .map(String::from)
            .to_vec(),
            v2: Some(vec!["hugetlb".into()]),
        }
    }

    fn files(writes: &[Write]) -> Vec<String> {
        writes
            .iter()
            .map(|w| format!("{}={}", w.file(), w.value()))
            .collect()
    }

    fn err(json: &str, host: &Controllers) -> String {
        plan(&res(json), host, None).unwrap_err().to_string()
    }

    #[test]
    fn v1_memsw_goes_first_when_raising_last_when_lowering() {
        let r = res(r#"{"memory": {"limit": 200, "swap": 400}}"#);
        assert_eq!(
            files(&plan(&r, &v1_host(), Some(100)).unwrap()),
            [
                "memory.memsw.limit_in_bytes=400",
                "memory.limit_in_bytes=200"
            ]
        );
        assert_eq!(
            files(&plan(&r, &v1_host(), Some(300)).unwrap()),
            [
                "memory.limit_in_bytes=200",
                "memory.memsw.limit_in_bytes=400"
            ]
        );
    }

    #[test]
    fn v1_every_memory_field() {
        let r = res(
            r#"{"memory": {"limit": -1, "reservation": 5, "kernel": 4096, "kernelTCP": -1, "swappiness": 0,
                "disableOOMKiller": false, "useHierarchy": true, "checkBeforeUpdate": true}}"#,
        );
        let plan = plan(&r, &v1_host(), None).unwrap();
        assert_eq!(
            files(&plan),
            [
                "memory.memsw.limit_in_bytes=-1",
                "memory.limit_in_bytes=-1",
                "memory.soft_limit_in_bytes=5",
                "memory.kmem.limit_in_bytes=4096",
                "memory.kmem.tcp.limit_in_bytes=-1",
                "memory.swappiness=0",
                "memory.oom_control=0",
                "memory.use_hierarchy=1",
            ]
        );
        assert_eq!(
            plan[0].kind,
            Kind::Optional,
            "unlimited memsw needs no swap accounting"
        );
        assert_eq!(
            plan[3].kind,
            Kind::ReadBackAtMost,
            "a kernel that ignores kmem is caught"
        );
        assert_eq!(plan[4].kind, Kind::Set);
        assert!(plan
            .iter()
            .all(|w| w.version == Ver::V1 && w.controller == "memory"));
        let check = res(r#"{"memory": {"limit": 100, "swap": 200, "checkBeforeUpdate": true}}"#);
        let p = super::plan(&check, &v1_host(), None).unwrap();
        assert_eq!(p[0].kind, Kind::UsageBelow(vec!["memory.usage_in_bytes"]));
        assert_eq!(
            p[1].kind,
            Kind::UsageBelow(vec!["memory.memsw.usage_in_bytes"])
        );
        assert_eq!(
            err(r#"{"memory": {"swappiness": 101}}"#, &v1_host()),
            "linux.resources.memory.swappiness: 101: out of range 0-100"
        );
    }

    #[test]
    fn v2_memory_conversions_and_refusals() {
        let host = v2_host();
        let p = plan(
            &res(r#"{"memory": {"limit": 100, "swap": 300, "reservation": -1}}"#),
            &host,
            None,
        )
        .unwrap();
        assert_eq!(
            files(&p),
            ["memory.swap.max=200", "memory.max=100", "memory.low=max"]
        );
        let p = plan(&res(r#"{"memory": {"limit": -1}}"#), &host, None).unwrap();
        assert_eq!(files(&p), ["memory.swap.max=max", "memory.max=max"]);
        assert_eq!(p[0].kind, Kind::Optional);
        let p = plan(
            &res(r#"{"memory": {"limit": -1, "swap": 500}}"#),
            &host,
            None,
        )
        .unwrap();
        assert_eq!(files(&p), ["memory.swap.max=500", "memory.max=max"]);
        let p = plan(&res(r#"{"memory": {"limit": 10, "swap": 10, "kernel": -1, "useHierarchy": true, "disableOOMKiller": false}}"#), &host, None).unwrap();
        assert_eq!(files(&p), ["memory.swap.max=0", "memory.max=10"]);
        let p = plan(
            &res(r#"{"memory": {"limit": 10, "swap": 20, "checkBeforeUpdate": true}}"#),
            &host,
            None,
        )
        .unwrap();
        assert_eq!(p[0].kind, Kind::UsageBelow(vec!["memory.current"]));
        assert_eq!(
            p[1].kind,
            Kind::UsageBelow(vec!["memory.current", "memory.swap.current"])
        );
        for (json, words) in [
            (r#"{"memory": {"swappiness": 10}}"#, "linux.resources.memory.swappiness: 10: this host's memory controller is on cgroup v2"),
            (r#"{"memory": {"kernel": 4096}}"#, "linux.resources.memory.kernel: 4096: "),
            (r#"{"memory": {"kernelTCP": 4096}}"#, "linux.resources.memory.kernelTCP: 4096: "),
            (r#"{"memory": {"disableOOMKiller": true}}"#, "linux.resources.memory.disableOOMKiller: true: "),
            (r#"{"memory": {"useHierarchy": false}}"#, "linux.resources.memory.useHierarchy: false "),
            (r#"{"memory": {"limit": 100, "swap": 50}}"#, "linux.resources.memory.swap: 50: below memory.limit 100"),
            (r#"{"memory": {"swap": 50}}"#, "linux.resources.memory.swap: 50: a swap limit needs a memory limit"),
        ] {
            let e = err(json, &host);
            assert!(e.starts_with(words), "{json}: {e}");
        }
    }

    #[test]
    fn cpu_on_v1_and_v2() {
        let r = res(
            r#"{"cpu": {"shares": 1024, "period": 1000, "quota": 500, "burst": 100, "realtimePeriod": 9, "realtimeRuntime": 7, "idle": 1, "cpus": "0-1", "mems": "0"}}"#,
        );
        let p = plan(&r, &v1_host(), None).unwrap();
        assert_eq!(
            files(&p),
            [
                "cpu.shares=1024",
                "cpu.cfs_period_us=1000",
                "cpu.cfs_quota_us=500",
                "cpu.cfs_burst_us=100",
                "cpu.rt_period_us=9",
                "cpu.rt_runtime_us=7",
                "cpu.idle=1",
                "cpuset.cpus=0-1",
                "cpuset.mems=0",
            ]
        );
        assert_eq!(p[0].kind, Kind::ReadBackEqual);
        assert_eq!(p[1].kind, Kind::Retry);
        let v2 =
            res(r#"{"cpu": {"shares": 1024, "quota": 500, "burst": 100, "idle": 0, "cpus": "0"}}"#);
        assert_eq!(
            files(&plan(&v2, &v2_host(), None).unwrap()),
            [
                "cpu.weight=100",
                "cpu.max=500 100000",
                "cpu.max.burst=100",
                "cpu.idle=0",
                "cpuset.cpus=0"
            ]
        );
        let period_only = res(r#"{"cpu": {"period": 50000, "quota": -1}}"#);
        assert_eq!(
            files(&plan(&period_only, &v2_host(), None).unwrap()),
            ["cpu.max=max 50000"]
        );
        assert!(err(r#"{"cpu": {"realtimeRuntime": 100}}"#, &v2_host())
            .starts_with("linux.resources.cpu.realtimeRuntime: realtime group scheduling"));
        // Zeros are runc's "unset": nothing to write, nothing required.
        assert!(plan(
            &res(r#"{"cpu": {"shares": 0, "quota": 0, "period": 0}}"#),
            &Controllers::default(),
            None
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn pids_zero_is_a_limit() {
        let f = |json| files(&plan(&res(json), &v1_host(), None).unwrap());
        assert_eq!(f(r#"{"pids": {"limit": 0}}"#), ["pids.max=0"]);
        assert_eq!(f(r#"{"pids": {"limit": -1}}"#), ["pids.max=max"]);
        assert_eq!(f(r#"{"pids": {"limit": 7}}"#), ["pids.max=7"]);
    }

    #[test]
    fn block_io_on_v1_and_v2() {
        let r = res(r#"{"blockIO": {"weight": 500, "leafWeight": 300,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 200}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]}}"#);
        let p = plan(&r, &v1_host(), None).unwrap();
        assert_eq!(
            files(&p),
            [
                "blkio.weight=500",
                "blkio.leaf_weight=300",
                "blkio.weight_device=8:0 600",
                "blkio.leaf_weight_device=8:0 200",
                "blkio.throttle.read_bps_device=8:0 1048576",
                "blkio.throttle.write_iops_device=8:16 300",
            ]
        );
        assert_eq!(p[0].choices[1], ("blkio.bfq.weight".into(), "500".into()));
        assert_eq!(p[2].field, "blockIO.weightDevice[0].weight");
        assert_eq!(
            err(r#"{"blockIO": {"leafWeight": 300}}"#, &v2_host()),
            "linux.resources.blockIO.leafWeight: no cgroup v2 equivalent (this host's io controller is on cgroup v2; leaf weights were CFQ's)"
        );
        let v2 = res(
            r#"{"blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 1000}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 10}]}}"#,
        );
        let p = plan(&v2, &v2_host(), None).unwrap();
        assert_eq!(
            files(&p),
            [
                "io.bfq.weight=500",
                "io.bfq.weight=8:0 1000",
                "io.max=8:0 rbps=10"
            ]
        );
        assert_eq!(p[0].choices[1], ("io.weight".into(), "default 4950".into()));
        assert_eq!(p[1].choices[1], ("io.weight".into(), "8:0 10000".into()));
        assert_eq!(
            err(r#"{"blockIO": {"weightDevice": [{"major": 8, "minor": 0}]}}"#, &v1_host()),
            "linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight (config-linux.md \"Block IO\")"
        );
    }

    #[test]
    fn hybrid_puts_each_controller_where_it_is() {
        let r = res(r#"{"memory": {"limit": 100}, "pids": {"limit": 3},
                "hugepageLimits": [{"pageSize": "1GB", "limit": 0}],
                "unified": {"hugetlb.2MB.max": "0", "cgroup.max.depth": "3"}}"#);
        let p = plan(&r, &hybrid_host(), Some(50)).unwrap();
        let placed: Vec<_> = p.iter().map(|w| (w.file(), w.version)).collect();
        assert_eq!(
            placed,
            [
                ("memory.limit_in_bytes", Ver::V1),
                ("pids.max", Ver::V1),
                ("hugetlb.1GB.rsvd.max", Ver::V2),
                ("hugetlb.1GB.max", Ver::V2),
                ("cgroup.max.depth", Ver::V2),
                ("hugetlb.2MB.max", Ver::V2),
            ]
        );
        assert_eq!(p[4].controller, "", "a core file needs no controller");
        assert_eq!(
            err(r#"{"unified": {"memory.high": "1"}}"#, &hybrid_host()),
            "linux.resources.unified[\"memory.high\"]: the memory controller is not available in this host's cgroup v2 hierarchy (it is bound to a cgroup v1 hierarchy here)"
        );
        assert_eq!(
            err(r#"{"unified": {"memory.high": "1"}}"#, &v1_host()),
            "linux.resources.unified[\"memory.high\"]: needs cgroup v2, and this host has no cgroup2 hierarchy"
        );
        assert_eq!(
            err(r#"{"unified": {"../../etc/passwd": "x"}}"#, &v2_host()),
            "linux.resources.unified[\"../../etc/passwd\"]: not an interface file name of the container's cgroup"
        );
        assert!(err(r#"{"unified": {"cgroup.procs": "1"}}"#, &v2_host())
            .contains("unified[\"cgroup.procs\"]"));
    }

    #[test]
    fn network_and_rdma_where_mounted_refused_elsewhere() {
        let r = res(
            r#"{"network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}, {"name": "lo", "priority": 1}]},
                "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}, "mlx4_0": {"hcaObjects": 1000}}}"#,
        );
        assert_eq!(
            files(&plan(&r, &v1_host(), None).unwrap()),
            [
                "net_cls.classid=1048577",
                "net_prio.ifpriomap=eth0 5",
                "net_prio.ifpriomap=lo 1",
                "rdma.max=mlx4_0 hca_object=1000",
                "rdma.max=mlx5_1 hca_handle=3 hca_object=10000",
            ]
        );
        for host in [hybrid_host(), v2_host()] {
            assert_eq!(
                err(r#"{"network": {"classID": 1}}"#, &host),
                "linux.resources.network.classID: net_cls is not mounted on this host"
            );
            assert_eq!(
                err(
                    r#"{"network": {"priorities": [{"name": "lo", "priority": 1}]}}"#,
                    &host
                ),
                "linux.resources.network.priorities[0]: net_prio is not mounted on this host"
            );
        }
        assert_eq!(
            err(r#"{"rdma": {"mlx5_1": {"hcaHandles": 3}}}"#, &hybrid_host()),
            "linux.resources.rdma[\"mlx5_1\"]: rdma is not mounted on this host"
        );
        assert_eq!(
            files(
                &plan(
                    &res(r#"{"rdma": {"rxe3": {"hcaHandles": 1}}}"#),
                    &v2_host(),
                    None
                )
                .unwrap()
            ),
            ["rdma.max=rxe3 hca_handle=1"]
        );
        assert_eq!(
            err(r#"{"rdma": {"rxe3": {}}}"#, &v2_host()),
            "linux.resources.rdma[\"rxe3\"]: needs hcaHandles or hcaObjects"
        );
    }

    #[test]
    fn devices_by_version() {
        let r = res(r#"{"devices": [{"allow": false, "access": "rwm"}]}"#);
        let p = plan(&r, &v1_host(), None).unwrap();
        assert_eq!(p[0].file(), "devices.deny");
        assert_eq!(p[1].value(), "a");
        assert_eq!(
            plan(&r, &v2_host(), None).unwrap()[0].kind,
            Kind::DeviceProgram
        );
        let bare = Controllers {
            v1: vec!["memory".into()],
            v2: None,
        };
        assert!(
            err(r#"{"devices": [{"allow": false, "access": "rwm"}]}"#, &bare)
                .starts_with("linux.resources.devices: the devices controller is not mounted")
        );
    }

    #[test]
    fn missing_controllers_name_the_first_field_asked() {
        let none = Controllers::default();
        for (json, words) in [
            (r#"{"memory": {"reservation": 1}}"#, "linux.resources.memory.reservation: memory is not mounted on this host"),
            (r#"{"cpu": {"idle": 1}}"#, "linux.resources.cpu.idle: cpu is not mounted on this host"),
            (r#"{"cpu": {"mems": "0"}}"#, "linux.resources.cpu.mems: cpuset is not mounted on this host"),
            (r#"{"pids": {"limit": 1}}"#, "linux.resources.pids.limit: pids is not mounted on this host"),
            (r#"{"blockIO": {"weight": 10}}"#, "linux.resources.blockIO.weight: blkio (io on cgroup v2) is not mounted on this host"),
            (r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}"#, "linux.resources.hugepageLimits[0]: hugetlb is not mounted on this host"),
        ] {
            assert_eq!(err(json, &none), words);
        }
        // Unset values ask for nothing.
        assert!(plan(
            &res(r#"{"memory": {"limit": 0, "disableOOMKiller": false}}"#),
            &none,
            None
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn conversions() {
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 100);
        assert_eq!(cpu_weight(512), 59);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(io_weight(10), 1);
        assert_eq!(io_weight(1000), 10_000);
    }
}
