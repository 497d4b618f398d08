//! `ocirun ps [--format table|json] <id> [ps args...]`.

use super::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: super::list::Format,
    /// The container id
    pub id: String,
    /// Arguments for ps(1) (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    let pids = ocirun::container::ps::pids(&g.root, &args.id)?;
    match args.format {
        super::list::Format::Json => println!("{}", serde_json::to_string(&pids)?),
        super::list::Format::Table => {
            print!("{}", ocirun::container::ps::table(&pids, &args.ps_args)?)
        }
    }
    Ok(0)
}
