//! `ocirun`: runc's command line over the ocirun library. Errors are printed as one line on
//! stderr and, as runc does, logged to `--log` (in JSON with `--log-format json`, which is
//! where containerd's shim and conmon look for the runtime's error).

mod cli;

fn main() {
    let code = match cli::main() {
        Ok(code) => code,
        Err(e) => {
            // Library errors carry their cause in their own text (one line); the chain
            // would repeat it.
            let msg = e.to_string();
            ocirun::logging::error(&msg);
            eprintln!("ocirun: {msg}");
            1
        }
    };
    ocirun::logging::flush_warnings();
    std::process::exit(code);
}
