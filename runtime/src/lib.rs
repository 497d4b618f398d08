//! ocirun: a reference OCI runtime (OCI Runtime Spec 1.3) with runc's command line.
//!
//! The library does the work; `src/main.rs` and `src/cli/` only turn runc's command line into
//! calls of [`container`]. Everything here is single-threaded on purpose: the runtime forks
//! (process/) and fork is only safe in a process with one thread.

pub mod capabilities;
pub mod cgroups;
pub mod container;
pub mod default_spec;
pub mod features;
pub mod hooks;
pub mod id;
pub mod logging;
pub mod namespaces;
pub mod netdev;
pub mod process;
pub mod rootfs;
pub mod sealed_exe;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod state;
pub mod sysctl;
pub mod timefmt;

/// The version of the OCI runtime spec this runtime implements (runtime.md "State":
/// `ociVersion`).
pub const OCI_VERSION: &str = "1.3.0";

/// An OS error as one lower-case phrase ("no such file or directory"), as our error messages
/// want it (no "(os error 2)" suffix).
pub fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => errno_text_raw(code),
        None => e.to_string(),
    }
}

/// [`errno_text`] from a raw errno value.
pub fn errno_text_raw(code: i32) -> String {
    let text = nix::errno::Errno::from_raw(code).desc();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => format!("errno {code}"),
    }
}
