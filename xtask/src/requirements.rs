//! `cargo xtask requirements`.

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("xtask requirements: not written yet")
}
