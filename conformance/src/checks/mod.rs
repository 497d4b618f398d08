//! Generic checks: every config field a case sets, held against what was observed — the probe's
//! report from inside, `/proc/<pid>` from outside. A case never repeats what its config already
//! says; these derive the expectation from the merged config.

pub mod cite;
mod mounts;
mod namespaces;
mod process;
pub mod state;

use crate::verdict::Check;
use ocikit_probe::Report;
use serde_json::Value;
use std::collections::BTreeMap;

pub use cite::Refs;

/// Facts of the host the checks compare against.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// The runner's namespaces: the runtime namespaces a container inherits.
    pub namespaces: BTreeMap<String, u64>,
    pub oom_score_adj: Option<i32>,
    /// The runner's bounding set: no runtime can grant more.
    pub bounding: u64,
    /// Runtime calls run in a private mount namespace (`--wrap-mountns`): the runtime's mount
    /// namespace is not the runner's.
    pub wrapped_mountns: bool,
}

/// What the runner read from outside, about the pid the runtime's state reported.
#[derive(Debug, Clone, Default)]
pub struct Outside {
    pub pid: i32,
    pub namespaces: BTreeMap<String, u64>,
    pub cgroup: Vec<String>,
}

/// Which config fields a case's checks judge: all of them (the base case), or only those the
/// case's fragment touches, so that one broken field fails the case about it, not every case.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub all: bool,
    /// Slash paths of everything the fragment sets (`process/user/uid`, `mounts`, ...).
    pub touched: Vec<String>,
}

impl Scope {
    pub fn of_fragment(fragment: &Value, all: bool) -> Self {
        let mut touched = Vec::new();
        fn walk(v: &Value, path: String, out: &mut Vec<String>) {
            match v.as_object() {
                Some(m) => {
                    for (k, v) in m {
                        let k = k.trim_end_matches('+');
                        let p = if path.is_empty() {
                            k.to_string()
                        } else {
                            format!("{path}/{k}")
                        };
                        walk(v, p, out);
                    }
                }
                None => out.push(path),
            }
        }
        walk(fragment, String::new(), &mut touched);
        Scope { all, touched }
    }

    /// Whether the field at slash path `field` is judged.
    pub fn covers(&self, field: &str) -> bool {
        self.all
            || self.touched.iter().any(|t| {
                t == field
                    || t.starts_with(&format!("{field}/"))
                    || field.starts_with(&format!("{t}/"))
            })
    }
}

/// Everything a check may look at.
pub struct Input<'a> {
    pub scope: &'a Scope,
    pub config: &'a Value,
    pub report: &'a Report,
    pub outside: &'a Outside,
    pub host: &'a Host,
    pub refs: Refs<'a>,
}

/// Probe steps the checks need, derived from the config (they run before `report`).
pub fn probe_steps(config: &Value) -> Vec<String> {
    let mut steps = Vec::new();
    if config["root"]["readonly"].as_bool() == Some(true) {
        steps.push("write:/.ocikit-readonly-root".to_string());
    }
    for d in config["linux"]["devices"].as_array().into_iter().flatten() {
        if let Some(p) = d["path"].as_str() {
            steps.push(format!("stat:{p}"));
        }
    }
    for p in config["linux"]["maskedPaths"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(p) = p.as_str() {
            steps.push(format!("stat:{p}"));
        }
    }
    if let Some(sysctl) = config["linux"]["sysctl"].as_object() {
        for k in sysctl.keys() {
            steps.push(format!("sysctl:{k}"));
        }
    }
    steps
}

/// Runs every generic check that applies to the config.
pub fn run(input: &Input) -> Vec<Check> {
    let mut out = Vec::new();
    process::check(input, &mut out);
    namespaces::check(input, &mut out);
    mounts::check(input, &mut out);
    sysctl(input, &mut out);
    if input.config["linux"]["seccomp"].is_object() && input.scope.covers("linux/seccomp") {
        out.push(Check::compare(
            "linux.seccomp: a filter is installed (Seccomp: 2)",
            input.refs.ids(cite::CREATE_APPLY),
            2,
            input.report.seccomp_mode,
        ));
    }
    out
}

fn sysctl(input: &Input, out: &mut Vec<Check>) {
    let Some(sysctl) = input.config["linux"]["sysctl"].as_object() else {
        return;
    };
    if !input.scope.covers("linux/sysctl") {
        return;
    }
    for (k, v) in sysctl {
        out.push(Check::compare(
            format!("linux.sysctl {k}"),
            input.refs.ids(cite::CREATE_APPLY),
            v.as_str().unwrap_or_default(),
            input
                .report
                .sysctls
                .get(k)
                .map(String::as_str)
                .unwrap_or("(absent)"),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scope_covers_what_the_fragment_touches_and_nothing_else() {
        let fragment = json!({
            "process": {"user": {"uid": 1}},
            "mounts+": [{"destination": "/mnt"}],
            "linux": {"namespaces": []}
        });
        let scope = Scope::of_fragment(&fragment, false);
        assert!(scope.covers("process/user"));
        assert!(scope.covers("process"));
        assert!(!scope.covers("process/env"));
        assert!(scope.covers("mounts"), "a `+` key covers its field");
        assert!(scope.covers("linux/namespaces"));
        assert!(!scope.covers("linux/cgroupsPath"));
        assert!(!scope.covers("hostname"));
        assert!(Scope::of_fragment(&json!({}), true).covers("hostname"));
    }

    #[test]
    fn probe_steps_are_derived_from_the_config() {
        let config = json!({
            "root": {"readonly": true},
            "linux": {
                "devices": [{"path": "/dev/x"}],
                "maskedPaths": ["/proc/kcore"],
                "sysctl": {"net.ipv4.ip_forward": "1"}
            }
        });
        assert_eq!(
            probe_steps(&config),
            vec![
                "write:/.ocikit-readonly-root",
                "stat:/dev/x",
                "stat:/proc/kcore",
                "sysctl:net.ipv4.ip_forward"
            ]
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod testing {
    //! A report and config to unit-test checks without a container.
    use ocikit_probe::{CapSets, Report, REPORT_VERSION};

    pub fn report() -> Report {
        Report {
            version: REPORT_VERSION,
            args: vec!["/probe".into(), "report".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            pid: 1,
            ppid: 0,
            uid: 0,
            euid: 0,
            suid: 0,
            gid: 0,
            egid: 0,
            sgid: 0,
            groups: vec![],
            umask: 0o022,
            hostname: "ocikit".into(),
            domainname: "(none)".into(),
            namespaces: Default::default(),
            uid_map: vec![],
            gid_map: vec![],
            mounts: vec![],
            capabilities: CapSets::default(),
            no_new_privs: true,
            seccomp_mode: 0,
            rlimits: Default::default(),
            oom_score_adj: 0,
            cgroup: vec![],
            stdio_tty: [false; 3],
            extra_fds: vec![],
            dev: Default::default(),
            stats: Default::default(),
            sysctls: Default::default(),
            writes: Default::default(),
            ..Default::default()
        }
    }
}
