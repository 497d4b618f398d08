//! The mutations issue 10 lists, each run as a real wrapper around ocirun (`oci-conformance
//! wrap`, what the `mutants` command runs): every one must make some case fail. ocirun is the
//! base because it passes every case these mutants touch; the same mutants on runc are in
//! docs/conformance.md.
//!
//! ocirun is `OCIKIT_OCIRUN` (what `cargo xtask ci` builds first), else
//! `<workspace>/target/release/ocirun`, else built into `<workspace>/target/ocirun-for-tests`.
//! Skips with a printed reason when not root.

#![allow(clippy::unwrap_used)]

use conformance::mutants;
use conformance::runner::{self, Options};
use conformance::suite;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn ocirun() -> PathBuf {
    if let Some(p) = std::env::var_os("OCIKIT_OCIRUN") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let built = root.join("target/release/ocirun");
    if built.is_file() {
        return built;
    }
    let dir = root.join("target/ocirun-for-tests");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let st = std::process::Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--quiet", "--release", "-p", "ocirun"])
        .env("CARGO_TARGET_DIR", &dir)
        .status()
        .unwrap();
    assert!(st.success(), "building ocirun failed");
    dir.join("release/ocirun")
}

/// The mutations of issue 10, by the names the table gives them.
const LISTED: &[&str] = &[
    "linux/resources/memory/limit:no-resources",
    "linux/resources/pids/limit:drop",
    "linux/sysctl:drop",
    "linux/rootfsPropagation:drop",
    "linux/rootfsPropagation:forced-shared",
    "mounts:reversed",
    "linux/seccomp:no-rules",
    "mounts:without-private",
    "mounts:without-rprivate",
    "mounts:without-slave",
    "mounts:without-rslave",
    "linux/maskedPaths:drop",
    "process/noNewPrivileges:drop",
    "process/noNewPrivileges:always-true",
];

#[test]
fn every_mutation_the_issue_lists_is_caught_on_ocirun() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (creating containers)");
        return;
    }
    conformance::observe::become_subreaper().unwrap();
    let work = std::env::temp_dir().join(format!("ocikit-mutants-test-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let opts = Options {
        jobs: 2,
        timeout: Duration::from_secs(10),
        work_dir: work.clone(),
        oci_version: None,
        wrap_mountns: false,
        keep: false,
        preflight: true,
        stop_at_first_failure: false,
    };
    let suite = suite::load(None, None).unwrap();
    // The cases these mutants change, and the base case.
    let cases: Vec<_> = suite
        .cases
        .into_iter()
        .filter(|c| {
            [
                "lifecycle/base",
                "cgroups/",
                "sysctl/",
                "mounts/",
                "seccomp/",
                "process/no-new",
            ]
            .iter()
            .any(|p| c.id.starts_with(p))
        })
        .collect();
    let host = runner::host_facts(false);
    let only: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    let exe = Path::new(env!("CARGO_BIN_EXE_oci-conformance"));
    let spec = format!("ocirun={}", ocirun().display());
    let outcomes = mutants::run(
        exe,
        &spec,
        &cases,
        &suite.catalogue,
        &host,
        &opts,
        &only,
        &|_| {},
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&work);
    let baseline =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("baseline.json"))
            .unwrap();
    let baseline: serde_json::Value = serde_json::from_str(&baseline).unwrap();
    for name in LISTED {
        let o = outcomes
            .iter()
            .find(|o| o.name == *name)
            .unwrap_or_else(|| panic!("{name}: no case changes under it"));
        if !o.judged {
            // Every case about it fails on ocirun today: each must be a known ocirun bug, an
            // expected failure with a note in the baseline, until it is fixed.
            let cases = o.about.rsplit(": ").next().unwrap_or_default();
            for case in cases.split(", ") {
                assert!(
                    baseline["notes"][case].is_string(),
                    "{name}: {case} fails on ocirun without a note in baseline.json"
                );
            }
            eprintln!("{name}: not judged on ocirun ({})", o.about);
            continue;
        }
        assert!(
            o.caught_by.is_some(),
            "{name} not caught ({} cases ran)",
            o.ran
        );
    }
}
