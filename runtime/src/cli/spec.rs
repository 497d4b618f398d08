//! `ocirun spec [--bundle dir] [--rootless]`: writes a default config.json (never over an
//! existing one).

use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write config.json in
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for an unprivileged user (user namespace mapping the caller to root)
    #[arg(long)]
    pub rootless: bool,
}

pub fn run(args: &Args) -> anyhow::Result<i32> {
    let ids = args.rootless.then(|| {
        (
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        )
    });
    let spec = ocirun::default_spec::default_spec(ids);
    let path = args.bundle.join(ocirun::spec::CONFIG_FILE);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| write_error(&path, &e))?;
    let text = serde_json::to_string_pretty(&spec)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .map_err(|e| write_error(&path, &e))?;
    Ok(0)
}

fn write_error(path: &std::path::Path, e: &std::io::Error) -> anyhow::Error {
    anyhow::anyhow!("write {}: {}", path.display(), ocirun::errno_text(e))
}
