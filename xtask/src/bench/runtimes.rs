//! Which runtimes are measured: those asked for, or ocirun (built here, possibly from a git
//! revision), runc and crun when present.

use super::TempDir;
use crate::fixtures::{cargo, workspace_root};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) struct Runtime {
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) version: String,
}

/// The runtimes asked for, or ocirun (built now, if it builds), runc and crun when present.
pub(super) fn find_runtimes(
    asked: &[(String, PathBuf)],
    rev: Option<&str>,
) -> Result<Vec<Runtime>> {
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
pub(super) fn build_ocirun(rev: Option<&str>) -> Result<PathBuf> {
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

pub(super) fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// The first line of `<runtime> --version`.
pub(super) fn version_of(path: &Path) -> String {
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
