//! `oci-conformance mutants` (the suite's self-test), `wrap` (the mutant wrapper the self-test
//! runs as the runtime) and `explain` (what a case will check).

use anyhow::Context;
use conformance::checks::{self, Scope};
use conformance::mutants;
use conformance::runner::{self, Options};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct MutantsArgs {
    /// The runtime to break, as PATH or NAME=PATH.
    #[arg(long)]
    runtime: String,
    /// Only mutants whose name starts with this (repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// Cases run in parallel per mutant (default: the number of CPUs).
    #[arg(short, long)]
    jobs: Option<usize>,
    /// See `run --wrap-mountns`.
    #[arg(long)]
    wrap_mountns: bool,
    /// Seconds a runtime call may take.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Print only the mutants that no case caught, and the figure.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    source: super::run::SourceArgs,
}

pub fn mutants(args: MutantsArgs) -> anyhow::Result<i32> {
    let suite = args.source.load()?;
    let work_dir =
        std::env::temp_dir().join(format!("oci-conformance-mutants-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    conformance::observe::become_subreaper().context("cannot become a subreaper")?;
    runner::stop_on_interrupt();
    let opts = Options {
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        timeout: Duration::from_secs(args.timeout.max(1)),
        work_dir: work_dir.clone(),
        oci_version: None,
        wrap_mountns: args.wrap_mountns,
        keep: false,
        preflight: true,
        stop_at_first_failure: false,
    };
    let host = runner::host_facts(args.wrap_mountns);
    let exe = std::env::current_exe().context("cannot find this binary to wrap the runtime")?;
    let only = args.only.clone();
    let quiet = args.quiet;
    let outcomes = mutants::run(
        &exe,
        &args.runtime,
        &suite.cases,
        &suite.catalogue,
        &host,
        &opts,
        &only,
        &|o| match &o.caught_by {
            None if !o.judged => println!("NOT JUDGED  {}  ({})", o.name, o.about),
            Some(by) if !quiet => {
                println!(
                    "caught      {}  by {}",
                    o.name,
                    by.lines().next().unwrap_or_default()
                )
            }
            Some(_) => {}
            None => println!("NOT CAUGHT  {}  ({}; {} cases ran)", o.name, o.about, o.ran),
        },
    )?;
    let _ = std::fs::remove_dir_all(&work_dir);
    let caught = outcomes.iter().filter(|o| o.caught_by.is_some()).count();
    let judged = outcomes.iter().filter(|o| o.judged).count();
    let unjudged = outcomes.len() - judged;
    if unjudged > 0 {
        println!(
            "{caught}/{judged} mutants caught ({unjudged} not judged: every case about them fails on the runtime as it is)"
        );
    } else {
        println!("{caught}/{judged} mutants caught");
    }
    if runner::interrupted() {
        return Ok(130);
    }
    Ok(i32::from(caught < judged))
}

#[derive(clap::Args)]
pub struct WrapArgs {
    /// The mutant (`oci-conformance mutants` names them).
    #[arg(long)]
    mutant: String,
    /// The real runtime.
    #[arg(long)]
    runtime: PathBuf,
    /// The runtime's arguments.
    #[arg(last = true)]
    args: Vec<String>,
}

pub fn wrap(args: WrapArgs) -> anyhow::Result<i32> {
    mutants::wrap(&args.mutant, &args.runtime, &args.args)
        .with_context(|| format!("cannot run {}", args.runtime.display()))
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The case id (`mounts/order`).
    case: String,
    #[command(flatten)]
    source: super::run::SourceArgs,
}

/// Prints what a case will do and check: its steps, the probe's arguments, each judged field
/// with what the checks expect (the checks run on an empty observation, so each says what it
/// expects).
pub fn explain(args: ExplainArgs) -> anyhow::Result<i32> {
    let suite = args.source.load()?;
    let case = suite
        .cases
        .iter()
        .find(|c| c.id == args.case)
        .with_context(|| format!("no case {:?} (see `oci-conformance list`)", args.case))?;
    println!("{}: {}", case.id, case.file.description);
    println!("file: {}", case.path.display());
    for r in &case.file.requirements {
        let s = suite
            .catalogue
            .get(r)
            .map(|q| q.summary.as_str())
            .unwrap_or("");
        println!("  cites {r}  {s}");
    }
    let steps: Vec<String> = case
        .steps
        .iter()
        .map(|s| {
            let expect = match s.expect {
                conformance::case::Outcome::Ok => "",
                conformance::case::Outcome::Error => " (must fail)",
                conformance::case::Outcome::Any => " (may fail)",
            };
            format!("{}{expect}", s.op.as_str())
        })
        .collect();
    println!("steps: {}", steps.join(" → "));
    let mut config = conformance::bundle::base_config("<ociVersion>", "<id>", &[]);
    conformance::merge::merge(&mut config, &case.config);
    let scope = Scope::of_case(case);
    let mut probe = checks::probe_steps(&config, &scope);
    probe.extend(
        case.file
            .probe
            .clone()
            .unwrap_or_else(|| vec!["report".into(), "pause".into()]),
    );
    println!("probe: /probe {}", probe.join(" "));
    let report = ocikit_probe::Report::default();
    let outside = checks::Outside::default();
    let host = checks::Host::default();
    println!("fields judged:");
    for f in checks::fields_in(&scope) {
        let input = checks::Input {
            field: f.path,
            config: &config,
            report: &report,
            outside: &outside,
            host: &host,
            refs: checks::Refs {
                catalogue: &suite.catalogue,
            },
        };
        let mut out = Vec::new();
        (f.check)(&input, &mut out);
        if out.is_empty() {
            continue;
        }
        println!("  {} — {}", f.path, f.about);
        for c in out {
            if c.expected.is_empty() {
                println!("      {}", c.what);
            } else {
                println!("      {}: expects {}", c.what, c.expected);
            }
        }
    }
    Ok(0)
}
