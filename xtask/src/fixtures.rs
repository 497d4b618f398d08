//! `cargo xtask fixtures`: builds the static probe (and, on request, lays a minimal rootfs).
//!
//! Also home of the helpers other xtask commands share to get test material: the workspace
//! root, the probe build and the `ocikit-bundle` tool of the fixtures crate. The probe build
//! here is the very command `fixtures::probe_path()` runs (keep the two in step): a release
//! build for `<arch>-unknown-linux-gnu` with `+crt-static`, in its own target dir
//! `target/probe`, so it never waits for the lock of a cargo running tests.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Args)]
pub struct Args {
    /// Also lay a minimal rootfs (probe at /bin/probe, busybox if the host has it, /etc files)
    /// into this directory.
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// Leave busybox out of the rootfs.
    #[arg(long, requires = "rootfs")]
    no_busybox: bool,
}

pub fn run(args: Args) -> Result<()> {
    let probe = build_probe()?;
    println!("probe: {}", probe.display());
    if let Some(dir) = args.rootfs {
        let mut tool = vec!["--rootfs-only".to_string()];
        if args.no_busybox {
            tool.push("--no-busybox".to_string());
        }
        tool.push(dir.display().to_string());
        run_bundle_tool(&tool)?;
        println!("rootfs: {}", dir.display());
    }
    Ok(())
}

/// The workspace root (xtask lives in `<root>/xtask`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The cargo that runs us (cargo sets `CARGO` for `cargo run`), else the one on PATH.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// Builds the static probe and returns its path.
pub fn build_probe() -> Result<PathBuf> {
    let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let target_dir = workspace_root().join("target").join("probe");
    let status = cargo()
        .args([
            "build",
            "--quiet",
            "-p",
            "ocikit-probe",
            "--release",
            "--target",
        ])
        .arg(&triple)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env(
            format!(
                "CARGO_TARGET_{}_RUSTFLAGS",
                triple.to_uppercase().replace('-', "_")
            ),
            "-C target-feature=+crt-static",
        )
        .status()
        .context("cannot run cargo to build the probe")?;
    if !status.success() {
        bail!("probe build failed ({status})");
    }
    let probe = target_dir
        .join(&triple)
        .join("release")
        .join("ocikit-probe");
    if !probe.is_file() {
        bail!("probe build succeeded but {} is missing", probe.display());
    }
    Ok(probe)
}

/// Runs the fixtures crate's `ocikit-bundle` tool (see its docs) with `args`.
pub fn run_bundle_tool(args: &[String]) -> Result<()> {
    let status = cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "ocikit-fixtures",
            "--bin",
            "ocikit-bundle",
            "--",
        ])
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run cargo to lay the fixtures")?;
    if !status.success() {
        bail!("ocikit-bundle {} failed ({status})", args.join(" "));
    }
    Ok(())
}
