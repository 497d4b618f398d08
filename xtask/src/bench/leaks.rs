//! After the runs: nothing may be left behind (state dirs, cgroups, processes, mounts).

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Fails when a run left a state dir, a cgroup named after a bench id, a process whose root
/// is the bundle's rootfs, or a mount under the bundle.
pub(super) fn check_nothing_left(state: &Path, bundle: &Path, prefix: &str) -> Result<()> {
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

pub(super) fn find_named(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<PathBuf>) {
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
