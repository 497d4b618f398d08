//! `oci-conformance`: the suite as one binary that carries its probe, cases and catalogue.
//! Arguments in, the library does the work; anyhow only here.

mod cli;

fn main() {
    // SAFETY: restoring the default disposition of SIGPIPE before any thread exists, so that
    // `oci-conformance list | head` ends quietly like any Unix tool instead of panicking.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match cli::main() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("oci-conformance: {e:#}");
            std::process::exit(2);
        }
    }
}
