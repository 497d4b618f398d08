//! The Markdown table and the `## lifecycle` section of docs/benchmarks.md.

use super::lifecycle::{LifecycleArgs, Sample};
use super::runtimes::Runtime;
use super::stats::{ms, summarize, Summary};
use crate::fixtures::workspace_root;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

pub(super) fn render_table(runtimes: &[Runtime], samples: &[Vec<Sample>]) -> String {
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
pub(super) fn lifecycle_section(args: &LifecycleArgs, table: &str) -> Result<String> {
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

pub(super) fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Replaces the `## lifecycle` section of the doc (up to the next `## ` heading), or appends
/// it; creates the doc when missing.
pub(super) fn update_doc(doc: &Path, section: &str) -> Result<()> {
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

pub(super) fn replace_section(text: &str, heading: &str, section: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
