//! `ocirun kill [--all] <id> [signal]`.

use super::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Signal every process in the container's cgroup
    #[arg(short = 'a', long)]
    pub all: bool,
    /// The container id
    pub id: String,
    /// Signal name (KILL, SIGKILL) or number
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    let signal = ocirun::signal::parse(&args.signal)?;
    ocirun::container::kill::kill(&g.root, &args.id, signal, args.all)?;
    Ok(0)
}
