//! Times parsing /proc/PID/stat and /proc/PID/status bytes (already read, no I/O) with
//! ocitop's parsers and with procfs-core's (`FromRead`/`FromBufRead` over a `&[u8]`), to decide
//! which one the hot path uses (docs/inspector.md "Parsing: procfs-core or our own").
//!
//! `cargo run --release -p ocitop --example parse_bench -- [ROUNDS]`

use procfs_core::process::{Stat, Status};
use procfs_core::{FromBufRead, FromRead};
use std::time::{Duration, Instant};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    // Read every process's files once; processes that vanish meanwhile are skipped.
    let mut stats = Vec::new();
    let mut statuses = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let dir = entry.path();
        if let (Ok(stat), Ok(status)) = (
            std::fs::read(dir.join("stat")),
            std::fs::read(dir.join("status")),
        ) {
            stats.push(stat);
            statuses.push(status);
        }
    }
    println!(
        "{} processes, {rounds} rounds, CPU-bound (no I/O)",
        stats.len()
    );

    // Both parsers must agree on every field ocitop uses before their speed means anything.
    for (stat, status) in stats.iter().zip(&statuses) {
        let (ours, theirs) = (
            ocitop::collect::proc::parse_stat(stat),
            Stat::from_read(&stat[..]),
        );
        if let (Some(o), Ok(t)) = (ours, theirs) {
            assert_eq!(
                (o.ppid, o.start_ticks, o.comm),
                (t.ppid as u32, t.starttime, t.comm)
            );
        }
        let (o, t) = (
            ocitop::collect::proc::parse_status(status),
            Status::from_buf_read(&status[..]),
        );
        if let (Some(u), Ok(t)) = (o.uids, t) {
            assert_eq!(
                (u.real, u.effective, u.saved, u.fs),
                (t.ruid, t.euid, t.suid, t.fuid)
            );
        }
    }

    time("stat   ocitop parse_stat", rounds, || {
        stats
            .iter()
            .filter(|b| ocitop::collect::proc::parse_stat(b).is_some())
            .count()
    });
    time("stat   procfs-core Stat::from_read", rounds, || {
        stats
            .iter()
            .filter(|b| Stat::from_read(&b[..]).is_ok())
            .count()
    });
    time("status ocitop parse_status", rounds, || {
        statuses
            .iter()
            .filter(|b| ocitop::collect::proc::parse_status(b).uids.is_some())
            .count()
    });
    time("status procfs-core Status::from_buf_read", rounds, || {
        statuses
            .iter()
            .filter(|b| Status::from_buf_read(&b[..]).is_ok())
            .count()
    });
}

fn time(what: &str, rounds: usize, mut f: impl FnMut() -> usize) {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<42} min {:>7.2} ms  median {:>7.2} ms",
        ms(times[0]),
        ms(times[rounds / 2])
    );
}
