//! `cargo xtask fixtures`.

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("xtask fixtures: not written yet")
}
