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

pub fn check(input: &Input, out: &mut Vec<Check>) {
    let p = &input.config["process"];
    if !p.is_object() {
        return;
    }
    let r = input.report;
    let run = input.refs.ids(cite::PROCESS_RUN);
    let sc = input.scope;
    if let (Some(args), true) = (p["args"].as_array(), sc.covers("process/args")) {
        let want: Vec<&str> = args.iter().filter_map(|a| a.as_str()).collect();
        out.push(Check::compare(
            "process.args",
            run.clone(),
            want,
            r.args.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
    }
    let env = p["env"].as_array().filter(|_| sc.covers("process/env"));
    for e in env.into_iter().flatten().filter_map(|e| e.as_str()) {
        let seen = r.env.iter().any(|x| x == e);
        out.push(Check::with(
            format!("process.env has {e}"),
            if seen { Status::Pass } else { Status::Fail },
            run.clone(),
            e,
            if seen {
                e.to_string()
            } else {
                format!("{:?}", r.env)
            },
        ));
    }
    if let (Some(cwd), true) = (p["cwd"].as_str(), sc.covers("process/cwd")) {
        out.push(Check::compare(
            "process.cwd",
            run.clone(),
            cwd,
            r.cwd.as_str(),
        ));
    }
    if sc.covers("process/user") {
        user(input, out, &run);
    }
    if sc.covers("process/terminal") {
        if p["terminal"].as_bool() == Some(true) {
            out.push(Check::compare(
                "process.terminal true: stdin, stdout and stderr are the terminal",
                run.clone(),
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
                run.clone(),
                [false; 3],
                r.stdio_tty,
            ));
        }
    }
    if sc.covers("process/capabilities") {
        capabilities(input, out, &run);
    }
    let rlimits = p["rlimits"]
        .as_array()
        .filter(|_| sc.covers("process/rlimits"));
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
    if let (Some(nnp), true) = (
        p["noNewPrivileges"].as_bool(),
        sc.covers("process/noNewPrivileges"),
    ) {
        out.push(Check::compare(
            "process.noNewPrivileges",
            run.clone(),
            nnp,
            r.no_new_privs,
        ));
    }
    if !sc.covers("process/oomScoreAdj") {
        return;
    }
    match p["oomScoreAdj"].as_i64() {
        Some(v) => out.push(Check::compare(
            "process.oomScoreAdj",
            input.refs.ids(cite::OOM_SET),
            v,
            i64::from(r.oom_score_adj),
        )),
        None => {
            if let Some(own) = input.host.oom_score_adj {
                out.push(Check::compare(
                    "oom_score_adj unchanged when process.oomScoreAdj is not set",
                    input.refs.ids(cite::OOM_UNSET),
                    own,
                    r.oom_score_adj,
                ));
            }
        }
    }
}

fn user(input: &Input, out: &mut Vec<Check>, run: &[String]) {
    let u = &input.config["process"]["user"];
    let r = input.report;
    if let Some(uid) = u["uid"].as_u64() {
        out.push(Check::compare(
            "process.user.uid (real, effective, saved)",
            run.to_vec(),
            [uid; 3],
            [u64::from(r.uid), u64::from(r.euid), u64::from(r.suid)],
        ));
    }
    if let Some(gid) = u["gid"].as_u64() {
        out.push(Check::compare(
            "process.user.gid (real, effective, saved)",
            run.to_vec(),
            [gid; 3],
            [u64::from(r.gid), u64::from(r.egid), u64::from(r.sgid)],
        ));
    }
    if let Some(extra) = u["additionalGids"].as_array() {
        let want: BTreeSet<u64> = extra.iter().filter_map(|g| g.as_u64()).collect();
        let mut seen: BTreeSet<u64> = r.groups.iter().map(|&g| u64::from(g)).collect();
        // The primary gid may or may not be listed by getgroups(2); both are fine.
        if let Some(gid) = u["gid"].as_u64() {
            if !want.contains(&gid) {
                seen.remove(&gid);
            }
        }
        out.push(Check::compare(
            "process.user.additionalGids",
            run.to_vec(),
            want,
            seen,
        ));
    }
    if let Some(umask) = u["umask"].as_u64() {
        out.push(Check::compare(
            "process.user.umask",
            run.to_vec(),
            format!("{umask:04o}"),
            format!("{:04o}", r.umask),
        ));
    }
}

fn capabilities(input: &Input, out: &mut Vec<Check>, run: &[String]) {
    let caps = &input.config["process"]["capabilities"];
    let seen = input.report.capabilities;
    let bounding = input.host.bounding;
    // execve(2) adds the ambient set to permitted and effective (capabilities(7)).
    let ambient = caps["ambient"].as_array().map(|a| cap_mask(a)).unwrap_or(0);
    for (set, observed) in [
        ("bounding", seen.bounding),
        ("effective", seen.effective),
        ("permitted", seen.permitted),
        ("inheritable", seen.inheritable),
        ("ambient", seen.ambient),
    ] {
        let Some(names) = caps[set].as_array() else {
            continue;
        };
        // What the host cannot grant is not the runtime's fault (config.md "Linux Process").
        let mut want = cap_mask(names);
        if set == "effective" || set == "permitted" {
            want |= ambient;
        }
        let want = want & bounding;
        out.push(Check::compare(
            format!("process.capabilities.{set}"),
            run.to_vec(),
            format!("{want:#x}"),
            format!("{observed:#x}"),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{testing, Host, Outside};
    use crate::requirements::Catalogue;
    use serde_json::json;

    fn run_checks(config: serde_json::Value, report: ocikit_probe::Report) -> Vec<Check> {
        let cat = Catalogue::default();
        let host = Host {
            bounding: u64::MAX,
            oom_score_adj: Some(0),
            ..Default::default()
        };
        let input = Input {
            scope: &crate::checks::Scope {
                all: true,
                touched: vec![],
            },
            config: &config,
            report: &report,
            outside: &Outside::default(),
            host: &host,
            refs: super::super::Refs { catalogue: &cat },
        };
        let mut out = vec![];
        check(&input, &mut out);
        out
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
        let checks = run_checks(config, r);
        let failed: Vec<_> = checks.iter().filter(|c| c.status != Status::Pass).collect();
        assert_eq!(failed.len(), 1, "{failed:#?}");
        assert_eq!(failed[0].what, "process.cwd");
        assert_eq!(failed[0].expected, "\"/tmp\"");
        assert_eq!(failed[0].observed, "\"/\"");
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
        let cat = Catalogue::default();
        let host = Host {
            bounding: !(1 << 24),
            ..Default::default()
        };
        let input = Input {
            scope: &crate::checks::Scope {
                all: true,
                touched: vec![],
            },
            config: &config,
            report: &r,
            outside: &Outside::default(),
            host: &host,
            refs: super::super::Refs { catalogue: &cat },
        };
        let mut out = vec![];
        capabilities(&input, &mut out, &[]);
        assert_eq!(out[0].status, Status::Pass, "{out:#?}");
    }
}
