//! The readable table on the terminal: one line per case (several runtimes side by side), then
//! what failed and why, with the requirement's reference.

use crate::requirements::Catalogue;
use crate::verdict::{describe, RunResult, Status};
use std::fmt::Write;

fn mark(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Skip => "skip",
        Status::Error => "ERROR",
    }
}

pub fn render(runs: &[RunResult], catalogue: &Catalogue) -> String {
    let mut out = String::new();
    let Some(first) = runs.first() else {
        return out;
    };
    let width = first
        .cases
        .iter()
        .map(|c| c.case.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = write!(out, "{:width$}", "case");
    for r in runs {
        let _ = write!(
            out,
            "  {:>8}",
            r.runtime.name.chars().take(8).collect::<String>()
        );
    }
    out.push('\n');
    for (i, c) in first.cases.iter().enumerate() {
        let _ = write!(out, "{:width$}", c.case);
        for r in runs {
            let s = r.cases.get(i).map(|k| mark(k.status)).unwrap_or("-");
            let _ = write!(out, "  {s:>8}");
        }
        out.push('\n');
    }
    for r in runs {
        let _ = writeln!(
            out,
            "\n{} ({}; ociVersion {} from {}): {} pass, {} fail, {} skip, {} error in {:.1}s",
            r.runtime.name,
            if r.runtime.version.is_empty() {
                "version unknown"
            } else {
                &r.runtime.version
            },
            r.runtime.oci_version,
            r.runtime.oci_version_source,
            r.count(Status::Pass),
            r.count(Status::Fail),
            r.count(Status::Skip),
            r.count(Status::Error),
            r.millis as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "  requirements judged: {}",
            level_summary(r, catalogue)
        );
        let older = r.skipped_for_version();
        if older > 0 {
            let _ = writeln!(
                out,
                "  {older} cases skipped for ociVersion {}: they judge newer spec releases; \
                 judge at the newest with --oci-version {}",
                r.runtime.oci_version,
                runtime_spec::VERSION
            );
        }
        for c in r.cases.iter().filter(|c| c.status != Status::Pass) {
            if c.reason.starts_with(crate::verdict::SKIPPED_FOR_VERSION) {
                continue;
            }
            let _ = writeln!(out, "  {} {}: {}", mark(c.status), c.case, c.reason);
            for k in c
                .checks
                .iter()
                .filter(|k| k.status == c.status && k.status != Status::Skip)
            {
                let refs: Vec<String> = k
                    .requirements
                    .iter()
                    .map(|id| match catalogue.get(id) {
                        Some(req) => format!("{id} ({})", req.reference()),
                        None => id.clone(),
                    })
                    .collect();
                let _ = writeln!(out, "      {}", describe(k));
                if !refs.is_empty() {
                    let _ = writeln!(out, "        spec: {}", refs.join(", "));
                }
            }
        }
    }
    out
}

/// `MUST-level 170 (150 pass, 18 fail, 2 skip); SHOULD-level 20 (...)`: requirement verdicts
/// of one run by level.
pub fn level_summary(run: &RunResult, catalogue: &Catalogue) -> String {
    use crate::requirements::Level;
    let verdicts = super::requirement_verdicts(run);
    [Level::Must, Level::Should]
        .iter()
        .map(|&level| {
            let mut counts = std::collections::BTreeMap::<Status, usize>::new();
            for (id, v) in &verdicts {
                if catalogue.get(id).is_some_and(|r| r.level() == level) {
                    *counts.entry(v.status).or_default() += 1;
                }
            }
            let total: usize = counts.values().sum();
            let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            let name = if level == Level::Must {
                "MUST-level"
            } else {
                "SHOULD-level"
            };
            format!("{name} {total} ({})", parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::testing;

    #[test]
    fn side_by_side_then_reasons() {
        let a = testing::run("runc", &[("a/x", Status::Pass), ("a/y", Status::Fail)]);
        let b = testing::run("crun", &[("a/x", Status::Skip), ("a/y", Status::Fail)]);
        let text = render(&[a, b], &Catalogue::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "case      runc      crun");
        assert_eq!(lines[1], "a/x       pass      skip");
        assert_eq!(lines[2], "a/y       FAIL      FAIL");
        assert!(text.contains(
            "  FAIL a/y: why a/y\n      c: expected a, observed b\n        spec: runtime/start/1"
        ));
    }
}
