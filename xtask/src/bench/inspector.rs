//! `bench inspector`: runs inspector/src/bin/ocitop-bench.rs (figures in docs/inspector.md).

use crate::fixtures::cargo;
use anyhow::{bail, Context, Result};

#[derive(clap::Args)]
pub(super) struct InspectorArgs {
    /// Passed to ocitop-bench as is (e.g. `--procs 10000 --runs 10 --breakdown`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(super) args: Vec<String>,
}

pub(super) fn inspector(args: InspectorArgs) -> Result<()> {
    let status = cargo()
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "ocitop",
            "--bin",
            "ocitop-bench",
            "--",
        ])
        .args(&args.args)
        .status()
        .context("cannot run cargo for ocitop-bench")?;
    if !status.success() {
        bail!("ocitop-bench failed ({status})");
    }
    Ok(())
}
