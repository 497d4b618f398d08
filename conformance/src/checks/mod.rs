//! Generic checks: every config field a case sets, held against what was observed — the probe's
//! report from inside, `/proc/<pid>` and cgroupfs from outside. A case never repeats what its
//! config already says; these derive the expectation from the merged config.
//!
//! Each field is one row of [`table::FIELDS`]: the field's path, what the probe must do to
//! observe it, the check, and the mutants that break it (`oci-conformance mutants`). Adding a
//! field is adding a row; the runner, `explain` and `mutants` all read the same table.

pub mod cgroups;
pub mod cite;
mod devices;
mod mounts;
mod namespaces;
mod process;
mod seccomp;
pub mod state;
mod sysctl;
pub mod table;

use crate::mutants::Mutant;
use crate::verdict::Check;
use ocikit_probe::Report;
use serde_json::Value;
use std::collections::BTreeMap;

pub use cite::Refs;

/// One config field: where it is, how it is observed, how it is judged, how it is broken.
pub struct Field {
    /// Slash path in config.json (`process/user/uid`), matched against a case's fragment;
    /// [`DEFAULTS`] for what the runtime must supply unasked (judged by the base case).
    pub path: &'static str,
    /// One line for `explain`: what the check looks at.
    pub about: &'static str,
    /// Probe steps that observe the field (run before `report`), from the merged config.
    pub probe: fn(&Value, &mut Vec<String>),
    /// The check: the merged config against the observations.
    pub check: fn(&Input, &mut Vec<Check>),
    /// Ways a runtime can get the field wrong; each must make some case fail.
    pub mutants: &'static [Mutant],
}

/// The pseudo-path of what every container gets whatever its config says (default devices,
/// `/dev` symlinks): judged when a case judges everything (the base case).
pub const DEFAULTS: &str = "(defaults)";

/// For rows whose observation is in every report already.
pub fn no_probe(_: &Value, _: &mut Vec<String>) {}

/// Facts of the host the checks compare against.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// The runner's namespaces: the runtime namespaces a container inherits.
    pub namespaces: BTreeMap<String, u64>,
    pub oom_score_adj: Option<i32>,
    /// The runner's bounding set: no runtime can grant more.
    pub bounding: u64,
    /// The runner's own no_new_privs (a container of a runtime that ignores the field inherits
    /// it).
    pub no_new_privs: bool,
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
    /// The container's own cgroup files, read from the host's cgroupfs: `controller/file` (v1,
    /// e.g. `memory/memory.limit_in_bytes`) or `unified/file` (v2) → content.
    pub cgroup_files: BTreeMap<String, String>,
    /// Mount points the runner sees after the probe reported (propagation out of the
    /// container), relative to the case's directory.
    pub host_mounts: Vec<String>,
}

/// Which config fields a case's checks judge: all of them (the base case), or only those the
/// case's fragment touches, so that one broken field fails the case about it, not every case.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub all: bool,
    /// Slash paths of everything the fragment sets (`process/user/uid`, `mounts`, ...).
    pub touched: Vec<String>,
    /// Slash paths set only as setup (a case's `setup`): never judged.
    pub setup: Vec<String>,
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
        Scope {
            all,
            touched,
            setup: vec![],
        }
    }

    /// The scope of a case: its fragment, less what it sets up.
    pub fn of_case(case: &crate::case::Case) -> Self {
        Scope {
            setup: case.file.setup.clone(),
            ..Scope::of_fragment(&case.config, case.file.all_checks)
        }
    }

    /// Whether the field at slash path `field` is judged.
    pub fn covers(&self, field: &str) -> bool {
        if field == DEFAULTS {
            return self.all;
        }
        if self.setup.iter().any(|s| s == field) {
            return false;
        }
        self.all
            || self.touched.iter().any(|t| {
                t == field
                    || t.starts_with(&format!("{field}/"))
                    || field.starts_with(&format!("{t}/"))
            })
    }
}

/// Everything a check may look at.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The path of the row being judged (rows that share a check, like the cgroup knobs, tell
    /// their field by it).
    pub field: &'static str,
    pub config: &'a Value,
    pub report: &'a Report,
    pub outside: &'a Outside,
    pub host: &'a Host,
    pub refs: Refs<'a>,
}

/// The rows a scope judges.
pub fn fields_in(scope: &Scope) -> impl Iterator<Item = &'static Field> + '_ {
    table::FIELDS.iter().filter(|f| scope.covers(f.path))
}

/// Probe steps the judged fields need (they run before `report`), each once, in table order.
pub fn probe_steps(config: &Value, scope: &Scope) -> Vec<String> {
    let mut steps = Vec::new();
    for f in fields_in(scope) {
        (f.probe)(config, &mut steps);
    }
    let mut seen = std::collections::BTreeSet::new();
    steps.retain(|s| seen.insert(s.clone()));
    steps
}

/// Runs the check of every field the scope judges.
pub fn run(input: &Input, scope: &Scope) -> Vec<Check> {
    let mut out = Vec::new();
    for f in fields_in(scope) {
        let row = Input {
            field: f.path,
            ..*input
        };
        (f.check)(&row, &mut out);
    }
    out
}

/// The value at a slash path of the config (`linux/sysctl`), `Null` when absent.
pub fn at<'a>(config: &'a Value, path: &str) -> &'a Value {
    path.split('/').fold(config, |v, k| &v[k])
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
        assert!(scope.covers("process/user/uid"));
        assert!(scope.covers("process"));
        assert!(!scope.covers("process/user/gid"));
        assert!(!scope.covers("process/env"));
        assert!(scope.covers("mounts"), "a `+` key covers its field");
        assert!(scope.covers("linux/namespaces"));
        assert!(!scope.covers("linux/cgroupsPath"));
        assert!(!scope.covers("hostname"));
        assert!(!scope.covers(DEFAULTS));
        let all = Scope::of_fragment(&json!({}), true);
        assert!(all.covers("hostname") && all.covers(DEFAULTS));
    }

    #[test]
    fn probe_steps_are_derived_from_the_judged_fields() {
        let config = json!({
            "root": {"readonly": true},
            "linux": {
                "devices": [{"path": "/dev/x"}],
                "maskedPaths": ["/proc/kcore"],
                "sysctl": {"net.ipv4.ip_forward": "1"}
            }
        });
        let all = Scope {
            all: true,
            ..Default::default()
        };
        let steps = probe_steps(&config, &all);
        for s in [
            "write:/.ocikit-readonly-root",
            "stat:/dev/x",
            "stat:/proc/kcore",
            "sysctl:net.ipv4.ip_forward",
        ] {
            assert!(steps.iter().any(|x| x == s), "{s} in {steps:?}");
        }
        // Only the fields a case judges make the probe look.
        let sysctl_only = Scope::of_fragment(&json!({"linux": {"sysctl": {"a": "1"}}}), false);
        assert_eq!(
            probe_steps(&config, &sysctl_only),
            vec!["sysctl:net.ipv4.ip_forward"]
        );
    }

    #[test]
    fn every_row_has_a_unique_path_and_unique_mutant_names() {
        let mut paths = std::collections::BTreeSet::new();
        for f in table::FIELDS {
            assert!(paths.insert(f.path), "{} twice", f.path);
            let mut names = std::collections::BTreeSet::new();
            for m in f.mutants {
                assert!(names.insert(m.name), "{}:{} twice", f.path, m.name);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod testing {
    //! A report and config to unit-test checks without a container.
    use super::*;
    use ocikit_probe::{CapSets, Report, REPORT_VERSION};

    pub fn report() -> Report {
        Report {
            version: REPORT_VERSION,
            args: vec!["/probe".into(), "report".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            pid: 1,
            ppid: 0,
            umask: 0o022,
            hostname: "ocikit".into(),
            domainname: "(none)".into(),
            capabilities: CapSets::default(),
            no_new_privs: true,
            ..Default::default()
        }
    }

    /// Runs every row whose path starts with `prefix` over `config` and `report`.
    pub fn checks(
        prefix: &str,
        config: &Value,
        report: &Report,
        outside: &Outside,
        host: &Host,
    ) -> Vec<Check> {
        let cat = crate::requirements::Catalogue::default();
        let input = Input {
            field: "",
            config,
            report,
            outside,
            host,
            refs: Refs { catalogue: &cat },
        };
        let mut out = vec![];
        for f in table::FIELDS.iter().filter(|f| f.path.starts_with(prefix)) {
            let row = Input {
                field: f.path,
                ..input
            };
            (f.check)(&row, &mut out);
        }
        out
    }
}
