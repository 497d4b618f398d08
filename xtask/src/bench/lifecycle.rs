//! `bench lifecycle`: the timed runs, interleaved over the runtimes, each reaped with
//! wait4(2) for its peak RSS.

use super::leaks::check_nothing_left;
use super::mount_ns::{
    hide_unified_controllers, reexec_in_private_mount_ns, runtimes_from_env, IN_NS_ENV,
};
use super::report::{lifecycle_section, render_table, update_doc};
use super::runtimes::{find_runtimes, Runtime};
use super::TempDir;
use crate::fixtures::{run_bundle_tool, workspace_root};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone)]
pub(super) struct LifecycleArgs {
    /// A runtime to measure, as NAME=PATH (repeatable). Default: ocirun (built here), runc and
    /// crun, those found.
    #[arg(long = "runtime", value_name = "NAME=PATH", value_parser = parse_runtime)]
    pub(super) runtimes: Vec<(String, PathBuf)>,
    /// Timed runs per runtime.
    #[arg(long, default_value_t = 50)]
    pub(super) runs: usize,
    /// Untimed runs per runtime before the timed ones.
    #[arg(long, default_value_t = 3)]
    pub(super) warmup: usize,
    /// Build the measured ocirun from this git revision (exported with `git archive`) rather
    /// than from the working tree, so figures can be pinned to a commit while work goes on.
    #[arg(long, value_name = "REV", conflicts_with = "runtimes")]
    pub(super) ocirun_rev: Option<String>,
    /// Do not update docs/benchmarks.md (it is only ever updated when ocirun was measured).
    #[arg(long)]
    pub(super) no_doc: bool,
}

pub(super) fn parse_runtime(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("expected NAME=PATH, got {s:?}")),
    }
}

/// One timed run.
#[derive(Clone, Copy)]
pub(super) struct Sample {
    pub(super) wall: Duration,
    pub(super) max_rss_kib: u64,
}

pub(super) fn lifecycle(args: LifecycleArgs) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if std::env::var_os(IN_NS_ENV).is_none() {
        // Build before entering the namespace, so the build's output reads as usual.
        let runtimes = find_runtimes(&args.runtimes, args.ocirun_rev.as_deref())?;
        return reexec_in_private_mount_ns(&runtimes);
    }
    let runtimes = runtimes_from_env()?;
    let work = TempDir::new("ocikit-bench")?;
    hide_unified_controllers(&work.path)?;

    let bundle = work.path.join("bundle");
    let state = work.path.join("state");
    std::fs::create_dir(&state).with_context(|| format!("cannot create {}", state.display()))?;
    run_bundle_tool(&[
        "--no-busybox".into(),
        "--oci-version".into(),
        "1.0.2".into(),
        bundle.display().to_string(),
        "exit:0".into(),
    ])?;
    let prefix = format!("ocikit-bench-{}-", std::process::id());

    // Validate: a runtime that cannot run the bundle is dropped with its error.
    let mut ok = Vec::new();
    let mut counter = 0usize;
    for rt in runtimes {
        counter += 1;
        let id = format!("{prefix}{counter}");
        match run_once(&rt, &state, &bundle, &id) {
            Ok(_) => ok.push(rt),
            Err(e) => {
                eprintln!("bench: leaving out {}: {e:#}", rt.name);
                // Its mess is reported above; keep it out of the final leak check.
                let _ = std::fs::remove_dir_all(state.join(&id));
            }
        }
    }
    if ok.is_empty() {
        bail!("no runtime could run the benchmark bundle");
    }

    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); ok.len()];
    let rounds = args.warmup + args.runs;
    // SAFETY: isatty only inspects the descriptor.
    let progress = unsafe { libc::isatty(2) } == 1;
    let mut timed = || -> Result<()> {
        for round in 0..rounds {
            for k in 0..ok.len() {
                let i = (round + k) % ok.len();
                counter += 1;
                let sample = run_once(&ok[i], &state, &bundle, &format!("{prefix}{counter}"))?;
                if round >= args.warmup {
                    samples[i].push(sample);
                }
            }
            if progress {
                eprint!("\rbench: round {}/{rounds}", round + 1);
            }
        }
        if progress {
            eprintln!();
        }
        Ok(())
    };
    let outcome = timed();
    // Checked after a failed run too, so that what it left is named.
    let leaks = check_nothing_left(&state, &bundle, &prefix);
    match (outcome, leaks) {
        (Err(e), Err(leaks)) => return Err(e.context(format!("{leaks:#}"))),
        (Err(e), Ok(())) | (Ok(()), Err(e)) => return Err(e),
        (Ok(()), Ok(())) => {}
    }

    let table = render_table(&ok, &samples);
    println!("{table}");
    if !ok.iter().any(|r| r.name == "ocirun") {
        println!("docs/benchmarks.md not updated: ocirun was not measured");
    } else if !args.no_doc {
        let doc = workspace_root().join("docs").join("benchmarks.md");
        update_doc(&doc, &lifecycle_section(&args, &table)?)?;
        println!("updated {}", doc.display());
    }
    Ok(())
}

/// One `run` of the bundle under `id`, timed, then a forced delete (untimed) for safety.
pub(super) fn run_once(rt: &Runtime, state: &Path, bundle: &Path, id: &str) -> Result<Sample> {
    let start = Instant::now();
    let child = Command::new(&rt.path)
        .arg("--root")
        .arg(state)
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", rt.path.display()))?;
    let (status, max_rss_kib) = wait4(child.id())?;
    let wall = start.elapsed();
    let stderr = read_stderr(child);
    let leftover = state.join(id).exists();
    // A failed run may have left a container (or only its cgroups) behind: delete it either way.
    if leftover || status != 0 {
        let _ = Command::new(&rt.path)
            .arg("--root")
            .arg(state)
            .args(["delete", "--force", id])
            .output();
    }
    if status != 0 {
        bail!(
            "`{} run {id}` exited with status {status}: {}",
            rt.name,
            stderr.trim()
        );
    }
    if leftover {
        bail!("`{} run {id}` left its state behind", rt.name);
    }
    Ok(Sample { wall, max_rss_kib })
}

pub(super) fn read_stderr(mut child: std::process::Child) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

/// Reaps `pid` with wait4(2): its exit status (128+N for a signal) and peak RSS in KiB.
pub(super) fn wait4(pid: u32) -> Result<(i32, u64)> {
    let pid = pid as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own child; status and usage point to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4 failed");
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((code, usage.ru_maxrss.max(0) as u64))
}
