//! `ocirun delete [--force] <id>`.

use super::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill the container first if it is not stopped
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The container id
    pub id: String,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    ocirun::container::delete::delete(&g.root, &args.id, args.force)?;
    Ok(0)
}
