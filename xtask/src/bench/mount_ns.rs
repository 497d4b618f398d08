//! The one private mount namespace every runtime runs in (see the module doc of `bench`).

use super::runtimes::Runtime;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the re-executed command that already runs in the private mount namespace.
pub(super) const IN_NS_ENV: &str = "OCIKIT_BENCH_IN_NS";

/// The hybrid host's cgroup2 controller list, which crun must read as empty.
pub(super) const UNIFIED_CONTROLLERS: &str = "/sys/fs/cgroup/unified/cgroup.controllers";

/// Runs this very command again under `unshare -m --propagation private`, passing the
/// runtimes found in the environment.
pub(super) fn reexec_in_private_mount_ns(runtimes: &[Runtime]) -> Result<()> {
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

pub(super) fn runtimes_from_env() -> Result<Vec<Runtime>> {
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
pub(super) fn hide_unified_controllers(work: &Path) -> Result<()> {
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
