//! `linux.seccomp` by its effect (config-linux.md "Seccomp"): the probe makes the syscalls the
//! rules name (its `syscall:` step) and reports what the kernel answered, on the native ABI
//! and, when the profile lists `SCMP_ARCH_X86`, on the i386 one (`int 0x80`, which a filter
//! made for x86_64 alone does not cover).
//!
//! For each rule on a syscall the probe can make, a call whose arguments match the rule's
//! conditions must get the rule's errno (`errnoRet`, default EPERM), and when the rule has
//! conditions, a call whose arguments do not match must not. Rules that kill or trap
//! (`SCMP_ACT_KILL*`, `SCMP_ACT_TRAP`) are judged by cases that expect the probe to die (exit
//! status 128 + SIGSYS), since a dead probe reports nothing.

use super::{cite, Input};
use crate::verdict::{Check, Status};
use serde_json::Value;

/// The syscalls the probe's `syscall:` step makes (fixtures/probe syscall.rs) whose integer
/// arguments are harmless to vary.
const PROBE_SYSCALLS: [&str; 5] = ["getpgid", "getppid", "getpid", "ioprio_get", "umask"];

/// errno names the filters return (errno(3) numbers on Linux).
fn errno_name(n: i64) -> String {
    let known = [
        (1, "EPERM"),
        (2, "ENOENT"),
        (3, "ESRCH"),
        (5, "EIO"),
        (13, "EACCES"),
        (16, "EBUSY"),
        (18, "EXDEV"),
        (22, "EINVAL"),
        (38, "ENOSYS"),
        (95, "EOPNOTSUPP"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == n)
        .map(|(_, s)| s.to_string())
        .unwrap_or_else(|| format!("E{n}"))
}

/// The errno a rule's action gives the caller, `None` for actions that do not filter (ALLOW,
/// LOG), that kill or trap (judged by the probe's death) or notify (judged with a listener).
fn filtered_outcome(
    action: &str,
    errno_ret: Option<i64>,
    default_errno: Option<i64>,
) -> Option<String> {
    match action {
        "SCMP_ACT_ERRNO" => Some(errno_name(errno_ret.or(default_errno).unwrap_or(1))),
        _ => None,
    }
}

/// Argument values that satisfy (`true`) or break (`false`) one condition.
fn arg_value(cond: &Value, satisfy: bool) -> u64 {
    let value = cond["value"].as_u64().unwrap_or(0);
    let two = cond["valueTwo"].as_u64().unwrap_or(0);
    let (yes, no) = match cond["op"].as_str().unwrap_or_default() {
        "SCMP_CMP_EQ" | "SCMP_CMP_LE" => (value, value.wrapping_add(1)),
        "SCMP_CMP_GE" => (value, value.wrapping_sub(1)),
        "SCMP_CMP_NE" => (value.wrapping_add(1), value),
        "SCMP_CMP_LT" => (value.wrapping_sub(1), value),
        "SCMP_CMP_GT" => (value.wrapping_add(1), value),
        // arg & value == valueTwo
        "SCMP_CMP_MASKED_EQ" => (two, !two & value),
        _ => (value, value),
    };
    if satisfy {
        yes
    } else {
        no
    }
}

/// A probe call (`syscall:[i386:]NAME[:ARG...]`) with the rule's conditions satisfied or (the
/// first of them) broken.
fn call(i386: bool, name: &str, conds: &[Value], satisfy: bool) -> String {
    let mut args = [0u64; 6];
    for (i, c) in conds.iter().enumerate() {
        let idx = c["index"].as_u64().unwrap_or(0) as usize;
        if idx < 6 {
            // Break only the first condition: the others hold, so it is that one that decides.
            args[idx] = arg_value(c, satisfy || i > 0);
        }
    }
    let abi = if i386 { "i386:" } else { "" };
    let top = conds.iter().filter_map(|c| c["index"].as_u64()).max();
    match top {
        None => format!("syscall:{abi}{name}"),
        Some(top) => {
            let list: Vec<String> = args[..=(top as usize).min(5)]
                .iter()
                .map(|a| (*a as i64).to_string())
                .collect();
            format!("syscall:{abi}{name}:{}", list.join(":"))
        }
    }
}

/// The key the probe reports a call under: `[i386:]NAME`, `NAME#2` for the second call of the
/// same name in one run.
fn keys_of(steps: &[String]) -> Vec<String> {
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    steps
        .iter()
        .map(|s| {
            let rest = s.strip_prefix("syscall:").unwrap_or(s);
            let key = match rest.strip_prefix("i386:") {
                Some(r) => format!("i386:{}", r.split(':').next().unwrap_or_default()),
                None => rest.split(':').next().unwrap_or_default().to_string(),
            };
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                key
            } else {
                format!("{key}#{n}")
            }
        })
        .collect()
}

/// Every (probe step, expected outcome, whether it must equal or differ) the profile implies.
fn expectations(config: &Value) -> Vec<(String, String, bool)> {
    let s = &config["linux"]["seccomp"];
    let mut out = Vec::new();
    let default_errno = s["defaultErrnoRet"].as_i64();
    let i386 = cfg!(target_arch = "x86_64")
        && s["architectures"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "SCMP_ARCH_X86"));
    for rule in s["syscalls"].as_array().into_iter().flatten() {
        let Some(want) = filtered_outcome(
            rule["action"].as_str().unwrap_or_default(),
            rule["errnoRet"].as_i64(),
            None,
        ) else {
            continue;
        };
        let conds: Vec<Value> = rule["args"].as_array().cloned().unwrap_or_default();
        for name in rule["names"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str())
        {
            if !PROBE_SYSCALLS.contains(&name) {
                continue;
            }
            let abis: &[bool] = if i386 { &[false, true] } else { &[false] };
            for &abi in abis {
                out.push((call(abi, name, &conds, true), want.clone(), true));
                if !conds.is_empty() {
                    out.push((call(abi, name, &conds, false), want.clone(), false));
                }
            }
        }
    }
    // The default action, on a syscall no rule names (`defaultErrnoRet` for ERRNO).
    let named = |n: &str| {
        s["syscalls"].as_array().into_iter().flatten().any(|r| {
            r["names"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x == n))
        })
    };
    if let Some(want) = filtered_outcome(
        s["defaultAction"].as_str().unwrap_or_default(),
        None,
        default_errno,
    ) {
        if let Some(name) = PROBE_SYSCALLS.iter().find(|n| !named(n)) {
            out.push((format!("syscall:{name}"), want, true));
        }
    }
    out
}

pub fn probe(config: &Value, steps: &mut Vec<String>) {
    steps.extend(expectations(config).into_iter().map(|(s, _, _)| s));
}

pub fn check(input: &Input, out: &mut Vec<Check>) {
    let s = &input.config["linux"]["seccomp"];
    if !s.is_object() {
        return;
    }
    let ids = input.refs.ids(cite::CREATE_APPLY);
    out.push(Check::compare(
        "linux.seccomp: a filter is installed (Seccomp: 2)",
        ids.clone(),
        2,
        input.report.seccomp_mode,
    ));
    let expected = expectations(input.config);
    let steps: Vec<String> = expected.iter().map(|(s, _, _)| s.clone()).collect();
    for ((step, want, equal), key) in expected.into_iter().zip(keys_of(&steps)) {
        let seen = input
            .report
            .syscalls
            .get(&key)
            .cloned()
            .unwrap_or_else(|| "(not tried)".into());
        let holds = if equal {
            seen == want
        } else {
            seen != want && seen != "(not tried)"
        };
        out.push(Check::with(
            format!("linux.seccomp: {step}"),
            if holds { Status::Pass } else { Status::Fail },
            ids.clone(),
            if equal {
                want
            } else {
                format!("not {want} (the arguments do not match)")
            },
            seen,
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_become_calls_that_must_and_must_not_be_filtered() {
        let config = json!({"linux": {"seccomp": {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
                {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_GT"}]},
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["umask"], "action": "SCMP_ACT_KILL"}
            ]
        }}});
        let e = expectations(&config);
        let steps: Vec<&str> = e.iter().map(|(s, _, _)| s.as_str()).collect();
        assert!(steps.contains(&"syscall:getppid"), "{steps:?}");
        assert!(steps.contains(&"syscall:i386:getppid"), "{steps:?}");
        assert!(steps.contains(&"syscall:getpgid:8"), "{steps:?}");
        assert!(steps.contains(&"syscall:getpgid:7"), "{steps:?}");
        let owned: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        let keys = keys_of(&owned);
        let at = |s: &str| &keys[steps.iter().position(|x| *x == s).unwrap()];
        assert_eq!(at("syscall:i386:getppid"), "i386:getppid");
        assert_eq!(at("syscall:getpgid:8"), "getpgid");
        assert_eq!(at("syscall:getpgid:7"), "getpgid#2");
        assert!(
            !steps.iter().any(|s| s.contains("umask")),
            "kills are not probed"
        );
        let getppid = e.iter().find(|(s, _, _)| s == "syscall:getppid").unwrap();
        assert_eq!((getppid.1.as_str(), getppid.2), ("EXDEV", true));
        let nomatch = e.iter().find(|(s, _, _)| s == "syscall:getpgid:7").unwrap();
        assert_eq!((nomatch.1.as_str(), nomatch.2), ("EPERM", false));
    }
}
