//! `oci-conformance`: the suite as one binary that carries its probe, cases and catalogue.
//! Arguments in, the library does the work; anyhow only here.

mod cli;

fn main() {
    match cli::main() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("oci-conformance: {e:#}");
            std::process::exit(2);
        }
    }
}
