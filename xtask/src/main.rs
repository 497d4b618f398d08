//! `cargo xtask <command>`: every workflow of ocikit, one module per command.

mod bench;
mod ci;
mod conformance;
mod fixtures;
mod requirements;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "ocikit's workflows")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the static probe and the minimal rootfs used by tests.
    Fixtures(fixtures::Args),
    /// Run the conformance suite against one or more runtimes.
    Conformance(conformance::Args),
    /// Regenerate conformance/requirements from the OCI runtime spec text.
    Requirements(requirements::Args),
    /// Benchmarks, side by side with runc and crun.
    Bench(bench::Args),
    /// What CI runs: fmt, clippy, fixtures, tests, conformance gate.
    Ci(ci::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Fixtures(args) => fixtures::run(args),
        Command::Conformance(args) => conformance::run(args),
        Command::Requirements(args) => requirements::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Ci(args) => ci::run(args),
    }
}
