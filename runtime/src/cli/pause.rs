//! `ocirun pause <id>` and `ocirun resume <id>`.

use super::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container id
    pub id: String,
}

pub fn pause(g: &Global, args: &Args) -> anyhow::Result<i32> {
    ocirun::container::pause::pause(&g.root, &args.id)?;
    Ok(0)
}

pub fn resume(g: &Global, args: &Args) -> anyhow::Result<i32> {
    ocirun::container::pause::resume(&g.root, &args.id)?;
    Ok(0)
}
