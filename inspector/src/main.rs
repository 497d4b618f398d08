//! The ocitop binary: flags → a snapshot printed once (`--json`, `--once`), recorded
//! (`--record DIR`), or the live TUI.

use anyhow::Context;
use clap::Parser;
use ocitop::collect::{record, Collector, Roots};
use std::path::PathBuf;
use std::time::Duration;

/// A live terminal inspector of containers, their shims, namespaces and cgroups, read from
/// /proc.
#[derive(Parser, Debug)]
#[command(name = "ocitop", version)]
struct Cli {
    /// Print one snapshot as JSON and exit.
    #[arg(long, conflicts_with_all = ["once", "record"])]
    json: bool,
    /// Print one snapshot as a text tree (like systemd-cgls) and exit.
    #[arg(long, conflicts_with = "record")]
    once: bool,
    /// With --once: show host processes too, not only shims and containers.
    #[arg(long)]
    all: bool,
    /// Copy the files ocitop reads, for container-related processes, into DIR (for tests).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Refresh interval of the live view, in seconds.
    #[arg(long, default_value = "1", value_parser = parse_interval)]
    interval: Duration,
    #[arg(long, default_value = "/proc", value_name = "DIR")]
    proc_root: PathBuf,
    #[arg(long, default_value = "/sys/fs/cgroup", value_name = "DIR")]
    cgroup_root: PathBuf,
    /// Prefix of the runtime state dirs (/run/runc, /run/containerd/runc ...).
    #[arg(long, default_value = "/", value_name = "DIR")]
    state_root: PathBuf,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("interval {s:?} is not a number of seconds"))?;
    if !(0.05..=3600.0).contains(&secs) {
        return Err(format!("interval {s} is not between 0.05 and 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes, joined.
            eprintln!("ocitop: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let roots = Roots {
        proc: cli.proc_root,
        cgroup: cli.cgroup_root,
        state: cli.state_root,
    };
    if cli.json || cli.once || cli.record.is_some() {
        let mut collector = Collector::new(roots.clone());
        let snapshot = collector.snapshot()?;
        if cli.json {
            println!("{}", serde_json::to_string_pretty(&snapshot)?);
        } else if cli.once {
            print!("{}", ocitop::dump::text(&snapshot, cli.all));
        } else if let Some(dest) = cli.record {
            record::record(&collector, &snapshot, &dest)?;
            eprintln!(
                "recorded {} processes into {}",
                record::selected_pids(&snapshot).len(),
                dest.display()
            );
        }
        return Ok(());
    }
    match ocitop::ui::run(roots, cli.interval).context("terminal")? {
        ocitop::ui::Ended::Quit => Ok(()),
        // The terminal is restored by now; end the way the signal asked.
        ocitop::ui::Ended::Signal(signal) => {
            ocitop::ui::die_of(signal).with_context(|| format!("dying of signal {signal}"))
        }
    }
}
