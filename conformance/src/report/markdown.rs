//! The Markdown matrix: requirement × runtime, for reading several runtimes side by side.

use super::requirement_verdicts;
use crate::requirements::Catalogue;
use crate::verdict::{RunResult, Status};
use std::collections::BTreeMap;
use std::fmt::Write;

fn cell(s: Option<Status>) -> &'static str {
    match s {
        Some(Status::Pass) => "pass",
        Some(Status::Fail) => "**FAIL**",
        Some(Status::Skip) => "skip",
        Some(Status::Error) => "error",
        None => "–",
    }
}

pub fn render(runs: &[RunResult], catalogue: &Catalogue, coverage: &str) -> String {
    let mut out = String::from("# OCI runtime conformance\n\n");
    out.push_str(
        "| runtime | version | ociVersion judged | pass | fail | skip | error | wall time ",
    );
    out.push_str("| requirements judged |\n|---|---|---|---|---|---|---|---|---|\n");
    for r in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} ({}) | {} | {} | {} | {} | {:.1}s | {} |",
            r.runtime.name,
            r.runtime.version.replace('|', "/"),
            r.runtime.oci_version,
            r.runtime.oci_version_source,
            r.count(Status::Pass),
            r.count(Status::Fail),
            r.count(Status::Skip),
            r.count(Status::Error),
            r.millis as f64 / 1000.0,
            super::terminal::level_summary(r, catalogue)
        );
    }
    let _ = writeln!(
        out,
        "\nCoverage (Linux requirements with cases): {coverage}\n"
    );
    let verdicts: Vec<_> = runs.iter().map(requirement_verdicts).collect();
    let mut ids: Vec<&String> = verdicts.iter().flat_map(|v| v.keys()).collect();
    ids.sort();
    ids.dedup();
    let header: Vec<&str> = runs.iter().map(|r| r.runtime.name.as_str()).collect();
    let _ = writeln!(
        out,
        "| requirement | level | summary | {} |",
        header.join(" | ")
    );
    let _ = writeln!(out, "|---|---|---|{}|", vec!["---"; runs.len()].join("|"));
    let mut differing = BTreeMap::new();
    for id in ids {
        let Some(req) = catalogue.get(id) else {
            continue;
        };
        let cells: Vec<Option<Status>> = verdicts
            .iter()
            .map(|v| v.get(id).map(|x| x.status))
            .collect();
        if cells.windows(2).any(|w| w[0] != w[1]) {
            differing.insert(id.clone(), cells.clone());
        }
        let summary: String = req.summary.replace('|', "/").chars().take(90).collect();
        let _ =
            writeln!(
            out,
            "| [{}](https://github.com/opencontainers/runtime-spec/blob/main/{}) | {} | {} | {} |",
            id,
            req.reference(),
            req.keyword.as_str(),
            summary,
            cells.iter().map(|c| cell(*c)).collect::<Vec<_>>().join(" | ")
        );
    }
    if runs.len() > 1 {
        let _ = writeln!(out, "\n## Where the runtimes differ\n");
        if differing.is_empty() {
            out.push_str("Nowhere.\n");
        }
        for (id, _) in differing {
            let _ = writeln!(out, "- `{id}`:");
            for (r, v) in runs.iter().zip(&verdicts) {
                if let Some(x) = v.get(&id) {
                    let why: Vec<String> = x
                        .cases
                        .iter()
                        .filter_map(|c| r.cases.iter().find(|k| &k.case == c))
                        .filter(|k| x.status != Status::Pass && k.status != Status::Pass)
                        .map(|k| format!("{}: {}", k.case, k.reason.replace('|', "/")))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  - {} {}{}",
                        r.runtime.name,
                        x.status,
                        if why.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", why.join("; "))
                        }
                    );
                }
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
    use crate::requirements::{Keyword, Requirement};

    #[test]
    fn matrix_has_a_row_per_requirement_and_lists_differences() {
        let mut cat = Catalogue::default();
        for id in ["runtime/x/a-x", "runtime/start/1"] {
            cat.requirements.insert(
                id.into(),
                Requirement {
                    id: id.into(),
                    file: "runtime.md".into(),
                    section: "S".into(),
                    anchor: "runtimeStart".into(),
                    keyword: Keyword::Must,
                    platform: "linux".into(),
                    summary: "a | summary".into(),
                    edited: false,
                    text: "t".into(),
                },
            );
        }
        let a = testing::run("runc", &[("a/x", Status::Pass)]);
        let b = testing::run("crun", &[("a/x", Status::Fail)]);
        let md = render(&[a, b], &cat, "MUST 1/2 (50%)");
        assert!(md.contains("| requirement | level | summary | runc | crun |"));
        assert!(md.contains("runtime.md#runtimeStart) | MUST | a / summary | pass | **FAIL** |"));
        assert!(md.contains("## Where the runtimes differ"));
        assert!(md.contains("  - crun fail (a/x: why a/x)"));
    }
}
