//! `ocirun exec [flags] <id> [command...]`: exits with the process's status.

use super::Global;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON file describing the process (config.md "Process")
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Return after the process started
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Write the process's pid to this file
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the pseudoterminal master to
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Allocate a pseudoterminal
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set an environment variable (KEY=VALUE)
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// uid[:gid] to run as
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional gids
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Pass N extra file descriptors (3..3+N) to the process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id
    pub id: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    let user = match &args.user {
        None => None,
        Some(text) => Some(parse_user(text)?),
    };
    let opts = ocirun::container::exec::Options {
        process_file: args.process.clone(),
        args: args.command.clone(),
        env: args.env.clone(),
        cwd: args.cwd.clone(),
        user,
        additional_gids: args.additional_gids.clone(),
        tty: args.tty,
        detach: args.detach,
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
        preserve_fds: args.preserve_fds.min(i32::MAX as u32) as i32,
    };
    Ok(ocirun::container::exec::exec(&g.root, &args.id, &opts)?)
}

/// `uid` or `uid:gid` (numeric, as runc requires).
fn parse_user(text: &str) -> anyhow::Result<(u32, Option<u32>)> {
    let bad = || anyhow::anyhow!("invalid --user {text:?}: expected uid or uid:gid");
    let (uid, gid) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    let uid = uid.parse().map_err(|_| bad())?;
    let gid = gid.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}
