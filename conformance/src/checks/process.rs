//! `process.*` against the probe's report (config.md "Process", "POSIX process", "Linux
//! Process", "User").

use super::{cite, Input};
use crate::verdict::{Check, Status};
use std::collections::BTreeSet;

/// capabilities(7) numbers, index = bit.
const CAPS: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The bit mask of capability names (`CAP_` prefixed); unknown names are ignored (a runtime
/// MUST only warn about them, config.md "Linux Process").
pub fn cap_mask(names: &[serde_json::Value]) -> u64 {
    names
        .iter()
        .filter_map(|n| n.as_str()?.strip_prefix("CAP_"))
        .filter_map(|n| CAPS.iter().position(|c| *c == n))
        .fold(0, |m, bit| m | (1 << bit))
}

fn run_ids(input: &Input) -> Vec<String> {
    input.refs.ids(cite::PROCESS_RUN)
}

pub fn args(input: &Input, out: &mut Vec<Check>) {
    let Some(args) = input.config["process"]["args"].as_array() else {
        return;
    };
    let want: Vec<&str> = args.iter().filter_map(|a| a.as_str()).collect();
    out.push(Check::compare(
        "process.args",
        run_ids(input),
        want,
        input
            .report
            .args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ));
}

pub fn env(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let env = input.config["process"]["env"].as_array();
    for e in env.into_iter().flatten().filter_map(|e| e.as_str()) {
        let seen = r.env.iter().any(|x| x == e);
        out.push(Check::with(
            format!("process.env has {e}"),
            if seen { Status::Pass } else { Status::Fail },
            run_ids(input),
            e,
            if seen {
                e.to_string()
            } else {
                format!("{:?}", r.env)
            },
        ));
    }
}

pub fn cwd(input: &Input, out: &mut Vec<Check>) {
    if let Some(cwd) = input.config["process"]["cwd"].as_str() {
        out.push(Check::compare(
            "process.cwd",
            run_ids(input),
            cwd,
            input.report.cwd.as_str(),
        ));
    }
}

pub fn terminal(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let Some(terminal) = input.config["process"]["terminal"].as_bool() else {
        return;
    };
    if terminal {
        out.push(Check::compare(
            "process.terminal true: stdin, stdout and stderr are the terminal",
            run_ids(input),
            [true; 3],
            r.stdio_tty,
        ));
        // config-linux.md "Default Devices": /dev/console when terminal is enabled.
        out.push(Check::with(
            "process.terminal true: /dev/console is set up",
            if r.dev.contains_key("console") {
                Status::Pass
            } else {
                Status::Fail
            },
            input.refs.ids(cite::DEFAULT_DEVICES),
            "an entry",
            r.dev
                .get("console")
                .cloned()
                .unwrap_or_else(|| "(absent)".into()),
        ));
    } else {
        out.push(Check::compare(
            "process.terminal false: no stdio is a terminal",
            run_ids(input),
            [false; 3],
            r.stdio_tty,
        ));
    }
}

pub fn rlimits(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let rlimits = input.config["process"]["rlimits"].as_array();
    for rl in rlimits.into_iter().flatten() {
        let Some(kind) = rl["type"].as_str() else {
            continue;
        };
        let seen = r.rlimits.get(kind);
        out.push(Check::compare(
            format!("process.rlimits {kind} soft"),
            input.refs.ids(cite::RLIMIT_SOFT),
            rl["soft"].as_u64(),
            seen.map(|s| s.soft),
        ));
        out.push(Check::compare(
            format!("process.rlimits {kind} hard"),
            input.refs.ids(cite::RLIMIT_HARD),
            rl["hard"].as_u64(),
            seen.map(|s| s.hard),
        ));
    }
}

/// Judged both ways (the case of `false` too): a runtime that ignores the field leaves the
/// runner's own no_new_privs, which the runner keeps off, so `true` can only come from the
/// field; `false` catches a runtime that sets it whatever the config says.
pub fn no_new_privileges(input: &Input, out: &mut Vec<Check>) {
    let Some(nnp) = input.config["process"]["noNewPrivileges"].as_bool() else {
        return;
    };
    let mut check = Check::compare(
        "process.noNewPrivileges",
        run_ids(input),
        nnp,
        input.report.no_new_privs,
    );
    if nnp && input.host.no_new_privs {
        check.status = Status::Error;
        check.observed = "the runner itself has no_new_privs set: true cannot be told from \
                          an ignored field"
            .into();
    }
    out.push(check);
}

pub fn oom_score_adj(input: &Input, out: &mut Vec<Check>) {
    match input.config["process"]["oomScoreAdj"].as_i64() {
        Some(v) => out.push(Check::compare(
            "process.oomScoreAdj",
            input.refs.ids(cite::OOM_SET),
            v,
            i64::from(input.report.oom_score_adj),
        )),
        None => {
            if let Some(own) = input.host.oom_score_adj {
                out.push(Check::compare(
                    "oom_score_adj unchanged when process.oomScoreAdj is not set",
                    input.refs.ids(cite::OOM_UNSET),
                    own,
                    input.report.oom_score_adj,
                ));
            }
        }
    }
}

pub fn uid(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    if let Some(uid) = input.config["process"]["user"]["uid"].as_u64() {
        out.push(Check::compare(
            "process.user.uid (real, effective, saved)",
            run_ids(input),
            [uid; 3],
            [u64::from(r.uid), u64::from(r.euid), u64::from(r.suid)],
        ));
    }
}

pub fn gid(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    if let Some(gid) = input.config["process"]["user"]["gid"].as_u64() {
        out.push(Check::compare(
            "process.user.gid (real, effective, saved)",
            run_ids(input),
            [gid; 3],
            [u64::from(r.gid), u64::from(r.egid), u64::from(r.sgid)],
        ));
    }
}

pub fn additional_gids(input: &Input, out: &mut Vec<Check>) {
    let u = &input.config["process"]["user"];
    let Some(extra) = u["additionalGids"].as_array() else {
        return;
    };
    let want: BTreeSet<u64> = extra.iter().filter_map(|g| g.as_u64()).collect();
    let mut seen: BTreeSet<u64> = input.report.groups.iter().map(|&g| u64::from(g)).collect();
    // The primary gid may or may not be listed by getgroups(2); both are fine.
    if let Some(gid) = u["gid"].as_u64() {
        if !want.contains(&gid) {
            seen.remove(&gid);
        }
    }
    out.push(Check::compare(
        "process.user.additionalGids",
        run_ids(input),
        want,
        seen,
    ));
}

pub fn umask(input: &Input, out: &mut Vec<Check>) {
    if let Some(umask) = input.config["process"]["user"]["umask"].as_u64() {
        out.push(Check::compare(
            "process.user.umask",
            run_ids(input),
            format!("{umask:04o}"),
            format!("{:04o}", input.report.umask),
        ));
    }
}

/// One capability set (`bounding`, `effective`, ...), modelled through execve(2).
pub fn capability_set(input: &Input, set: &str, out: &mut Vec<Check>) {
    let caps = &input.config["process"]["capabilities"];
    let seen = input.report.capabilities;
    let observed = match set {
        "bounding" => seen.bounding,
        "effective" => seen.effective,
        "permitted" => seen.permitted,
        "inheritable" => seen.inheritable,
        _ => seen.ambient,
    };
    let Some(names) = caps[set].as_array() else {
        return;
    };
    // execve(2) adds the ambient set to permitted and effective (capabilities(7)).
    let ambient = caps["ambient"].as_array().map(|a| cap_mask(a)).unwrap_or(0);
    let mut want = cap_mask(names);
    if set == "effective" || set == "permitted" {
        want |= ambient;
    }
    // What the host cannot grant is not the runtime's fault (config.md "Linux Process").
    let want = want & input.host.bounding;
    out.push(Check::compare(
        format!("process.capabilities.{set}"),
        run_ids(input),
        format!("{want:#x}"),
        format!("{observed:#x}"),
    ));
}

pub fn cap_bounding(input: &Input, out: &mut Vec<Check>) {
    capability_set(input, "bounding", out);
}
pub fn cap_effective(input: &Input, out: &mut Vec<Check>) {
    capability_set(input, "effective", out);
}
pub fn cap_permitted(input: &Input, out: &mut Vec<Check>) {
    capability_set(input, "permitted", out);
}
pub fn cap_inheritable(input: &Input, out: &mut Vec<Check>) {
    capability_set(input, "inheritable", out);
}
pub fn cap_ambient(input: &Input, out: &mut Vec<Check>) {
    capability_set(input, "ambient", out);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{testing, Host, Outside};
    use serde_json::json;

    fn host() -> Host {
        Host {
            bounding: u64::MAX,
            oom_score_adj: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn matching_process_fields_pass_and_mismatches_fail_with_both_sides() {
        let config = json!({"process": {
            "args": ["/probe", "report"], "env": ["PATH=/bin"], "cwd": "/tmp",
            "user": {"uid": 0, "gid": 0, "additionalGids": [5, 6], "umask": 63},
            "oomScoreAdj": 100, "noNewPrivileges": true,
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
        }});
        let mut r = testing::report();
        r.groups = vec![0, 5, 6];
        r.umask = 63;
        r.oom_score_adj = 100;
        r.rlimits.insert(
            "RLIMIT_NOFILE".into(),
            ocikit_probe::Rlimit { soft: 10, hard: 20 },
        );
        let checks = testing::checks("process", &config, &r, &Outside::default(), &host());
        let failed: Vec<_> = checks.iter().filter(|c| c.status != Status::Pass).collect();
        assert_eq!(failed.len(), 1, "{failed:#?}");
        assert_eq!(failed[0].what, "process.cwd");
        assert_eq!(failed[0].expected, "\"/tmp\"");
        assert_eq!(failed[0].observed, "\"/\"");
    }

    #[test]
    fn no_new_privileges_true_cannot_pass_when_the_runner_has_it_already() {
        let config = json!({"process": {"noNewPrivileges": true}});
        let r = testing::report();
        let mut h = host();
        h.no_new_privs = true;
        let checks = testing::checks("process/noNew", &config, &r, &Outside::default(), &h);
        assert_eq!(checks[0].status, Status::Error, "{checks:#?}");
    }

    #[test]
    fn capabilities_are_judged_within_the_host_bounding_set() {
        assert_eq!(
            cap_mask(&[json!("CAP_KILL"), json!("CAP_CHOWN"), json!("CAP_NOPE")]),
            0b100001
        );
        let config =
            json!({"process": {"capabilities": {"bounding": ["CAP_KILL", "CAP_SYS_RESOURCE"]}}});
        let mut r = testing::report();
        r.capabilities.bounding = 1 << 5;
        let h = Host {
            bounding: !(1 << 24),
            ..Default::default()
        };
        let out = testing::checks("process/capabilities", &config, &r, &Outside::default(), &h);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].status, Status::Pass, "{out:#?}");
    }
}
