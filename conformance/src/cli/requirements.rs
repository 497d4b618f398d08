//! `oci-conformance requirements`: spec text → `requirements/<file>.toml`, keeping hand edits.

use anyhow::Context;
use conformance::requirements::{self, extract, CatalogueFile, Keyword};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A spec checkout (holding runtime.md, config.md, ...) instead of the vendored runtime-spec
    /// 1.3.0 the binary carries (fixtures/runtime-spec).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// The catalogue directory to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    // The cases beside the catalogue, to name those citing a retired id.
    let cases_dir = args
        .out
        .parent()
        .map(|p| p.join("cases"))
        .unwrap_or_else(|| PathBuf::from("cases"));
    let cases = conformance::case::read_dir(&cases_dir).unwrap_or_default();
    let mut totals = std::collections::BTreeMap::<Keyword, usize>::new();
    for file in requirements::SPEC_FILES {
        let text = match &args.spec {
            Some(dir) => {
                let src = dir.join(file);
                std::fs::read_to_string(&src)
                    .with_context(|| format!("cannot read {}", src.display()))?
            }
            None => runtime_spec::markdown(file)
                .with_context(|| format!("{file} is not in the vendored spec"))?
                .to_string(),
        };
        let fresh = extract::extract(file, &text);
        let dest = args.out.join(file.replace(".md", ".toml"));
        let previous: CatalogueFile = match std::fs::read_to_string(&dest) {
            Ok(t) => toml::from_str(&t).with_context(|| format!("{}", dest.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CatalogueFile::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", dest.display())),
        };
        let (merged, outcome) = requirements::merge(&previous, fresh);
        for r in &merged.requirements {
            *totals.entry(r.keyword).or_default() += 1;
        }
        let body = toml::to_string(&merged).context("cannot serialize the catalogue")?;
        let header = format!(
            "# Requirements of the OCI runtime spec's {file}, made by `cargo xtask requirements`.\n\
             # Edit a summary by hand and set `edited = true`: regeneration keeps it.\n\n"
        );
        std::fs::write(&dest, header + &body)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        println!(
            "{file}: {} requirements ({} new, {} retired, {} hand-edited summaries kept)",
            merged.requirements.len(),
            outcome.added.len(),
            outcome.retired.len(),
            outcome.kept_edits
        );
        for id in outcome.retired {
            let citing: Vec<String> = cases
                .iter()
                .filter(|(_, _, text)| text.contains(&format!("\"{id}\"")))
                .map(|(path, _, _)| path.display().to_string())
                .collect();
            if citing.is_empty() {
                println!("  retired: {id}");
            } else {
                println!(
                    "  retired: {id}, still cited by {} (review them)",
                    citing.join(", ")
                );
            }
        }
    }
    let line: Vec<String> = totals
        .iter()
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    println!("total: {}", line.join(", "));
    Ok(())
}
