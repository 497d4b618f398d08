//! `ocirun run [create flags] [--detach] <id>`: exits with the container's status.

use super::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Return after start instead of waiting for the container
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[command(flatten)]
    pub create: super::create::Args,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    let opts = args.create.options(g);
    Ok(ocirun::container::run::run(
        &g.root,
        &args.create.id,
        &opts,
        args.detach,
    )?)
}
