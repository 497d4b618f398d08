//! `oci-conformance run|coverage|list`.

use anyhow::{bail, Context};
use conformance::case::Case;
use conformance::report::{self, baseline};
use conformance::requirements::{Catalogue, Level};
use conformance::runner::{self, Options};
use conformance::suite;
use conformance::verdict::{CaseResult, Status};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the cases and the catalogue come from (default: what the binary carries).
#[derive(clap::Args, Clone)]
pub struct SourceArgs {
    /// A directory of your own cases (`<area>/<name>.toml`), added to the embedded ones.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// A directory of cases that replace the embedded ones.
    #[arg(long, conflicts_with = "cases")]
    only_cases: Option<PathBuf>,
    /// Requirements catalogue directory instead of the embedded one.
    #[arg(long)]
    requirements: Option<PathBuf>,
}

impl SourceArgs {
    /// The suite these say.
    pub fn load(&self) -> anyhow::Result<suite::Suite> {
        Ok(match &self.only_cases {
            Some(dir) => suite::load_only(dir, self.requirements.as_deref())?,
            None => suite::load(self.cases.as_deref(), self.requirements.as_deref())?,
        })
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Runtime binary to judge, as PATH or NAME=PATH; repeat to judge several side by side.
    #[arg(long, required = true)]
    runtime: Vec<String>,
    /// Cases run in parallel (default: the number of CPUs).
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Only cases whose id or area starts with this, or citing a requirement id starting with
    /// it; repeatable (any matches).
    #[arg(long)]
    filter: Vec<String>,
    /// Only cases citing a requirement of this level (must, should).
    #[arg(long)]
    level: Option<Level>,
    /// ociVersion of the base config (default: the runtime's `features` ociVersionMax, else
    /// 1.0.2).
    #[arg(long)]
    oci_version: Option<String>,
    /// Run every runtime call in a private mount namespace where
    /// /sys/fs/cgroup/unified/cgroup.controllers reads empty (hybrid cgroup hosts; crun 1.8
    /// refuses them otherwise).
    #[arg(long)]
    wrap_mountns: bool,
    /// Seconds a runtime call, the probe's report or an exit may take.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Where bundles and runtime state go (default: a fresh dir under /tmp).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep each case's directory (bundle, runtime output) for debugging.
    #[arg(long)]
    keep: bool,
    #[command(flatten)]
    source: SourceArgs,
    /// Write the JSON report here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write a TAP report here.
    #[arg(long)]
    tap: Option<PathBuf>,
    /// Write the Markdown requirement × runtime matrix here.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Exit non-zero only where a case's verdict is worse than in this baseline.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Write a baseline of this run's verdicts (one runtime).
    #[arg(long)]
    write_baseline: Option<PathBuf>,
    /// No per-case progress.
    #[arg(short, long)]
    quiet: bool,
}

fn selected(case: &Case, args: &Args, catalogue: &Catalogue) -> bool {
    let cited = || {
        case.file
            .requirements
            .iter()
            .chain(case.steps.iter().flat_map(|s| s.requirements.iter()))
    };
    let filter_ok = args.filter.is_empty()
        || args
            .filter
            .iter()
            .any(|f| case.id.starts_with(f.as_str()) || cited().any(|r| r.starts_with(f.as_str())));
    let level_ok = match args.level {
        None => true,
        Some(level) => cited().any(|r| catalogue.get(r).is_some_and(|q| q.level() == level)),
    };
    filter_ok && level_ok
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let suite = args.source.load()?;
    let cases: Vec<Case> = suite
        .cases
        .iter()
        .filter(|c| selected(c, &args, &suite.catalogue))
        .cloned()
        .collect();
    if cases.is_empty() {
        bail!(
            "no case matches --filter {:?} --level {:?}",
            args.filter,
            args.level.map(|l| format!("{l:?}"))
        );
    }
    if args.baseline.is_some() && args.runtime.len() > 1 {
        bail!("--baseline judges one runtime at a time");
    }
    if args.write_baseline.is_some() && args.runtime.len() > 1 {
        bail!("--write-baseline records one runtime at a time");
    }
    let base = match &args.baseline {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read baseline {}", p.display()))?;
            Some(
                serde_json::from_str::<baseline::Baseline>(&text)
                    .with_context(|| format!("{}: not a baseline", p.display()))?,
            )
        }
        None => None,
    };
    let work_dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("oci-conformance-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    let work_dir = std::fs::canonicalize(&work_dir)?;
    conformance::observe::become_subreaper().context("cannot become a subreaper")?;
    runner::stop_on_interrupt();
    runner::probe_self_test(&work_dir).map_err(anyhow::Error::msg)?;
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let opts = Options {
        jobs,
        timeout: Duration::from_secs(args.timeout.max(1)),
        work_dir: work_dir.clone(),
        oci_version: args.oci_version.clone(),
        wrap_mountns: args.wrap_mountns,
        keep: args.keep,
        preflight: true,
        stop_at_first_failure: false,
    };
    let host = runner::host_facts(args.wrap_mountns);
    let tty = std::io::stderr().is_terminal();
    let quiet = args.quiet;
    let mut runs = Vec::new();
    for spec in &args.runtime {
        if runner::interrupted() {
            break;
        }
        let subject = runner::prepare(spec, &opts)?;
        if !quiet {
            eprintln!(
                "judging {} ({}) on ociVersion {} ({}), {} cases, {} at a time",
                subject.info.name,
                if subject.info.version.is_empty() {
                    "version unknown"
                } else {
                    &subject.info.version
                },
                subject.info.oci_version,
                subject.info.oci_version_source,
                cases.len(),
                jobs
            );
        }
        let progress = |done: usize, total: usize, failed: usize, r: &CaseResult| {
            if quiet {
                return;
            }
            if tty {
                eprint!("\r\x1b[K[{done}/{total}] {failed} failed  {}", r.case);
                if done == total {
                    eprintln!();
                }
            } else {
                eprintln!("[{done}/{total}] {} {}", r.status, r.case);
            }
        };
        runs.push(runner::run_suite(
            &subject,
            &cases,
            &suite.catalogue,
            &host,
            &opts,
            &progress,
        ));
    }
    if !args.keep && args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    if runner::interrupted() {
        eprintln!("interrupted: cases in flight finished and were cleaned up, the rest not run");
    }
    let (by_kw, _) = report::coverage(&suite.cases, &suite.catalogue);
    let coverage = report::coverage_line(&by_kw);
    print!("{}", report::terminal::render(&runs, &suite.catalogue));
    println!("coverage (Linux requirements with cases): {coverage}");
    if let Some(p) = &args.json {
        write(p, &serde_json::to_string_pretty(&report::json(&runs))?)?;
    }
    if let Some(p) = &args.junit {
        write(p, &report::junit::render(&runs))?;
    }
    if let Some(p) = &args.tap {
        write(p, &report::tap::render(&runs))?;
    }
    if let Some(p) = &args.markdown {
        write(
            p,
            &report::markdown::render(&runs, &suite.catalogue, &coverage),
        )?;
    }
    if let (Some(p), Some(run)) = (&args.write_baseline, runs.first()) {
        let mut made = baseline::Baseline::of(run);
        if let Some(previous) = std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str::<baseline::Baseline>(&t).ok())
        {
            made = made.keep_notes(&previous);
        }
        write(p, &(serde_json::to_string_pretty(&made)? + "\n"))?;
        println!("baseline written to {}", p.display());
    }
    if runner::interrupted() {
        return Ok(130);
    }
    match (&base, runs.first()) {
        (Some(base), Some(run)) => {
            let (worse, better, new) = baseline::compare(base, run);
            for c in &better {
                println!(
                    "better than baseline: {} {} -> {}",
                    c.case,
                    fmt(c.was),
                    c.now
                );
            }
            for c in &new {
                println!("not in baseline: {} {} {}", c.case, c.now, c.reason);
            }
            for (case, note) in &base.notes {
                if run
                    .cases
                    .iter()
                    .any(|c| &c.case == case && c.status > Status::Pass)
                {
                    println!("expected failure: {case}: {note}");
                }
            }
            for c in &worse {
                println!(
                    "WORSE than baseline: {} {} -> {}: {}",
                    c.case,
                    fmt(c.was),
                    c.now,
                    c.reason
                );
            }
            if worse.is_empty() {
                println!("gate: no verdict worse than the baseline");
                Ok(0)
            } else {
                println!("gate: {} verdicts worse than the baseline", worse.len());
                Ok(1)
            }
        }
        _ if args.write_baseline.is_some() => Ok(0),
        _ => {
            let bad = runs
                .iter()
                .any(|r| r.count(Status::Fail) + r.count(Status::Error) > 0);
            Ok(i32::from(bad))
        }
    }
}

fn fmt(s: Option<Status>) -> String {
    s.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
}

pub fn coverage(args: SourceArgs) -> anyhow::Result<()> {
    let suite = args.load()?;
    let (by_kw, by_level) = report::coverage(&suite.cases, &suite.catalogue);
    println!(
        "{} cases, {} requirements ({} for Linux)",
        suite.cases.len(),
        suite.catalogue.requirements.len(),
        suite.catalogue.linux().count()
    );
    for (k, c) in &by_kw {
        println!(
            "{:16} {:4} / {:4} have cases",
            k.as_str(),
            c.covered,
            c.total
        );
    }
    for (l, c) in &by_level {
        println!(
            "level {:10} {:4} / {:4} ({}%)",
            format!("{l:?}").to_lowercase(),
            c.covered,
            c.total,
            c.covered * 100 / c.total.max(1)
        );
    }
    Ok(())
}

pub fn list(args: SourceArgs) -> anyhow::Result<()> {
    let suite = args.load()?;
    for c in &suite.cases {
        println!("{:32} {}", c.id, c.file.description);
        for r in &c.file.requirements {
            let s = suite
                .catalogue
                .get(r)
                .map(|q| q.summary.as_str())
                .unwrap_or("");
            println!("    {r}  {s}");
        }
    }
    Ok(())
}
