//! Kernel attributes of the container process beyond credentials: `process.scheduler`
//! (sched_setattr(2)), `process.ioPriority` (ioprio_set(2)), `process.execCPUAffinity`
//! (sched_setaffinity(2)), `linux.personality` (personality(2)) and `linux.memoryPolicy`
//! (set_mempolicy(2)). Each is checked when the config is read ([`check`]), so a value the
//! runtime cannot apply fails before anything exists, and applied by the process itself just
//! before it becomes the user program; children inherit all of them across fork and execve.

use oci_spec::runtime::{
    ExecCPUAffinity, IOPriorityClass, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality,
    LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy, MemoryPolicyFlagType,
    MemoryPolicyModeType, Scheduler,
};

/// What a field's value cannot be, as (JSON path, reason).
pub type Invalid = (String, String);

/// The attributes a process gets, from its `process` and the container's `linux`.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    pub scheduler: Option<Scheduler>,
    pub io_priority: Option<LinuxIOPriority>,
    pub personality: Option<LinuxPersonality>,
    pub memory_policy: Option<LinuxMemoryPolicy>,
}

impl Attributes {
    pub fn of(
        process: &oci_spec::runtime::Process,
        linux: Option<&oci_spec::runtime::Linux>,
    ) -> Self {
        Attributes {
            scheduler: process.scheduler().clone(),
            io_priority: *process.io_priority(),
            personality: linux.and_then(|l| l.personality().clone()),
            memory_policy: linux.and_then(|l| l.memory_policy().clone()),
        }
    }

    /// Applies every attribute to the calling process (while it still has its capabilities:
    /// real-time policies and a high I/O class need CAP_SYS_NICE / CAP_SYS_ADMIN).
    pub fn apply(&self) -> Result<(), String> {
        if let Some(p) = &self.personality {
            set_personality(p)?;
        }
        if let Some(m) = &self.memory_policy {
            set_memory_policy(m)?;
        }
        if let Some(s) = &self.scheduler {
            set_scheduler(s)?;
        }
        if let Some(io) = &self.io_priority {
            set_io_priority(io)?;
        }
        Ok(())
    }
}

/// Every attribute's value checked as far as can be without applying it.
pub fn check(
    process: Option<&oci_spec::runtime::Process>,
    linux: Option<&oci_spec::runtime::Linux>,
) -> Result<(), Invalid> {
    if let Some(io) = process.and_then(|p| p.io_priority().as_ref()) {
        io_priority_value(io)?;
    }
    if let Some(s) = process.and_then(|p| p.scheduler().as_ref()) {
        scheduler_attr(s)?;
    }
    if let Some(a) = process.and_then(|p| p.exec_cpu_affinity().as_ref()) {
        for (field, list) in [("initial", a.initial()), ("final", a.cpu_affinity_final())] {
            if let Some(list) = list.as_deref().filter(|l| !l.is_empty()) {
                cpu_set(list).map_err(|m| (format!("process.execCPUAffinity.{field}"), m))?;
            }
        }
    }
    if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
        if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
            return Err((
                "linux.personality.flags".into(),
                "no flag is defined (the spec supports none yet)".into(),
            ));
        }
    }
    if let Some(m) = linux.and_then(|l| l.memory_policy().as_ref()) {
        memory_policy_args(m)?;
    }
    Ok(())
}

/// config.md "IO Priority": IOPRIO_PRIO_VALUE(class, priority), priority 0 (highest) to 7.
fn io_priority_value(io: &LinuxIOPriority) -> Result<libc::c_int, Invalid> {
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let priority = io.priority();
    if !(0..=7).contains(&priority) {
        return Err((
            "process.ioPriority.priority".into(),
            format!("{priority} is not 0 to 7"),
        ));
    }
    Ok((class << 13) | priority as libc::c_int)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0): the process and, by inheritance, everything it starts.
/// config.md speaks of "the process group", but the group the process belongs to when it is
/// set up is the caller's (conmon's, a shell's) outside the container; setting that group
/// would change host processes, so only the container's own processes get it.
fn set_io_priority(io: &LinuxIOPriority) -> Result<(), String> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    let value = io_priority_value(io).map_err(|(f, m)| format!("{f}: {m}"))?;
    // SAFETY: ioprio_set with integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "process.ioPriority: ioprio_set: {}",
            crate::errno_text(&e)
        ));
    }
    Ok(())
}

/// `struct sched_attr` (sched_setattr(2)), SCHED_ATTR_SIZE_VER1.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

fn scheduler_attr(s: &Scheduler) -> Result<SchedAttr, Invalid> {
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => {
            // Reserved in the kernel's uapi and never implemented: sched_setattr says EINVAL.
            return Err((
                "process.scheduler.policy".into(),
                "SCHED_ISO is not implemented by Linux".into(),
            ));
        }
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err((
            "process.scheduler.nice".into(),
            format!("{nice} is not -20 to 19"),
        ));
    }
    let priority = s.priority().unwrap_or(0);
    let priority = u32::try_from(priority).map_err(|_| {
        (
            "process.scheduler.priority".into(),
            format!("{priority} is negative"),
        )
    })?;
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice,
        priority,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        // With UTIL_CLAMP_* set these bound the utilization; the spec has no fields for
        // them, so the whole range (what the kernel assumes without the flags).
        util_min: 0,
        util_max: 1024,
    })
}

fn set_scheduler(s: &Scheduler) -> Result<(), String> {
    let attr = scheduler_attr(s).map_err(|(f, m)| format!("{f}: {m}"))?;
    // SAFETY: sched_setattr reads one sched_attr of the size it says, alive for the call.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "process.scheduler: sched_setattr: {}",
            crate::errno_text(&e)
        ));
    }
    Ok(())
}

/// A CPU or node list: `0-3,7` (config.md "execCPUAffinity", config-linux.md
/// "memoryPolicy.nodes"), as a bit set.
pub fn cpu_set(list: &str) -> Result<Vec<u64>, String> {
    let mut words: Vec<u64> = Vec::new();
    for part in list.split(',') {
        let bad = || format!("{list:?} is not a list like 0-3,7");
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>(), b.trim().parse::<usize>()),
            None => (part.trim().parse::<usize>(), part.trim().parse::<usize>()),
        };
        let (Ok(lo), Ok(hi)) = (lo, hi) else {
            return Err(bad());
        };
        if lo > hi || hi >= 1 << 16 {
            return Err(bad());
        }
        for n in lo..=hi {
            if words.len() <= n / 64 {
                words.resize(n / 64 + 1, 0);
            }
            words[n / 64] |= 1 << (n % 64);
        }
    }
    Ok(words)
}

/// sched_setaffinity(2) of `pid` (0: the caller) to `list`; `field` names it in errors.
pub fn set_cpu_affinity(pid: i32, list: &str, field: &str) -> Result<(), String> {
    let words = cpu_set(list).map_err(|m| format!("{field}: {m}"))?;
    // SAFETY: the mask is `words`, its length in bytes given; the kernel only reads it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_setaffinity,
            pid,
            words.len() * 8,
            words.as_ptr(),
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "{field} {list}: sched_setaffinity: {}",
            crate::errno_text(&e)
        ));
    }
    Ok(())
}

/// `execCPUAffinity` of an exec'd process, when set and not empty.
pub fn affinity_lists(a: Option<&ExecCPUAffinity>) -> (Option<String>, Option<String>) {
    let pick = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    match a {
        Some(a) => (pick(a.initial()), pick(a.cpu_affinity_final())),
        None => (None, None),
    }
}

/// config-linux.md "Personality": PER_LINUX or PER_LINUX32 (uname(2) then says i686).
fn set_personality(p: &LinuxPersonality) -> Result<(), String> {
    const PER_LINUX: libc::c_ulong = 0x0000;
    const PER_LINUX32: libc::c_ulong = 0x0008;
    let persona = match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    };
    // SAFETY: personality with an integer argument.
    if unsafe { libc::personality(persona) } < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!("linux.personality: {}", crate::errno_text(&e)));
    }
    Ok(())
}

/// set_mempolicy(2)'s (mode | flags, nodemask) for config-linux.md "Memory policy".
fn memory_policy_args(m: &LinuxMemoryPolicy) -> Result<(libc::c_int, Vec<u64>), Invalid> {
    let (mode, needs_nodes) = match m.mode() {
        MemoryPolicyModeType::MpolDefault => (0, Some(false)),
        MemoryPolicyModeType::MpolPreferred => (1, None),
        MemoryPolicyModeType::MpolBind => (2, Some(true)),
        MemoryPolicyModeType::MpolInterleave => (3, Some(true)),
        MemoryPolicyModeType::MpolLocal => (4, Some(false)),
        MemoryPolicyModeType::MpolPreferredMany => (5, Some(true)),
        MemoryPolicyModeType::MpolWeightedInterleave => (6, Some(true)),
    };
    let nodes = m.nodes().as_deref().filter(|n| !n.is_empty());
    let mask = match nodes {
        Some(n) => cpu_set(n).map_err(|e| ("linux.memoryPolicy.nodes".to_string(), e))?,
        None => Vec::new(),
    };
    match (needs_nodes, nodes.is_some()) {
        (Some(true), false) => {
            return Err((
                "linux.memoryPolicy.nodes".into(),
                format!("{:?} needs at least one node", m.mode().to_string()),
            ))
        }
        (Some(false), true) => {
            return Err((
                "linux.memoryPolicy.nodes".into(),
                format!("{:?} takes no nodes", m.mode().to_string()),
            ))
        }
        _ => {}
    }
    let mut flags = 0;
    for f in m.flags().iter().flatten() {
        flags |= match f {
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
        };
    }
    Ok((mode | flags, mask))
}

fn set_memory_policy(m: &LinuxMemoryPolicy) -> Result<(), String> {
    let (mode, mask) = memory_policy_args(m).map_err(|(f, e)| format!("{f}: {e}"))?;
    let (ptr, maxnode) = if mask.is_empty() {
        (std::ptr::null(), 0)
    } else {
        (mask.as_ptr(), mask.len() * 64)
    };
    // SAFETY: the nodemask is `mask` (maxnode bits), alive for the call; the kernel reads it.
    let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "linux.memoryPolicy: set_mempolicy: {}",
            crate::errno_text(&e)
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_set("0-3,7").unwrap(), vec![0b1000_1111]);
        assert_eq!(cpu_set("64").unwrap(), vec![0, 1]);
        for bad in ["", "a", "3-1", "1,,2", "-1"] {
            assert!(cpu_set(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scheduler_values() {
        let s: Scheduler = serde_json::from_value(json!({"policy": "SCHED_DEADLINE",
            "runtime": 10, "deadline": 20, "period": 30, "flags": ["SCHED_FLAG_RECLAIM"]}))
        .unwrap();
        let a = scheduler_attr(&s).unwrap();
        assert_eq!(
            (a.policy, a.flags, a.runtime, a.deadline, a.period),
            (6, 2, 10, 20, 30)
        );
        assert_eq!(a.size, 56, "SCHED_ATTR_SIZE_VER1");
        let iso: Scheduler = serde_json::from_value(json!({"policy": "SCHED_ISO"})).unwrap();
        assert_eq!(
            scheduler_attr(&iso).unwrap_err().0,
            "process.scheduler.policy"
        );
        let nice: Scheduler =
            serde_json::from_value(json!({"policy": "SCHED_OTHER", "nice": 40})).unwrap();
        assert_eq!(
            scheduler_attr(&nice).unwrap_err().0,
            "process.scheduler.nice"
        );
    }

    #[test]
    fn io_priorities() {
        let io: LinuxIOPriority =
            serde_json::from_value(json!({"class": "IOPRIO_CLASS_IDLE", "priority": 4})).unwrap();
        assert_eq!(io_priority_value(&io).unwrap(), (3 << 13) | 4);
        let bad: LinuxIOPriority =
            serde_json::from_value(json!({"class": "IOPRIO_CLASS_BE", "priority": 8})).unwrap();
        assert_eq!(
            io_priority_value(&bad).unwrap_err().0,
            "process.ioPriority.priority"
        );
    }

    #[test]
    fn memory_policies() {
        let m = |v| serde_json::from_value::<LinuxMemoryPolicy>(v).unwrap();
        let (mode, mask) = memory_policy_args(&m(json!({"mode": "MPOL_INTERLEAVE",
            "nodes": "0-1", "flags": ["MPOL_F_STATIC_NODES"]})))
        .unwrap();
        assert_eq!((mode, mask), (3 | 1 << 15, vec![0b11]));
        assert!(memory_policy_args(&m(json!({"mode": "MPOL_BIND"}))).is_err());
        assert!(memory_policy_args(&m(json!({"mode": "MPOL_LOCAL", "nodes": "0"}))).is_err());
        assert_eq!(
            memory_policy_args(&m(json!({"mode": "MPOL_DEFAULT"}))).unwrap(),
            (0, vec![])
        );
    }
}
