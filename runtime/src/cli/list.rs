//! `ocirun list [--format table|json] [-q]`.

use super::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print only the ids
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    let entries = ocirun::container::list::list(&g.root)?;
    if args.quiet {
        entries.iter().for_each(|e| println!("{}", e.id));
        return Ok(0);
    }
    match args.format {
        Format::Table => print!("{}", ocirun::container::list::table(&entries)),
        Format::Json => println!("{}", serde_json::to_string(&entries)?),
    }
    Ok(0)
}
