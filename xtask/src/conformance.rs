//! `cargo xtask conformance [ARGS...]`: builds and runs `oci-conformance run ARGS...` (the suite
//! is not linked into xtask, which stays cheap to compile); `cargo xtask conformance mutants
//! [ARGS...]` runs the suite's self-test, `oci-conformance mutants ARGS...`. Without
//! `--runtime` either judges ocirun, built on the spot.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Args)]
pub struct Args {
    /// Arguments for `oci-conformance run` (see `oci-conformance run --help`), e.g.
    /// `--runtime=/usr/sbin/runc --baseline conformance/baseline.json`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// The workspace root (xtask lives in `<root>/xtask`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Where cargo puts builds: `CARGO_TARGET_DIR` or `<root>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => workspace_root().join("target"),
    }
}

fn status(cmd: &mut Command, what: &str) -> anyhow::Result<i32> {
    let st = cmd
        .status()
        .with_context(|| format!("cannot run cargo to {what}"))?;
    Ok(st.code().unwrap_or(2))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut forwarded = args.args;
    let command = if forwarded.first().is_some_and(|a| a == "mutants") {
        forwarded.remove(0);
        "mutants"
    } else {
        "run"
    };
    let has_runtime = forwarded
        .iter()
        .any(|a| a == "--runtime" || a.starts_with("--runtime="));
    if !has_runtime {
        let code = status(
            cargo()
                .current_dir(workspace_root())
                .args(["build", "--release", "-p", "ocirun"]),
            "build ocirun",
        )?;
        if code != 0 {
            bail!("building ocirun failed (exit {code})");
        }
        let ocirun = target_dir().join("release").join("ocirun");
        forwarded.insert(0, format!("--runtime=ocirun={}", ocirun.display()));
    }
    let code = status(
        cargo()
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "ocikit-conformance",
                "--manifest-path",
            ])
            .arg(workspace_root().join("Cargo.toml"))
            .args(["--", command])
            .args(&forwarded),
        "run the conformance suite",
    )?;
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}
