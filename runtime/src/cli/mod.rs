//! runc's command line: global flags, one module per command. Only argument handling lives
//! here; each command calls the library and maps its result to an exit code.

mod create;
mod delete;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ocirun",
    about = "A reference OCI runtime (runtime-spec 1.3) with runc's command line",
    disable_version_flag = true
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    /// Print the version
    #[arg(short = 'v', long = "version")]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

/// runc's global flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Directory for container state
    #[arg(long, global = true, default_value = "/run/ocirun")]
    pub root: PathBuf,
    /// Log file (appended to)
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Debug logging
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd for cgroups (cgroupsPath as slice:prefix:name)
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility (true, false or auto); before the command, as runc
    /// callers pass it (`spec --rootless` is the spec command's own flag)
    #[arg(long)]
    pub rootless: Option<String>,
    /// Accepted for runc compatibility (checkpointing is not supported)
    #[arg(long, global = true)]
    pub criu: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a container (its process waits for `start`)
    Create(create::Args),
    /// Run the process of a created container
    Start(start::Args),
    /// Print the state of a container as JSON
    State(state::Args),
    /// Send a signal to the container process
    Kill(kill::Args),
    /// Delete a stopped container (or any with --force)
    Delete(delete::Args),
    /// Create and start a container, wait for it and delete it
    Run(run::Args),
    /// List containers
    List(list::Args),
    /// Print the features this runtime supports as JSON
    Features,
    /// Write a default config.json
    Spec(spec::Args),
    /// List the processes of a container
    Ps(ps::Args),
    /// Run a new process in a container
    Exec(exec::Args),
    /// Freeze every process of a container
    Pause(pause::Args),
    /// Thaw a paused container
    Resume(pause::Args),
    /// Change the resource limits of a container
    Update(update::Args),
}

pub fn main() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    if cli.version {
        print!("{}", version_text());
        return Ok(0);
    }
    let g = &cli.global;
    if matches!(
        cli.command,
        Some(Command::Create(_) | Command::Run(_) | Command::Exec(_))
    ) {
        // Their children enter containers: only ever as a sealed copy (ocirun::sealed_exe).
        ocirun::sealed_exe::reexec_sealed().map_err(anyhow::Error::msg)?;
    }
    let format = match g.log_format {
        LogFormat::Text => ocirun::logging::Format::Text,
        LogFormat::Json => ocirun::logging::Format::Json,
    };
    ocirun::logging::init(g.log.as_deref(), format, g.debug).map_err(|e| {
        anyhow::anyhow!(
            "open log {}: {}",
            g.log
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display(),
            ocirun::errno_text(&e)
        )
    })?;
    let Some(command) = cli.command else {
        print!("{}", version_text());
        return Ok(0);
    };
    match command {
        Command::Create(a) => create::run(g, &a),
        Command::Start(a) => start::run(g, &a),
        Command::State(a) => state::run(g, &a),
        Command::Kill(a) => kill::run(g, &a),
        Command::Delete(a) => delete::run(g, &a),
        Command::Run(a) => run::run(g, &a),
        Command::List(a) => list::run(g, &a),
        Command::Features => features::run(),
        Command::Spec(a) => spec::run(&a),
        Command::Ps(a) => ps::run(g, &a),
        Command::Exec(a) => exec::run(g, &a),
        Command::Pause(a) => pause::pause(g, &a),
        Command::Resume(a) => pause::resume(g, &a),
        Command::Update(a) => update::run(g, &a),
    }
}

/// runc's `--version` layout.
fn version_text() -> String {
    format!(
        "ocirun version {}\nspec: {}\n",
        env!("CARGO_PKG_VERSION"),
        ocirun::OCI_VERSION
    )
}
