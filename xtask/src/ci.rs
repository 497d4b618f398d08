//! `cargo xtask ci`: what CI runs, in order, stopping at the first failure.
//!
//! 1. `cargo fmt --all -- --check`
//! 2. `cargo clippy --workspace --all-targets -- -D warnings`
//! 3. the static probe build (as `cargo xtask fixtures`) and ocirun's release build
//! 4. `cargo test --workspace` (with `OCIKIT_PROBE` set to the probe of step 3)
//! 5. `cargo xtask conformance --baseline conformance/baseline.json`, only when that file exists
//! 6. `cargo xtask conformance mutants`: the suite's self-test on ocirun, which fails unless
//!    every mutant is caught
//!
//! Each step can be skipped with its `--no-*` flag. Output of the tools goes straight to the
//! terminal (cargo's test summary lines included); a step header and a final summary with
//! timings frame it.

use crate::fixtures::{build_probe, cargo, workspace_root};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo fmt --check`.
    #[arg(long)]
    no_fmt: bool,
    /// Skip clippy.
    #[arg(long)]
    no_clippy: bool,
    /// Skip the probe build (tests then build it on demand).
    #[arg(long)]
    no_fixtures: bool,
    /// Skip `cargo test --workspace`.
    #[arg(long)]
    no_tests: bool,
    /// Skip the conformance gate.
    #[arg(long)]
    no_conformance: bool,
    /// Skip the conformance suite's self-test (mutants).
    #[arg(long)]
    no_mutants: bool,
}

/// The conformance gate's baseline; the gate runs only when it exists.
const BASELINE: &str = "conformance/baseline.json";

pub fn run(args: Args) -> Result<()> {
    let mut done: Vec<(&str, Duration)> = Vec::new();
    let mut probe: Option<PathBuf> = None;

    if !args.no_fmt {
        step(&mut done, "fmt", || {
            check(cargo().args(["fmt", "--all", "--", "--check"]))
        })?;
    }
    if !args.no_clippy {
        step(&mut done, "clippy", || {
            check(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
    }
    if !args.no_fixtures {
        step(&mut done, "fixtures", || {
            let path = build_probe()?;
            println!("probe: {}", path.display());
            probe = Some(path);
            // ocirun in release, once: conformance/tests/mutants.rs wraps it, and the
            // conformance gate judges the same binary.
            check(cargo().args(["build", "--release", "-p", "ocirun"]))
        })?;
    }
    if !args.no_tests {
        step(&mut done, "tests", || {
            let mut cmd = cargo();
            cmd.args(["test", "--workspace"]);
            if let Some(path) = &probe {
                cmd.env("OCIKIT_PROBE", path);
                let target = std::env::var_os("CARGO_TARGET_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| workspace_root().join("target"));
                cmd.env("OCIKIT_OCIRUN", target.join("release").join("ocirun"));
            }
            check(&mut cmd)
        })?;
    }
    let baseline = workspace_root().join(BASELINE);
    if args.no_conformance {
        // skipped on request
    } else if baseline.is_file() {
        step(&mut done, "conformance", || {
            let exe = std::env::current_exe().context("cannot find the xtask binary")?;
            check(
                Command::new(exe)
                    .current_dir(workspace_root())
                    .args(["conformance", "--baseline"])
                    .arg(&baseline),
            )
        })?;
    } else {
        println!("==> conformance: skipped, {BASELINE} does not exist yet");
    }
    if !args.no_mutants {
        step(&mut done, "mutants", || {
            let exe = std::env::current_exe().context("cannot find the xtask binary")?;
            check(Command::new(exe).current_dir(workspace_root()).args([
                "conformance",
                "mutants",
                "-q",
            ]))
        })?;
    }

    println!("==> ci passed:");
    for (name, took) in done {
        println!("    {name:<12} {:>7.1}s", took.as_secs_f64());
    }
    Ok(())
}

/// Runs one named step, timing it; a failure names the step.
fn step<'a>(
    done: &mut Vec<(&'a str, Duration)>,
    name: &'a str,
    body: impl FnOnce() -> Result<()>,
) -> Result<()> {
    println!("==> {name}");
    let start = Instant::now();
    body().with_context(|| format!("ci step {name:?} failed"))?;
    done.push((name, start.elapsed()));
    Ok(())
}

/// Runs `cmd` with inherited stdio; a non-zero exit is an error quoting the command.
fn check(cmd: &mut Command) -> Result<()> {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` exited with {status}");
    }
    Ok(())
}
