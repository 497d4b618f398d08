//! `cargo xtask bench`: benchmarks of ocirun side by side with its peers (runc, crun).
//!
//! `lifecycle` times the whole life of a trivial container, `<runtime> --root <tmp> run
//! --bundle <bundle> <id>` of the probe doing `exit:0`, for each runtime found, interleaved
//! (each round runs every runtime once, in a rotating order, so that drift of the machine hits
//! all alike). It also records each run's peak RSS from wait4(2)'s rusage, i.e. the largest
//! resident set of the runtime process and of the descendants it reaped. Every run has its own
//! id and is deleted right after; at the end nothing may be left (state dirs, cgroups).
//!
//! All runtimes run in one private mount namespace where an empty file is bind-mounted over
//! `/sys/fs/cgroup/unified/cgroup.controllers`, because crun refuses this hybrid host while
//! that file lists a controller. The cgroup2 mount itself stays real (an empty tmpfs over it
//! would also satisfy crun, but runtimes that create cgroups there then fail to remove them).
//! Doing it for every runtime keeps the comparison fair, and it costs nothing per run: the
//! namespace is made once, by re-executing this command under `unshare -m`.

use crate::fixtures::{cargo, run_bundle_tool, workspace_root};
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(clap::Subcommand)]
enum Bench {
    /// Time `run` of a trivial container (create, start, wait, delete) per runtime.
    Lifecycle(LifecycleArgs),
    /// Time ocitop's /proc snapshot on a host with many processes, beside `ps` and `lsns`
    /// (runs inspector/src/bin/ocitop-bench.rs; its figures go to docs/inspector.md).
    Inspector(InspectorArgs),
}

#[derive(clap::Args)]
struct InspectorArgs {
    /// Passed to ocitop-bench as is (e.g. `--procs 10000 --runs 10 --breakdown`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(clap::Args, Clone)]
struct LifecycleArgs {
    /// A runtime to measure, as NAME=PATH (repeatable). Default: ocirun (built here), runc and
    /// crun, those found.
    #[arg(long = "runtime", value_name = "NAME=PATH", value_parser = parse_runtime)]
    runtimes: Vec<(String, PathBuf)>,
    /// Timed runs per runtime.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Untimed runs per runtime before the timed ones.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Build the measured ocirun from this git revision (exported with `git archive`) rather
    /// than from the working tree, so figures can be pinned to a commit while work goes on.
    #[arg(long, value_name = "REV", conflicts_with = "runtimes")]
    ocirun_rev: Option<String>,
    /// Do not update docs/benchmarks.md (it is only ever updated when ocirun was measured).
    #[arg(long)]
    no_doc: bool,
}

fn parse_runtime(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("expected NAME=PATH, got {s:?}")),
    }
}

/// Set in the re-executed command that already runs in the private mount namespace.
const IN_NS_ENV: &str = "OCIKIT_BENCH_IN_NS";
/// The hybrid host's cgroup2 controller list, which crun must read as empty.
const UNIFIED_CONTROLLERS: &str = "/sys/fs/cgroup/unified/cgroup.controllers";

pub fn run(args: Args) -> Result<()> {
    match args.bench {
        Bench::Lifecycle(args) => lifecycle(args),
        Bench::Inspector(args) => inspector(args),
    }
}

fn inspector(args: InspectorArgs) -> Result<()> {
    let status = cargo()
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "ocitop",
            "--bin",
            "ocitop-bench",
            "--",
        ])
        .args(&args.args)
        .status()
        .context("cannot run cargo for ocitop-bench")?;
    if !status.success() {
        bail!("ocitop-bench failed ({status})");
    }
    Ok(())
}

struct Runtime {
    name: String,
    path: PathBuf,
    version: String,
}

/// One timed run.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    max_rss_kib: u64,
}

fn lifecycle(args: LifecycleArgs) -> Result<()> {
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

/// The runtimes asked for, or ocirun (built now, if it builds), runc and crun when present.
fn find_runtimes(asked: &[(String, PathBuf)], rev: Option<&str>) -> Result<Vec<Runtime>> {
    let mut found = Vec::new();
    if !asked.is_empty() {
        for (name, path) in asked {
            if !path.is_file() {
                bail!("runtime {name}: {} is not a file", path.display());
            }
            found.push((name.clone(), path.clone()));
        }
    } else {
        match build_ocirun(rev) {
            Ok(path) => found.push(("ocirun".to_string(), path)),
            Err(e) => eprintln!("bench: leaving out ocirun: {e:#}"),
        }
        for (name, path) in [("runc", "/usr/sbin/runc"), ("crun", "/usr/bin/crun")] {
            let path = which(name).unwrap_or_else(|| PathBuf::from(path));
            if path.is_file() {
                found.push((name.to_string(), path));
            }
        }
    }
    found
        .into_iter()
        .map(|(name, path)| {
            let version = version_of(&path);
            Ok(Runtime {
                name,
                path,
                version,
            })
        })
        .collect()
}

/// Builds ocirun (release) from the working tree, or from `rev` exported to a temp dir; the
/// usual target dir is kept either way, so dependencies are not rebuilt.
fn build_ocirun(rev: Option<&str>) -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let export;
    let mut cmd = cargo();
    if let Some(rev) = rev {
        export = TempDir::new("ocikit-bench-src")?;
        let archive = Command::new("sh")
            .arg("-c")
            .arg("git -C \"$1\" archive --format=tar \"$2\" | tar -x -C \"$3\"")
            .arg("sh")
            .arg(workspace_root())
            .arg(rev)
            .arg(&export.path)
            .status()
            .context("cannot run git archive")?;
        if !archive.success() {
            bail!("cannot export revision {rev:?} with git archive ({archive})");
        }
        cmd.current_dir(&export.path);
    }
    let status = cmd
        .args(["build", "--quiet", "--release", "-p", "ocirun"])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo build --release -p ocirun` failed ({status})");
    }
    let path = target.join("release").join("ocirun");
    if !path.is_file() {
        bail!("{} is missing after the build", path.display());
    }
    Ok(path)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// The first line of `<runtime> --version`.
fn version_of(path: &Path) -> String {
    Command::new(path)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Runs this very command again under `unshare -m --propagation private`, passing the
/// runtimes found in the environment.
fn reexec_in_private_mount_ns(runtimes: &[Runtime]) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the xtask binary")?;
    let list = runtimes
        .iter()
        .map(|r| format!("{}={}={}", r.name, r.path.display(), r.version))
        .collect::<Vec<_>>()
        .join("\n");
    let status = Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(IN_NS_ENV, list)
        .status()
        .context("cannot run unshare (util-linux) to make a private mount namespace")?;
    if !status.success() {
        bail!("benchmark failed ({status})");
    }
    Ok(())
}

fn runtimes_from_env() -> Result<Vec<Runtime>> {
    let list = std::env::var(IN_NS_ENV).context("runtime list missing")?;
    list.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, '=');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(name), Some(path), version) => Ok(Runtime {
                    name: name.to_string(),
                    path: PathBuf::from(path),
                    version: version.unwrap_or("unknown").to_string(),
                }),
                _ => bail!("bad runtime entry {l:?}"),
            }
        })
        .collect()
}

/// Bind-mounts an empty file over the hybrid host's cgroup2 controller list (this namespace
/// only); nothing to do on hosts without it.
fn hide_unified_controllers(work: &Path) -> Result<()> {
    if !Path::new(UNIFIED_CONTROLLERS).is_file() {
        return Ok(());
    }
    let empty = work.join("empty-controllers");
    std::fs::write(&empty, "").with_context(|| format!("cannot write {}", empty.display()))?;
    let status = Command::new("mount")
        .arg("--bind")
        .arg(&empty)
        .arg(UNIFIED_CONTROLLERS)
        .status()
        .context("cannot run mount")?;
    if !status.success() {
        bail!("cannot bind-mount an empty file over {UNIFIED_CONTROLLERS} ({status})");
    }
    Ok(())
}

/// One `run` of the bundle under `id`, timed, then a forced delete (untimed) for safety.
fn run_once(rt: &Runtime, state: &Path, bundle: &Path, id: &str) -> Result<Sample> {
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

fn read_stderr(mut child: std::process::Child) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

/// Reaps `pid` with wait4(2): its exit status (128+N for a signal) and peak RSS in KiB.
fn wait4(pid: u32) -> Result<(i32, u64)> {
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

/// Fails when a run left a state dir, a cgroup named after a bench id, a process whose root
/// is the bundle's rootfs, or a mount under the bundle.
fn check_nothing_left(state: &Path, bundle: &Path, prefix: &str) -> Result<()> {
    let mut left: Vec<String> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(state) {
        for e in entries.flatten() {
            left.push(format!("state {}", e.path().display()));
        }
    }
    let mut cgroups = Vec::new();
    find_named(Path::new("/sys/fs/cgroup"), prefix, 4, &mut cgroups);
    left.extend(cgroups.iter().map(|p| format!("cgroup {}", p.display())));
    if let Ok(procs) = std::fs::read_dir("/proc") {
        for p in procs.flatten() {
            if let Ok(root) = std::fs::read_link(p.path().join("root")) {
                if root.starts_with(bundle) {
                    left.push(format!("process {}", p.file_name().to_string_lossy()));
                }
            }
        }
    }
    let bundle_text = bundle.to_string_lossy();
    for line in std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
    {
        if let Some(point) = line.split(' ').nth(4) {
            if point.starts_with(bundle_text.as_ref()) {
                left.push(format!("mount {point}"));
            }
        }
    }
    if !left.is_empty() {
        bail!("the benchmark left behind: {}", left.join(", "));
    }
    Ok(())
}

fn find_named(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() {
            continue;
        }
        if e.file_name().to_string_lossy().starts_with(prefix) {
            out.push(e.path());
        } else if depth > 1 {
            find_named(&e.path(), prefix, depth - 1, out);
        }
    }
}

/// Summary of one runtime's samples.
struct Summary {
    median: Duration,
    p90: Duration,
    min: Duration,
    rss_kib: u64,
}

fn summarize(samples: &[Sample]) -> Summary {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort_unstable();
    let mut rss: Vec<u64> = samples.iter().map(|s| s.max_rss_kib).collect();
    rss.sort_unstable();
    Summary {
        median: percentile(&walls, 50),
        p90: percentile(&walls, 90),
        min: walls.first().copied().unwrap_or_default(),
        rss_kib: percentile(&rss, 50),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile<T: Copy + Default>(sorted: &[T], p: usize) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn render_table(runtimes: &[Runtime], samples: &[Vec<Sample>]) -> String {
    let summaries: Vec<Summary> = samples.iter().map(|s| summarize(s)).collect();
    let base = runtimes
        .iter()
        .position(|r| r.name == "ocirun")
        .unwrap_or(0);
    let base_name = &runtimes[base].name;
    let base_median = summaries[base].median.as_secs_f64();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| runtime | version | runs | median ms | p90 ms | min ms | median vs {base_name} | peak RSS MiB (median) |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---:|---:|---:|---:|");
    for ((rt, s), samples) in runtimes.iter().zip(&summaries).zip(samples) {
        let ratio = if base_median > 0.0 {
            s.median.as_secs_f64() / base_median
        } else {
            0.0
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {:.2}x | {:.1} |",
            rt.name,
            rt.version,
            samples.len(),
            ms(s.median),
            ms(s.p90),
            ms(s.min),
            ratio,
            s.rss_kib as f64 / 1024.0
        );
    }
    t
}

/// The "lifecycle" section of docs/benchmarks.md: the table, the machine, the date and the
/// command that reproduces it.
fn lifecycle_section(args: &LifecycleArgs, table: &str) -> Result<String> {
    let mut cmd = format!("cargo xtask bench lifecycle --runs {}", args.runs);
    if args.warmup != 3 {
        let _ = write!(cmd, " --warmup {}", args.warmup);
    }
    for (name, path) in &args.runtimes {
        let _ = write!(cmd, " --runtime {name}={}", path.display());
    }
    let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let root = workspace_root();
    let root = root.to_string_lossy();
    let short = |rev: &str| command_line("git", &["-C", &root, "rev-parse", "--short", rev]);
    let source = match &args.ocirun_rev {
        Some(rev) => format!("ocirun built from commit {}", short(rev)),
        None => {
            let dirty = !command_line(
                "git",
                &["-C", &root, "status", "--porcelain", "--", "runtime/src"],
            )
            .is_empty();
            format!(
                "ocirun built from the working tree at {}{}",
                short("HEAD"),
                if dirty { " (runtime/src modified)" } else { "" }
            )
        }
    };
    if let Some(rev) = &args.ocirun_rev {
        let _ = write!(cmd, " --ocirun-rev {}", short(rev));
    }
    let kernel = command_line("uname", &["-sr"]);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|x| x.1.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown cpu".to_string());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let kib: u64 = s
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(kib as f64 / 1024.0 / 1024.0)
        })
        .unwrap_or(0.0);
    Ok(format!(
        "## lifecycle\n\n\
         Wall time of `<runtime> --root <tmp> run --bundle <bundle> <id>` of one trivial \
         container (the probe doing `exit:0`; default namespaces pid, network, ipc, uts, mount; \
         no terminal; `ociVersion` 1.0.2 so that crun takes the same bundle), from spawn to \
         reaping: create, start, wait, delete. Runs are interleaved (each round runs every \
         runtime once, in rotating order) after {warmup} untimed warm-up runs each; every run \
         uses a fresh id and the harness checks that no state dir, cgroup, process or mount is \
         left. Peak RSS \
         is wait4(2)'s `ru_maxrss`: the largest resident set among the runtime process and the \
         descendants it reaped. All runtimes run in one private mount namespace where an empty \
         file is bind-mounted over `/sys/fs/cgroup/unified/cgroup.controllers` (crun refuses \
         this hybrid cgroup host while that file lists a controller), made once before the \
         first run, so it costs no run anything. On a shared machine the spread (p90) follows \
         the load of other work; interleaving exposes every runtime to the same load, so read \
         the ratios, and `min` for the cost on an idle machine.\n\n\
         {table}\n\
         - machine: {cpu}, {cores} cores, {mem_gib:.0} GiB, {kernel}\n\
         - date: {date} (load average {load} when the runs ended), {source}\n\
         - reproduce (as root): `{cmd}`\n",
        warmup = args.warmup
    ))
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Replaces the `## lifecycle` section of the doc (up to the next `## ` heading), or appends
/// it; creates the doc when missing.
fn update_doc(doc: &Path, section: &str) -> Result<()> {
    let old = match std::fs::read_to_string(doc) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# Benchmarks\n\nFigures measured with `cargo xtask bench`; each section says how to \
             reproduce it.\n"
                .to_string()
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", doc.display())),
    };
    let new = replace_section(&old, "## lifecycle", section);
    std::fs::write(doc, new).with_context(|| format!("cannot write {}", doc.display()))
}

fn replace_section(text: &str, heading: &str, section: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    let mut replaced = false;
    while let Some(line) = lines.next() {
        if line.trim_end() == heading && !replaced {
            out.push_str(section);
            out.push('\n');
            replaced = true;
            while let Some(next) = lines.peek() {
                if next.starts_with("## ") {
                    break;
                }
                lines.next();
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(section);
    }
    out
}

/// A temp dir removed on drop (std only: xtask stays cheap to compile).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 90), 9);
        assert_eq!(percentile(&v, 100), 10);
        assert_eq!(percentile(&[7u64], 90), 7);
    }

    #[test]
    fn replaces_or_appends_the_section() {
        let doc = "# B\n\n## lifecycle\nold\nold\n## other\nkeep\n";
        assert_eq!(
            replace_section(doc, "## lifecycle", "## lifecycle\nnew\n"),
            "# B\n\n## lifecycle\nnew\n\n## other\nkeep\n"
        );
        assert_eq!(
            replace_section("# B\n", "## lifecycle", "## lifecycle\nnew\n"),
            "# B\n\n## lifecycle\nnew\n"
        );
    }
}
