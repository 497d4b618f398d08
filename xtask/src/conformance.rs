//! `cargo xtask conformance`.

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("xtask conformance: not written yet")
}
