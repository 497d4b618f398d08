//! `oci-conformance merge A.json B.json ...`: reports from many machines (a CI matrix over
//! kernels, cgroup modes and architectures) read as one: every run becomes a column named
//! `runtime@host`, rendered as one Markdown matrix, JUnit file or JSON report.

use anyhow::{bail, Context};
use conformance::report;
use conformance::verdict::RunResult;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// JSON reports (`run --json`).
    #[arg(required = true)]
    reports: Vec<PathBuf>,
    /// Write the runtime × host Markdown matrix here.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write one JUnit XML file (a testsuite per runtime × host) here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write the merged JSON report here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// `kernel cgroup arch` of a report's host, the column's suffix.
fn host_label(host: &serde_json::Value) -> String {
    let part = |k: &str| host[k].as_str().unwrap_or("?").to_string();
    format!(
        "{} {} {}",
        part("kernel"),
        part("cgroup"),
        part("architecture")
    )
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let mut runs: Vec<RunResult> = Vec::new();
    for p in &args.reports {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", p.display()))?;
        let host = host_label(&v["host"]);
        let Some(list) = v["runs"].as_array() else {
            bail!(
                "{}: not a report of oci-conformance run --json (no runs)",
                p.display()
            );
        };
        for (i, r) in list.iter().enumerate() {
            let mut run: RunResult = serde_json::from_value(r.clone())
                .with_context(|| format!("{}: runs[{i}] is not a run", p.display()))?;
            run.runtime.name = format!("{}@{host}", run.runtime.name);
            runs.push(run);
        }
    }
    let suite = conformance::suite::embedded_catalogue()?;
    if let Some(p) = &args.markdown {
        std::fs::write(
            p,
            report::markdown::render(&runs, &suite, "(merged reports)"),
        )
        .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &args.junit {
        std::fs::write(p, report::junit::render(&runs))
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_string_pretty(&report::json(&runs))?)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    print!("{}", report::terminal::render(&runs, &suite));
    Ok(0)
}
