//! `ocirun start <id>`.

use super::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container id
    pub id: String,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    ocirun::container::start::start(&g.root, &args.id)?;
    Ok(0)
}
