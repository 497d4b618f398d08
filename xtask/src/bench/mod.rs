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
//!
//! The parts: [`runtimes`] (which are measured), [`mount_ns`] (the shared private mount
//! namespace), [`lifecycle`] (the timed runs), [`leaks`] (nothing left behind), [`stats`] and
//! [`report`] (the table and docs/benchmarks.md); [`inspector`] runs ocitop's own bench.

mod inspector;
mod leaks;
mod lifecycle;
mod mount_ns;
mod report;
mod runtimes;
mod stats;

use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(clap::Subcommand)]
enum Bench {
    /// Time `run` of a trivial container (create, start, wait, delete) per runtime.
    Lifecycle(lifecycle::LifecycleArgs),
    /// Time ocitop's /proc snapshot on a host with many processes, beside `ps` and `lsns`
    /// (runs inspector/src/bin/ocitop-bench.rs; its figures go to docs/inspector.md).
    Inspector(inspector::InspectorArgs),
}

pub fn run(args: Args) -> Result<()> {
    match args.bench {
        Bench::Lifecycle(args) => lifecycle::lifecycle(args),
        Bench::Inspector(args) => inspector::inspector(args),
    }
}

/// A temp dir removed on drop (std only: xtask stays cheap to compile).
pub(super) struct TempDir {
    pub(super) path: PathBuf,
}

impl TempDir {
    pub(super) fn new(prefix: &str) -> Result<TempDir> {
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
