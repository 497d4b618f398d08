//! ocitop's benchmark: makes N sleeping processes (10,000 by default), times full snapshots of
//! the host, and times `ps` and `lsns` reading the same facts, side by side. The children are
//! killed and reaped however it ends.
//!
//! `cargo run --release -p ocitop --bin ocitop-bench -- --procs 10000`

use anyhow::Context;
use clap::Parser;
use ocitop::collect::{Collector, Roots};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Sleeping processes to add to the host before measuring.
    #[arg(long, default_value = "10000")]
    procs: usize,
    /// Snapshots (and ps/lsns runs) to time.
    #[arg(long, default_value = "10")]
    runs: usize,
    /// Also time each kind of /proc read on its own (where the time goes).
    #[arg(long)]
    breakdown: bool,
}

/// The sleeping children, killed and reaped on drop.
struct Sleepers(Vec<Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut sleepers = Sleepers(Vec::with_capacity(args.procs));
    let started = Instant::now();
    for i in 0..args.procs {
        let child = Command::new("sleep")
            .arg("3600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning sleeper {i}"))?;
        sleepers.0.push(child);
    }
    eprintln!(
        "spawned {} sleepers in {:.1}s",
        args.procs,
        started.elapsed().as_secs_f64()
    );

    // A full pass: what `ocitop --json`/`--once` and the first live frame do.
    let mut full = Vec::new();
    let mut n = 0;
    for _ in 0..args.runs {
        let mut fresh = Collector::new(Roots::default());
        let t = Instant::now();
        let s = fresh.snapshot()?;
        full.push(t.elapsed());
        n = s.processes.len();
    }
    report(&format!("ocitop full snapshot ({n} processes)"), &mut full);
    // Refreshes of the live view (command lines and namespaces of known processes reused,
    // every 10th pass a full one).
    let mut collector = Collector::new(Roots::default());
    let warm = collector.snapshot()?;
    let mut times = Vec::new();
    for _ in 0..args.runs {
        let t = Instant::now();
        let s = collector.snapshot()?;
        times.push(t.elapsed());
        std::hint::black_box(s);
    }
    report("ocitop refresh snapshot (live view)", &mut times);
    if args.breakdown {
        breakdown(&warm, args.runs);
    }

    let ps = [
        "ps",
        "-eo",
        "pid,ppid,stat,uid,lstart,cgroup,mntns,utsns,ipcns,pidns,netns,userns,args",
    ];
    report(
        "ps -eo pid,ppid,...,cgroup,*ns,args",
        &mut time_cmd(&ps, args.runs)?,
    );
    let lsns = ["lsns", "--raw", "--output", "NS,TYPE,NPROCS,PID,COMMAND"];
    report("lsns --raw", &mut time_cmd(&lsns, args.runs)?);
    drop(sleepers);
    Ok(())
}

fn time_cmd(argv: &[&str], runs: usize) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {}", argv[0]))?;
        times.push(t.elapsed());
        anyhow::ensure!(out.success(), "{} failed: {out}", argv[0]);
    }
    Ok(times)
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} min {:>7.1} ms  median {:>7.1} ms  max {:>7.1} ms  ({} runs)",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

/// Times reading one kind of file for every process, the way a naive reader does.
fn breakdown(s: &ocitop::model::Snapshot, runs: usize) {
    let pids: Vec<u32> = s.processes.iter().map(|p| p.pid).collect();
    for file in ["stat", "status", "cmdline", "cgroup"] {
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            for pid in &pids {
                let _ = std::hint::black_box(std::fs::read(format!("/proc/{pid}/{file}")));
            }
            times.push(t.elapsed());
        }
        report(&format!("  read /proc/*/{file}"), &mut times);
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for pid in &pids {
            for ns in ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"] {
                let _ = std::hint::black_box(std::fs::read_link(format!("/proc/{pid}/ns/{ns}")));
            }
        }
        times.push(t.elapsed());
    }
    report("  readlink /proc/*/ns/* (8 kinds)", &mut times);
}
