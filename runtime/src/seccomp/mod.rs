//! `linux.seccomp` (config-linux.md "Seccomp"): the profile is compiled by libseccomp — the
//! compiler runc, crun and youki use, which knows every architecture's syscall numbers, the
//! i386 socketcall/ipc multiplexers and the x32 bit — to a classic BPF program in the runtime
//! before fork (so errors reach the caller and nothing is left behind), and installed by the
//! container process itself just before execve with seccomp(2) (so the flags, and the
//! listener fd of `SCMP_ACT_NOTIFY`, are ours to handle).
//!
//! Every ABI the kernel offers a 64-bit process is filtered: the native one always, each
//! listed `architectures` entry with its own syscall numbers, and any other (an `int $0x80`
//! i386 call when x86 is not listed, an x32 call when x32 is not) gets `SCMP_ACT_KILL_PROCESS`,
//! so a deny-list cannot be stepped around through another ABI (runc and crun do the same
//! through libseccomp's bad-architecture action).
//!
//! Rule semantics follow runc: the args of one rule are ANDed, except when they all test the
//! same argument, then each is its own rule (ORed); a rule whose action is the default is
//! dropped; names unknown to libseccomp are skipped (profiles list syscalls of newer kernels).

mod compile;
pub mod notify;

use std::os::fd::{FromRawFd, OwnedFd};

pub use compile::compile;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SeccompError {
    /// JSON path inside config.json (`linux.seccomp.syscalls[3].action`).
    pub path: String,
    pub message: String,
}

pub(crate) fn err(path: impl Into<String>, message: impl Into<String>) -> SeccompError {
    SeccompError {
        path: path.into(),
        message: message.into(),
    }
}

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// What a compiled filter needs at install time.
#[derive(Debug, Clone)]
pub struct Filter {
    pub program: Vec<Insn>,
    /// seccomp(2) flags (SECCOMP_FILTER_FLAG_*) from `linux.seccomp.flags`.
    pub flags: u32,
    /// Some rule uses `SCMP_ACT_NOTIFY`: install with SECCOMP_FILTER_FLAG_NEW_LISTENER and
    /// hand the listener fd to `listenerPath`.
    pub notify: bool,
}

/// seccomp(2) filter flags (linux/seccomp.h).
pub mod flags {
    pub const TSYNC: u32 = 1;
    pub const LOG: u32 = 2;
    pub const SPEC_ALLOW: u32 = 4;
    pub const NEW_LISTENER: u32 = 8;
    pub const WAIT_KILLABLE_RECV: u32 = 32;
}

/// The names `ocirun features` lists (features-linux.md "Seccomp"): every one is recognised
/// in a config and handled as config-linux.md says.
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];
/// Every architecture of the spec's list that libseccomp 2.5 (Debian 12's) compiles for.
pub const ARCHS: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];

/// Installs the filter on the calling thread (seccomp(2)); needs no_new_privs or
/// CAP_SYS_ADMIN. Returns the listener fd when the filter notifies.
pub fn install(filter: &Filter) -> Result<Option<OwnedFd>, String> {
    const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
    let mut flags = filter.flags;
    if filter.notify {
        flags |= flags::NEW_LISTENER;
    }
    let prog = libc::sock_fprog {
        len: filter.program.len() as libc::c_ushort,
        // `Insn` is `#[repr(C)]` with sock_filter's fields in sock_filter's order.
        filter: filter.program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: the sock_fprog points into `filter.program`, alive for the call; the kernel
    // copies the program and only reads it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!("install seccomp filter: {}", crate::errno_text(&e)));
    }
    if !filter.notify {
        return Ok(None);
    }
    // SAFETY: with NEW_LISTENER, a non-negative return is a new fd that we now own.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(r as i32) }))
}
