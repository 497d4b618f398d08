//! ocitop's benchmark: makes N sleeping processes (10,000 by default), times full snapshots of
//! the host, and times `ps` and `lsns` reading the same facts, side by side. The children are
//! killed and reaped however it ends.
//!
//! `cargo run --release -p ocitop --bin ocitop-bench -- --procs 10000`

use anyhow::Context;
use clap::Parser;
use ocitop::collect::proc::{ProcReader, REREAD_EVERY};
use ocitop::collect::{Collector, Roots};
use ocitop::model::NsKind;
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
    /// Skip timing `ps` and `lsns` (for comparing two builds of ocitop quickly).
    #[arg(long)]
    no_peers: bool,
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
        let t = Clock::start(Who::Me);
        let s = fresh.snapshot()?;
        full.push(t.stop());
        n = s.processes.len();
    }
    report(&format!("ocitop full snapshot ({n} processes)"), &mut full);
    // Refreshes of the live view, over at least one whole cycle of periodic re-reads (each
    // pass re-reads 1/REREAD_EVERY of the processes, so the mean is what a refresh costs).
    // A host where nothing forks lets a refresh skip listing /proc; a real one seldom does,
    // so the rows with a fork run a short-lived child before each pass (outside the clock).
    let passes = args.runs.max(REREAD_EVERY as usize);
    let mut warm = None;
    for (label, all, fork) in [
        ("ocitop refresh, folded, idle host", false, false),
        ("ocitop refresh, folded, a fork a pass", false, true),
        ("ocitop refresh, host shown, a fork a pass", true, true),
    ] {
        let mut collector = Collector::new(Roots::default());
        collector.watch_all(all);
        collector.snapshot()?;
        // The second pass is the first that knows what to watch.
        warm = Some(collector.snapshot()?);
        let mut times = Vec::new();
        // How many processes each pass read rather than carried over: why a pass costs what
        // it does.
        let mut read = 0;
        for _ in 0..passes {
            if fork {
                Command::new("true").status().context("running true")?;
            }
            let t = Clock::start(Who::Me);
            let s = collector.snapshot()?;
            times.push(t.stop());
            read += s.processes.iter().filter(|p| !p.carried_over).count();
        }
        report(label, &mut times);
        let how = collector.how_listed();
        println!(
            "    per pass: {} processes read (mean); pids: {} unchanged, {} probed, {} listed",
            read / passes,
            how.unchanged,
            how.probed,
            how.listed
        );
    }
    let warm = warm.context("no snapshot")?;
    if args.breakdown {
        proc_passes(args.runs)?;
        breakdown(&warm, args.runs);
        floor(&warm, args.runs)?;
    }

    if args.no_peers {
        return Ok(());
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

fn time_cmd(argv: &[&str], runs: usize) -> anyhow::Result<Vec<Sample>> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Clock::start(Who::Children);
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {}", argv[0]))?;
        times.push(t.stop());
        anyhow::ensure!(out.success(), "{} failed: {out}", argv[0]);
    }
    Ok(times)
}

/// One timed run: wall-clock time, and the CPU time (user+sys) it cost, which the load of
/// other work on the host disturbs much less than the wall-clock time.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

/// Whose CPU time a [`Clock`] counts: this process (all its threads) or its waited-for
/// children (getrusage(2)).
#[derive(Clone, Copy)]
enum Who {
    Me,
    Children,
}

struct Clock {
    who: Who,
    wall: Instant,
    cpu: Duration,
}

impl Clock {
    fn start(who: Who) -> Self {
        Clock {
            who,
            cpu: cpu_time(who),
            wall: Instant::now(),
        }
    }

    fn stop(self) -> Sample {
        Sample {
            wall: self.wall.elapsed(),
            cpu: cpu_time(self.who).saturating_sub(self.cpu),
        }
    }
}

fn cpu_time(who: Who) -> Duration {
    use nix::sys::resource::{getrusage, UsageWho};
    let who = match who {
        Who::Me => UsageWho::RUSAGE_SELF,
        Who::Children => UsageWho::RUSAGE_CHILDREN,
    };
    let Ok(u) = getrusage(who) else {
        return Duration::ZERO;
    };
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().max(0) as u64)
            + Duration::from_micros(t.tv_usec().max(0) as u64)
    };
    tv(u.user_time()) + tv(u.system_time())
}

fn report(what: &str, samples: &mut [Sample]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut cpu: Vec<Duration> = samples.iter().map(|s| s.cpu).collect();
    cpu.sort();
    let cpu_mean = cpu.iter().sum::<Duration>() / cpu.len().max(1) as u32;
    samples.sort_by_key(|s| s.wall);
    println!(
        "{what:<40} wall min {:>7.1} median {:>7.1} max {:>7.1} ms | cpu min {:>7.1} median {:>7.1} mean {:>7.1} ms ({} runs)",
        ms(samples[0].wall),
        ms(samples[samples.len() / 2].wall),
        ms(samples[samples.len() - 1].wall),
        ms(cpu[0]),
        ms(cpu[cpu.len() / 2]),
        ms(cpu_mean),
        samples.len()
    );
}

/// Times the /proc pass alone (the rest of a snapshot is cgroupfs, state dirs and the model).
fn proc_passes(runs: usize) -> anyhow::Result<()> {
    let mut full = Vec::new();
    for _ in 0..runs {
        let mut reader = ProcReader::new("/proc");
        let t = Clock::start(Who::Me);
        std::hint::black_box(reader.read_all()?);
        full.push(t.stop());
    }
    report("  /proc pass alone, full", &mut full);
    let mut reader = ProcReader::new("/proc");
    reader.read_all()?;
    let mut refresh = Vec::new();
    for _ in 0..runs {
        let t = Clock::start(Who::Me);
        std::hint::black_box(reader.read_all()?);
        refresh.push(t.stop());
    }
    report("  /proc pass alone, refresh (all watched)", &mut refresh);
    Ok(())
}

/// Times reading one kind of file for every process, the way a naive reader does.
fn breakdown(s: &ocitop::model::Snapshot, runs: usize) {
    let pids: Vec<u32> = s.processes.iter().map(|p| p.pid).collect();
    for file in ["stat", "status", "cmdline", "cgroup"] {
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Clock::start(Who::Me);
            for pid in &pids {
                let _ = std::hint::black_box(std::fs::read(format!("/proc/{pid}/{file}")));
            }
            times.push(t.stop());
        }
        report(&format!("  read /proc/*/{file}"), &mut times);
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Clock::start(Who::Me);
        for pid in &pids {
            for ns in NsKind::ALL.map(NsKind::name) {
                let _ = std::hint::black_box(std::fs::read_link(format!("/proc/{pid}/ns/{ns}")));
            }
        }
        times.push(t.stop());
    }
    report("  readlink /proc/*/ns/* (8 kinds)", &mut times);
}

/// What the kernel alone charges for the files of a full pass: the same system calls as
/// ocitop's reader (one handle per pid dir; stat, status, cmdline, cgroup read once each; the
/// eight ns links), on as many threads, with nothing parsed or kept. No reader of /proc can
/// take a full snapshot faster than this on the same host.
fn floor(s: &ocitop::model::Snapshot, runs: usize) -> anyhow::Result<()> {
    use nix::fcntl::{open, openat, readlinkat, OFlag};
    use nix::sys::stat::Mode;
    use std::io::Read;
    use std::os::fd::AsFd;

    let pids: Vec<u32> = s.processes.iter().map(|p| p.pid).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let root = open(
        "/proc",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let one = |pid: u32, buf: &mut [u8]| -> Option<()> {
        let dir = openat(
            root.as_fd(),
            pid.to_string().as_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        for file in ["stat", "status", "cmdline", "cgroup"] {
            let fd = openat(
                dir.as_fd(),
                file,
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            );
            let _ = std::hint::black_box(std::fs::File::from(fd.ok()?).read(buf));
        }
        for ns in NsKind::ALL.map(NsKind::name) {
            let _ = std::hint::black_box(readlinkat(dir.as_fd(), format!("ns/{ns}").as_str()));
        }
        Some(())
    };
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Clock::start(Who::Me);
        std::thread::scope(|scope| {
            let one = &one;
            for part in pids.chunks(pids.len().div_ceil(threads).max(1)) {
                scope.spawn(move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    for &pid in part {
                        let _ = one(pid, &mut buf);
                    }
                });
            }
        });
        times.push(t.stop());
    }
    report(
        &format!("  kernel floor of a full pass ({threads} threads)"),
        &mut times,
    );
    Ok(())
}
