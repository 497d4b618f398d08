//! A `linux.seccomp` profile made into a libseccomp filter context, then exported as BPF.
//! Everything the spec asks to be refused is refused here, with the JSON path, before fork.

use std::io::{Read, Seek};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use super::{err, flags, Filter, Insn, SeccompError};

/// Compiles the profile. `errnoRet` and `defaultErrnoRet` default to EPERM (config-linux.md).
pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let at = "linux.seccomp";
    // "listenerMetadata MUST NOT be set if listenerPath is not set".
    if profile.listener_metadata().is_some() && profile.listener_path().is_none() {
        return Err(err(
            format!("{at}.listenerMetadata"),
            "set without listenerPath",
        ));
    }
    let default_path = format!("{at}.defaultAction");
    let default_action = profile.default_action();
    if default_action == LinuxSeccompAction::ScmpActNotify {
        // The runtime's own last calls before execve (sending the listener fd among them)
        // would wait on an agent that has no fd yet.
        return Err(err(
            default_path,
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    let default = action(&default_action, profile.default_errno_ret(), &default_path)?;
    let fail = |path: &str, what: &str| {
        let path = path.to_string();
        let what = what.to_string();
        move |e: libseccomp::error::SeccompError| err(path, format!("{what}: {e}"))
    };
    let mut ctx = ScmpFilterContext::new(default).map_err(fail(at, "libseccomp"))?;
    // A syscall of an ABI the profile does not list kills the process (see the module doc).
    ctx.set_act_badarch(ScmpAction::KillProcess)
        .map_err(fail(at, "libseccomp"))?;
    for (i, arch) in profile.architectures().iter().flatten().enumerate() {
        let here = format!("{at}.architectures[{i}]");
        let name = serde_json::to_value(arch)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{arch:?}"));
        let scmp: ScmpArch = name
            .parse()
            .map_err(|_| err(&here, format!("{name} is not known to libseccomp")))?;
        ctx.add_arch(scmp).map_err(fail(&here, &name))?;
    }
    let mut notify = false;
    for (i, sc) in profile.syscalls().iter().flatten().enumerate() {
        let here = format!("{at}.syscalls[{i}]");
        // "names MUST contain at least one entry".
        if sc.names().is_empty() {
            return Err(err(
                format!("{here}.names"),
                "must contain at least one entry",
            ));
        }
        let act = action(&sc.action(), sc.errno_ret(), &format!("{here}.action"))?;
        if act == default {
            continue; // the default already does it (libseccomp refuses such a rule)
        }
        if act == ScmpAction::Notify {
            if profile.listener_path().is_none() {
                return Err(err(
                    format!("{here}.action"),
                    "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath",
                ));
            }
            // The listener fd is sent with sendmsg after the filter is in place.
            if sc.names().iter().any(|n| n == "sendmsg") {
                return Err(err(
                    format!("{here}.names"),
                    "SCMP_ACT_NOTIFY cannot be used for sendmsg (the runtime sends the listener fd with it)",
                ));
            }
            notify = true;
        }
        let mut conds = Vec::new();
        for (j, a) in sc.args().iter().flatten().enumerate() {
            if a.index() > 5 {
                return Err(err(format!("{here}.args[{j}].index"), "must be 0 to 5"));
            }
            conds.push(ScmpArgCompare::new(
                a.index() as u32,
                operator(a.op(), a.value()),
                match a.op() {
                    LinuxSeccompOperator::ScmpCmpMaskedEq => a.value_two().unwrap_or(0),
                    _ => a.value(),
                },
            ));
        }
        // runc's reading: several comparisons of one argument are alternatives.
        let same_index = sc.args().as_ref().is_some_and(|args| {
            args.len() > 1 && args.iter().all(|a| a.index() == args[0].index())
        });
        for name in sc.names() {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue; // unknown to libseccomp: a newer kernel's, or another system's
            };
            let added = if conds.is_empty() {
                ctx.add_rule(act, syscall).map(drop)
            } else if same_index {
                conds
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(act, syscall, &[*c]).map(drop))
            } else {
                ctx.add_rule_conditional(act, syscall, &conds).map(drop)
            };
            added.map_err(fail(&format!("{here}.names"), name))?;
        }
    }
    let mut bits = 0;
    for (i, f) in profile.flags().iter().flatten().enumerate() {
        bits |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => flags::TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => flags::LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => flags::SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv if notify => {
                flags::WAIT_KILLABLE_RECV
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(err(
                    format!("{at}.flags[{i}]"),
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule",
                ))
            }
        };
    }
    Ok(Filter {
        program: export(&ctx).map_err(|m| err(at, m))?,
        flags: bits,
        notify,
    })
}

/// The libseccomp action of a spec action. config-linux.md "Seccomp": "When the action
/// doesn't support an errno, the runtime MUST print and error and fail" (only ERRNO and
/// TRACE take one).
fn action(
    a: &LinuxSeccompAction,
    errno: Option<u32>,
    path: &str,
) -> Result<ScmpAction, SeccompError> {
    const EPERM: u32 = libc::EPERM as u32;
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
    // The kernel keeps 16 bits of SECCOMP_RET_DATA.
    let data = (errno.unwrap_or(EPERM) & 0xffff) as u16;
    Ok(match a {
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::from(data)),
        // SCMP_ACT_KILL is libseccomp's old name of KILL_THREAD.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(data),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

/// `SCMP_CMP_MASKED_EQ`: `value` is the mask and `valueTwo` the datum, as runc reads them.
fn operator(op: LinuxSeccompOperator, value: u64) -> ScmpCompareOp {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value),
    }
}

fn action_name(a: &LinuxSeccompAction) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{a:?}"))
}

/// The filter as BPF instructions: libseccomp 2.5 exports only to an fd, so through a memfd.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<Insn>, String> {
    let fail = |e: std::io::Error| format!("export BPF: {}", crate::errno_text(&e));
    let name = c"ocirun-seccomp";
    // SAFETY: memfd_create with a valid C string; a non-negative result is a new fd we own.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    // SAFETY: fd was just returned by memfd_create.
    let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    ctx.export_bpf(&file)
        .map_err(|e| format!("export BPF: {e}"))?;
    let mut bytes = Vec::new();
    file.rewind().map_err(fail)?;
    file.read_to_end(&mut bytes).map_err(fail)?;
    if bytes.len() % 8 != 0 {
        return Err(format!(
            "export BPF: {} bytes is not whole instructions",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|b| Insn {
            code: u16::from_ne_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(v: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(v).unwrap()
    }

    /// Runs `program` as the kernel would for a syscall (classic BPF, the subset seccomp
    /// allows), returning SECCOMP_RET_*: the compiled program itself is under test, without
    /// root or a kernel filter.
    fn run(program: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u32; 16];
        data[0] = nr;
        data[1] = arch;
        for (i, a) in args.iter().enumerate() {
            data[4 + 2 * i] = *a as u32;
            data[5 + 2 * i] = (*a >> 32) as u32;
        }
        let (mut acc, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
        let mut pc = 0usize;
        loop {
            let i = program[pc];
            pc += 1;
            let src = if i.code & 0x08 != 0 { x } else { i.k };
            match i.code & 0x07 {
                0x00 => match i.code & 0xe0 {
                    0x20 => acc = data[(i.k / 4) as usize],
                    0x00 => acc = i.k,
                    0x60 => acc = mem[i.k as usize],
                    _ => panic!("ld {:#x}", i.code),
                },
                0x01 => match i.code & 0xe0 {
                    0x00 => x = i.k,
                    0x60 => x = mem[i.k as usize],
                    _ => panic!("ldx {:#x}", i.code),
                },
                0x02 => mem[i.k as usize] = acc,
                0x03 => mem[i.k as usize] = x,
                0x04 => {
                    acc = match i.code & 0xf0 {
                        0x00 => acc.wrapping_add(src),
                        0x10 => acc.wrapping_sub(src),
                        0x50 => acc & src,
                        0x40 => acc | src,
                        _ => panic!("alu {:#x}", i.code),
                    }
                }
                0x05 => {
                    let taken = match i.code & 0xf0 {
                        0x00 => {
                            pc += i.k as usize;
                            continue;
                        }
                        0x10 => acc == src,
                        0x20 => acc > src,
                        0x30 => acc >= src,
                        0x40 => acc & src != 0,
                        _ => panic!("jmp {:#x}", i.code),
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                0x06 => return if i.code & 0x18 == 0x10 { acc } else { i.k },
                0x07 => {
                    if i.code & 0xf8 == 0 {
                        x = acc
                    } else {
                        acc = x
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    const X86_64: u32 = 0xc000_003e;
    const I386: u32 = 0x4000_0003;
    const ALLOW: u32 = 0x7fff_0000;
    const KILL_PROCESS: u32 = 0x8000_0000;
    const ERRNO: u32 = 0x0005_0000;

    #[test]
    fn each_listed_abi_gets_its_own_numbers_and_others_are_killed() {
        let deny_mkdir = |archs: serde_json::Value| {
            let mut p = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}
            ]});
            if !archs.is_null() {
                p["architectures"] = archs;
            }
            compile(&profile(p)).unwrap().program
        };
        // mkdir is 83 on x86_64 and 39 on i386; x32 numbers have bit 30 set.
        let with_x86 = deny_mkdir(json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]));
        assert_eq!(run(&with_x86, X86_64, 83, [0; 6]), ERRNO | 28);
        assert_eq!(run(&with_x86, I386, 39, [0; 6]), ERRNO | 28);
        assert_eq!(
            run(&with_x86, I386, 83, [0; 6]),
            ALLOW,
            "83 is munlockall on i386"
        );
        assert_eq!(
            run(&with_x86, X86_64, 0x4000_0000 | 83, [0; 6]),
            KILL_PROCESS
        );
        for unlisted in [json!(["SCMP_ARCH_X86_64"]), json!(null)] {
            let native_only = deny_mkdir(unlisted);
            assert_eq!(run(&native_only, I386, 39, [0; 6]), KILL_PROCESS);
            assert_eq!(run(&native_only, X86_64, 83, [0; 6]), ERRNO | 28);
        }
        let x32 = deny_mkdir(json!([
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X32"
        ]));
        assert_eq!(run(&x32, X86_64, 0x4000_0000 | 83, [0; 6]), ERRNO | 28);
        assert_eq!(run(&x32, X86_64, 0x4000_0000 | 39, [0; 6]), ALLOW);
    }

    #[test]
    fn every_action() {
        for (name, errno, ret) in [
            ("SCMP_ACT_KILL", None, 0),
            ("SCMP_ACT_KILL_THREAD", None, 0),
            ("SCMP_ACT_KILL_PROCESS", None, KILL_PROCESS),
            ("SCMP_ACT_TRAP", None, 0x0003_0000),
            ("SCMP_ACT_ERRNO", None, ERRNO | 1),
            ("SCMP_ACT_ERRNO", Some(38), ERRNO | 38),
            ("SCMP_ACT_TRACE", Some(7), 0x7ff0_0007),
            ("SCMP_ACT_LOG", None, 0x7ffc_0000),
        ] {
            let mut rule = json!({"names": ["getpid"], "action": name});
            if let Some(e) = errno {
                rule["errnoRet"] = json!(e);
            }
            let p = profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}));
            let f = compile(&p).unwrap();
            assert_eq!(run(&f.program, X86_64, 39, [0; 6]), ret, "{name}");
            assert!(!f.notify);
        }
        let notify = profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}]}),
        );
        let f = compile(&notify).unwrap();
        assert_eq!(run(&f.program, X86_64, 39, [0; 6]), 0x7fc0_0000);
        assert!(f.notify);
    }

    #[test]
    fn default_action_and_its_errno() {
        let p = profile(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}),
        );
        let f = compile(&p).unwrap();
        assert_eq!(run(&f.program, X86_64, 39, [0; 6]), ALLOW);
        assert_eq!(run(&f.program, X86_64, 83, [0; 6]), ERRNO | 38);
    }

    #[test]
    fn every_operator() {
        // kill(pid, sig): arg 1 is the signal.
        let rule = |op: &str, value: u64, two: Option<u64>| {
            let mut arg = json!({"index": 1, "value": value, "op": op});
            if let Some(t) = two {
                arg["valueTwo"] = json!(t);
            }
            let p = profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [arg]}]}));
            compile(&p).unwrap().program
        };
        let denied = |prog: &[Insn], sig: u64| run(prog, X86_64, 62, [1, sig, 0, 0, 0, 0]) != ALLOW;
        // (op, value, valueTwo, signals denied, signals allowed)
        type Case<'a> = (&'a str, u64, Option<u64>, &'a [u64], &'a [u64]);
        let cases: [Case; 8] = [
            ("SCMP_CMP_EQ", 9, None, &[9], &[0, 8, 1 << 32 | 9]),
            ("SCMP_CMP_NE", 9, None, &[0, 8, 1 << 32 | 9], &[9]),
            ("SCMP_CMP_LT", 9, None, &[0, 8], &[9, 10, 1 << 32]),
            ("SCMP_CMP_LE", 9, None, &[0, 9], &[10, 1 << 32]),
            ("SCMP_CMP_GT", 9, None, &[10, 1 << 32], &[0, 9]),
            ("SCMP_CMP_GE", 9, None, &[9, 1 << 32], &[0, 8]),
            // value is the mask, valueTwo the datum.
            (
                "SCMP_CMP_MASKED_EQ",
                0x10,
                Some(0x10),
                &[0x10, 0x13],
                &[0, 0x0f],
            ),
            ("SCMP_CMP_MASKED_EQ", 0xff, Some(0), &[0, 0x100], &[1, 0x10]),
        ];
        for (op, value, two, deny, allow) in cases {
            let prog = rule(op, value, two);
            for s in deny {
                assert!(denied(&prog, *s), "{op} {value} {two:?}: {s:#x} denied");
            }
            for s in allow {
                assert!(!denied(&prog, *s), "{op} {value} {two:?}: {s:#x} allowed");
            }
        }
    }

    #[test]
    fn args_of_one_index_are_alternatives_of_several_indexes_all_needed() {
        let p = |args: serde_json::Value| {
            compile(&profile(
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": args}]}),
            ))
            .unwrap()
            .program
        };
        let either = p(json!([{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"},
                              {"index": 1, "value": 15, "op": "SCMP_CMP_EQ"}]));
        assert_ne!(run(&either, X86_64, 62, [1, 9, 0, 0, 0, 0]), ALLOW);
        assert_ne!(run(&either, X86_64, 62, [1, 15, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&either, X86_64, 62, [1, 2, 0, 0, 0, 0]), ALLOW);
        let both = p(json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                            {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]));
        assert_ne!(run(&both, X86_64, 62, [1, 9, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&both, X86_64, 62, [2, 9, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&both, X86_64, 62, [1, 8, 0, 0, 0, 0]), ALLOW);
    }

    #[test]
    fn flags_and_unknown_names() {
        let p = profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{"names": ["no_such_call", "getpid"], "action": "SCMP_ACT_ERRNO"}]}));
        let f = compile(&p).unwrap();
        assert_eq!(f.flags, flags::TSYNC | flags::LOG | flags::SPEC_ALLOW);
        assert_eq!(run(&f.program, X86_64, 39, [0; 6]), ERRNO | 1);
        let killable = profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}]}),
        );
        assert_eq!(compile(&killable).unwrap().flags, flags::WAIT_KILLABLE_RECV);
    }

    #[test]
    fn refusals_name_the_field() {
        for (p, path) in [
            (
                json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
                "linux.seccomp.defaultAction",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.syscalls[0].action",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
                       "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.syscalls[0].names",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW",
                       "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
                "linux.seccomp.flags[0]",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}),
                "linux.seccomp.defaultAction",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                       "action": "SCMP_ACT_ERRNO",
                       "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
                "linux.seccomp.syscalls[0].args[0].index",
            ),
        ] {
            let e = compile(&profile(p.clone())).unwrap_err();
            assert_eq!(e.path, path, "{p}: {e}");
        }
    }
}
