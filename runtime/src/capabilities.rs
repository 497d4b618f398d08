//! Capability names and sets (config.md "Linux Process": `capabilities`; capabilities(7)).
//!
//! config.md: a capability that cannot be mapped to the kernel MUST be logged as a warning
//! and the runtime SHOULD NOT fail.

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

/// Every capability name, indexed by its number (linux/capability.h).
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The number of a capability, if this runtime knows it.
pub fn number(cap: &Capability) -> Option<u32> {
    let name = serde_json::to_value(cap).ok()?;
    let name = name.as_str()?;
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

/// The highest capability the running kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// The five sets as bit masks, computed by the runtime before fork so that warnings go to
/// the runtime's log, never to the container's stdio. Unknown capabilities and ambient ones
/// that cannot be granted are reported through `warn` and left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Masks {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

impl Masks {
    pub fn from_spec(caps: &LinuxCapabilities, mut warn: impl FnMut(String)) -> Self {
        let last = last_cap();
        // What this process can pass on at all: the rest cannot be granted (config.md: warn).
        let ours = own_bounding_set();
        let mut mask = |set: &Option<Capabilities>, name: &str| {
            let mut m = 0u64;
            for cap in set.iter().flatten() {
                match number(cap).filter(|n| *n <= last) {
                    Some(n) => m |= 1 << n,
                    None => warn(format!(
                        "capability {cap} is not known to this kernel, ignored"
                    )),
                }
            }
            if m & !ours != 0 {
                warn(format!(
                    "capabilities.{name}: {} outside the runtime's bounding set, not granted",
                    names_of(m & !ours)
                ));
            }
            m & ours
        };
        let mut masks = Masks {
            bounding: mask(caps.bounding(), "bounding"),
            effective: mask(caps.effective(), "effective"),
            permitted: mask(caps.permitted(), "permitted"),
            inheritable: mask(caps.inheritable(), "inheritable"),
            ambient: mask(caps.ambient(), "ambient"),
        };
        // capabilities(7): an ambient capability must be permitted and inheritable.
        let grantable = masks.permitted & masks.inheritable;
        let refused = masks.ambient & !grantable;
        if refused != 0 {
            warn(format!(
                "ambient capabilities not both permitted and inheritable, not granted: {}",
                names_of(refused)
            ));
        }
        masks.ambient &= grantable;
        masks
    }
}

/// `CapBnd` of /proc/self/status: the capabilities this process could ever grant.
fn own_bounding_set() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}

/// "CAP_A, CAP_B" for the bits of `mask`.
fn names_of(mask: u64) -> String {
    (0..64)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| NAMES.get(b).copied().unwrap_or("?").to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Drops from the bounding set every capability not in `bounding` (needs CAP_SETPCAP, so it
/// runs before the uid changes).
pub fn drop_bounding(bounding: u64) -> Result<(), String> {
    for cap in 0..=last_cap() {
        if bounding & (1 << cap) == 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                return Err(format!(
                    "drop {} from the bounding set: {}",
                    NAMES.get(cap as usize).unwrap_or(&"?"),
                    crate::errno_text(&e)
                ));
            }
        }
    }
    Ok(())
}

/// capset(2) the effective, permitted and inheritable sets, then raise the ambient ones.
pub fn set(masks: &Masks) -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let split = |m: u64| [m as u32, (m >> 32) as u32];
    let (e, p, i) = (
        split(masks.effective),
        split(masks.permitted),
        split(masks.inheritable),
    );
    let data = [
        Data {
            effective: e[0],
            permitted: p[0],
            inheritable: i[0],
        },
        Data {
            effective: e[1],
            permitted: p[1],
            inheritable: i[1],
        },
    ];
    // SAFETY: capset reads one header and two data structs, both valid for the call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!("set capabilities: {}", crate::errno_text(&e)));
    }
    for cap in 0..=last_cap() {
        if masks.ambient & (1 << cap) != 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                    0,
                    0,
                )
            };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                return Err(format!(
                    "raise ambient capability {}: {}",
                    NAMES.get(cap as usize).unwrap_or(&"?"),
                    crate::errno_text(&e)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_kernel() {
        assert_eq!(number(&Capability::Chown), Some(0));
        assert_eq!(number(&Capability::SysAdmin), Some(21));
        assert_eq!(number(&Capability::CheckpointRestore), Some(40));
    }
}
