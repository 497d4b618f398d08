//! TAP version 13: one test point per (runtime, case), YAML diagnostics for failures.

use crate::verdict::{describe, RunResult, Status};
use std::fmt::Write;

pub fn render(runs: &[RunResult]) -> String {
    let total: usize = runs.iter().map(|r| r.cases.len()).sum();
    let mut out = format!("TAP version 13\n1..{total}\n");
    let mut n = 0;
    for run in runs {
        for c in &run.cases {
            n += 1;
            let name = format!("{}: {} - {}", run.runtime.name, c.case, c.description);
            let _ = match c.status {
                Status::Pass => writeln!(out, "ok {n} - {name}"),
                Status::Skip => writeln!(out, "ok {n} - {name} # SKIP {}", c.reason),
                Status::Fail | Status::Error => writeln!(out, "not ok {n} - {name}"),
            };
            if matches!(c.status, Status::Fail | Status::Error) {
                let _ = writeln!(out, "  ---\n  verdict: {}", c.status);
                for check in c.checks.iter().filter(|k| k.status == c.status) {
                    let _ = writeln!(out, "  - {:?}", describe(check));
                }
                let _ = writeln!(out, "  ...");
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::testing;

    #[test]
    fn renders_plan_points_skips_and_diagnostics() {
        let run = testing::run(
            "runc",
            &[
                ("a/x", Status::Pass),
                ("a/y", Status::Skip),
                ("a/z", Status::Fail),
            ],
        );
        let tap = render(&[run]);
        let lines: Vec<&str> = tap.lines().collect();
        assert_eq!(lines[0], "TAP version 13");
        assert_eq!(lines[1], "1..3");
        assert!(lines[2].starts_with("ok 1 - runc: a/x"));
        assert!(lines[3].ends_with("# SKIP why a/y"));
        assert!(lines[4].starts_with("not ok 3 - runc: a/z"));
        assert_eq!(lines[5], "  ---");
        assert!(tap.contains("c: expected a, observed b"));
    }
}
