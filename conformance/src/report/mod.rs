//! Reports of a run: per requirement verdicts and coverage (this module), and the formats:
//! terminal table, JSON, JUnit XML, TAP, Markdown matrix, and the baseline gate.

pub mod baseline;
pub mod junit;
pub mod markdown;
pub mod tap;
pub mod terminal;

use crate::case::Case;
use crate::requirements::{Catalogue, Keyword, Level};
use crate::verdict::{RunResult, Status};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A requirement's verdict in one run: the worst of the cases citing it and of the checks
/// citing it, with the cases that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementVerdict {
    pub status: Status,
    pub cases: Vec<String>,
}

pub fn requirement_verdicts(run: &RunResult) -> BTreeMap<String, RequirementVerdict> {
    let mut out: BTreeMap<String, RequirementVerdict> = BTreeMap::new();
    let mut note = |id: &String, status: Status, case: &str| {
        let v = out.entry(id.clone()).or_insert(RequirementVerdict {
            status: Status::Pass,
            cases: vec![],
        });
        if status > v.status {
            v.status = status;
            v.cases.clear();
        }
        if status == v.status && !v.cases.iter().any(|c| c == case) {
            v.cases.push(case.to_string());
        }
    };
    for c in &run.cases {
        for id in &c.requirements {
            note(id, c.status, &c.case);
        }
        for check in &c.checks {
            for id in &check.requirements {
                note(id, check.status, &c.case);
            }
        }
    }
    out
}

/// How many requirements of one keyword there are (Linux ones) and how many have cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub total: usize,
    pub covered: usize,
}

/// Coverage by keyword, and by level, of the cases' citations (case-level and step-level).
pub fn coverage(
    cases: &[Case],
    catalogue: &Catalogue,
) -> (BTreeMap<Keyword, Coverage>, BTreeMap<Level, Coverage>) {
    let cited: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| {
            c.file
                .requirements
                .iter()
                .chain(c.steps.iter().flat_map(|s| s.requirements.iter()))
        })
        .map(String::as_str)
        .collect();
    let mut by_kw: BTreeMap<Keyword, Coverage> = BTreeMap::new();
    let mut by_level: BTreeMap<Level, Coverage> = BTreeMap::new();
    for r in catalogue.linux() {
        let hit = cited.contains(r.id.as_str());
        for cov in [
            by_kw.entry(r.keyword).or_default(),
            by_level.entry(r.level()).or_default(),
        ] {
            cov.total += 1;
            if hit {
                cov.covered += 1;
            }
        }
    }
    (by_kw, by_level)
}

/// `MUST 40/160 (25%), ...` on one line.
pub fn coverage_line(by_kw: &BTreeMap<Keyword, Coverage>) -> String {
    by_kw
        .iter()
        .map(|(k, c)| {
            let pct = (c.covered * 100).checked_div(c.total).unwrap_or(0);
            format!("{} {}/{} ({pct}%)", k.as_str(), c.covered, c.total)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON report: every run, with per-requirement verdicts.
pub fn json(runs: &[RunResult]) -> serde_json::Value {
    serde_json::json!({
        "version": 1,
        "host": host(),
        "runs": runs.iter().map(|r| serde_json::json!({
            "runtime": r.runtime,
            "millis": r.millis,
            "counts": {
                "pass": r.count(Status::Pass),
                "fail": r.count(Status::Fail),
                "skip": r.count(Status::Skip),
                "error": r.count(Status::Error),
                "skipped_for_oci_version": r.skipped_for_version(),
            },
            "cases": r.cases,
            "requirements": requirement_verdicts(r),
        })).collect::<Vec<_>>(),
    })
}

/// What a report says about the machine it was made on (so reports from many machines can be
/// read as one): kernel, architecture, cgroup mode, distribution.
pub fn host() -> serde_json::Value {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let cgroup = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "v2"
    } else if std::path::Path::new("/sys/fs/cgroup/unified").is_dir() {
        "hybrid"
    } else {
        "v1"
    };
    let distribution = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    serde_json::json!({
        "kernel": read("/proc/sys/kernel/osrelease"),
        "architecture": std::env::consts::ARCH,
        "cgroup": cgroup,
        "distribution": distribution,
        "hostname": read("/proc/sys/kernel/hostname"),
    })
}

/// XML text escaping for the JUnit report.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod testing {
    use crate::verdict::{CaseResult, Check, RunResult, RuntimeInfo, Status};

    pub fn run(name: &str, statuses: &[(&str, Status)]) -> RunResult {
        RunResult {
            runtime: RuntimeInfo {
                name: name.into(),
                path: format!("/usr/bin/{name}"),
                version: "1.0".into(),
                oci_version: "1.0.2".into(),
                oci_version_source: "test".into(),
            },
            cases: statuses
                .iter()
                .map(|(case, status)| CaseResult {
                    case: case.to_string(),
                    area: case.split('/').next().unwrap_or_default().into(),
                    description: format!("about {case} & <more>"),
                    requirements: vec![format!("runtime/x/{}", case.replace('/', "-"))],
                    status: *status,
                    reason: if *status == Status::Pass {
                        String::new()
                    } else {
                        format!("why {case}")
                    },
                    checks: vec![Check::with(
                        "c",
                        *status,
                        vec!["runtime/start/1".into()],
                        "a",
                        "b",
                    )],
                    millis: 3,
                })
                .collect(),
            millis: 10,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requirement_verdict_is_the_worst_citation() {
        let run = testing::run("r", &[("a/x", Status::Pass), ("a/y", Status::Fail)]);
        let v = requirement_verdicts(&run);
        assert_eq!(v["runtime/x/a-x"].status, Status::Pass);
        assert_eq!(v["runtime/start/1"].status, Status::Fail);
        assert_eq!(v["runtime/start/1"].cases, vec!["a/y".to_string()]);
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(xml_escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
