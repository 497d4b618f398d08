//! `ocirun create [flags] <id>`.

use super::Global;
use std::path::PathBuf;

/// runc's create flags (shared with `run`).
#[derive(Debug, clap::Args)]
#[group(id = "create_flags")]
pub struct Args {
    /// Path to the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the container process's pid to this file
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the pseudoterminal master to (process.terminal)
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Do not use pivot_root (move the rootfs onto / and chroot)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra file descriptors (3..3+N) to the container process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id
    pub id: String,
}

impl Args {
    pub fn options(&self, g: &Global) -> ocirun::container::create::Options {
        ocirun::container::create::Options {
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds.min(i32::MAX as u32) as i32,
            systemd_cgroup: g.systemd_cgroup,
        }
    }
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    ocirun::container::create::create(&g.root, &args.id, &args.options(g), None)?;
    Ok(0)
}
