//! `cargo xtask requirements`: regenerates `conformance/requirements/` from the spec text
//! vendored in `fixtures/runtime-spec/` (a new spec release is: replace those files, run this
//! one command). Hand-edited summaries are kept; retired ids are listed so the cases citing
//! them get reviewed.

use crate::conformance::workspace_root;
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::Command;

#[derive(clap::Args)]
pub struct Args {
    /// An OCI runtime spec checkout (default: the vendored `<workspace>/fixtures/runtime-spec`).
    #[arg(long)]
    spec: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let root = workspace_root();
    let spec = args
        .spec
        .unwrap_or_else(|| root.join("fixtures").join("runtime-spec"));
    if !spec.join("runtime.md").is_file() {
        bail!(
            "{}: not an OCI runtime spec checkout (no runtime.md); pass --spec",
            spec.display()
        );
    }
    let st = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&root)
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "ocikit-conformance",
            "--",
            "requirements",
            "--spec",
        ])
        .arg(&spec)
        .arg("--out")
        .arg(root.join("conformance").join("requirements"))
        .status()
        .context("cannot run cargo")?;
    if !st.success() {
        bail!("oci-conformance requirements failed ({st})");
    }
    Ok(())
}
