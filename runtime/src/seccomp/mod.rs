//! `linux.seccomp` (config-linux.md "Seccomp"): the profile compiled to a classic BPF program
//! by the runtime (before fork, so errors reach the caller), installed by the container
//! process just before execve.
//!
//! Scope: the native x86_64 ABI. A syscall from another ABI (i386, x32) gets the default
//! action. Rule semantics follow runc/libseccomp: the args of one rule are ANDed, except when
//! they all test the same argument, then each is its own rule (ORed). Unknown syscall names
//! are skipped (profiles list syscalls of newer kernels and other architectures).

mod bpf;
mod x86_64;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};

pub use bpf::Program;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SeccompError {
    /// JSON path inside config.json (`linux.seccomp.syscalls[3].action`).
    pub path: String,
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> SeccompError {
    SeccompError {
        path: path.into(),
        message: message.into(),
    }
}

/// The number of a syscall on x86_64, if the kernel headers know it.
pub fn syscall_number(name: &str) -> Option<u32> {
    x86_64::SYSCALLS
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| x86_64::SYSCALLS[i].1)
}

/// What a compiled filter needs at install time.
#[derive(Debug, Clone)]
pub struct Filter {
    pub program: Program,
    /// seccomp(2) flags (SECCOMP_FILTER_FLAG_*).
    pub flags: u32,
}

/// Compiles the profile. `errno` defaults to EPERM as in runc.
pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let at = "linux.seccomp";
    // "listenerMetadata MUST NOT be set if listenerPath is not set".
    if profile.listener_metadata().is_some() && profile.listener_path().is_none() {
        return Err(err(
            format!("{at}.listenerMetadata"),
            "set without listenerPath",
        ));
    }
    if profile.listener_path().is_some() {
        return Err(err(
            format!("{at}.listenerPath"),
            "seccomp notify is not supported",
        ));
    }
    let default = action(
        &profile.default_action(),
        profile.default_errno_ret(),
        &format!("{at}.defaultAction"),
    )?;
    let mut rules = Vec::new();
    for (i, sc) in profile.syscalls().iter().flatten().enumerate() {
        let here = format!("{at}.syscalls[{i}]");
        // "names MUST contain at least one entry".
        if sc.names().is_empty() {
            return Err(err(
                format!("{here}.names"),
                "must contain at least one entry",
            ));
        }
        let ret = action(&sc.action(), sc.errno_ret(), &format!("{here}.action"))?;
        if ret == default {
            continue; // the default already does it
        }
        let mut conds = Vec::new();
        for (j, a) in sc.args().iter().flatten().enumerate() {
            if a.index() > 5 {
                return Err(err(format!("{here}.args[{j}].index"), "must be 0 to 5"));
            }
            conds.push(bpf::Cond::from_spec(a));
        }
        let same_index = conds.len() > 1 && conds.iter().all(|c| c.index == conds[0].index);
        for name in sc.names() {
            let Some(nr) = syscall_number(name) else {
                continue;
            };
            if same_index {
                for c in &conds {
                    rules.push(bpf::Rule {
                        nr,
                        conds: vec![*c],
                        ret,
                    });
                }
            } else {
                rules.push(bpf::Rule {
                    nr,
                    conds: conds.clone(),
                    ret,
                });
            }
        }
    }
    let program = bpf::build(&rules, default).map_err(|m| err(at, m))?;
    let mut flags = 0;
    for (i, f) in profile.flags().iter().flatten().enumerate() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => 1,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => 2,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => 4,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(err(
                    format!("{at}.flags[{i}]"),
                    "needs seccomp notify, unsupported",
                ))
            }
        };
    }
    Ok(Filter { program, flags })
}

/// The SECCOMP_RET_* value of an action. config-linux.md "Seccomp": "When the action doesn't
/// support an errno, the runtime MUST print and error and fail" (only ERRNO and TRACE do).
fn action(a: &LinuxSeccompAction, errno: Option<u32>, path: &str) -> Result<u32, SeccompError> {
    const EPERM: u32 = 1;
    let takes_errno = matches!(
        a,
        LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
    );
    if errno.is_some() && !takes_errno {
        return Err(err(
            path,
            format!(
                "{} does not take an errno (errnoRet is set)",
                action_name(a)
            ),
        ));
    }
    let data = |v: u32| v & 0xffff;
    Ok(match a {
        LinuxSeccompAction::ScmpActAllow => 0x7fff_0000,
        LinuxSeccompAction::ScmpActErrno => 0x0005_0000 | data(errno.unwrap_or(EPERM)),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => 0,
        LinuxSeccompAction::ScmpActKillProcess => 0x8000_0000,
        LinuxSeccompAction::ScmpActTrap => 0x0003_0000,
        LinuxSeccompAction::ScmpActTrace => 0x7ff0_0000 | data(errno.unwrap_or(EPERM)),
        LinuxSeccompAction::ScmpActLog => 0x7ffc_0000,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(err(path, "SCMP_ACT_NOTIFY is not supported"))
        }
    })
}

fn action_name(a: &LinuxSeccompAction) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{a:?}"))
}

/// Installs the filter on the calling thread (seccomp(2)); needs no_new_privs or
/// CAP_SYS_ADMIN.
pub fn install(filter: &Filter) -> Result<(), String> {
    const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
    let prog = filter.program.as_sock_fprog();
    // SAFETY: the sock_fprog points into `filter.program`, alive for the call; the kernel
    // copies the program.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            filter.flags as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!("install seccomp filter: {}", crate::errno_text(&e)));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        assert_eq!(syscall_number("read"), Some(0));
        assert_eq!(syscall_number("mkdir"), Some(83));
        assert_eq!(syscall_number("no_such_call"), None);
    }

    #[test]
    fn compiles_a_profile() {
        let profile: LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir", "bogus"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_NE"}]}
            ]
        }))
        .unwrap();
        let f = compile(&profile).unwrap();
        assert!(f.program.len() > 6);
        let notify: LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_NOTIFY"
        }))
        .unwrap();
        assert!(compile(&notify)
            .unwrap_err()
            .to_string()
            .contains("defaultAction"));
    }
}
