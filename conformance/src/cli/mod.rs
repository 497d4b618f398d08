//! The command line: `run` (judge runtimes), `requirements` (regenerate the catalogue),
//! `coverage` (which requirements have cases), `list` (the cases), `explain` (what a case
//! checks), `mutants` (the suite's self-test) and its hidden `wrap`.

mod merge;
mod mutants;
mod requirements;
mod run;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "oci-conformance",
    version,
    about = "Judge OCI runtimes against the runtime spec, requirement by requirement"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the suite against one or more runtimes (runc's command line).
    Run(Box<run::Args>),
    /// Regenerate the requirements catalogue from the spec text.
    Requirements(requirements::Args),
    /// Print how many requirements of each level have cases.
    Coverage(run::SourceArgs),
    /// List the cases and the requirements they cite.
    List(run::SourceArgs),
    /// Merge JSON reports from many machines into one runtime × host matrix.
    Merge(merge::Args),
    /// Print what a case will do and check.
    Explain(mutants::ExplainArgs),
    /// The suite's self-test: judge the runtime through wrappers that each break one config
    /// field or operation; every mutant must be caught.
    Mutants(mutants::MutantsArgs),
    /// Run a runtime as a mutant (what `mutants` uses as the runtime).
    #[command(hide = true)]
    Wrap(mutants::WrapArgs),
}

/// Runs the command; the exit code is 0, 1 (a gate failed) or 2 (an error, via `Err`).
pub fn main() -> anyhow::Result<i32> {
    match Cli::parse().command {
        Command::Run(args) => run::run(*args),
        Command::Requirements(args) => requirements::run(args).map(|()| 0),
        Command::Coverage(args) => run::coverage(args).map(|()| 0),
        Command::List(args) => run::list(args).map(|()| 0),
        Command::Explain(args) => mutants::explain(args),
        Command::Merge(args) => merge::run(args),
        Command::Mutants(args) => mutants::mutants(args),
        Command::Wrap(args) => mutants::wrap(args),
    }
}
